"""The simulation's state in ccxt's unified structures (ccxt Manual: "Order structure", "Trade structure",
"Position structure", "Balance structure"), shared by the shadow venue and the simulated venue.

* ``timestamp`` integer ms UTC and ``datetime`` its ISO 8601 string; ``amount``/``filled``/``remaining`` base units;
  ``price``/``average``/``cost`` the quote currency; a fee ``{"cost", "currency"}`` or None while pending.
* ``timeInForce`` is ccxt's unified value (``GTC``, ``IOC``, ``FOK``); ccxt has none for ``DAY`` and ``OPG``, whose
  order carries None there and its own value in ``info["tif"]`` (as the IB venue does; the ledger reads either).
* ``info`` holds what the caller adds (the shadow venue marks everything ``{"shadow": True, ...}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ccxt.base.types import Balances, Order, Position, Trade

from sdk.sim.account import Holding
from sdk.sim.orders import Execution, Fee, SimOrder

__all__ = ["CCXT_TIME_IN_FORCE", "balance_to_ccxt", "iso", "order_to_ccxt", "position_to_ccxt", "trade_to_ccxt"]

#: ccxt's unified times in force (its order validator knows GTC, GTK, IOC, FOK and PO).
CCXT_TIME_IN_FORCE = frozenset({"GTC", "IOC", "FOK"})


def iso(ms: int) -> str:
    """ccxt's ``datetime``: ``2025-03-04T00:00:00.000Z``."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fee(fee: Fee | None) -> dict[str, Any] | None:
    if fee is None or fee.pending:
        return None
    assert fee.amount is not None
    return {"cost": float(fee.amount), "currency": fee.currency}


def trade_to_ccxt(execution: Execution, info: Mapping[str, Any] | None = None) -> Trade:
    """One execution as a ccxt trade (``fee`` None while pending)."""
    fee = _fee(execution.fee)
    trade: dict[str, Any] = {
        "info": dict(info or {}),
        "id": execution.id,
        "order": execution.order_id,
        "clientOrderId": execution.client_order_id,
        "timestamp": execution.timestamp,
        "datetime": iso(execution.timestamp),
        "symbol": execution.symbol,
        "type": execution.type,
        "side": execution.side,
        "takerOrMaker": execution.liquidity,
        "price": float(execution.price),
        "amount": float(execution.amount),
        "cost": float(execution.price * execution.amount),
        "fee": fee,
        "fees": [fee] if fee else [],
    }
    return trade


def order_to_ccxt(
    order: SimOrder,
    trades: list[Trade] | None = None,
    info: Mapping[str, Any] | None = None,
) -> Order:
    """One order as a ccxt order: ``trades`` its fills as already rendered (default: :func:`trade_to_ccxt` of
    ``order.fills``); ``fee`` the sum of its fills' fees when every one is known and in one currency, else None."""
    rendered = trades if trades is not None else [trade_to_ccxt(e) for e in order.fills]
    fees = [t["fee"] for t in rendered if t.get("fee")]
    currencies = {f["currency"] for f in fees}
    fee = None
    if fees and len(currencies) == 1 and len(fees) == len(rendered):
        fee = {"cost": float(sum(Decimal(str(f["cost"])) for f in fees)), "currency": currencies.pop()}
    average = order.average
    tif = order.time_in_force
    result: dict[str, Any] = {
        "info": {**dict(info or {}), "tif": tif, "reason": order.reason or None},
        "id": order.id,
        "clientOrderId": order.client_order_id,
        "timestamp": order.timestamp,
        "datetime": iso(order.timestamp),
        "lastTradeTimestamp": rendered[-1]["timestamp"] if rendered else None,
        "lastUpdateTimestamp": order.last_update,
        "symbol": order.symbol,
        "type": order.type,
        "timeInForce": tif if tif in CCXT_TIME_IN_FORCE else None,
        "postOnly": False,
        "reduceOnly": order.reduce_only,
        "side": order.side,
        "price": float(order.price) if order.price is not None else None,
        "stopPrice": float(order.stop_price) if order.stop_price is not None else None,
        "triggerPrice": float(order.stop_price) if order.stop_price is not None else None,
        "amount": float(order.amount),
        "cost": float(order.cost),
        "average": float(average) if average is not None else None,
        "filled": float(order.filled),
        "remaining": 0.0 if order.status == "closed" else float(order.remaining),
        "status": order.status,
        "fee": fee,
        "fees": [fee] if fee else [],
        "trades": list(rendered),
    }
    return result


def position_to_ccxt(
    holding: Holding, mark: Decimal | None, at: int, info: Mapping[str, Any] | None = None
) -> Position:
    """A position in ccxt's shape, as the IB venue answers one (``contracts`` base units, ``contractSize`` 1, the
    account's ``cross`` margin, no margin figures of its own), marked at ``mark`` (quote currency; None: unpriced, so
    notional, unrealised PnL and ``percentage``, the unrealised PnL in percent of the entry cost, are None)."""
    size = abs(holding.amount)
    unrealized = holding.unrealized(mark) if mark is not None else None
    basis = size * holding.average
    position: dict[str, Any] = {
        "info": {**dict(info or {}), "position": float(holding.amount)},
        "id": None,
        "symbol": holding.symbol,
        "timestamp": at,
        "datetime": iso(at),
        "side": "long" if holding.amount > 0 else "short",
        "contracts": float(size),
        "contractSize": 1.0,
        "entryPrice": float(holding.average),
        "markPrice": float(mark) if mark is not None else None,
        "notional": float(size * mark) if mark is not None else None,
        "unrealizedPnl": float(unrealized) if unrealized is not None else None,
        "realizedPnl": float(holding.realized),
        "leverage": 1.0,
        "marginMode": "cross",
        "hedged": False,
        "percentage": float(unrealized / basis * 100) if unrealized is not None and basis else None,
        "collateral": float(size * mark) if mark is not None else None,
        # margin figures of a derivatives position: a spot holding has none
        "initialMargin": None,
        "initialMarginPercentage": None,
        "maintenanceMargin": None,
        "maintenanceMarginPercentage": None,
        "marginRatio": None,
        "liquidationPrice": None,
        "positionMargin": None,
    }
    return position


def balance_to_ccxt(
    cash: Mapping[str, Decimal], used: Mapping[str, Decimal], info: Mapping[str, Any] | None = None
) -> Balances:
    """ccxt balances from cash per currency and what open orders reserve (``free`` = ``total`` - ``used``)."""
    balance: dict[str, Any] = {"info": dict(info or {}), "free": {}, "used": {}, "total": {}}
    for currency, total in sorted(cash.items()):
        reserved = used.get(currency, Decimal(0))
        entry = {"free": float(total - reserved), "used": float(reserved), "total": float(total)}
        balance[currency] = entry
        for key in ("free", "used", "total"):
            balance[key][currency] = entry[key]
    return balance
