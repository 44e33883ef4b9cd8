"""Ledger rows back to ccxt structures, and the ledger reads the execution services need.

The ledger stores orders and fills in ccxt's fields (snake case, money as ``Decimal``); a service that
answers from the ledger (an idempotent replay in a new process, a resumed run) turns its rows back
into ccxt's ``Order`` and ``Trade`` dicts here, with floats as ccxt has them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ccxt.base.types import Order, Trade

from sdk.ledger import Ledger
from sdk.ledger import queries as q

__all__ = ["ledger_order", "ledger_trades", "order_from_row", "origin_fields", "trade_from_row"]


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def order_from_row(row: Mapping[str, Any], trades: list[Trade] | None = None) -> Order:
    """A ccxt ``Order`` from an ``orders`` row (prices in its quote currency, amounts in base units)."""
    fee = None
    if row.get("fee_cost") is not None:
        fee = {"cost": float(row["fee_cost"]), "currency": row.get("fee_currency")}
    order: dict[str, Any] = {
        "info": dict(row.get("info") or {}),
        "id": row.get("order_id") or row.get("client_order_id"),
        "clientOrderId": row.get("client_order_id"),
        "timestamp": row.get("timestamp"),
        "datetime": _iso(row.get("timestamp")),
        "lastTradeTimestamp": row.get("last_trade_timestamp"),
        "lastUpdateTimestamp": row.get("last_update_timestamp"),
        "symbol": row.get("symbol"),
        "type": row.get("type"),
        "timeInForce": row.get("time_in_force"),
        "postOnly": row.get("post_only"),
        "reduceOnly": row.get("reduce_only"),
        "side": row.get("side"),
        "price": _f(row.get("price")),
        "stopPrice": _f(row.get("trigger_price")),
        "triggerPrice": _f(row.get("trigger_price")),
        "amount": _f(row.get("amount")),
        "cost": _f(row.get("cost")),
        "average": _f(row.get("average")),
        "filled": _f(row.get("filled")),
        "remaining": _f(row.get("remaining")),
        "status": row.get("status"),
        "fee": fee,
        "fees": [fee] if fee else [],
        "trades": list(trades or []),
    }
    return order


def trade_from_row(row: Mapping[str, Any]) -> Trade:
    """A ccxt ``Trade`` from a ``trades`` row (``fee`` None while pending)."""
    fee = None
    if row.get("fee_cost") is not None:
        fee = {"cost": float(row["fee_cost"]), "currency": row.get("fee_currency")}
    trade: dict[str, Any] = {
        "info": dict(row.get("info") or {}),
        "id": row["trade_id"],
        "order": row.get("order_id"),
        "clientOrderId": row.get("client_order_id"),
        "timestamp": row.get("timestamp"),
        "datetime": _iso(row.get("timestamp")),
        "symbol": row.get("symbol"),
        "type": row.get("type"),
        "side": row.get("side"),
        "takerOrMaker": row.get("taker_or_maker"),
        "price": float(row["price"]),
        "amount": float(row["amount"]),
        "cost": _f(row.get("cost")),
        "fee": fee,
        "fees": [fee] if fee else [],
    }
    return trade


def ledger_order(ledger: Ledger, client_order_id: str) -> dict[str, Any] | None:
    """The ``orders`` row of one client order id, or None (blocking: call it in a thread)."""
    rows = q.orders_by_client_prefix(ledger, client_order_id)
    return next((r for r in rows if r["client_order_id"] == client_order_id), None)


def ledger_trades(ledger: Ledger, client_order_id: str) -> list[dict[str, Any]]:
    """The ``trades`` rows of one client order id, oldest first (blocking: call it in a thread)."""
    rows = q.trades_by_client_prefix(ledger, client_order_id)
    return [r for r in rows if r["client_order_id"] == client_order_id]


def origin_fields(origin: str) -> dict[str, str | None]:
    """``strategy:<name>`` / ``agent:<id>`` / ``plan:<id>`` -> the ledger's ``strategy``, ``agent``, ``plan_id``."""
    kind, _, name = origin.partition(":")
    return {
        "strategy": name if kind == "strategy" else None,
        "agent": name if kind == "agent" else None,
        "plan_id": name if kind == "plan" else None,
    }
