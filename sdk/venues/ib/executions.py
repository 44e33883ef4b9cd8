"""Executions joined with commission reports: every fill once, its fee pending until IB reports it.

IB sends an execution (``execDetails``) and, separately and later, its commission report keyed by
``execId`` (TWS API "Executions and Commissions":
https://interactivebrokers.github.io/tws-api/executions_commissions.html). ib_async forgets both at
every disconnect; :class:`ExecutionStore` keeps them for the life of the trader, merges what IB
re-sends after a reconnect (``reqExecutions``) without duplicates, and holds a report that arrives
before its execution until the execution comes.

A fill's fee is ``None`` ("pending") until a real report arrives: IB's unset double, 0.0 or a
negative value never become a fee (:func:`sdk.venues.ib.parsing.commission_or_pending`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ccxt.base.types import Trade
from ib_async import CommissionReport, Fill

from sdk.venues.ib.parsing import clean_number, commission_or_pending, taker_or_maker

__all__ = ["ExecutionStore", "FillRecord", "iso8601", "to_ms"]

log = logging.getLogger(__name__)

#: Where a fill's fee came from, as logged and kept in ``info["commissionSource"]``.
COMMISSION_REPORTED = "ib_commission_report"
COMMISSION_PENDING = "pending"


def to_ms(moment: datetime) -> int:
    """Integer milliseconds UTC of a datetime (naive values are taken as UTC, as IB's are)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def iso8601(ms: int | None) -> str | None:
    """ccxt's ``datetime``: ISO 8601 with milliseconds and ``Z``."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class FillRecord:
    """One execution. ``amount`` in base units, ``price`` in the quote currency, ``timestamp`` ms UTC.

    ``commission`` is in ``commission_currency``; both None while IB's report is pending.
    """

    exec_id: str
    perm_id: int
    order_id: int
    client_id: int
    order_ref: str
    symbol: str
    side: Literal["buy", "sell"]
    amount: float
    price: float
    timestamp: int
    con_id: int
    exchange: str
    currency: str
    last_liquidity: int
    commission: float | None = None
    commission_currency: str | None = None
    realized_pnl: float | None = None
    account: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def commission_source(self) -> str:
        return COMMISSION_REPORTED if self.commission is not None else COMMISSION_PENDING

    def to_trade(self) -> Trade:
        """The ccxt trade structure; ``fee`` None while the commission is pending."""
        fee = {"cost": self.commission, "currency": self.commission_currency} if self.commission is not None else None
        info: dict[str, Any] = {
            "execId": self.exec_id,
            "permId": self.perm_id,
            "orderId": self.order_id,
            "clientId": self.client_id,
            "orderRef": self.order_ref,
            "conId": self.con_id,
            "exchange": self.exchange,
            "lastLiquidity": self.last_liquidity,
            "currency": self.currency,
            "commission": self.commission,
            "commissionCurrency": self.commission_currency,
            "realizedPNL": self.realized_pnl,
            "commissionSource": self.commission_source,
            **self.extra,
        }
        trade: dict[str, Any] = {
            "info": info,
            "id": self.exec_id,
            "order": str(self.perm_id) if self.perm_id else None,
            "clientOrderId": self.order_ref or None,
            "timestamp": self.timestamp,
            "datetime": iso8601(self.timestamp),
            "symbol": self.symbol,
            "type": None,
            "side": self.side,
            "takerOrMaker": taker_or_maker(self.last_liquidity),
            "price": self.price,
            "amount": self.amount,
            "cost": self.price * self.amount,
            "fee": fee,
            "fees": [fee] if fee is not None else [],
        }
        return trade


class ExecutionStore:
    """Every execution seen this session and before reconnects, keyed by ``execId``."""

    def __init__(self) -> None:
        self._fills: dict[str, FillRecord] = {}
        self._early_reports: dict[str, CommissionReport] = {}

    def __len__(self) -> int:
        return len(self._fills)

    def get(self, exec_id: str) -> FillRecord | None:
        return self._fills.get(exec_id)

    def ingest(self, fill: Fill, symbol: str) -> tuple[FillRecord, bool]:
        """Add an ib_async ``Fill`` (live or from ``reqExecutions``); returns ``(record, is_new)``.

        A fill already held is not duplicated; its commission is taken from ``fill`` if IB has
        reported it since.
        """
        execution = fill.execution
        record = self._fills.get(execution.execId)
        is_new = record is None
        if record is None:
            contract = fill.contract
            record = FillRecord(
                exec_id=execution.execId,
                perm_id=execution.permId,
                order_id=execution.orderId,
                client_id=execution.clientId,
                order_ref=execution.orderRef or "",
                symbol=symbol,
                side="buy" if execution.side.upper() in ("BOT", "BUY") else "sell",
                amount=float(execution.shares),
                price=float(execution.price),
                timestamp=to_ms(execution.time),
                con_id=contract.conId,
                exchange=execution.exchange or contract.exchange,
                currency=contract.currency,
                last_liquidity=int(execution.lastLiquidity or 0),
                account=execution.acctNumber,
            )
            self._fills[record.exec_id] = record
            early = self._early_reports.pop(record.exec_id, None)
            if early is not None:
                self._apply(record, early)
        self._apply(record, fill.commissionReport)
        return record, is_new

    def apply_commission(self, report: CommissionReport) -> FillRecord | None:
        """Attach a commission report; returns the fill when this report made its fee known."""
        record = self._fills.get(report.execId)
        if record is None:
            if report.execId:
                self._early_reports[report.execId] = report
            return None
        had = record.commission is not None
        self._apply(record, report)
        return record if record.commission is not None and not had else None

    @staticmethod
    def _apply(record: FillRecord, report: CommissionReport | None) -> None:
        if report is None or record.commission is not None:
            return
        value = commission_or_pending(report.commission, report.currency, report.execId)
        if value is None:
            return
        record.commission = value
        record.commission_currency = report.currency
        record.realized_pnl = clean_number(report.realizedPNL)

    def forget(self, perm_id: int | None, order_ref: str) -> int:
        """Drop the fills of one finished order (its fees known, the ledger holds them); returns how many."""
        gone = [k for k, f in self._fills.items() if (perm_id and f.perm_id == perm_id) or f.order_ref == order_ref]
        for exec_id in gone:
            del self._fills[exec_id]
        return len(gone)

    def for_order(self, perm_id: int | None, order_ref: str | None) -> list[FillRecord]:
        """Fills of one order (by permId, else by orderRef), oldest first."""
        found = [
            f
            for f in self._fills.values()
            if (perm_id and f.perm_id == perm_id) or (order_ref and not perm_id and f.order_ref == order_ref)
        ]
        return sorted(found, key=lambda f: (f.timestamp, f.exec_id))

    def query(self, symbol: str | None = None, since: int | None = None, limit: int | None = None) -> list[FillRecord]:
        """Fills at or after ``since`` (ms UTC) for ``symbol`` (all when None), oldest first, at most ``limit``."""
        found = [
            f
            for f in self._fills.values()
            if (symbol is None or f.symbol == symbol) and (since is None or f.timestamp >= since)
        ]
        found.sort(key=lambda f: (f.timestamp, f.exec_id))
        return found[:limit] if limit is not None else found

    def pending(self) -> list[FillRecord]:
        """Fills whose commission IB has not reported yet."""
        return [f for f in self._fills.values() if f.commission is None]
