"""Build an IB history cache as ``trader data download`` lays it out, for the status tests (data, API, MCP, dashboard).

``write_month`` writes one monthly Parquet partition of real bars (from the catalog) in the catalog's cache format
(:mod:`sdk.data.cache`) with the download's extra metadata keys; ``write_plan`` writes a download plan. The layout
and keys are those :mod:`sdk.data.status` documents.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sdk.data.barsizes import parse_bar_size
from sdk.data.cache import CACHE_VERSION, METADATA_KEY

__all__ = ["ms", "write_month", "write_plan"]


def ms(text: str) -> int:
    """``"2024-03-01T14:30Z"`` -> epoch milliseconds."""
    return int(pd.Timestamp(text).timestamp() * 1000)


def write_month(
    cache: Path,
    frame: pd.DataFrame,
    *,
    symbol: str,
    bar_size: str,
    what: str = "TRADES",
    rth: bool = True,
    coverage: list[list[int]] | None = None,
    last_update: str = "2024-05-20T10:00:00+00:00",
    source: str = "IB",
) -> Path:
    """Write ``frame`` (a normalised frame, UTC index) as ``<cache>/<BASE>-<QUOTE>/<bar>/<WHAT>-<rth|all>/<YYYY-MM>``.

    The month is the frame's first bar's; ``coverage`` defaults to the frame's first to last bar.
    """
    label = parse_bar_size(bar_size).label
    month = frame.index[0].strftime("%Y-%m")
    path = cache / symbol.replace("/", "-") / label / f"{what}-{'rth' if rth else 'all'}" / f"{month}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    first, last = frame.index[0], frame.index[-1]
    body = frame.copy()
    body["authority"] = pd.Series(0, index=body.index, dtype="int8")
    info: dict[str, Any] = {
        "version": CACHE_VERSION,
        "symbol": symbol,
        "bar_size": label,
        "meta": {"symbol": symbol},
        "sources": [source],
        "first": first.isoformat(),
        "last": last.isoformat(),
        "rows": len(frame),
        "source": source,
        "what_to_show": what,
        "rth": rth,
        "adjusted": False,
        "tz": "UTC",
        "last_update": last_update,
        "coverage": coverage
        if coverage is not None
        else [[int(first.timestamp() * 1000), int(last.timestamp() * 1000) + 60_000]],
    }
    table = pa.Table.from_pandas(body, preserve_index=True)
    metadata = dict(table.schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(info).encode()
    pq.write_table(table.replace_schema_metadata(metadata), path)
    return path


def write_plan(
    cache: Path, *, symbol: str, bar_size: str, what: str = "TRADES", rth: bool = True, **fields: Any
) -> Path:
    """Write a download plan ``<cache>/.downloads/<BASE>-<QUOTE>__<bar>__<WHAT>__<rth|all>.json`` (``fields``
    override the defaults: a finished plan of two done chunks)."""
    label = parse_bar_size(bar_size).label
    plan: dict[str, Any] = {
        "version": 1,
        "symbol": symbol,
        "bar_size": parse_bar_size(bar_size).ib,
        "what_to_show": what,
        "rth": rth,
        "start": ms("2024-03-01"),
        "end": ms("2024-03-05"),
        "head": None,
        "chunks": [
            {
                "start": ms("2024-03-01"),
                "end": ms("2024-03-02"),
                "status": "done",
                "bars": 390,
                "error": None,
                "attempts": 1,
            },
            {
                "start": ms("2024-03-04"),
                "end": ms("2024-03-05"),
                "status": "done",
                "bars": 390,
                "error": None,
                "attempts": 1,
            },
        ],
        "pid": None,
        "host": "test-host",
        "started_at": ms("2024-05-20T09:00Z"),
        "updated_at": ms("2024-05-20T09:05Z"),
        "finished_at": ms("2024-05-20T09:05Z"),
        "verify": None,
    }
    plan.update(fields)
    path = cache / ".downloads" / f"{symbol.replace('/', '-')}__{label}__{what}__{'rth' if rth else 'all'}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plan))
    return path
