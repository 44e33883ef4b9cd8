"""Starting a run from a command line: the clock option, signal handling, the exit status.

``trader run`` (and ``python -m runner``) call :func:`run_until_done`: SIGINT and SIGTERM ask the runner to
stop after the step in progress (the ledger is left consistent); a second signal is ignored while the
run finishes.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from runner.config import RunnerConfig
from runner.runner import RunResult, StrategyRunner
from sdk.base import BaseTrader
from sdk.services.clock import VenueClock, make_clock
from sdk.settings import Settings

__all__ = ["run_until_done"]


async def run_until_done(
    settings: Settings,
    config: RunnerConfig,
    clock_spec: str = "wall",
    *,
    on_started: Callable[[StrategyRunner], None] | None = None,
) -> RunResult:
    """Build the clock and the runner, run it, and stop it cleanly on SIGINT/SIGTERM.

    With ``clock_spec="venue"`` the venue is created and connected here, on a :class:`VenueClock` over its
    own ``fetch_time`` (IB: its pacing budget and timestamps then run on the venue's time too).

    Raises:
        ValueError: ``--clock venue`` on a venue without ``fetch_time``.
        RunnerError, ccxt errors: as :meth:`StrategyRunner.run`.
    """
    clock = make_clock(clock_spec)
    trader = None
    if clock is None:
        from sdk.registry import create_trader

        venue = settings.active_exchange
        holder: list[BaseTrader] = []

        async def fetch_time() -> int:
            return int(await holder[0].fetch_time())

        clock = VenueClock(fetch_time)
        trader = create_trader(venue, settings, raw=True, clock=clock)
        if not trader.has.get("fetchTime"):
            raise ValueError(f"--clock venue: {trader.id} does not report its time (no fetchTime); use --clock wall")
        holder.append(trader)
    try:
        runner = StrategyRunner(settings, config, clock=clock, trader=trader)
        runner.check()  # a bad strategy or plugin is refused before the venue is connected
        if trader is not None:
            await trader.connect()
        return await _run(runner, on_started)
    finally:
        if trader is not None:
            await trader.close()


async def _run(runner: StrategyRunner, on_started: Callable[[StrategyRunner], None] | None) -> RunResult:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runner.request_stop, sig.name)
    if on_started is not None:
        on_started(runner)
    try:
        return await runner.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
