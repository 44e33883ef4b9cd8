"""The runner's notion of "now": a clock object, never ``time.time()`` scattered through the loop.

Every clock answers ``now()`` (epoch seconds, UTC), ``speed`` (clock seconds per wall second) and can
wait for a time (:meth:`RunnerClock.sleep_until`), waking early when the clock jumps. :class:`RunnerClock`
extends the SDK's :class:`sdk.clock.Clock` protocol (``now()``, ``sleep()``), so the venue's pacing budget
and timestamps run on the same time as the runner.

* :class:`WallClock` — a real venue: the wall clock.
* :class:`SimClockFollower` — an offline gateway in this process: its :class:`~sdk.gateway.clock.SimClock`
  directly (jumps and speed changes wake waiters at once).
* :class:`GatewayControlClock` — an offline gateway in another process: its control API's ``GET /clock``
  (``{"now", "speed"}``) extrapolated locally and re-synced every ``resync`` wall seconds, so a
  replay at ×N runs the runner at ×N.
* :class:`VenueClock` — a venue's ``fetch_time`` (IB's ``reqCurrentTime``): its time *and speed* measured
  from successive readings (real time for a real venue, the replay speed of an offline gateway), so
  ``trader run --exchange IB`` follows the venue's clock by default. It lives in the SDK
  (:mod:`sdk.clock`: an IB trader made without a clock runs on one) and is re-exported here.

At ×200,000 a trading day passes in 0.43 s of wall time: the loop waits for the next bar close on the
clock (wall seconds = clock seconds / speed), never a fixed wall interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sdk.clock import MAX_WAIT, Clock, ListenableTime, VenueClock, WaitableClock

__all__ = [
    "CLOCK_HELP",
    "GatewayControlClock",
    "RunnerClock",
    "SimClockFollower",
    "VenueClock",
    "WallClock",
    "default_clock_spec",
    "make_clock",
]

log = logging.getLogger(__name__)

_Base = WaitableClock  # sleep/sleep_until on now() and speed, woken by poke()


class RunnerClock(Clock, Protocol):
    """What the runner needs of time: a :class:`~sdk.clock.Clock` (``now()`` epoch seconds UTC, ``sleep``)
    with a speed, a wait that wakes on jumps, and a life cycle."""

    @property
    def speed(self) -> float:
        """Clock seconds per wall second (1 for real time, 0 while paused)."""
        ...

    async def sleep_until(self, ts: float, *, max_wall: float = MAX_WAIT) -> bool:
        """Wait until the clock reaches ``ts`` or ``max_wall`` wall seconds pass; True when ``ts`` is reached."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class WallClock(_Base):
    """Real time."""

    def now(self) -> float:
        return time.time()

    @property
    def speed(self) -> float:
        return 1.0


class SimClockFollower(_Base):
    """An in-process offline gateway's :class:`~sdk.gateway.clock.SimClock` (``timestamp()``, ``speed``, listeners).

    Args:
        sim: the gateway's clock.
        driven_speed: the speed of whoever steps a paused clock forward (the demo's replay driver), reported
            as :attr:`speed` while the clock itself is paused (for latency figures; waits wake on every step).
    """

    def __init__(self, sim: ListenableTime, *, driven_speed: Callable[[], float] | None = None) -> None:
        super().__init__()
        self.sim = sim
        self.driven_speed = driven_speed
        self._listening = False

    def _on_change(self, old: float, new: float) -> None:
        self.poke()

    async def start(self) -> None:
        if not self._listening:
            self.sim.add_listener(self._on_change)
            self._listening = True

    async def close(self) -> None:
        if self._listening:
            self.sim.remove_listener(self._on_change)
            self._listening = False

    def now(self) -> float:
        return float(self.sim.timestamp())

    @property
    def speed(self) -> float:
        speed = float(self.sim.speed)
        if speed == 0 and self.driven_speed is not None:
            return float(self.driven_speed())
        return speed


class GatewayControlClock(_Base):
    """Another process's offline gateway, through its control API ``GET /clock``.

    Args:
        url: the control API's base URL (``http://127.0.0.1:4099``); loopback only.
        resync: wall seconds between re-syncs (the clock is extrapolated in between).
    """

    def __init__(self, url: str, *, resync: float = 0.2) -> None:
        super().__init__()
        self.url = url.rstrip("/")
        self.resync = resync
        self._anchor_sim = time.time()
        self._anchor_wall = time.monotonic()
        self._speed = 1.0
        self._task: asyncio.Task[None] | None = None
        self._session: Any = None
        self.syncs = 0

    def now(self) -> float:
        return self._anchor_sim + (time.monotonic() - self._anchor_wall) * self._speed

    @property
    def speed(self) -> float:
        return self._speed

    async def sync(self) -> None:
        """Read ``GET /clock`` now.

        Raises:
            ExchangeNotAvailable: the control API does not answer (the message names the URL).
        """
        from sdk.errors import ExchangeNotAvailable

        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        try:
            started = time.monotonic()
            async with self._session.get(f"{self.url}/clock") as answer:
                answer.raise_for_status()
                body = await answer.json()
            wall = (started + time.monotonic()) / 2
        except Exception as exc:
            raise ExchangeNotAvailable(
                f"the offline gateway's control API at {self.url} does not answer GET /clock ({exc}); "
                "start the gateway (trader gateway) or pass its --control-port"
            ) from exc
        sim = datetime.fromisoformat(str(body["now"])).timestamp()
        speed = float(body["speed"])
        jumped = abs(sim - self.now()) > max(1.0, self._speed * self.resync * 2) or speed != self._speed
        self._anchor_sim, self._anchor_wall, self._speed = sim, wall, speed
        self.syncs += 1
        if jumped:
            self.poke()

    async def start(self) -> None:
        await self.sync()
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="gateway-clock-resync")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.resync)
            try:
                await self.sync()
            except Exception as exc:  # keep extrapolating; the next sync may succeed
                log.warning("gateway clock re-sync failed", extra={"error": str(exc)})

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None


CLOCK_HELP = (
    "Whose time the runner follows: 'venue' (the venue's own time and speed from fetch_time, IB's reqCurrentTime: "
    "the offline gateway's replay included; the default on IB), 'wall' (the default on ccxt venues) or the "
    "offline gateway's control API URL (http://127.0.0.1:4099: its simulated clock, at its replay speed)."
)


def default_clock_spec(venue: str) -> str:
    """``--clock`` when none is given: the venue's :attr:`~sdk.base.BaseTrader.default_clock` (``venue`` on IB,
    whose offline gateway replays another day at another speed; ``wall`` on ccxt venues, which run on real time).

    Raises:
        NotSupported: no venue is registered under ``venue``.
    """
    from sdk.registry import venue_class  # deferred: the registry loads the venue packages

    return venue_class(venue).default_clock


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
