"""When bars complete: the times the runner wakes at, and whether a bar is final.

For a market with hours (:mod:`sdk.calendars`: ASX, NYSE, IDEALPRO FX):

* ``1d`` (and longer): a bar completes at its session's close. IB stamps a daily bar at 00:00 UTC
  of its trading date (the FX session's closing day), so bar ``D`` is final once the session of
  day ``D`` has closed.
* intraday (``5m``, ``1h``, ...): bars are aligned to multiples of the timeframe (UTC; the same as the
  exchange's own alignment for every whole-hour time zone); one completes at ``start + timeframe``
  or at the session close, whichever is first. Closes are only within sessions: no bar is awaited
  while the market is shut.

For a venue without hours (a ccxt crypto market, ``market=None``) bars complete at every multiple of
the timeframe, daily bars at 00:00 UTC.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sdk.calendars import MarketCalendar, Session, get_calendar
from sdk.timeframes import timeframe_seconds

__all__ = ["BarSchedule"]

_DAY = 86_400


@dataclass(frozen=True)
class BarSchedule:
    """Bar closes of one ``timeframe`` in one ``market`` (``"ASX"``, ``"NYSE"``, ``"FX"`` or None for 24/7)."""

    market: str | None
    timeframe: str

    def __post_init__(self) -> None:
        timeframe_seconds(self.timeframe)

    @property
    def seconds(self) -> int:
        return timeframe_seconds(self.timeframe)

    @property
    def daily(self) -> bool:
        return self.seconds >= _DAY

    @functools.cached_property
    def calendar(self) -> MarketCalendar | None:
        return get_calendar(self.market) if self.market is not None else None

    # --- sessions ---------------------------------------------------------------------------
    def session_at(self, ts: float) -> Session | None:
        """The session open at ``ts`` (None when closed, or for a 24/7 venue)."""
        if self.calendar is None:
            return None
        return self.calendar.session_at(datetime.fromtimestamp(ts, UTC))

    def is_open(self, ts: float) -> bool:
        """True when the market trades at ``ts`` (always for a 24/7 venue)."""
        return self.calendar is None or self.calendar.is_open(datetime.fromtimestamp(ts, UTC))

    def next_open(self, ts: float) -> float:
        """``ts`` when the market is open then, else the next session's open (epoch seconds)."""
        if self.calendar is None or self.is_open(ts):
            return ts
        return self.calendar.next_session(datetime.fromtimestamp(ts, UTC)).open.timestamp()

    def session_close(self, ts: float) -> float | None:
        """The close of the session open at ``ts`` or next to open (None for a 24/7 venue)."""
        if self.calendar is None:
            return None
        return self.calendar.next_session(datetime.fromtimestamp(ts, UTC)).close.timestamp()

    # --- bar closes ---------------------------------------------------------------------------
    def next_close(self, after: float) -> float:
        """The first bar close strictly after ``after`` (epoch seconds)."""
        step = self.seconds
        if self.calendar is None:
            return (math.floor(after / step) + 1) * step
        probe = datetime.fromtimestamp(after, UTC)
        for _ in range(400):
            session = self.calendar.next_session(probe)
            open_, close = session.open.timestamp(), session.close.timestamp()
            if self.daily:
                if close > after:
                    return close
            else:
                start = max(after, open_)
                candidate: float = (math.floor(start / step) + 1) * step
                if candidate <= open_:
                    candidate = open_ + step
                if candidate < close:
                    return candidate
                if close > after:
                    return close
            probe = session.close + timedelta(seconds=1)
        raise RuntimeError(f"no {self.market} session in 400 tries after {probe.isoformat()}")

    def is_complete(self, bar_ts_ms: int, now: float) -> bool:
        """True when the bar starting (or, for daily bars, dated) ``bar_ts_ms`` is final at ``now``."""
        start = bar_ts_ms / 1000
        if self.calendar is None:
            return start + self.seconds <= now
        if self.daily:
            close = self._daily_close(datetime.fromtimestamp(start, UTC).date())
            return close is not None and close <= now
        session = self.calendar.session_at(datetime.fromtimestamp(start, UTC))
        end = start + self.seconds
        if session is not None:
            end = min(end, session.close.timestamp())
        return end <= now

    def bar_close(self, bar_ts_ms: int) -> float:
        """When the bar at ``bar_ts_ms`` completes (epoch seconds)."""
        start = bar_ts_ms / 1000
        if self.calendar is None:
            return start + self.seconds
        if self.daily:
            close = self._daily_close(datetime.fromtimestamp(start, UTC).date())
            return close if close is not None else start + self.seconds
        session = self.calendar.session_at(datetime.fromtimestamp(start, UTC))
        end = start + self.seconds
        return min(end, session.close.timestamp()) if session is not None else end

    def _daily_close(self, day: date) -> float | None:
        assert self.calendar is not None
        start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=2)
        for session in self.calendar.sessions(start, start + timedelta(days=4)):
            if session.day == day:
                return session.close.timestamp()
        return None
