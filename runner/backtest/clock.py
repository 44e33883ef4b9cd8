"""The backtest's clock: the runner's time is the simulated venue's, and a wait moves the venue at once.

:class:`SteppedClock` is a :class:`~sdk.services.clock.RunnerClock` (``now()``, ``speed``, ``sleep``/``sleep_until``,
``start``/``close``) over a :class:`~sdk.sim.venue.SimulatedVenue`. When the runner waits for a time, the clock steps
the venue there (:meth:`SimulatedVenue.step`: the bars that closed by then are worked against the open orders) and
returns: no wall time passes.

**Event grid.** Nothing changes at the simulated venue between two market events: the open and the close of a session
of a simulated symbol's market, and for intraday bars every bar boundary in between (:func:`market_events`, from the
market calendars: not from the data, whose next bar is the future). A wait for a moment between two events (the
runner's plan monitor asks for "now + 60 s") is served at the next event, where the venue may have something new to
show; a wait for an event, or for the run's end, is served exactly. So a daily backtest wakes the runner at each
session's open (deferred decisions are sent, plans are checked against the last close) and close (bars are decided
on), never 360 times a session for a quote that cannot move. The runner already tolerates a clock that ran ahead of
the time it asked for (it decides on every bar that completed by then, in order).

**After each bar close** the clock calls ``on_close(ms)`` once per bar end it passes (every end of any simulated
symbol's bar, in time order, after the venue has worked that bar), so the engine can record equity and exposure at
each bar close (:mod:`runner.backtest.record`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import numpy as np

from sdk.calendars import get_calendar
from sdk.clock import MAX_WAIT
from sdk.sim.venue import SimulatedVenue

__all__ = ["SteppedClock", "market_events"]


def market_events(markets: Iterable[str], step_seconds: int, start_ms: int, end_ms: int) -> np.ndarray:
    """Every session open and close of ``markets`` (:mod:`sdk.calendars`) within ``[start_ms, end_ms]``, and for
    intraday bars (``step_seconds`` under a day) every UTC multiple of the step inside a session, as the runner's
    :class:`~sdk.services.schedule.BarSchedule` places intraday closes; sorted ms UTC."""
    found: set[int] = set()
    first, last = datetime.fromtimestamp(start_ms / 1000, UTC), datetime.fromtimestamp(end_ms / 1000, UTC)
    step = step_seconds * 1000
    for market in sorted(set(markets)):
        for session in get_calendar(market).sessions(first, last):
            open_, close = int(session.open.timestamp() * 1000), int(session.close.timestamp() * 1000)
            found.update((open_, close))
            if step < 86_400_000:
                found.update(range((open_ // step + 1) * step, close, step))
    return np.array(sorted(t for t in found if start_ms <= t <= end_ms), dtype=np.int64)


class SteppedClock:
    """The simulated venue's time, stepped by the runner's waits (module docstring).

    Args:
        venue: the simulated venue; its time is this clock's.
        events: the market events (ms UTC, any order): :func:`market_events`.
        ends: every bar end of the data (ms UTC), any order; ``on_close`` is called at each.
        end_ms: the run's end (``--end``'s following midnight, ms UTC), an event of its own.
        on_close: called with the bar end (ms) after the venue stepped to it.
    """

    def __init__(
        self,
        venue: SimulatedVenue,
        *,
        events: Iterable[int],
        ends: Iterable[int],
        end_ms: int,
        on_close: Callable[[int], None] | None = None,
    ) -> None:
        self.venue = venue
        self.end_ms = int(end_ms)
        self._ends = np.unique(np.fromiter(ends, dtype=np.int64))
        self._events = np.unique(np.concatenate([np.fromiter(events, dtype=np.int64), [self.end_ms]]))
        self.on_close = on_close
        self.steps = 0  #: how many times the runner's waits moved the venue

    def now(self) -> float:
        """The venue's time, epoch seconds UTC."""
        return self.venue.now_ms / 1000

    @property
    def speed(self) -> float:
        """0: only the runner's waits move this clock (the runner reports no wall latency for it)."""
        return 0.0

    def next_event(self, ms: int) -> int:
        """The first event at or after ``ms`` (ms UTC); ``ms`` itself past the last event."""
        i = int(np.searchsorted(self._events, ms, side="left"))
        return int(self._events[i]) if i < len(self._events) else ms

    def advance_to(self, ms: int) -> None:
        """Step the venue to ``ms`` (ms UTC, not before its time), calling ``on_close`` at every bar end on the way."""
        now = self.venue.now_ms
        if ms <= now:
            return
        first = int(np.searchsorted(self._ends, now, side="right"))
        last = int(np.searchsorted(self._ends, ms, side="right"))
        for end in self._ends[first:last]:
            self.venue.step(int(end))
            if self.on_close is not None:
                self.on_close(int(end))
        if self.venue.now_ms < ms:
            self.venue.step(ms)
        self.steps += 1

    async def sleep_until(self, ts: float, *, max_wall: float = MAX_WAIT) -> bool:
        """Step to ``ts`` (epoch seconds), served at the next event at or after it; always True (reached)."""
        target = round(ts * 1000)
        if target > self.venue.now_ms:
            self.advance_to(self.next_event(target))
        await asyncio.sleep(0)  # let the run's other tasks (its lease keeper) run between steps
        return True

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + max(0.0, seconds))

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None
