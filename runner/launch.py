"""Starting a run from a command line: the clock option, signal handling, the exit status.

``trader run`` (and ``python -m runner``) call :func:`run_until_done`: SIGINT and SIGTERM ask the runner to
stop after the step in progress (the ledger is left consistent); a second signal is ignored while the
run finishes.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from runner.clock import GatewayControlClock, RunnerClock, VenueClock, WallClock
from runner.config import RunnerConfig
from runner.runner import RunResult, StrategyRunner
from sdk.settings import Settings

__all__ = ["CLOCK_HELP", "make_clock", "run_until_done"]

CLOCK_HELP = (
    "Whose time the runner follows: 'wall' (a real venue), 'venue' (the venue's fetch_time) or the offline "
    "gateway's control API URL (http://127.0.0.1:4099: its simulated clock, at its replay speed)."
)


def make_clock(spec: str) -> RunnerClock | None:
    """A clock from ``--clock``; None for ``venue`` (built on the venue once it exists).

    Raises:
        ValueError: anything else; the message lists the choices.
    """
    if spec == "wall":
        return WallClock()
    if spec == "venue":
        return None
    if spec.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        return GatewayControlClock(spec)
    raise ValueError(f"--clock {spec!r}: use wall, venue, or the gateway control URL such as http://127.0.0.1:4099")


async def run_until_done(
    settings: Settings,
    config: RunnerConfig,
    clock_spec: str = "wall",
    *,
    on_started: Callable[[StrategyRunner], None] | None = None,
) -> RunResult:
    """Build the clock and the runner, run it, and stop it cleanly on SIGINT/SIGTERM."""
    clock = make_clock(clock_spec)
    trader = None
    if clock is None:
        from sdk.registry import create_trader

        trader = create_trader(settings.active_exchange, settings)
        fetch_time = getattr(trader, "fetch_time", None)
        if fetch_time is None:
            raise ValueError(f"--clock venue: {trader.id} has no fetch_time here; use --clock wall")
        await trader.connect()
        clock = VenueClock(fetch_time)
    runner = StrategyRunner(settings, config, clock=clock, trader=trader)
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
        if trader is not None:
            await trader.close()
