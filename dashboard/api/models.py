"""The data API's response models (pydantic): the OpenAPI schema at ``/openapi.json`` is generated from these.

Times are integer milliseconds UTC (``*_ms``) with ISO-8601 UTC twins; the shapes are those of
:func:`sdk.data.status.data_status` and :func:`sdk.data.status.ranges`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "DataStatusOut",
    "DownloadOut",
    "ErrorOut",
    "IbStatusOut",
    "IbTestOut",
    "ProblemOut",
    "RangesOut",
    "SeriesOut",
    "SeriesRangesOut",
    "SpanOut",
]


class ProblemOut(BaseModel):
    path: str = Field(description="The unreadable file, relative to the cache directory.")
    error: str = Field(description="Why it could not be read.")


class SeriesOut(BaseModel):
    """One cached series: a symbol at one bar size, whatToShow and RTH flag."""

    symbol: str = Field(description="Canonical BASE/QUOTE, e.g. SPY/USD.")
    bar_size: str = Field(description="The catalog's bar label: 1min, 5min, 1h, 1D ...")
    what_to_show: str = Field(description="IB's whatToShow: TRADES, MIDPOINT, BID, ASK, BID_ASK, ADJUSTED_LAST.")
    rth: bool = Field(description="Regular trading hours only (IB's useRTH).")
    files: int = Field(description="Monthly Parquet partitions.")
    rows: int = Field(description="Bars held.")
    first_ms: int | None = Field(description="Open time of the first bar, ms UTC.")
    first: str | None = Field(description="first_ms as ISO-8601 UTC.")
    last_ms: int | None = Field(description="Open time of the last bar, ms UTC.")
    last: str | None = Field(description="last_ms as ISO-8601 UTC.")
    last_update_ms: int | None = Field(description="When a partition was last written, ms UTC.")
    last_update: str | None = Field(description="last_update_ms as ISO-8601 UTC.")
    coverage: list[list[int]] = Field(description="Merged [start_ms, end_ms) spans the download plans covered.")
    sources: list[str] = Field(description='Where the bars came from: "IB" or "file:<path>".')
    adjusted: bool | None = Field(description="Adjusted prices (None when partitions disagree).")


class DownloadOut(BaseModel):
    """One download plan (``<cache>/.downloads/*.json``)."""

    file: str
    symbol: str | None
    bar_size: str | None = Field(description="IB's barSizeSetting, e.g. '1 min'.")
    what_to_show: str | None
    rth: bool | None
    state: str = Field(description="running, stopped (resume it with the same command), finished, or unknown "
                       "(ran on another host).")  # fmt: skip
    start_ms: int | None
    start: str | None
    end_ms: int | None
    end: str | None
    head_ms: int | None = Field(description="IB's head timestamp (reqHeadTimeStamp), ms UTC.")
    chunks_total: int
    chunks_done: int = Field(description="Chunks settled: done, no_data or closed.")
    chunks_failed: int
    chunks_by_status: dict[str, int]
    bars: int
    pid: int | None
    host: str | None
    started_at_ms: int | None
    updated_at_ms: int | None
    updated_at: str | None
    finished_at_ms: int | None
    verify: dict[str, Any] | None = Field(description="The counts of trader data verify at the end, or None.")
    errors: list[dict[str, Any]] = Field(description="The last few chunk errors: start_ms, end_ms, error, attempts.")


class DataStatusOut(BaseModel):
    """``GET /data/status``."""

    cache_dir: str
    exists: bool
    series: list[SeriesOut]
    downloads: list[DownloadOut]
    problems: list[ProblemOut]


class SpanOut(BaseModel):
    start_ms: int = Field(description="Start, ms UTC (inclusive).")
    end_ms: int = Field(description="End, ms UTC (exclusive).")
    start: str
    end: str


class SeriesRangesOut(BaseModel):
    bar_size: str
    what_to_show: str
    rth: bool
    ranges: list[SpanOut] = Field(description="Covered spans, merged, oldest first.")
    gaps: list[SpanOut] = Field(description="Spans between consecutive ranges.")


class RangesOut(BaseModel):
    """``GET /data/ranges/{symbol}``."""

    symbol: str
    series: list[SeriesRangesOut]
    problems: list[ProblemOut]


class IbStatusOut(BaseModel):
    """``GET /data/ib/status``: this API process's own IB session (made on the first ``POST /data/ib/test``)."""

    venue: str = Field(description="The venue the registry built: IB.")
    connected: bool = Field(description="The session is up (its last connectivity event).")
    attempted: bool = Field(description="A session was ever made by this process.")
    host: str = Field(description="IB_HOST.")
    port: int = Field(description="IB_PORT, or the port connected to.")
    client_id: int | None = Field(description="The IB client id the session holds.")
    server_version: int | None = Field(description="The TWS API server version, when the venue states it.")
    simulated: bool | None = Field(description="The session is the offline gateway.")
    last_event: str | None = Field(description="The last connectivity event: connected, disconnected, ...")
    last_fetch_ms: int | None = Field(description="Wall time of the last successful request, ms UTC.")
    last_error: str | None = Field(description="The last failure, if any (no secrets).")


class IbTestOut(BaseModel):
    """``POST /data/ib/test``: IB's current time (reqCurrentTime) through this process's session."""

    ok: bool
    venue_time_ms: int | None = Field(description="IB's current time, ms UTC (one-second resolution).")
    venue_time: str | None
    round_trip_ms: float | None = Field(description="Wall milliseconds the request took.")
    error: str | None


class ErrorOut(BaseModel):
    """Any 4xx/5xx answer."""

    error: str = Field(description="What was wrong and what to do instead.")
