"""One IB order as this SDK tracks it (:class:`OrderRecord`) and its ccxt order structure.

Amounts are in base units, prices in the quote currency, timestamps in ms UTC. The record's ccxt
``status`` maps IB's through :data:`sdk.venues.ib.parsing.ORDER_STATUS`; an order proven never
received by IB (:data:`LOST`) is ``rejected`` with ``info["lost"]`` True (the execution service
sends it once more with the same client order id); one whose fate could not be read is ``open`` with
``info["unknown"]`` True. :func:`order_structure` builds the ccxt ``Order``
(``id`` is IB's ``permId`` once acknowledged, else the client order id).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ccxt.base.types import Order

from sdk.venues.ib.executions import COMMISSION_PENDING, FillRecord, iso8601
from sdk.venues.ib.parsing import BRACKET_SUFFIXES, to_ccxt_status, to_ccxt_time_in_force

__all__ = ["LOST", "TERMINAL", "OrderRecord", "order_structure"]

#: ccxt statuses after which an order changes no more.
TERMINAL = frozenset({"closed", "canceled", "rejected", "expired"})
#: IB's status for an order proven never received (not an IB status: ours, kept in info).
LOST = "Lost"


@dataclass(slots=True)
class OrderRecord:
    """What the SDK knows about one of its orders. Amounts in base units, prices in the quote currency."""

    client_order_id: str
    symbol: str
    type: str
    side: str
    amount: float
    price: float | None
    stop_price: float | None
    time_in_force: str
    reduce_only: bool
    timestamp: int
    con_id: int = 0
    exchange: str = ""
    client_id: int | None = None
    order_id: int | None = None
    perm_id: int | None = None
    ib_status: str = "PendingSubmit"
    filled: float = 0.0
    remaining: float | None = None
    average: float | None = None
    last_update: int | None = None
    error_code: int | None = None
    error_message: str = ""
    acknowledged: bool = False
    lost: bool = False  # proven never received by IB (both order lists read in full without it)
    unknown: bool = False  # sent, unacknowledged, and the last reconcile could not read both lists
    unconfirmed_after_resync: bool = False
    parent: str | None = None  # a bracket child's parent (client order id)
    stop_loss_price: float | None = None  # a bracket's stop-loss: on the parent and on its stop-loss child
    take_profit_price: float | None = None  # a bracket's take-profit: on the parent and on its take-profit child
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def status(self) -> str:
        if self.lost:
            return "rejected"
        return to_ccxt_status(self.ib_status, error_code=self.error_code, message=self.error_message)

    @property
    def is_done(self) -> bool:
        return self.status in TERMINAL

    @property
    def id(self) -> str:
        """IB's permId once acknowledged, else the client order id."""
        return str(self.perm_id) if self.perm_id else self.client_order_id

    def notify(self) -> None:
        """Wake everyone waiting on this order (each waiter then re-reads it)."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def changed(self) -> None:
        await self._changed.wait()


def order_structure(record: OrderRecord, fills: list[FillRecord]) -> Order:
    """The ccxt order structure of ``record`` with its ``fills`` (this order's executions) as ``trades``.

    ``fee`` is the sum of the fills' IB commissions once every fill has its report, None (pending)
    before; ``info["commissionSource"]`` says which. IB's raw status, ids and tif ride in ``info``.
    """
    filled = max(record.filled, sum(f.amount for f in fills))
    average = record.average
    if average is None and fills and filled:
        average = sum(f.amount * f.price for f in fills) / filled
    remaining = record.remaining if record.remaining is not None else max(record.amount - filled, 0.0)
    if record.is_done:
        remaining = 0.0 if record.status == "closed" else remaining
    fee, source = _order_fee(fills)
    last_trade = max((f.timestamp for f in fills), default=None)
    info: dict[str, Any] = {
        "status": LOST if record.lost else record.ib_status,
        "orderId": record.order_id,
        "permId": record.perm_id,
        "clientId": record.client_id,
        "orderRef": record.client_order_id,
        "conId": record.con_id,
        "exchange": record.exchange,
        "tif": record.time_in_force,
        "errorCode": record.error_code,
        "errorMessage": record.error_message or None,
        "commissionSource": source,
        "acknowledged": record.acknowledged,
        # proven never received by IB (both order lists read in full, no execution): safe to send again
        "lost": record.lost,
        # sent, unacknowledged, and IB's order lists could not both be read: its fate is not known
        "unknown": record.unknown,
    }
    if record.parent is not None:
        info["parentOrderRef"] = record.parent  # a bracket child: its entry's client order id
    elif record.stop_loss_price is not None or record.take_profit_price is not None:
        legs = (("stopLoss", record.stop_loss_price), ("takeProfit", record.take_profit_price))
        info["attached"] = [record.client_order_id + BRACKET_SUFFIXES[leg] for leg, price in legs if price is not None]
    if record.unknown:
        info["reconcile"] = (
            "unknown: sent but not acknowledged, and IB's open and completed orders could not both be read "
            "after the reconnect; it is not sent again while reconciliation retries"
        )
    elif record.unconfirmed_after_resync:
        info["reconcile"] = "IB did not report this order after the last reconnect"
    order: dict[str, Any] = {
        "info": info,
        "id": record.id,
        "clientOrderId": record.client_order_id,
        "timestamp": record.timestamp,
        "datetime": iso8601(record.timestamp),
        "lastTradeTimestamp": last_trade,
        "lastUpdateTimestamp": record.last_update,
        "symbol": record.symbol,
        "type": record.type,
        "timeInForce": to_ccxt_time_in_force(record.time_in_force),
        "postOnly": False,
        "reduceOnly": record.reduce_only,
        "side": record.side,
        "price": record.price,
        "stopPrice": record.stop_price,
        "triggerPrice": record.stop_price,
        "stopLossPrice": record.stop_loss_price,
        "takeProfitPrice": record.take_profit_price,
        "amount": record.amount,
        "cost": filled * average if average is not None else (0.0 if not filled else None),
        "average": average,
        "filled": filled,
        "remaining": remaining,
        "status": record.status,
        "fee": fee,
        "fees": [fee] if fee is not None else [],
        "trades": [f.to_trade() for f in fills],
    }
    return order


def _order_fee(fills: list[FillRecord]) -> tuple[dict[str, Any] | None, str]:
    if not fills:
        return None, COMMISSION_PENDING
    if any(f.commission is None for f in fills):
        return None, COMMISSION_PENDING
    currencies = {f.commission_currency for f in fills}
    if len(currencies) != 1:
        return None, "mixed currencies: see trades"
    total = sum(f.commission or 0.0 for f in fills)
    return {"cost": total, "currency": currencies.pop()}, "ib_commission_report"
