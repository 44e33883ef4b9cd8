"""The ResyncService: at start and after every reconnect, make the ledger agree with the venue.

Our orders are the ones whose client order id starts with ``CLIENT_ORDER_PREFIX`` (IB's ``orderRef``;
the ids after the prefix may be any letters and digits). A run on a real venue:

1. every order the ledger holds as ``open`` is asked for at the venue (``fetch_order`` by client order
   id; IB adopts earlier processes' orders by ``orderRef`` at each reconnect) and its state and fills
   are recorded; one the venue does not know is left as it is and reported (an order recorded as
   "submitting" is only sent again by a submit with its id); one recorded by another process whose
   lease is live (``orders.holder``) is that process's order in flight, never lost (``orders_elsewhere``).
   These are every process's orders on this venue and account, not only this run's: a fill or status
   change that happened while no process watched (an MCP server stopped after placing, a runner that
   crashed) is picked up here by the next process on the ledger and account;
2. every open order of ours the venue reports and the ledger lacks is recorded (adopted);
3. every fill of ours the venue reports (``get_trades_from_timestamp``) is recorded: the ledger is
   keyed by the venue's execution id, so none is written twice and none is lost, and a commission
   that arrived meanwhile completes its pending fee;
4. positions, balances and equity are snapshotted.

A shadow run restores its account instead: the shadow fills and open shadow orders of the run are
replayed from the ledger into the shadow book (the venue never saw them). Each resync is a ``resync``
event with its counts.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from ccxt.base.types import Trade

from sdk.errors import NotSupported, OrderNotFound
from sdk.ledger import queries as q
from sdk.ledger.leases import live_holders
from sdk.services import Services
from sdk.services.records import trade_from_row
from sdk.services.shadow import ShadowOrder, execution_from_trade, shadow_order_id

__all__ = ["ResyncReport", "ResyncService"]

log = logging.getLogger(__name__)
_FILL_LOOKBACK_MS = 7 * 86_400_000


@dataclass(slots=True)
class ResyncReport:
    """What one resync did."""

    reason: str
    orders_checked: int = 0
    orders_updated: int = 0
    orders_adopted: int = 0
    orders_unknown: list[str] = field(default_factory=list)
    #: open orders the venue does not show us that another live lease holder recorded (its in-flight sends)
    orders_elsewhere: list[str] = field(default_factory=list)
    #: orders of an ended process the venue proved it never got: exits re-sent once, entries recorded lost
    orders_resent: list[str] = field(default_factory=list)
    orders_lost: list[str] = field(default_factory=list)
    fills_added: int = 0
    fees_completed: int = 0
    shadow_fills_restored: int = 0
    shadow_orders_restored: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ResyncService:
    """Reconciles the venue and the ledger for one service set (see the module docstring)."""

    def __init__(self, services: Services, *, source: str = "runner") -> None:
        self.services = services
        self.prefix = services.settings.client_order_prefix
        self.source = source
        self._lock = asyncio.Lock()
        self.reports: list[ResyncReport] = []

    async def run(self, reason: str) -> ResyncReport:
        """One resync (``start``, ``resume``, ``reconnect``); serialised, safe to call from event hooks."""
        async with self._lock:
            report = ResyncReport(reason)
            if self.services.shadow:
                if reason in ("start", "resume"):
                    await self._restore_shadow(report)
            else:
                await self._orders(report)
                await self._fills(report)
            try:
                await self.services.portfolio.record()
            except Exception as exc:  # a snapshot is best effort here; the next one will come
                log.warning("snapshot after resync failed", extra={"error": str(exc)})
            self.reports.append(report)
            log.info("resync done", extra=report.to_dict())
            await asyncio.to_thread(
                self.services.writer.record_event, "resync", report.to_dict(), message=f"resync after {reason}",
                source=self.source, timestamp=int(self.services.execution.clock() * 1000),
                run_id=self.services.session_id,
            )  # fmt: skip
            return report

    # --- a real venue ---------------------------------------------------------------------------
    def _scope(self) -> tuple[str, str]:
        context = self.services.writer.session(self.services.session_id)
        assert context is not None
        return context.venue, context.account

    async def _orders(self, report: ResyncReport) -> None:
        svc = self.services
        venue, account = self._scope()
        ledger_open = await asyncio.to_thread(
            q.orders_by_client_prefix, svc.ledger, self.prefix, venue=venue, account=account, statuses={"open"}
        )
        known = {row["client_order_id"] for row in await asyncio.to_thread(
            q.orders_by_client_prefix, svc.ledger, self.prefix, venue=venue, account=account
        )}  # fmt: skip
        mine = svc.writer.sender[0] if svc.writer.sender else None
        elsewhere = await asyncio.to_thread(live_holders, svc.ledger) - {mine}
        for row in ledger_open:
            cid = row["client_order_id"]
            report.orders_checked += 1
            try:
                order = await svc.trader.fetch_order(cid)
            except (OrderNotFound, NotSupported):
                if row.get("holder") and row["holder"] in elsewhere:  # in flight in another live process: not lost
                    report.orders_elsewhere.append(cid)
                    continue
                if _never_acknowledged(row) and await svc.trader.order_never_received(cid) is True:
                    # sent by an ended process, never acknowledged, and the venue proves it never got it
                    await self._recover(row, report)
                    continue
                report.orders_unknown.append(cid)
                log.warning("an open order of the ledger is unknown to the venue", extra={"orderRef": cid})
                continue
            await svc.execution.reconcile_order(order, plan_id=row.get("plan_id"))
            report.orders_updated += 1
        try:
            venue_open = await svc.trader.fetch_open_orders()
        except NotSupported:
            venue_open = []
        for order in venue_open:
            cid = str(order.get("clientOrderId") or "")
            if cid.startswith(self.prefix) and cid not in known:
                await svc.execution.reconcile_order(order)
                report.orders_adopted += 1

    async def _recover(self, row: dict[str, Any], report: ResyncReport) -> None:
        cid = row["client_order_id"]
        try:
            result = await self.services.execution.recover_lost(row)
        except Exception as exc:  # the venue refused it, or its fate is open again: said, not guessed
            log.warning("a lost order could not be re-sent", extra={"orderRef": cid, "error": str(exc)})
            report.orders_unknown.append(cid)
            return
        status = (result.order or {}).get("status")
        (report.orders_lost if status == "rejected" else report.orders_resent).append(cid)

    async def _fills(self, report: ResyncReport) -> None:
        svc = self.services
        venue, account = self._scope()
        since = int(svc.execution.clock() * 1000) - _FILL_LOOKBACK_MS
        try:
            trades = await svc.trader.get_trades_from_timestamp(since)
        except NotSupported:
            return
        ours = [t for t in trades if str(t.get("clientOrderId") or "").startswith(self.prefix)]
        known = await asyncio.to_thread(q.known_trade_ids, svc.ledger, venue, account)
        pending = {
            row["trade_id"]
            for row in await asyncio.to_thread(
                q.trades_with_commissions, svc.ledger, venue=venue, account=account, pending_only=True, limit=None
            )
        }
        missing = [t for t in ours if str(t["id"]) not in known]
        completing = [t for t in ours if str(t["id"]) in pending and t.get("fee") is not None]
        if missing or completing:
            await svc.execution.record_fills(tuple(missing + completing))
        report.fills_added, report.fees_completed = len(missing), len(completing)
        if missing:
            log.warning("fills the ledger lacked were recorded", extra={"count": len(missing)})

    # --- a shadow run -----------------------------------------------------------------------------
    async def _restore_shadow(self, report: ResyncReport) -> None:
        svc = self.services
        book = svc.execution.book
        if book is None:
            return
        rows = await asyncio.to_thread(q.trades_by_client_prefix, svc.ledger, self.prefix)
        fills: list[Trade] = [trade_from_row(r) for r in rows if r.get("run_id") == svc.session_id and r["shadow"]]
        for trade in fills:
            if book.apply_fill(trade):
                report.shadow_fills_restored += 1
        svc.portfolio.on_fills(fills)
        orders = await asyncio.to_thread(q.orders_by_client_prefix, svc.ledger, self.prefix, statuses={"open"})
        for row in orders:
            if row.get("run_id") != svc.session_id or not row["shadow"]:
                continue
            cid = row["client_order_id"]
            trades = [t for t in fills if t.get("clientOrderId") == cid]
            book.restore(_shadow_order(row, trades), trades)
            svc.execution.track(cid, row.get("plan_id"))
            report.shadow_orders_restored += 1


def _shadow_order(row: dict[str, Any], trades: list[Trade]) -> ShadowOrder:
    """An open shadow order as the ledger recorded it, with its fills (it met the market before: no arrival)."""

    def dec(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    executions = [execution_from_trade(t) for t in trades]
    return ShadowOrder(
        id=shadow_order_id(row["client_order_id"]), client_order_id=row["client_order_id"], symbol=row["symbol"],
        type=row.get("type") or "limit", side=row["side"], amount=dec(row["amount"]) or Decimal(0),
        price=dec(row.get("price")), stop_price=dec(row.get("trigger_price")),
        time_in_force=row.get("time_in_force") or "GTC", reduce_only=bool(row.get("reduce_only")),
        timestamp=int(row["timestamp"]), filled=sum((e.amount for e in executions), Decimal(0)),
        cost=sum((e.cost for e in executions), Decimal(0)), arrival=False, fills=executions,
    )  # fmt: skip


def _never_acknowledged(row: dict[str, Any]) -> bool:
    """A ledger order the venue never acknowledged: recorded before it was sent ("submitting", or "lost"), with no
    venue order id of its own. An acknowledged order the venue no longer lists may be an old one outside IB's
    order lists (completed orders cover the recent past only): that is never called lost."""
    stage = (row.get("info") or {}).get("stage")
    return stage in ("submitting", "lost") and row.get("order_id") in (None, "", row.get("client_order_id"))
