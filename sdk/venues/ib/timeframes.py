"""ccxt timeframes -> IB bar sizes, and the chunking of a history request by IB's maximum durations.

IB answers one ``reqHistoricalData`` with at most a bar-size-dependent duration (IB "Historical Bar
Data", valid duration and bar size settings: https://interactivebrokers.github.io/tws-api/historical_bars.html):

=========  ==========================  ======================
duration   bar sizes it allows         so the largest window
=========  ==========================  ======================
1800 S     1 secs - 30 mins            1 secs
3600 S     5 secs - 1 hour             5 secs
14400 S    10 secs - 3 hours           10, 15 secs
28800 S    30 secs - 8 hours           30 secs
1 D        1 min - 1 day               1 min
2 D        2 mins - 1 day              2 mins
1 W        3 mins - 1 week             3 - 20 mins
1 M        30 mins - 1 month           30 mins - 8 hours
1 Y        1 day - 1 month             1 day, 1 week, 1 month
=========  ==========================  ======================

:func:`plan_chunks` cuts ``[since, until)`` into windows no longer than that maximum, newest first
(IB's requests are anchored at ``endDateTime``), each with the ``durationStr`` IB expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sdk.errors import BadRequest
from sdk.timeframes import TIMEFRAME_SECONDS

__all__ = [
    "BAR_SIZES",
    "MAX_DURATION_SECONDS",
    "Chunk",
    "bar_size_for",
    "duration_string",
    "plan_chunks",
    "timeframe_seconds",
]

#: ccxt timeframe -> IB ``barSizeSetting``.
BAR_SIZES: Mapping[str, str] = {
    "1s": "1 secs",
    "5s": "5 secs",
    "10s": "10 secs",
    "15s": "15 secs",
    "30s": "30 secs",
    "1m": "1 min",
    "2m": "2 mins",
    "3m": "3 mins",
    "5m": "5 mins",
    "10m": "10 mins",
    "15m": "15 mins",
    "20m": "20 mins",
    "30m": "30 mins",
    "1h": "1 hour",
    "2h": "2 hours",
    "3h": "3 hours",
    "4h": "4 hours",
    "8h": "8 hours",
    "1d": "1 day",
    "1w": "1 week",
    "1M": "1 month",
}

_DAY = 86_400
#: ccxt timeframe -> the longest duration (seconds) one request may cover (table above).
MAX_DURATION_SECONDS: Mapping[str, int] = {
    "1s": 1800, "5s": 3600, "10s": 14_400, "15s": 14_400, "30s": 28_800,
    "1m": _DAY, "2m": 2 * _DAY,
    "3m": 7 * _DAY, "5m": 7 * _DAY, "10m": 7 * _DAY, "15m": 7 * _DAY, "20m": 7 * _DAY,
    "30m": 30 * _DAY, "1h": 30 * _DAY, "2h": 30 * _DAY, "3h": 30 * _DAY, "4h": 30 * _DAY, "8h": 30 * _DAY,
    "1d": 365 * _DAY, "1w": 365 * _DAY, "1M": 365 * _DAY,
}  # fmt: skip


def _supported() -> str:
    return ", ".join(BAR_SIZES)


def bar_size_for(timeframe: str) -> str:
    """IB's ``barSizeSetting`` for a ccxt timeframe (``"5m"`` -> ``"5 mins"``).

    Raises:
        BadRequest: the timeframe has no IB bar size; the message lists the supported ones.
    """
    try:
        return BAR_SIZES[timeframe]
    except KeyError:
        raise BadRequest(
            f"timeframe {timeframe!r} is not supported by IB; supported timeframes: {_supported()}"
        ) from None


def timeframe_seconds(timeframe: str) -> int:
    """Length of one bar in seconds; raises ``BadRequest`` (with the supported list) when unknown."""
    bar_size_for(timeframe)
    return TIMEFRAME_SECONDS[timeframe]


def duration_string(seconds: int) -> str:
    """IB ``durationStr`` for a window: ``"N S"`` up to a day, whole days ``"N D"`` beyond.

    Raises:
        ValueError: a window longer than a day that is not whole days (chunks never are).
    """
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {seconds} s")
    if seconds <= _DAY:
        return f"{seconds} S"
    days, rest = divmod(seconds, _DAY)
    if rest:
        raise ValueError(f"a duration over one day must be whole days, got {seconds} s")
    return f"{days} D"


@dataclass(frozen=True, slots=True)
class Chunk:
    """One history request: bars in ``[start_ms, end_ms)``; ``end_date_time`` is IB's UTC anchor."""

    start_ms: int
    end_ms: int
    duration: str

    @property
    def end_date_time(self) -> datetime:
        """``endDateTime`` for ``reqHistoricalData`` (timezone-aware UTC)."""
        return datetime.fromtimestamp(self.end_ms / 1000, UTC)


def plan_chunks(timeframe: str, since_ms: int, until_ms: int) -> list[Chunk]:
    """Windows covering ``[since_ms, until_ms)`` for ``timeframe``, newest first, none over IB's maximum.

    ``since_ms`` is floored and ``until_ms`` ceiled to the bar grid (whole bars only); windows longer
    than a day are whole days so that IB's ``"N D"`` durations are exact.

    Raises:
        BadRequest: an unsupported timeframe, or ``since_ms >= until_ms``.
    """
    step = timeframe_seconds(timeframe) * 1000
    if since_ms >= until_ms:
        raise BadRequest(f"since ({since_ms}) must be before the end of the range ({until_ms}), both ms UTC")
    start = since_ms - since_ms % step if step <= _DAY * 1000 else since_ms
    end = until_ms if until_ms % step == 0 or step > _DAY * 1000 else until_ms + (step - until_ms % step)
    max_ms = MAX_DURATION_SECONDS[timeframe] * 1000
    chunks: list[Chunk] = []
    cursor = end
    while cursor > start:
        lo = max(start, cursor - max_ms)
        seconds = (cursor - lo + 999) // 1000
        if seconds > _DAY:
            seconds = -(-seconds // _DAY) * _DAY
            lo = cursor - seconds * 1000
        chunks.append(Chunk(start_ms=max(lo, start), end_ms=cursor, duration=duration_string(int(seconds))))
        cursor = lo
    return chunks
