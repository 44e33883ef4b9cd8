"""Clocks: the wall clock by default, a simulated one (the offline gateway's) in tests, benchmarks and replays.

The pacing budget and the heartbeat ask a :class:`Clock` for the time and to sleep, so they can run
on the offline gateway's simulated time (a backfill that must wait ten simulated minutes for IB's
pacing window waits ten simulated minutes, not ten real ones).

Clocks that follow a venue's own time: :class:`VenueClock` (a venue's ``fetch_time``, fitted for its speed).

"Now" for a venue is the venue's time: a real venue's is the wall clock corrected by the server's
offset; the offline gateway's is its simulated time, replaying another day at another speed. Every
timestamp a venue's payloads carry (tickers, orders, books, balances, connectivity events) and every
time an app shows for that venue come from the venue's clock, so a quote and a fill of the same moment
agree. :class:`WaitableClock` is the base of these clocks and of the runner's (:mod:`sdk.services.clock`):
``sleep``/``sleep_until`` on ``now()`` and ``speed``, woken early when the clock jumps.

One type of time: every clock's ``now()`` and every time source's ``timestamp()`` is epoch seconds UTC, a
float. (The offline gateway's own ``SimClock.now()`` is a datetime for the gateway's internals; what the
SDK reads of it is ``timestamp()``, through :class:`SteppableTime`.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

__all__ = [
    "MAX_WAIT",
    "Clock",
    "ListenableTime",
    "SimulatedClock",
    "SteppableTime",
    "SystemClock",
    "VenueClock",
    "WaitableClock",
]


@runtime_checkable
class Clock(Protocol):
    """Time in epoch seconds (UTC) and a way to wait for it to pass."""

    def now(self) -> float:
        """Current time, epoch seconds UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` of this clock's time have passed."""
        ...


class SystemClock:
    """The wall clock: ``time.time()`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class SteppableTime(Protocol):
    """A simulated time source (the offline gateway's ``SimClock``), not itself a :class:`Clock`.

    ``timestamp()`` gives epoch seconds UTC; ``advance(seconds)`` moves it forward; ``speed`` is simulated
    seconds per wall second (0: only ``advance`` moves it).
    """

    def timestamp(self) -> float:
        """Now, epoch seconds UTC."""
        ...

    def advance(self, seconds: float) -> object: ...

    @property
    def speed(self) -> float: ...


class ListenableTime(SteppableTime, Protocol):
    """A :class:`SteppableTime` that reports its steps, jumps and speed changes (the gateway's ``SimClock``)."""

    def add_listener(self, listener: Callable[[float, float], None]) -> None:
        """Call ``listener(old, new)`` (epoch seconds) after every step, jump and speed change."""
        ...

    def remove_listener(self, listener: Callable[[float, float], None]) -> None: ...


class SimulatedClock:
    """A :class:`Clock` over a simulated time source such as the offline gateway's clock.

    When the source is paused (``speed`` 0), nothing else moves it, so ``sleep(s)`` advances it by
    ``s`` and costs no real time: callers that wait in turn (the pacing budget admits one request at
    a time) see exact simulated durations. When the source runs (``speed`` > 0), ``sleep`` waits the
    wall time it takes the source to pass ``s``.

    Args:
        source: the simulated time (``timestamp()``, ``advance(seconds)``, ``speed``).
    """

    def __init__(self, source: SteppableTime) -> None:
        self._source = source
        self.slept = 0.0  #: total simulated seconds slept through this clock

    def now(self) -> float:
        return float(self._source.timestamp())

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        self.slept += seconds
        speed = float(self._source.speed)
        if speed <= 0:
            self._source.advance(seconds)
            await asyncio.sleep(0)
            return
        target = self.now() + seconds
        while (left := target - self.now()) > 0:  # noqa: ASYNC110 - the source may be re-timed meanwhile
            await asyncio.sleep(left / speed)


log = logging.getLogger(__name__)

#: Longest single wall wait, so a stop request, a jump or a speed change is noticed promptly.
MAX_WAIT = 0.25


class WaitableClock:
    """``sleep``/``sleep_until`` on top of ``now`` and ``speed``, woken by :meth:`poke` (the runner's clocks' base)."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def now(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def speed(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def poke(self) -> None:
        """Wake every waiter (the clock jumped or changed speed)."""
        self._changed.set()

    async def sleep_until(self, ts: float, *, max_wall: float = MAX_WAIT) -> bool:
        deadline = time.monotonic() + max_wall
        while True:
            ahead = ts - self.now()
            if ahead <= 0:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            speed = self.speed
            wait = min(left, ahead / speed if speed > 0 else MAX_WAIT / 2)
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(wait, 0.001))

    async def sleep(self, seconds: float) -> None:
        target = self.now() + max(0.0, seconds)
        while not await self.sleep_until(target, max_wall=3600.0):
            pass

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class VenueClock(WaitableClock):
    """A venue's own time (``fetch_time``, ms UTC), at the venue's own speed.

    Each re-sync reads ``fetch_time`` and fits the venue's time against the wall clock since the
    current *segment* began (the first reading, or the last jump or speed change): the speed is the slope
    (snapped to 1 within the readings' resolution, so a real venue runs in real time, and to 0 for a paused
    one), and ``now()`` extrapolates in between. A reading the fit does not predict (the offline gateway
    jumped or changed speed through its control API) starts a new segment and wakes every waiter. So an
    offline gateway replaying at ×20,000 runs the runner at ×20,000 over nothing but the TWS socket.

    Besides its own readings it takes any the venue reports (:meth:`observe`: the IB session's
    ``reqCurrentTime`` answers, the one read when a session opens included), so its time is the venue's
    before the first order or quote of a session is stamped.

    Re-syncs come every ``fast_resync`` wall seconds while the speed is not 1 or the segment is young
    (under 30 wall seconds), then every ``resync`` seconds (a real venue is asked once a minute).

    Args:
        fetch_time: the venue's ``fetch_time`` coroutine function (IB: ``reqCurrentTime``, whole seconds).
        resync: wall seconds between readings of a venue settled at real time.
        fast_resync: wall seconds between readings otherwise.
        resolution: the venue's time resolution, seconds (IB: 1).
    """

    #: Wall seconds a segment needs before a real-time venue is read only every ``resync`` seconds.
    SETTLED = 30.0

    def __init__(
        self,
        fetch_time: Callable[[], Awaitable[int]],
        *,
        resync: float = 60.0,
        fast_resync: float = 0.5,
        resolution: float = 1.0,
    ) -> None:
        super().__init__()
        self._fetch_time = fetch_time
        self.resync = resync
        self.fast_resync = fast_resync
        self.resolution = resolution
        self._anchor_venue = time.time()
        self._anchor_wall = time.monotonic()
        self._speed = 1.0
        self._spread = math.inf  # how far off the speed may be (clock s per wall s)
        self._segment: tuple[float, float] | None = None  # (venue s, wall s) of the segment's first reading
        self._task: asyncio.Task[None] | None = None
        self._last: tuple[int, float, float] | None = None  # the last reading: (venue ms, started, ended)
        self.syncs = 0

    def now(self) -> float:
        return self._anchor_venue + (time.monotonic() - self._anchor_wall) * self._speed

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def offset(self) -> float:
        """Venue time minus wall time, seconds (grows at ``speed - 1`` per second)."""
        return self.now() - time.time()

    async def sync(self) -> None:
        """Read ``fetch_time`` now and refit (ccxt errors of the venue propagate)."""
        started = time.monotonic()
        venue_ms = await self._fetch_time()
        self.observe(venue_ms, started, time.monotonic())

    def observe(self, venue_ms: int, started: float, ended: float) -> None:
        """Refit with one reading of the venue's time taken between ``started`` and ``ended`` (``time.monotonic()``).

        Args:
            venue_ms: the venue's answer, ms UTC (whole seconds are read as the middle of their second).
            started, ended: when the request went out and when its answer came back (monotonic seconds).

        A reading already taken (the same answer, reported by the session and again by ``fetch_time``,
        over overlapping request times) counts once.
        """
        last = self._last
        if last is not None and last[0] == venue_ms and started <= last[2] and last[1] <= ended:
            return
        self._last = (venue_ms, started, ended)
        venue = venue_ms / 1000
        if venue_ms % 1000 == 0:
            venue += self.resolution / 2  # a whole-second reading: the middle of its second
        self._fit(venue, (started + ended) / 2, ended - started)

    def _fit(self, venue: float, wall: float, rtt: float) -> None:
        self.syncs += 1
        if self._segment is not None:
            predicted = self._anchor_venue + (wall - self._anchor_wall) * self._speed
            since = max(0.0, wall - self._anchor_wall)
            spread = self._spread if math.isfinite(self._spread) else 0.0
            tolerance = 2 * self.resolution + (spread + 0.01 * abs(self._speed)) * since + abs(self._speed) * rtt
            if math.isfinite(self._spread) and abs(venue - predicted) > tolerance:
                self._segment = None  # a jump or a speed change: a new segment from this reading
                self.poke()
        if self._segment is None:
            self._segment = (venue, wall)
            self._anchor_venue, self._anchor_wall = venue, wall
            self._spread = math.inf  # the speed so far is kept until this segment measures its own
            return
        first_venue, first_wall = self._segment
        span = wall - first_wall
        if span <= 0:
            return
        raw = (venue - first_venue) / span
        spread = (2 * self.resolution + abs(raw) * rtt) / span
        old = self._speed
        if abs(raw - 1) <= spread:
            speed = 1.0
        elif abs(raw) <= spread:
            speed = 0.0
        else:
            speed = raw
        self._speed, self._spread = speed, spread
        self._anchor_venue, self._anchor_wall = first_venue + speed * span, wall
        if speed != old:
            self.poke()

    def _interval(self) -> float:
        if self._segment is None or self._speed != 1.0:
            return self.fast_resync
        return self.resync if time.monotonic() - self._segment[1] >= self.SETTLED else self.fast_resync

    async def start(self) -> None:
        """Read the venue twice (its time and a first speed), then keep re-syncing in the background.

        Idempotent: a clock already re-syncing is left as it is.
        """
        if self._task is not None:
            return
        await self.sync()
        await asyncio.sleep(min(self.fast_resync, 0.25))
        await self.sync()
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="venue-clock-resync")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval())
            try:
                await self.sync()
            except Exception as exc:  # keep extrapolating; the next reading may succeed
                log.warning("venue clock re-sync failed", extra={"error": str(exc)})

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
