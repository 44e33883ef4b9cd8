"""Starting a run from a command line: the clock option, signal handling, the exit status.

``trader run`` (and ``python -m runner``) call :func:`run_until_done`: SIGINT and SIGTERM ask the runner to
stop after the step in progress (the ledger is left consistent); a second signal is ignored while the
run finishes.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

from runner.clock import GatewayControlClock, RunnerClock, VenueClock, WallClock
from runner.config import RunnerConfig
from runner.runner import RunResult, StrategyRunner
from sdk.base import BaseTrader
from sdk.settings import Settings

__all__ = ["CLOCK_HELP", "default_clock_spec", "make_clock", "run_until_done"]

CLOCK_HELP = (
    "Whose time the runner follows: 'venue' (the venue's own time and speed from fetch_time, IB's reqCurrentTime: "
    "the offline gateway's replay included; the default on IB), 'wall' (the default on ccxt venues) or the "
    "offline gateway's control API URL (http://127.0.0.1:4099: its simulated clock, at its replay speed)."
)


def default_clock_spec(venue: str) -> str:
    """``--clock`` when none is given: ``venue`` on IB (a venue with its own clock: an offline gateway
    replays another day at another speed), ``wall`` on ccxt venues (they run on real time)."""
    return "venue" if venue == "IB" else "wall"


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
            venue_time: Callable[[], Awaitable[int]] = getattr(holder[0], "fetch_time")  # noqa: B009 - not on BaseTrader
            return int(await venue_time())

        clock = VenueClock(fetch_time)
        trader = create_trader(venue, settings, **({"clock": clock} if venue == "IB" else {}))
        if getattr(trader, "fetch_time", None) is None:
            raise ValueError(f"--clock venue: {trader.id} has no fetch_time here; use --clock wall")
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
