"""Candles for agents: completed bars only, columnar and offset-encoded, cached while they cannot change.

``get_ohlcv`` answers only bars that open before the start of the bar now forming (the *boundary*):
it asks the runner's :class:`sdk.services.data.DataFetchCoordinator` for one bar more than requested and
drops the forming one, so every bar it answers is complete and can never change. That makes the
answer cacheable: the same request before the next bar completes is served from memory instead of
costing another venue request (IB allows 60 historical requests per ten minutes per process:
https://interactivebrokers.github.io/tws-api/historical_limitations.html).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sdk.base import OHLCV
from sdk.timeframes import TIMEFRAME_SECONDS

__all__ = ["DEFAULT_OHLCV_LIMIT", "MAX_OHLCV_LIMIT", "OhlcvCache", "columnar", "timeframe_ms"]

#: Bars answered when the agent gives no limit.
DEFAULT_OHLCV_LIMIT = 100
#: The most bars one call answers (a larger limit is lowered and says so).
MAX_OHLCV_LIMIT = 1000


def timeframe_ms(timeframe: str) -> int:
    """Length of a ccxt timeframe (``1m``, ``4h``, ``1d``, ``1w``, ``1M`` = 30 days) in ms, from the one
    timeframe table (:data:`sdk.timeframes.TIMEFRAME_SECONDS`).

    Raises:
        ValueError: not a timeframe of that table (the message lists them).
    """
    seconds = TIMEFRAME_SECONDS.get(timeframe)
    if seconds is None:
        raise ValueError(
            f"timeframe {timeframe!r} is not a supported ccxt timeframe; use e.g. 1m, 5m, 15m, 1h, 4h, 1d or 1w "
            f"(one of {', '.join(TIMEFRAME_SECONDS)})"
        )
    return seconds * 1000


def _number(value: Any) -> float:
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def columnar(rows: Sequence[OHLCV]) -> dict[str, Any]:
    """ccxt rows ``[ts, o, h, l, c, v]`` as columns: ``t0_ms``, ``t_offset_s`` and ``o h l c v``.

    Whole numbers are written without ``.0`` (volumes in shares), which JSON reads as the same number.
    """
    t0 = int(rows[0][0]) if rows else None
    return {
        "count": len(rows),
        "t0_ms": t0,
        "t_offset_s": [(int(r[0]) - (t0 or 0)) // 1000 for r in rows],
        "o": [_number(r[1]) for r in rows],
        "h": [_number(r[2]) for r in rows],
        "l": [_number(r[3]) for r in rows],
        "c": [_number(r[4]) for r in rows],
        "v": [_number(r[5]) for r in rows],
    }


class OhlcvCache:
    """A bounded LRU of completed-bar answers keyed by (symbol, timeframe, since, limit, boundary)."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[Any, ...], list[OHLCV]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> list[OHLCV] | None:
        """The rows cached under ``key`` (refreshing its recency), or None."""
        rows = self._entries.get(key)
        if rows is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return rows

    def put(self, key: tuple[Any, ...], rows: list[OHLCV]) -> None:
        """Keep ``rows`` under ``key``; the least recently used entry goes when full."""
        self._entries[key] = rows
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
