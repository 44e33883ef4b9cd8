"""The PlanMonitor: watches open plans and exits them at the stop or the target.

Each :meth:`PlanMonitor.check` (the runner calls it on its monitor tick and after every bar):

* a ``pending`` plan whose ``valid_until`` has passed is expired (its entry order cancelled);
* an ``active`` plan is compared with the live quote while its market is open: a long plan exits when
  the bid is at or below the stop or at or above the target (a short plan on the ask, the other way).

An exit is an :class:`~sdk.risk.OrderIntent` ``type="market", is_exit=True`` for what the plan holds
(never more than the position): the RiskManager turns it into a marketable limit where market orders
are not allowed (ASX; IB refuses ASX market orders), IOC. Its client order id derives from the plan id
and the attempt number and is written to the plan *before* it is sent, so a monitor restarted after a
crash re-sends the same id and the execution service answers the first result: never a second exit.
An exit the venue never received (lost before IB acknowledged it) is sent once more by the execution
service with the same id; one lost again is ``rejected`` and the next check exits with the next id, so
an exit is never dropped silently.
A partial fill leaves the plan ``active`` with less held; the next check exits the rest with the next id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal

from ccxt.base.types import Order

from sdk.ledger import queries as q
from sdk.risk import OrderIntent
from sdk.services.data import DataFetchCoordinator
from sdk.services.execution import ExecutionService
from sdk.services.plans import Plan, PlanService, plan_order_id, units
from sdk.services.schedule import BarSchedule

__all__ = ["PlanMonitor"]

log = logging.getLogger(__name__)
_DONE = frozenset({"closed", "canceled", "expired", "rejected"})
#: Ledger stages of an order not known to be at the venue: its plan's next exit sends that id again
#: (the execution service re-sends it, or answers what became of it), never a new one beside it.
_UNCONFIRMED = frozenset({"submitting", "lost", "unknown"})


class PlanMonitor:
    """Exits the plans a :class:`~sdk.services.plans.PlanService` holds at their stop or target.

    Args:
        plans: the plan store.
        execution: the execution service exits go through.
        data: quotes (cached briefly).
        schedule_of: the symbol's bar schedule (its market hours), or None when unknown.
        clock: clock time, epoch seconds.
    """

    def __init__(
        self,
        plans: PlanService,
        execution: ExecutionService,
        data: DataFetchCoordinator,
        schedule_of: Callable[[str], BarSchedule | None],
        clock: Callable[[], float],
    ) -> None:
        self.plans = plans
        self.execution = execution
        self.data = data
        self.schedule_of = schedule_of
        self.clock = clock
        self._filled: dict[str, Decimal] = {}  # client order id -> units filled
        self._status: dict[str, str] = {}  # client order id -> last known status
        self.exits = 0

    async def load(self) -> None:
        """Learn the state of every entry and exit order of the plans held (a resumed run) from the ledger."""
        for plan in self.plans.list():
            for cid in (plan.entry_client_order_id, *plan.exit_client_order_ids):
                rows = await asyncio.to_thread(q.orders_by_client_prefix, self.plans.ledger, cid)
                row = next((r for r in rows if r["client_order_id"] == cid), None)
                if row is not None and (row.get("info") or {}).get("stage") not in _UNCONFIRMED:
                    self._filled[cid] = units(row["filled"] or 0)
                    self._status[cid] = str(row["status"])

    # --- order updates ----------------------------------------------------------------------------
    async def on_orders(self, orders: list[Order]) -> None:
        """Apply refreshed order states (``ExecutionService.refresh_open_orders``) to their plans."""
        for order in orders:
            cid = str(order.get("clientOrderId") or "")
            for plan in self.plans.list():
                if not plan.is_open:
                    continue
                if cid == plan.entry_client_order_id:
                    await self._entry_update(plan, order)
                elif cid in plan.exit_client_order_ids:
                    await self._exit_update(plan, cid, order)

    async def _entry_update(self, plan: Plan, order: Order) -> None:
        filled = units(order.get("filled") or 0)
        status = str(order.get("status") or "open")
        self._filled[plan.entry_client_order_id], self._status[plan.entry_client_order_id] = filled, status
        if filled > plan.filled:
            changes: dict[str, object] = {"filled": filled}
            reason = None
            if plan.status == "pending":
                changes["status"] = "active"
                reason = f"entry filled {filled} at {order.get('average')}"
            await self.plans.update(plan.plan_id, reason=reason, **changes)
        elif filled == 0 and status in _DONE and plan.status == "pending":
            await self.plans.update(plan.plan_id, status="canceled", reason=f"entry {status} with nothing filled")

    async def _exit_update(self, plan: Plan, cid: str, order: Order) -> Plan:
        self._filled[cid] = units(order.get("filled") or 0)
        self._status[cid] = str(order.get("status") or "open")
        exited = sum((self._filled.get(c, Decimal(0)) for c in plan.exit_client_order_ids), Decimal(0))
        if exited == plan.exited:
            return plan
        if exited >= plan.filled:
            reason = f"exited {exited} at {plan.exit_reason or 'exit'} ({order.get('average')})"
            return await self.plans.update(plan.plan_id, exited=exited, status="closed", reason=reason)
        return await self.plans.update(
            plan.plan_id, exited=exited, reason=f"exit partly filled: {exited} of {plan.filled}"
        )

    # --- checks -----------------------------------------------------------------------------------
    async def check(self) -> list[Plan]:
        """Expire, and exit at stop or target, the open plans; returns the plans that changed."""
        changed: list[Plan] = []
        now = self.clock()
        for plan in self.plans.list():
            if not plan.is_open:
                continue
            try:
                if plan.status == "pending":
                    if plan.valid_until is not None and now * 1000 >= plan.valid_until:
                        changed.append(await self._expire(plan))
                    continue
                schedule = self.schedule_of(plan.symbol)
                if schedule is not None and not schedule.is_open(now):
                    continue
                if self._exit_working(plan):
                    continue
                why = await self._triggered(plan)
                if why is not None:
                    changed.append(await self.exit(plan, why))
            except Exception:
                log.exception("plan check failed", extra={"plan_id": plan.plan_id, "symbol": plan.symbol})
        return changed

    def _exit_working(self, plan: Plan) -> bool:
        if not plan.exit_client_order_ids:
            return False
        last = plan.exit_client_order_ids[-1]
        return self._status.get(last) == "open"

    async def _triggered(self, plan: Plan) -> str | None:
        ticker = await self.data.fetch_ticker(plan.symbol)
        long = plan.side == "buy"
        price = ticker.get("bid" if long else "ask") or ticker.get("last")
        if not price:
            return None
        level = Decimal(str(price))
        if (level <= plan.stop) if long else (level >= plan.stop):
            return f"stop {plan.stop} ({'bid' if long else 'ask'} {level})"
        if (level >= plan.target) if long else (level <= plan.target):
            return f"target {plan.target} ({'bid' if long else 'ask'} {level})"
        return None

    async def _expire(self, plan: Plan) -> Plan:
        if self._status.get(plan.entry_client_order_id, "open") == "open":
            try:
                await self.execution.cancel(plan.entry_client_order_id)
            except Exception as exc:  # gone already: the plan expires all the same
                log.warning("entry cancel failed", extra={"plan_id": plan.plan_id, "error": str(exc)})
        return await self.plans.update(
            plan.plan_id, status="expired", reason="valid_until passed before the entry filled"
        )

    async def exit(self, plan: Plan, why: str) -> Plan:
        """Exit what ``plan`` holds now (stop, target, or a strategy's exit); returns the plan after.

        The exit's client order id is stored on the plan before the order is sent.
        """
        plan = self.plans.get(plan.plan_id)
        held = plan.held
        position = await self._position(plan.symbol)
        amount = min(held, position) if plan.side == "buy" else min(held, -position)
        if amount <= 0:
            reason = f"nothing left to exit ({why}): the position is gone"
            return await self.plans.update(plan.plan_id, status="closed", exit_reason=why, reason=reason)
        last = plan.exit_client_order_ids[-1] if plan.exit_client_order_ids else None
        if last is not None and last not in self._status:  # recorded, never confirmed: send that id again
            cid = last
        else:
            cid = plan_order_id(self.plans.prefix, plan.plan_id, f"x{len(plan.exit_client_order_ids) + 1}")
            plan = await self.plans.update(
                plan.plan_id, exit_client_order_ids=(*plan.exit_client_order_ids, cid), exit_reason=why
            )
        intent = OrderIntent(
            symbol=plan.symbol, side="sell" if plan.side == "buy" else "buy", type="market", amount=amount,
            is_exit=True, client_order_id=cid, origin=f"plan:{plan.plan_id}",
        )  # fmt: skip
        log.info("plan exit", extra={"plan_id": plan.plan_id, "symbol": plan.symbol, "why": why, "amount": str(amount)})
        result = await self.execution.submit(intent, plan_id=plan.plan_id)
        self.exits += 1
        if result.order is None:
            self._status[cid] = "rejected"
            code = result.reject_code
            refusal = str(result.risk_decision.get("reason"))
            log.warning("plan exit rejected by risk: %s", refusal, extra={"plan_id": plan.plan_id, "code": code})
            return await self.plans.update(plan.plan_id, reason=f"exit ({why}) rejected by risk: {code}")
        return await self._exit_update(plan, cid, result.order)

    async def _position(self, symbol: str) -> Decimal:
        venue = await self.execution.venue()
        total = Decimal(0)
        for position in await venue.fetch_positions([symbol]):
            if position.get("symbol") != symbol:
                continue
            amount = Decimal(str(position.get("contracts") or 0))
            total += -amount if position.get("side") == "short" else amount
        return total
