"""The simulated clock: every time the gateway reports or acts on comes from here.

``now = anchor_sim + (wall_now - anchor_wall) × speed``. ``speed`` 1 is real time, 200000 passes a
trading day in about a tenth of a second, 0 pauses the clock so that only :meth:`SimClock.advance`
and :meth:`SimClock.jump` move it (what tests do). Changing the speed or stepping re-anchors, so
simulated time never runs backwards except through an explicit :meth:`SimClock.jump` into the past.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["MAX_SPEED", "ClockListener", "SimClock"]

#: The fastest clock accepted: about 31 simulated years per wall second.
MAX_SPEED = 1e9

#: Called with ``(old_epoch_seconds, new_epoch_seconds)`` after a step, a jump or a speed change.
ClockListener = Callable[[float, float], None]


def _check_speed(speed: float) -> float:
    if not isinstance(speed, int | float) or isinstance(speed, bool) or not math.isfinite(speed):
        raise ValueError(f"speed must be a finite number of simulated seconds per wall second, got {speed!r}")
    if not 0 <= speed <= MAX_SPEED:
        raise ValueError(f"speed must be between 0 (paused) and {MAX_SPEED:g}, got {speed:g}")
    return float(speed)


def _check_representable(epoch_seconds: float) -> float:
    """``epoch_seconds`` if it is a time ``datetime`` can hold (years 1..9999), else ValueError."""
    try:
        datetime.fromtimestamp(epoch_seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{epoch_seconds:g} epoch seconds is outside the years 1..9999") from None
    return epoch_seconds


def _require_aware(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError(
            f"the simulated clock needs a timezone-aware time, got {ts.isoformat()}; "
            "give an offset, e.g. 2025-03-03T10:00:00+11:00"
        )
    return ts.astimezone(UTC)


class SimClock:
    """Simulated time in UTC.

    Args:
        start: the simulated time at creation (timezone-aware).
        speed: simulated seconds per wall second (0 pauses; finite, at most :data:`MAX_SPEED`).
        wall: the wall clock in seconds (``time.monotonic`` by default; tests may inject one).

    Raises:
        ValueError: a negative, non-finite or too large speed, or a naive ``start``.
    """

    def __init__(self, start: datetime, speed: float = 1.0, *, wall: Callable[[], float] = time.monotonic) -> None:
        self._speed = _check_speed(speed)
        self._wall = wall
        self._anchor_sim = _require_aware(start).timestamp()
        self._anchor_wall = wall()
        self._listeners: list[ClockListener] = []

    # --- reading ---------------------------------------------------------------------------
    def timestamp(self) -> float:
        """Now, in epoch seconds (UTC)."""
        return self._anchor_sim + (self._wall() - self._anchor_wall) * self._speed

    def now(self) -> datetime:
        """Now, as a timezone-aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp(), UTC)

    @property
    def speed(self) -> float:
        """Simulated seconds per wall second (0 = paused)."""
        return self._speed

    def wall_seconds_until(self, epoch_seconds: float) -> float | None:
        """Wall seconds until the clock reaches ``epoch_seconds`` (0 if passed; None while paused)."""
        ahead = epoch_seconds - self.timestamp()
        if ahead <= 0:
            return 0.0
        if self._speed == 0:
            return None
        return ahead / self._speed

    # --- moving ----------------------------------------------------------------------------
    def set_speed(self, speed: float) -> None:
        """Change the speed from now on (the current simulated time is kept).

        Raises:
            ValueError: ``speed`` is negative, not finite (NaN, inf) or above :data:`MAX_SPEED`;
                nothing changes.
        """
        checked = _check_speed(speed)
        now = self.timestamp()
        self._anchor_sim, self._anchor_wall, self._speed = now, self._wall(), checked
        self._notify(now, now)

    def advance(self, seconds: float) -> datetime:
        """Step forward by ``seconds`` of simulated time; returns the new now.

        Raises:
            ValueError: ``seconds`` is negative (use :meth:`jump` to go back), not finite (NaN, inf), or
                would move the clock past the year 9999; nothing changes.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
            raise ValueError(f"advance takes a finite number of seconds, got {seconds!r}")
        if seconds < 0:
            raise ValueError(f"advance takes a non-negative number of seconds, got {seconds}; use jump to go back")
        old = self.timestamp()
        _check_representable(old + seconds)
        self._anchor_sim, self._anchor_wall = old + seconds, self._wall()
        self._notify(old, old + seconds)
        return self.now()

    def jump(self, to: datetime) -> datetime:
        """Set the simulated time to ``to`` (timezone-aware; may be in the past); returns it.

        Raises:
            ValueError: ``to`` is naive (no UTC offset); nothing changes.
        """
        target = _require_aware(to).timestamp()
        old = self.timestamp()
        self._anchor_sim, self._anchor_wall = target, self._wall()
        self._notify(old, target)
        return self.now()

    # --- listening -------------------------------------------------------------------------
    def add_listener(self, listener: ClockListener) -> None:
        """Call ``listener(old, new)`` after every step, jump and speed change."""
        self._listeners.append(listener)

    def remove_listener(self, listener: ClockListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self, old: float, new: float) -> None:
        for listener in list(self._listeners):
            listener(old, new)
