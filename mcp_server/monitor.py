"""The server's plan watcher: the runner's :class:`sdk.services.monitor.PlanMonitor` on a timer.

Plans created through ``create_plan`` belong to this server's ledger session, so this process
watches them (a runner watches its own): every ``interval`` wall seconds, while an order or a plan
is open, it refreshes the open orders (:meth:`sdk.services.ExecutionService.refresh_open_orders`),
hands them to the monitor, and lets the monitor expire plans and exit them at their stop or target.
A failing round is logged and the next one runs; nothing here places an order on its own.

**Kill switch**: while ``KILL_SWITCH_FILE`` exists the watcher makes no write either: a round still
refreshes the open orders and records their fills (reads, so ``get_plans`` stays true), but places no
stop or target exit and cancels no expired entry. The freeze is logged and recorded once, as a
``circuit`` event (``{"component": "plan_watch", "from": "closed", "to": "open", "reason": "kill_switch"}``),
and so is its end; the first round after the file is removed exits what crossed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_server.killswitch import kill_switch_engaged
from sdk.ledger import EventKind

if TYPE_CHECKING:
    from sdk.base import BaseTrader
    from sdk.ledger import LedgerWriter
    from sdk.services.data import DataFetchCoordinator
    from sdk.services.monitor import PlanMonitor
    from sdk.services.schedule import BarSchedule

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
        data: the market data the monitor reads (the server's :class:`sdk.services.data.DataFetchCoordinator`);
            default a coordinator of its own over ``trader``.
        kill_switch_file: while this file exists no round writes (see the module doc); None: no switch.
        writer: where the freeze and its end are recorded (``circuit`` events); None: logged only.
    """

    def __init__(
        self,
        services: Any,
        trader: BaseTrader,
        clock: Any,
        interval: float = DEFAULT_INTERVAL_S,
        *,
        data: DataFetchCoordinator | None = None,
        kill_switch_file: Path | None = None,
        writer: LedgerWriter | None = None,
    ) -> None:
        from sdk.services.data import DataFetchCoordinator
        from sdk.services.monitor import PlanMonitor

        self.services = services
        self.trader = trader
        self.clock = clock
        self.interval = interval
        self.kill_switch_file = kill_switch_file
        self.writer = writer
        self._schedules: dict[str, BarSchedule | None] = {}
        self.monitor: PlanMonitor = PlanMonitor(
            services.plans,
            services.execution,
            data if data is not None else DataFetchCoordinator(trader, clock),
            self._schedules.get,
            clock,
        )
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0
        self.frozen = False  # the kill switch held the last round
        self.frozen_rounds = 0  # rounds that skipped their writes for it

    async def _learn_schedules(self) -> None:
        from sdk.services.schedule import BarSchedule

        for plan in self.services.plans.list():
            if plan.is_open and plan.symbol not in self._schedules:
                spec = await self.trader.fetch_instrument(plan.symbol)
                self._schedules[plan.symbol] = BarSchedule(spec.market, "1m") if spec.market else None

    async def _frozen(self) -> bool:
        """Whether the kill switch is engaged now; its changes are logged and recorded once each."""
        engaged = self.kill_switch_file is not None and kill_switch_engaged(self.kill_switch_file)
        if engaged != self.frozen:
            self.frozen = engaged
            before, after = ("closed", "open") if engaged else ("open", "closed")
            if engaged:
                message = f"plan watch frozen by the kill switch ({self.kill_switch_file} exists): no exit is placed"
                log.warning(message)
            else:
                message = "plan watch resumed: the kill switch file was removed"
                log.info(message)
            payload = {"component": "plan_watch", "from": before, "to": after, "reason": "kill_switch",
                       "kill_switch_file": str(self.kill_switch_file)}  # fmt: skip
            if self.writer is not None:
                try:
                    await asyncio.to_thread(
                        self.writer.record_event, EventKind.CIRCUIT, payload, message=message, source="mcp",
                        timestamp=int(self.clock() * 1000),
                    )  # fmt: skip
                except Exception:  # the freeze holds either way; losing its record must be loud
                    log.exception("could not record the plan watch's kill-switch event")
        return engaged

    async def tick(self) -> list[Any]:
        """One round: refresh open orders, update their plans, expire and exit; returns the plans that changed.

        While the kill switch is engaged the round stops after the refresh: nothing is placed or cancelled.
        """
        execution, plans = self.services.execution, self.services.plans
        frozen = await self._frozen()
        if not execution.open_client_order_ids and not any(p.is_open for p in plans.list()):
            return []
        await self._learn_schedules()
        orders = await execution.refresh_open_orders()
        await self.monitor.on_orders(orders)
        if frozen:
            self.frozen_rounds += 1
            return []
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
