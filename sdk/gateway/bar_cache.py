"""The catalog's bars, cached in chunks of time per instrument, bar size and ``useRTH``, sliced by searchsorted.

A backfill asks for the same series many times over adjacent windows (a year of minute bars is 252
``1 D`` requests). :meth:`sdk.data.Catalog.bars` aggregates its window (with a margin) on every call;
here each chunk (a UTC calendar month of intraday bars, a UTC year of daily and coarser bars) is
asked of the catalog once, and a request's window is cut out of the chunks it touches.

The answer is the catalog's own: ``Catalog.bars(symbol, size, lo, hi)`` holds exactly the bars with
``lo <= time < hi`` of the whole series (it aggregates with a margin wide enough for every bar that
starts inside the window), so the bars of ``[lo, hi)`` are the bars of the chunks' windows inside it.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sdk.data.barsizes import BarSize

if TYPE_CHECKING:
    from sdk.gateway.market import CatalogLike

__all__ = ["BarCache"]

_Key = tuple[str, str, bool, int]


def _chunk_bounds(ts: datetime, intraday: bool) -> tuple[datetime, datetime]:
    """The chunk holding ``ts`` (UTC): its calendar month (intraday sizes) or year (daily and coarser)."""
    if intraday:
        lo = datetime(ts.year, ts.month, 1, tzinfo=UTC)
        hi = datetime(ts.year + (ts.month == 12), ts.month % 12 + 1, 1, tzinfo=UTC)
    else:
        lo, hi = datetime(ts.year, 1, 1, tzinfo=UTC), datetime(ts.year + 1, 1, 1, tzinfo=UTC)
    return lo, hi


class BarCache:
    """Chunks of ``catalog.bars`` answers (see the module docstring), at most ``max_chunks`` kept (LRU).

    Args:
        catalog: the market data; its bars must not change while the cache is used (they do not).
        max_chunks: how many chunks to keep; a month of minute bars is ~8,000 rows.
    """

    def __init__(self, catalog: CatalogLike, *, max_chunks: int = 512) -> None:
        self.catalog = catalog
        self.max_chunks = max_chunks
        self._chunks: OrderedDict[_Key, tuple[pd.DataFrame, np.ndarray]] = OrderedDict()

    def bars(self, symbol: str, size: BarSize, start: datetime, end: datetime, *, rth_only: bool) -> pd.DataFrame:
        """``catalog.bars(symbol, size.label, start, end, rth_only=rth_only)``, from the cached chunks.

        Returns a frame that may share data with the cache: copy it before changing it.

        Raises:
            ValueError: the catalog's (no data fine enough for ``size``); nothing is cached then.
        """
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return self._chunk(symbol, size, rth_only, start)[0].iloc[0:0]
        lo_ns, hi_ns = pd.Timestamp(start).value, pd.Timestamp(end).value
        parts: list[pd.DataFrame] = []
        empty: pd.DataFrame | None = None
        cursor = start
        while cursor < end:
            frame, times = self._chunk(symbol, size, rth_only, cursor)
            a, b = int(np.searchsorted(times, lo_ns, "left")), int(np.searchsorted(times, hi_ns, "left"))
            if b > a:
                parts.append(frame.iloc[a:b])
            elif empty is None:
                empty = frame.iloc[0:0]
            cursor = _chunk_bounds(cursor, size.intraday)[1]
        if len(parts) == 1:
            return parts[0]
        if parts:
            return pd.concat(parts)
        assert empty is not None
        return empty

    def _chunk(self, symbol: str, size: BarSize, rth_only: bool, ts: datetime) -> tuple[pd.DataFrame, np.ndarray]:
        lo, hi = _chunk_bounds(ts, size.intraday)
        key = (symbol, size.label, rth_only, int(lo.timestamp()))
        found = self._chunks.get(key)
        if found is not None:
            self._chunks.move_to_end(key)
            return found
        frame: pd.DataFrame = self.catalog.bars(symbol, size.label, lo, hi, rth_only=rth_only)
        entry = (frame, np.asarray(pd.DatetimeIndex(frame.index).as_unit("ns").asi8))
        self._chunks[key] = entry
        while len(self._chunks) > self.max_chunks:
            self._chunks.popitem(last=False)
        return entry
