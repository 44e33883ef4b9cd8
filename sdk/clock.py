"""Clocks: the wall clock by default, a simulated one (the offline gateway's) in tests, benchmarks and replays.

The pacing budget and the heartbeat ask a :class:`Clock` for the time and to sleep, so they can run
on the offline gateway's simulated time (a backfill that must wait ten simulated minutes for IB's
pacing window waits ten simulated minutes, not ten real ones).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SimulatedClock", "SteppableTime", "SystemClock"]


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
    """A simulated time source (the offline gateway's ``SimClock``).

    ``now()`` gives epoch seconds or a timezone-aware datetime; ``advance(seconds)`` moves it forward;
    ``speed`` is simulated seconds per wall second (0: only ``advance`` moves it).
    """

    def now(self) -> float | datetime: ...

    def advance(self, seconds: float) -> object: ...

    @property
    def speed(self) -> float: ...


class SimulatedClock:
    """A :class:`Clock` over a simulated time source such as the offline gateway's clock.

    When the source is paused (``speed`` 0), nothing else moves it, so ``sleep(s)`` advances it by
    ``s`` and costs no real time: callers that wait in turn (the pacing budget admits one request at
    a time) see exact simulated durations. When the source runs (``speed`` > 0), ``sleep`` waits the
    wall time it takes the source to pass ``s``.

    Args:
        source: the simulated time (``now()``, ``advance(seconds)``, ``speed``).
    """

    def __init__(self, source: SteppableTime) -> None:
        self._source = source
        self.slept = 0.0  #: total simulated seconds slept through this clock

    def now(self) -> float:
        value = self._source.now()
        return value.timestamp() if isinstance(value, datetime) else float(value)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        self.slept += seconds
        speed = float(getattr(self._source, "speed", 0.0) or 0.0)
        if speed <= 0:
            self._source.advance(seconds)
            await asyncio.sleep(0)
            return
        target = self.now() + seconds
        while (left := target - self.now()) > 0:  # noqa: ASYNC110 - the source may be re-timed meanwhile
            await asyncio.sleep(left / speed)
