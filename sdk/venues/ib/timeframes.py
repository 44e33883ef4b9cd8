"""ccxt timeframes -> IB bar sizes, and the chunking of a history request by IB's maximum durations.

IB answers one ``reqHistoricalData`` with at most a bar-size-dependent span: the one table of these spans is
:mod:`sdk.data.barsizes` (each IB bar size's ``max_request_seconds``, with IB's table and source), which the
offline gateway enforces too; :data:`BAR_SIZES` and :data:`MAX_DURATION_SECONDS` are its views by ccxt
timeframe.

:func:`plan_chunks` cuts ``[since, until)`` into windows no longer than that maximum, newest first
(IB's requests are anchored at ``endDateTime``), each with the ``durationStr`` IB expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sdk.data.barsizes import BAR_SIZES as IB_BAR_SIZES
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

#: ccxt timeframe -> IB ``barSizeSetting`` (from :data:`sdk.data.barsizes.BAR_SIZES`).
BAR_SIZES: Mapping[str, str] = {b.timeframe: b.ib for b in IB_BAR_SIZES.values()}

_DAY = TIMEFRAME_SECONDS["1d"]
#: ccxt timeframe -> the longest span (seconds) one request may cover (:mod:`sdk.data.barsizes`).
MAX_DURATION_SECONDS: Mapping[str, int] = {b.timeframe: b.max_request_seconds for b in IB_BAR_SIZES.values()}


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
