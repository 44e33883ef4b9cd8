"""Telling clients about account events, as TWS does.

* An order change goes to the client that placed it: ``openOrder`` then ``orderStatus``; an API
  cancel adds error 202 ("Order Canceled - reason:").
* A fill: ``execDetails`` (reqId -1), ``orderStatus``, ``openOrder``; its ``commissionReport``
  follows ``commission_delay_ms`` later (0: at once), and only then is the commission charged: until
  that moment the execution's commission is pending (None), never 0.
* Account changes are pushed to every subscriber of reqAccountUpdates, reqAccountUpdatesMulti,
  reqPositions, reqAccountSummary and reqPnL, at most ten times a wall second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from sdk.gateway import order_answers as oa
from sdk.gateway.handlers.account import (
    account_update_messages,
    multi_messages,
    pnl_messages,
    position_messages,
    summary_messages,
)
from sdk.gateway.records import ExecutionRecord, OrderRecord

if TYPE_CHECKING:
    from sdk.gateway.server import OfflineGateway
    from sdk.gateway.session import ClientSession

__all__ = ["Notifier"]

log = logging.getLogger(__name__)

ACCOUNT_PUSH_INTERVAL = 0.1


class Notifier:
    """The broker's listener for one gateway (see the module docstring)."""

    def __init__(self, gw: OfflineGateway) -> None:
        self.gw = gw
        self._account_dirty = False
        self._changed_positions: set[str] = set()
        self._last_push = 0.0
        self._push_handle: asyncio.Handle | None = None
        self._commission_handles: dict[str, asyncio.TimerHandle] = {}

    def _owners(self, order: OrderRecord) -> list[ClientSession]:
        return [s for s in self.gw.sessions() if s.client_id == order.client_id]

    # --- BrokerListener -------------------------------------------------------------------------
    def order_changed(self, order: OrderRecord) -> None:
        inst = self.gw.instruments.get(order.symbol)
        if inst is None:
            return
        for session in self._owners(order):
            session.send_many([oa.open_order(order, inst, session.version), oa.order_status(order)])

    def order_cancelled(self, order: OrderRecord, reason: str) -> None:
        for session in self._owners(order):
            session.error(order.order_id, 202, reason)

    def executed(self, order: OrderRecord, execution: ExecutionRecord) -> None:
        inst = self.gw.instruments.get(order.symbol)
        if inst is None:
            return
        for session in self._owners(order):
            session.send_many(
                [
                    oa.exec_details(-1, execution, inst, session.version),
                    oa.order_status(order),
                    oa.open_order(order, inst, session.version),
                ]
            )
        self._changed_positions.add(order.symbol)
        delay = self.gw.faults.spec.commission_delay_ms / 1000
        if delay <= 0:
            self.report_commission(execution.exec_id)
            return
        loop = asyncio.get_running_loop()
        self._commission_handles[execution.exec_id] = loop.call_later(delay, self.report_commission, execution.exec_id)

    def report_commission(self, exec_id: str) -> None:
        """Charge a pending commission and send its report to the execution's client."""
        self._commission_handles.pop(exec_id, None)
        execution = self.gw.broker.settle_commission(exec_id)
        if execution is None:
            return
        for session in self.gw.sessions():
            if session.client_id == execution.client_id:
                session.send(oa.commission_report(execution))

    def settle_all(self) -> None:
        """Charge every pending commission now (at stop: a restart must not lose them)."""
        for handle in self._commission_handles.values():
            handle.cancel()
        self._commission_handles.clear()
        for exec_id in self.gw.broker.pending_commissions():
            self.report_commission(exec_id)

    def account_changed(self) -> None:
        self._account_dirty = True
        if self._push_handle is not None:
            return
        loop = asyncio.get_running_loop()
        wait = max(0.0, ACCOUNT_PUSH_INTERVAL - (time.monotonic() - self._last_push))
        self._push_handle = loop.call_later(wait, self.push_account)

    # --- pushing --------------------------------------------------------------------------------
    def push_account(self) -> None:
        """Send the account to every subscriber (coalesced; see the module docstring)."""
        self._push_handle = None
        if not self._account_dirty:
            return
        self._account_dirty = False
        self._last_push = time.monotonic()
        sessions = [s for s in self.gw.sessions() if s.ready]
        wanted = [
            s
            for s in sessions
            if s.account_updates or s.account_multi or s.summaries or s.pnl or s.positions_subscribed
        ]
        if not wanted:
            self._changed_positions.clear()
            return
        try:
            snap = self.gw.account_snapshot()
        except Exception:
            log.exception("account snapshot failed; subscribers not updated")
            return
        changed = sorted(self._changed_positions)
        self._changed_positions.clear()
        for session in wanted:
            messages = []
            if session.account_updates:
                messages += account_update_messages(session, snap, end=False)
            for req_id in session.account_multi:
                messages += multi_messages(session, req_id, snap, end=False)
            for req_id, tags in session.summaries.items():
                messages += summary_messages(session, req_id, tags, snap)
            if session.positions_subscribed and changed:
                messages += position_messages(session, changed, end=False)
            messages += pnl_messages(session, snap)
            session.send_many(messages)
