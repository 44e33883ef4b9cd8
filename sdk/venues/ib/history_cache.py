"""``fetch_ohlcv`` reads the download cache first and asks IB only for what it does not cover (issue 15, "Reads").

With ``DATA_CACHE_DIR`` present (``trader data download`` writes it: :mod:`sdk.data.partitions`), an intraday
``fetch_ohlcv`` with a ``since`` walks ``[since, until)`` in time order: the spans the cache's downloads covered for
the same bar size, whatToShow and hours (``useRTH``) are read from their month files; each gap between them is asked
of IB through the paced history service; with a ``limit`` the walk stops once it holds enough bars. Only a span a
download recorded as covered is trusted (its coverage metadata): a month file's bars outside it are not used. Daily
and coarser bars (one request covers a year) and requests without ``since`` (the most recent bars) go to IB as before.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdk.data.barsizes import BAR_SIZES
from sdk.data.partitions import partition_dir, read_covered
from sdk.venues.ib.history import default_what_to_show

if TYPE_CHECKING:
    from sdk.base import OHLCV
    from sdk.venues.ib.history import HistoryService

__all__ = ["CachedHistory"]

_BY_TIMEFRAME = {b.timeframe: b for b in BAR_SIZES.values()}


class CachedHistory:
    """The history service behind a download cache (module docstring)."""

    def __init__(self, history: HistoryService, cache: Path) -> None:
        self.history = history
        self.cache = cache
        self.cached_rows = 0  #: bars answered from the cache (for logs and tests)

    def applies(self, timeframe: str, since: int | None) -> bool:
        size = _BY_TIMEFRAME.get(timeframe)
        return since is not None and size is not None and size.intraday and self.cache.is_dir()

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int, limit: int | None, params: dict[str, Any] | None
    ) -> list[OHLCV]:
        """As :meth:`sdk.venues.ib.history.HistoryService.fetch_ohlcv` with ``since`` given, cache first."""
        params = dict(params or {})
        resolved = await self.history.resolver.resolve(symbol)
        what = str(params.get("whatToShow") or default_what_to_show(resolved)).upper()
        rth = bool(params.get("useRTH", False))
        until = int(params.get("until") or self.history.clock.now() * 1000)
        directory = partition_dir(self.cache, resolved.symbol, _BY_TIMEFRAME[timeframe].label, what, rth)
        rows, covered = await asyncio.to_thread(read_covered, directory, since, until)
        if not covered:
            return await self.history.fetch_ohlcv(symbol, timeframe, since, limit, params)
        out: list[OHLCV] = []
        cursor, cached = since, iter(rows)
        pending = next(cached, None)
        for start, end in [*covered, (until, until)]:
            if cursor < start:  # a gap the cache does not cover: IB's
                out += await self.history.fetch_ohlcv(symbol, timeframe, cursor, None, {**params, "until": start})
            while pending is not None and pending[0] < end:
                out.append(pending)
                self.cached_rows += 1
                pending = next(cached, None)
            cursor = max(cursor, end)
            if limit is not None and len(out) >= limit:
                break
        return out[:limit] if limit is not None else out
