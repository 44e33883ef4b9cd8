"""Output of ``get_data_status``: the IB history cache (``DATA_CACHE_DIR``) and its downloads.

Times are ms since the epoch UTC (``*_ms``) with ISO 8601 UTC twins; the shapes are
:func:`sdk.data.status.data_status` and :func:`sdk.data.status.ranges`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["CachedSeries", "DataDownload", "DataStatusOut", "SymbolRanges"]


class CachedSeries(BaseModel):
    """One cached series: a symbol at one bar size, whatToShow and hours."""

    symbol: str = Field(description="canonical BASE/QUOTE, e.g. SPY/USD")
    bar_size: str = Field(description="bar label: 1min, 5min, 1h, 1D ...")
    what_to_show: str = Field(description="IB whatToShow: TRADES, MIDPOINT, BID, ASK, BID_ASK, ADJUSTED_LAST")
    rth: bool = Field(description="True: regular trading hours only (IB useRTH)")
    files: int = Field(description="monthly Parquet partitions")
    rows: int = Field(description="bars held")
    first: str | None = Field(description="open time of the first bar, ISO 8601 UTC")
    last: str | None = Field(description="open time of the last bar, ISO 8601 UTC")
    last_update: str | None = Field(description="when a partition was last written, ISO 8601 UTC")
    coverage: list[list[int]] = Field(description="merged [start_ms, end_ms) spans downloaded, ms UTC")


class DataDownload(BaseModel):
    """One download plan of ``trader data download``."""

    symbol: str | None
    bar_size: str | None = Field(description="IB barSizeSetting, e.g. '1 min'")
    what_to_show: str | None
    rth: bool | None
    state: str = Field(description="running, stopped (resume with the same command), finished, unknown (other host)")
    chunks_done: int = Field(description="chunks settled: done, no_data or closed")
    chunks_total: int
    chunks_failed: int
    bars: int = Field(description="bars received so far")
    updated_at: str | None = Field(description="last progress, ISO 8601 UTC")
    verify: dict[str, Any] | None = Field(description="counts of the final verification, or null")
    errors: list[dict[str, Any]] = Field(description="the last few chunk errors (start_ms, end_ms, error, attempts)")


class SymbolRanges(BaseModel):
    """Covered spans and the gaps between them of one series of the symbol asked for."""

    bar_size: str
    what_to_show: str
    rth: bool
    ranges: list[list[int]] = Field(description="[start_ms, end_ms) covered, ms UTC, oldest first")
    gaps: list[list[int]] = Field(description="[start_ms, end_ms) between consecutive ranges, ms UTC")


class DataStatusOut(BaseModel):
    """The cache's contents and downloads (and, for a symbol, its ranges and gaps)."""

    cache_dir: str = Field(description="the cache directory (DATA_CACHE_DIR)")
    exists: bool = Field(description="false: nothing downloaded yet")
    series: list[CachedSeries]
    downloads: list[DataDownload]
    unreadable: list[str] = Field(description="files that could not be read, with the reason")
    symbol: str | None = Field(description="the symbol asked for, canonical")
    ranges: list[SymbolRanges] | None = Field(description="that symbol's ranges and gaps per series")
