"""The server's plan watcher: the runner's :class:`runner.monitor.PlanMonitor` on a timer.

Plans created through ``create_plan`` belong to this server's ledger session, so this process
watches them (a runner watches its own): every ``interval`` wall seconds, while an order or a plan
is open, it refreshes the open orders (:meth:`runner.services.ExecutionService.refresh_open_orders`),
hands them to the monitor, and lets the monitor expire plans and exit them at their stop or target.
A failing round is logged and the next one runs; nothing here places an order on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.monitor import PlanMonitor
    from runner.schedule import BarSchedule
    from sdk.base import BaseTrader

__all__ = ["DEFAULT_INTERVAL_S", "PlanWatch"]

log = logging.getLogger(__name__)

#: Wall seconds between rounds while anything is open.
DEFAULT_INTERVAL_S = 5.0


class PlanWatch:
    """Runs :meth:`tick` every ``interval`` wall seconds between :meth:`start` and :meth:`stop`.

    Args:
        services: the runner's services (``execution``, ``plans``).
        trader: the venue (instruments, for each plan's market hours).
        clock: the venue's time, epoch seconds.
        interval: wall seconds between rounds.
    """

    def __init__(self, services: Any, trader: BaseTrader, clock: Any, interval: float = DEFAULT_INTERVAL_S) -> None:
        from runner.data import DataFetchCoordinator
        from runner.monitor import PlanMonitor

        self.services = services
        self.trader = trader
        self.interval = interval
        self._schedules: dict[str, BarSchedule | None] = {}
        self.monitor: PlanMonitor = PlanMonitor(
            services.plans, services.execution, DataFetchCoordinator(trader, clock), self._schedules.get, clock
        )
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0

    async def _learn_schedules(self) -> None:
        from runner.schedule import BarSchedule

        for plan in self.services.plans.list():
            if plan.is_open and plan.symbol not in self._schedules:
                spec = await self.trader.fetch_instrument(plan.symbol)
                self._schedules[plan.symbol] = BarSchedule(spec.market, "1m") if spec.market else None

    async def tick(self) -> list[Any]:
        """One round: refresh open orders, update their plans, expire and exit; returns the plans that changed."""
        execution, plans = self.services.execution, self.services.plans
        if not execution.open_client_order_ids and not any(p.is_open for p in plans.list()):
            return []
        await self._learn_schedules()
        orders = await execution.refresh_open_orders()
        await self.monitor.on_orders(orders)
        changed: list[Any] = await self.monitor.check()
        self.rounds += 1
        for plan in changed:
            log.info("plan changed", extra={"plan_id": plan.plan_id, "status": plan.status, "why": plan.exit_reason})
        return changed

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except Exception:  # a venue hiccup: the next round tries again
                log.exception("plan watch round failed")

    def start(self) -> None:
        """Start watching (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="mcp-plan-watch")

    async def stop(self) -> None:
        """Stop watching (idempotent)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
