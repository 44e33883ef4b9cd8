"""The download cache's bar files: Parquet per symbol, bar size, whatToShow and hours, one file per UTC month.

Layout (inside ``DATA_CACHE_DIR``)::

    <cache>/<BASE>-<QUOTE>/<bar>/<WHAT>-<rth|all>/<YYYY-MM>.parquet     e.g. SPY-USD/1min/TRADES-rth/2024-03.parquet

Each file is in the catalog's cache format (:func:`sdk.data.cache.write_frame`: the normalised frame, an
``authority`` column, metadata under ``trader_sdk.data``), so :func:`sdk.data.load_catalog` reads a download cache
like any data directory, with these metadata keys besides the catalog's: ``source`` (``"IB"``), ``what_to_show``,
``rth``, ``adjusted`` (True for ``ADJUSTED_LAST``), ``tz`` (``"UTC"``), ``coverage`` (the spans of the month the
download's plan answered, ``[[start ms, end ms], ...]``) and ``last_update`` (the end of that coverage, ISO-8601 UTC:
a fact of the data, not of the wall clock, so two downloads of one range write the same bytes).

A month's file is written from its bars alone (merged with the file already there), sorted by time: appending later
days rewrites only the months they fall in; a finished month is never touched again. Writes are atomic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdk.calendars import get_calendar
from sdk.data.cache import read_frame, read_info, write_frame
from sdk.data.instruments import TickerFacts
from sdk.instruments import InstrumentSpec
from sdk.symbols import InstrumentType

__all__ = ["AUTHORITY", "month_of", "partition_dir", "read_covered", "ticker_facts", "to_frame", "write_months"]

#: The authority of IB's own bars when a catalog merges sources (above vendor files: :mod:`sdk.data.catalog`).
AUTHORITY = np.int8(3)
_SEC_TYPES = {InstrumentType.FX: "CASH", InstrumentType.INDEX: "IND"}


def partition_dir(cache: Path, symbol: str, bar_label: str, what_to_show: str, rth: bool) -> Path:
    return cache / symbol.replace("/", "-") / bar_label / f"{what_to_show}-{'rth' if rth else 'all'}"


def ticker_facts(spec: InstrumentSpec) -> TickerFacts:
    """The cache metadata's instrument facts of a venue's instrument (IB secType from its type)."""
    sec_type = _SEC_TYPES.get(spec.instrument_type, "STK")
    return TickerFacts(spec.symbol, spec.instrument_type, sec_type, spec.base, spec.quote, spec.exchange or "SMART",
                       spec.market or "", spec.long_name or spec.symbol)  # fmt: skip


def month_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m")


def to_frame(bars: pd.DataFrame, *, daily: bool, market: str | None) -> pd.DataFrame:
    """Stored chunk bars (``time`` ms as the venue stamps them, OHLCV) as a normalised frame (:mod:`sdk.data.frames`):
    indexed by the bar's start, UTC; a daily bar (stamped 00:00 UTC of its session's date) at its session's open.

    Raises:
        ValueError: a daily bar on a date its market's calendar has no session for.
    """
    frame = bars.drop_duplicates("time", keep="last").sort_values("time")
    times = pd.to_datetime(frame["time"].to_numpy(dtype="int64"), unit="ms", utc=True)
    if daily and market is not None and len(frame):
        calendar = get_calendar(market)
        first, last = times[0].to_pydatetime(), times[-1].to_pydatetime()
        opens = {s.day: pd.Timestamp(s.open) for s in calendar.sessions(first, last + pd.Timedelta(days=2))}
        try:
            times = pd.DatetimeIndex([opens[t.date()] for t in times])
        except KeyError as exc:
            raise ValueError(f"a daily bar on {exc.args[0]}, a day {market} has no session") from None
    out = pd.DataFrame(
        {c: frame[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close", "volume")},
        index=pd.DatetimeIndex(times.as_unit("ns"), name="time"),
    )
    out["authority"] = AUTHORITY
    return out


def write_months(
    directory: Path,
    frame: pd.DataFrame,
    *,
    months: Iterable[str],
    meta: TickerFacts,
    bar_label: str,
    coverage: list[list[int]],
    extra: dict[str, Any],
    sources: Iterable[str] = ("IB",),
    filled: Iterable[Sequence[int]] = (),
) -> list[Path]:
    """Write each of ``months`` (``YYYY-MM``) of ``frame`` (normalised, with ``authority``) to its file, merged
    with the rows already there (the new rows win a tie); returns the files written. ``sources`` and ``filled``
    (spans taken from local files, ms: :mod:`sdk.data.gap_fill`) join those the file already names."""
    written: list[Path] = []
    keys = frame.index.strftime("%Y-%m") if len(frame) else pd.Index([])
    for month in sorted(set(months)):
        part = frame[keys == month]
        path = directory / f"{month}.parquet"
        named, spans_filled = list(sources), [list(s) for s in filled]
        if path.exists():
            _, old = read_frame(path)
            part = pd.concat([old[~old.index.isin(part.index)], part]).sort_index()
            before = read_info(path)
            named = sorted({*before.get("sources", []), *named}, key=lambda n: (n != "IB", n))
            unique = {(int(a), int(b)) for a, b in [*before.get("filled", []), *spans_filled]}
            spans_filled = [[a, b] for a, b in sorted(unique)]
        if not len(part):
            continue
        lo = int(pd.Timestamp(f"{month}-01", tz="UTC").value // 1_000_000)
        hi = int((pd.Timestamp(f"{month}-01", tz="UTC") + pd.offsets.MonthBegin(1)).value // 1_000_000)
        spans = [[max(s, lo), min(e, hi)] for s, e in coverage if s < hi and e > lo]
        last_update = datetime.fromtimestamp(spans[-1][1] / 1000, UTC).isoformat() if spans else None
        month_filled = [list(f) for f in spans_filled if f[0] < hi and f[1] > lo]
        info = {**extra, "coverage": spans, "last_update": last_update, "filled": month_filled}
        write_frame(path, part, meta=meta, bar_label=bar_label, sources=named, extra=info,
                    adjusted_sources=named if extra.get("adjusted") else ())  # fmt: skip
        written.append(path)
    return written


def read_covered(directory: Path, since: int, until: int) -> tuple[list[list[float]], list[tuple[int, int]]]:
    """What a partition directory holds of ``[since, until)`` (ms): the bars (ccxt OHLCV rows, stamped by their
    start, oldest first) inside the spans its downloads covered, and those spans clipped to the range, merged.
    Bars outside a covered span are not returned: only coverage proves a span complete."""
    spans: list[tuple[int, int]] = []
    frames: list[pd.DataFrame] = []
    if not directory.is_dir():
        return [], []
    first, last = month_of(since), month_of(until - 1)
    for path in sorted(directory.glob("*.parquet")):
        if not first <= path.stem <= last:
            continue
        info = read_info(path)
        covered = [(max(s, since), min(e, until)) for s, e in info.get("coverage", []) if s < until and e > since]
        if not covered:
            continue
        spans += covered
        _, frame = read_frame(path)
        stamps = frame.index.asi8 // 1_000_000
        keep = np.zeros(len(frame), dtype=bool)
        for s, e in covered:
            keep |= (stamps >= s) & (stamps < e)
        frames.append(frame[keep])
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    if not frames:
        return [], merged
    bars = pd.concat(frames).sort_index()
    bars = bars[~bars.index.duplicated(keep="last")]
    stamps = bars.index.asi8 // 1_000_000
    values = bars[["open", "high", "low", "close", "volume"]].to_numpy(dtype="float64")
    rows = [[float(t), *map(float, v)] for t, v in zip(stamps, values, strict=True)]
    return rows, merged
