"""ccxt structures and ledger rows as the tools' output models (venue ``info`` dropped, venue text wrapped)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mcp_server.schemas import OrderOut, PlanOut, TradeOut
from mcp_server.tools.common import as_float
from mcp_server.untrusted import untrusted
from sdk.symbols import parse_symbol

__all__ = ["order_out", "plan_out", "quote_of", "trade_out"]


def quote_of(symbol: str, default: str) -> str:
    """The quote currency of a canonical symbol (``default`` when the symbol is not canonical)."""
    try:
        return parse_symbol(symbol, default_quote=default).quote
    except Exception:
        return default


def _venue_message(info: Any) -> Any:
    if not isinstance(info, Mapping):
        return None
    parts = [str(info[k]) for k in ("errorMessage", "reconcile", "message") if info.get(k)]
    return "; ".join(parts) or None


def order_out(order: Mapping[str, Any], base_currency: str) -> OrderOut:
    """A ccxt ``Order`` as :class:`OrderOut`."""
    fee = order.get("fee") or {}
    symbol = str(order.get("symbol") or "")
    stamp = order.get("timestamp")
    return OrderOut(
        id=str(order["id"]) if order.get("id") is not None else None,
        client_order_id=order.get("clientOrderId"),
        symbol=symbol,
        side=str(order.get("side") or ""),
        type=str(order.get("type") or ""),
        status=order.get("status"),
        amount=as_float(order.get("amount")),
        filled=as_float(order.get("filled")),
        remaining=as_float(order.get("remaining")),
        price=as_float(order.get("price")),
        stop_price=as_float(order.get("triggerPrice") or order.get("stopPrice")),
        average=as_float(order.get("average")),
        price_currency=quote_of(symbol, base_currency),
        fee=as_float(fee.get("cost")) if isinstance(fee, Mapping) else None,
        fee_currency=fee.get("currency") if isinstance(fee, Mapping) else None,
        timestamp_ms=int(stamp) if stamp is not None else None,
        time_in_force=order.get("timeInForce"),
        venue_message=untrusted(_venue_message(order.get("info"))),
    )


def trade_out(trade: Mapping[str, Any], base_currency: str) -> TradeOut:
    """A ccxt ``Trade`` as :class:`TradeOut` (fee None while pending)."""
    fee = trade.get("fee")
    symbol = str(trade.get("symbol") or "")
    stamp = trade.get("timestamp")
    return TradeOut(
        id=str(trade["id"]) if trade.get("id") is not None else None,
        order_id=str(trade["order"]) if trade.get("order") is not None else None,
        client_order_id=trade.get("clientOrderId"),
        symbol=symbol,
        side=str(trade.get("side") or ""),
        amount=as_float(trade.get("amount")) or 0.0,
        price=as_float(trade.get("price")) or 0.0,
        price_currency=quote_of(symbol, base_currency),
        cost=as_float(trade.get("cost")),
        fee=as_float(fee.get("cost")) if isinstance(fee, Mapping) else None,
        fee_currency=fee.get("currency") if isinstance(fee, Mapping) else None,
        taker_or_maker=trade.get("takerOrMaker"),
        timestamp_ms=int(stamp) if stamp is not None else None,
    )


def plan_out(row: Mapping[str, Any], base_currency: str) -> PlanOut:
    """A ledger ``plans`` row (or a plan mapping with the same keys) as :class:`PlanOut`."""
    symbol = str(row.get("symbol") or "")
    status, reason = str(row.get("status") or ""), row.get("reason")
    ended = row.get("run_ended_at")
    if ended is not None and status in ("pending", "active"):
        when = datetime.fromtimestamp(ended / 1000, UTC)
        reason = (
            f"was {status}; its run {row.get('run_id')} ended at {when:%Y-%m-%d %H:%M} UTC, so nothing watches its "
            "stop, target or expiry: cancel it, or manage the position yourself"
        )
        status = "ended"
    return PlanOut(
        plan_id=str(row.get("plan_id")),
        symbol=symbol,
        side=str(row.get("side") or ""),
        status=status,
        amount=as_float(row.get("amount")),
        entry=as_float(row.get("entry")),
        stop=as_float(row.get("stop")),
        target=as_float(row.get("target")),
        price_currency=str(row.get("quote_currency") or quote_of(symbol, base_currency)),
        created_at_ms=row.get("created_at"),
        updated_at_ms=row.get("updated_at"),
        valid_until_ms=row.get("valid_until"),
        reason=reason,
    )
