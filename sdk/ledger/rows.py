"""ccxt structures -> ledger rows: pure functions, no database.

Each function checks what it is given and raises :class:`~sdk.ledger.errors.LedgerInputError`
naming the key that is wrong (``order['side']``) and what to pass instead. Ids may be strings or
integers (IB's ``orderId``/``permId``); they are stored as strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sdk.ledger.errors import LedgerInputError
from sdk.ledger.values import (
    mask_payload,
    optional_text,
    quote_currency,
    require_text,
    to_currency,
    to_decimal,
    to_ms,
    to_whole,
)

__all__ = [
    "OPEN_PLAN_STATUSES",
    "ORDER_STATUSES",
    "PLAN_STATUSES",
    "SIDES",
    "TERMINAL_ORDER_STATUSES",
    "Fee",
    "balance_rows",
    "convert",
    "fee_in_base",
    "iter_mappings",
    "market_data_row",
    "order_row",
    "parse_fee",
    "plan_values",
    "position_row",
    "trade_row",
]

#: ccxt's order statuses.
ORDER_STATUSES = frozenset({"open", "closed", "canceled", "expired", "rejected"})
#: Statuses after which an order never becomes ``open`` again.
TERMINAL_ORDER_STATUSES = frozenset(ORDER_STATUSES - {"open"})
SIDES = frozenset({"buy", "sell"})
POSITION_SIDES = frozenset({"long", "short"})
#: A plan's life: ``pending`` (waiting for its entry), ``active`` (entered; stop and target live),
#: then ``closed`` (exited), ``canceled``, ``expired`` or ``rejected`` (by the RiskManager).
PLAN_STATUSES = frozenset({"pending", "active", "closed", "canceled", "expired", "rejected"})
OPEN_PLAN_STATUSES = frozenset({"pending", "active"})
_BALANCE_RESERVED = frozenset({"info", "free", "used", "total", "timestamp", "datetime", "debt"})
_SCALE = Decimal("1e-10")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,63}")


def _id(value: object, field: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise LedgerInputError(f"{field} must be a string or integer id, not {value!r}")
    text = str(value)
    if not _ID.fullmatch(text):
        raise LedgerInputError(
            f"{field} = {text[:70]!r} is not an id: 1-64 letters, digits and . _ : / + = - starting "
            "with a letter or digit"
        )
    return text


@dataclass(frozen=True, slots=True)
class Fee:
    """A fee as ccxt gives it: ``cost`` in ``currency`` (None: pending), ``rate`` as a fraction."""

    cost: Decimal | None
    currency: str | None
    rate: Decimal | None


def parse_fee(structure: Mapping[str, Any], where: str) -> Fee:
    """The ``fee`` of a ccxt order or trade (or its only entry in ``fees``); None everywhere when pending.

    Raises:
        LedgerInputError: a cost without a currency, or several fees (sum them per currency first).
    """
    fee = structure.get("fee")
    if fee is None:
        fees = [f for f in structure.get("fees") or [] if f]
        if len(fees) > 1:
            raise LedgerInputError(
                f"{where}['fees'] has {len(fees)} entries; the ledger stores one fee per fill: "
                "sum them into 'fee' (one currency) first"
            )
        fee = fees[0] if fees else None
    if fee is None:
        return Fee(None, None, None)
    if not isinstance(fee, Mapping):
        raise LedgerInputError(f"{where}['fee'] must be {{'cost', 'currency'}} or None, not {fee!r}")
    cost = to_decimal(fee.get("cost"), f"{where}['fee']['cost']")
    currency = to_currency(fee.get("currency"), f"{where}['fee']['currency']")
    if cost is not None and currency is None:
        raise LedgerInputError(f"{where}['fee'] has a cost but no currency; say which currency it is in")
    return Fee(cost, currency, to_decimal(fee.get("rate"), f"{where}['fee']['rate']"))


def fee_in_base(
    cost: Decimal | None, currency: str | None, base_currency: str | None, fx_rate: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """``(fx_rate, cost × fx_rate)``: the fee in the base currency and the rate used.

    The rate is units of ``base_currency`` per unit of ``currency``; it is exactly 1 when they are
    the same. With no rate (or no fee) both are None: pending, never guessed.

    Raises:
        LedgerInputError: a rate that is not positive, or a rate other than 1 for the same currency.
    """
    if fx_rate is not None and fx_rate <= 0:
        raise LedgerInputError(f"fx_rate must be positive ({base_currency} per {currency}), got {fx_rate}")
    if cost is None or currency is None or base_currency is None:
        return None, None
    if currency == base_currency:
        if fx_rate is not None and fx_rate != 1:
            raise LedgerInputError(f"the fee is in {currency}, the base currency; fx_rate must be 1 or None")
        return Decimal(1), cost
    if fx_rate is None:
        return None, None
    return fx_rate, (cost * fx_rate).quantize(_SCALE)


def convert(
    amount: Decimal | None, currency: str, base_currency: str | None, fx_rates: Mapping[str, Any] | None
) -> tuple[Decimal | None, Decimal | None]:
    """``(rate, amount × rate)`` with the rate from ``fx_rates[currency]`` (base per unit); 1 for the base."""
    if amount is None or base_currency is None:
        return None, None
    if currency == base_currency:
        return Decimal(1), amount
    rate = to_decimal((fx_rates or {}).get(currency), f"fx_rates[{currency!r}]")
    if rate is None:
        return None, None
    if rate <= 0:
        raise LedgerInputError(f"fx_rates[{currency!r}] must be positive ({base_currency} per {currency})")
    return rate, (amount * rate).quantize(_SCALE)


def order_row(order: Mapping[str, Any], *, venue: str, account: str, now: int) -> dict[str, Any]:
    """The ccxt columns of an ``orders`` row (``venue``, ``account`` already resolved and masked)."""
    if not isinstance(order, Mapping):
        raise LedgerInputError(f"order must be a ccxt Order dict, not {type(order).__name__}")
    client_order_id = _id(order.get("clientOrderId"), "order['clientOrderId']")
    order_id = _id(order.get("id"), "order['id']")
    if client_order_id is None and order_id is None:
        raise LedgerInputError(
            "order has neither 'clientOrderId' (ours, CLIENT_ORDER_PREFIX + id) nor 'id' (the venue's); "
            "the ledger needs one of them to tell a new order from an update"
        )
    symbol = order.get("symbol")
    fee = parse_fee(order, "order")
    trigger = order.get("triggerPrice")
    if trigger is None:
        trigger = order.get("stopPrice")
    return {
        "venue": venue,
        "account": account,
        "order_id": order_id,
        "client_order_id": client_order_id,
        "symbol": symbol,
        "quote_currency": quote_currency(symbol, "order['symbol']"),
        "type": optional_text(order.get("type"), "order['type']", max_length=16),
        "side": require_text(order.get("side"), "order['side']", max_length=4, choices=SIDES),
        # ccxt's timeInForce is None for IB's DAY/OPG/GTD; the venue's own value rides in info["tif"]
        "time_in_force": optional_text(_time_in_force(order), "order['timeInForce']", max_length=8),
        "status": require_text(order.get("status"), "order['status']", max_length=16, choices=ORDER_STATUSES),
        "price": to_decimal(order.get("price"), "order['price']"),
        "trigger_price": to_decimal(trigger, "order['triggerPrice']"),
        "average": to_decimal(order.get("average"), "order['average']"),
        "amount": to_decimal(order.get("amount"), "order['amount']"),
        "filled": to_decimal(order.get("filled"), "order['filled']"),
        "remaining": to_decimal(order.get("remaining"), "order['remaining']"),
        "cost": to_decimal(order.get("cost"), "order['cost']"),
        "fee_cost": fee.cost,
        "fee_currency": fee.currency,
        "reduce_only": _bool(order.get("reduceOnly"), "order['reduceOnly']"),
        "post_only": _bool(order.get("postOnly"), "order['postOnly']"),
        "timestamp": to_ms(order.get("timestamp"), "order['timestamp']") or now,
        "last_trade_timestamp": to_ms(order.get("lastTradeTimestamp"), "order['lastTradeTimestamp']"),
        "last_update_timestamp": to_ms(order.get("lastUpdateTimestamp"), "order['lastUpdateTimestamp']"),
        "info": mask_payload(order["info"]) if order.get("info") else None,
        "created_at": now,
        "updated_at": now,
    }


def _bool(value: object, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise LedgerInputError(f"{field} must be true, false or None, not {value!r}")


def trade_row(
    trade: Mapping[str, Any],
    *,
    venue: str,
    account: str,
    base_currency: str | None,
    fx_rate: Decimal | None,
    now: int,
) -> dict[str, Any]:
    """The ccxt columns of a ``trades`` row, with the fee converted to ``base_currency`` when a rate is known."""
    if not isinstance(trade, Mapping):
        raise LedgerInputError(f"trade must be a ccxt Trade dict, not {type(trade).__name__}")
    trade_id = _id(trade.get("id"), "trade['id']")
    if trade_id is None:
        raise LedgerInputError(
            "trade['id'] is required: the venue's execution id (IB execId), which makes a replayed fill one row"
        )
    symbol = trade.get("symbol")
    fee = parse_fee(trade, "trade")
    rate, in_base = fee_in_base(fee.cost, fee.currency, base_currency, fx_rate)
    return {
        "venue": venue,
        "account": account,
        "trade_id": trade_id,
        "order_id": _id(trade.get("order"), "trade['order']"),
        "client_order_id": _id(trade.get("clientOrderId"), "trade['clientOrderId']"),
        "symbol": symbol,
        "quote_currency": quote_currency(symbol, "trade['symbol']"),
        "side": require_text(trade.get("side"), "trade['side']", max_length=4, choices=SIDES),
        "type": optional_text(trade.get("type"), "trade['type']", max_length=16),
        "taker_or_maker": optional_text(trade.get("takerOrMaker"), "trade['takerOrMaker']", max_length=5),
        "price": to_decimal(trade.get("price"), "trade['price']", required=True),
        "amount": to_decimal(trade.get("amount"), "trade['amount']", required=True),
        "cost": to_decimal(trade.get("cost"), "trade['cost']"),
        "timestamp": to_ms(trade.get("timestamp"), "trade['timestamp']", required=True),
        "fee_cost": fee.cost,
        "fee_currency": fee.currency,
        "fee_rate": fee.rate,
        "base_currency": base_currency,
        "fx_rate": rate,
        "fee_in_base": in_base,
        "info": mask_payload(trade["info"]) if trade.get("info") else None,
        "created_at": now,
        "updated_at": now,
    }


def position_row(
    position: Mapping[str, Any], *, base_currency: str | None, fx_rates: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The columns of a ``positions`` row from a ccxt ``Position`` (negative contracts without a side: short)."""
    if not isinstance(position, Mapping):
        raise LedgerInputError(f"position must be a ccxt Position dict, not {type(position).__name__}")
    symbol = position.get("symbol")
    quote = quote_currency(symbol, "position['symbol']")
    contracts = to_decimal(position.get("contracts"), "position['contracts']", required=True)
    assert contracts is not None
    side = position.get("side")
    if side is None and contracts != 0:
        side = "short" if contracts < 0 else "long"
    if contracts < 0:
        if side != "short":
            raise LedgerInputError(f"position['contracts'] is negative ({contracts}) but side is {side!r}")
        contracts = -contracts
    if side is not None:
        side = require_text(side, "position['side']", max_length=5, choices=POSITION_SIDES)
    notional = to_decimal(position.get("notional"), "position['notional']")
    rate, notional_in_base = convert(notional, quote, base_currency, fx_rates)
    return {
        "symbol": symbol,
        "quote_currency": quote,
        "side": side if contracts != 0 else None,
        "contracts": contracts,
        "entry_price": to_decimal(position.get("entryPrice"), "position['entryPrice']"),
        "mark_price": to_decimal(position.get("markPrice"), "position['markPrice']"),
        "notional": notional,
        "unrealized_pnl": to_decimal(position.get("unrealizedPnl"), "position['unrealizedPnl']"),
        "realized_pnl": to_decimal(position.get("realizedPnl"), "position['realizedPnl']"),
        "base_currency": base_currency,
        "fx_rate": rate if notional is not None else None,
        "notional_in_base": notional_in_base,
    }


def balance_rows(
    balances: Mapping[str, Any], *, base_currency: str | None, fx_rates: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """``balances`` rows from ccxt ``Balances`` (``{"AUD": {"free", "used", "total"}, ..., "info": ...}``)."""
    if not isinstance(balances, Mapping):
        raise LedgerInputError(f"balances must be a ccxt Balances dict, not {type(balances).__name__}")
    rows = []
    for currency, entry in balances.items():
        if currency in _BALANCE_RESERVED:
            continue
        code = to_currency(currency, "balances key")
        assert code is not None
        if not isinstance(entry, Mapping):
            raise LedgerInputError(f"balances[{currency!r}] must be {{'free', 'used', 'total'}}, not {entry!r}")
        total = to_decimal(entry.get("total"), f"balances[{currency!r}]['total']")
        rate, total_in_base = convert(total, code, base_currency, fx_rates)
        rows.append(
            {
                "currency": code,
                "free": to_decimal(entry.get("free"), f"balances[{currency!r}]['free']"),
                "used": to_decimal(entry.get("used"), f"balances[{currency!r}]['used']"),
                "total": total,
                "base_currency": base_currency,
                "fx_rate": rate,
                "total_in_base": total_in_base,
            }
        )
    return rows


def market_data_row(data: Mapping[str, Any], *, venue: str, source: str, now: int) -> dict[str, Any]:
    """A ``market_data`` row from :class:`sdk.base.MarketData` or a ccxt ``Ticker``.

    Keys read: ``symbol``, ``timestamp`` (default: now), ``bid``, ``ask``, ``last``, ``bid_size`` or
    ``bidVolume``, ``ask_size`` or ``askVolume``, ``volume`` or ``baseVolume``. ``MarketData.price``
    is not stored: it may be a midpoint, not a trade.
    """
    if not isinstance(data, Mapping):
        raise LedgerInputError(f"market data must be a MarketData or ccxt Ticker dict, not {type(data).__name__}")
    symbol = data.get("symbol")

    def first(*keys: str) -> Any:
        return next((data[k] for k in keys if data.get(k) is not None), None)

    return {
        "venue": venue,
        "symbol": symbol,
        "source": source,
        "timestamp": to_ms(data.get("timestamp"), "market_data['timestamp']") or now,
        "quote_currency": quote_currency(symbol, "market_data['symbol']"),
        "bid": to_decimal(data.get("bid"), "market_data['bid']"),
        "ask": to_decimal(data.get("ask"), "market_data['ask']"),
        "last": to_decimal(data.get("last"), "market_data['last']"),
        "bid_size": to_whole(first("bid_size", "bidVolume"), "market_data['bid_size']"),
        "ask_size": to_whole(first("ask_size", "askVolume"), "market_data['ask_size']"),
        "volume": to_decimal(first("volume", "baseVolume"), "market_data['volume']"),
    }


_PLAN_TEXT = {"reason": 10_000, "strategy": 64, "agent": 64}
_PLAN_PRICES = ("entry", "stop", "target", "amount")
_PLAN_KEYS = frozenset({"plan_id", "symbol", "side", "status", "valid_until", "info", "run_id"})


def plan_values(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The columns a plan mapping sets (only the keys present and not None; ``plan_id`` always).

    Keys: ``plan_id`` (required), ``symbol``, ``side``, ``entry``, ``stop``, ``target`` (prices in the
    quote currency), ``amount`` (base units), ``status`` (:data:`PLAN_STATUSES`), ``reason``,
    ``strategy``, ``agent``, ``valid_until`` (ms), ``info`` (JSON), ``run_id``.
    """
    if not isinstance(plan, Mapping):
        raise LedgerInputError(f"plan must be a mapping, not {type(plan).__name__}")
    unknown = set(plan) - _PLAN_KEYS - set(_PLAN_TEXT) - set(_PLAN_PRICES)
    if unknown:
        raise LedgerInputError(
            f"plan has unknown keys {sorted(unknown)}; "
            f"known: {sorted(_PLAN_KEYS | set(_PLAN_TEXT) | set(_PLAN_PRICES))}"
        )
    values: dict[str, Any] = {"plan_id": _id(plan.get("plan_id"), "plan['plan_id']")}
    if values["plan_id"] is None:
        raise LedgerInputError("plan['plan_id'] is required: the id the strategy or agent gave the plan")
    if plan.get("symbol") is not None:
        values["symbol"] = plan["symbol"]
        values["quote_currency"] = quote_currency(plan["symbol"], "plan['symbol']")
    if plan.get("side") is not None:
        values["side"] = require_text(plan["side"], "plan['side']", max_length=4, choices=SIDES)
    if plan.get("status") is not None:
        values["status"] = require_text(plan["status"], "plan['status']", max_length=16, choices=PLAN_STATUSES)
    for name in _PLAN_PRICES:
        if plan.get(name) is not None:
            values[name] = to_decimal(plan[name], f"plan[{name!r}]")
    for name, length in _PLAN_TEXT.items():
        if plan.get(name) is not None:
            values[name] = require_text(plan[name], f"plan[{name!r}]", max_length=length)
    if plan.get("valid_until") is not None:
        values["valid_until"] = to_ms(plan["valid_until"], "plan['valid_until']")
    if plan.get("info") is not None:
        values["info"] = mask_payload(plan["info"])
    if plan.get("run_id") is not None:
        values["run_id"] = require_text(plan["run_id"], "plan['run_id']", max_length=32)
    return values


def iter_mappings(items: Iterable[Any], what: str) -> Iterable[Mapping[str, Any]]:
    """``items`` one by one, refusing a single mapping passed where a list was expected."""
    if isinstance(items, Mapping):
        raise LedgerInputError(f"{what} must be a list of dicts, not one dict; wrap it in a list")
    yield from items


def _time_in_force(order: Mapping[str, Any]) -> Any:
    """ccxt's ``timeInForce``, else the venue's own (IB's ``info["tif"]``: ``DAY``, ``OPG``, ``GTD``)."""
    tif = order.get("timeInForce")
    if tif is None and isinstance(order.get("info"), Mapping):
        tif = order["info"].get("tif")
    return tif
