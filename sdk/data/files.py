"""Data files: finding them in a data directory and describing what each holds from its first and last lines.

:func:`scan_file` sniffs a file (:func:`sdk.data.formats.sniff`, 64 KB from each end), recognises its
format, and reads the head and tail samples through the same loader as a full load, so a file's
instruments, native bar size, time zone and span come out exactly as a full read would give them.
A file with a ticker column (IB exports of many tickers) is the exception: its time and ticker
columns are read in full (one pass) to learn which tickers it holds and their spans. Parquet files
written by :mod:`sdk.data.cache` are described by their metadata alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from sdk.data.barsizes import BarSize
from sdk.data.formats import (
    FileFormat,
    PriceBasis,
    UnsupportedFile,
    detect,
    parse_times,
    price_basis,
    read_table,
    sniff,
)
from sdk.data.frames import session_opens
from sdk.data.instruments import TickerFacts, describe_ticker
from sdk.data.loaders import LoadedFile, load_file, load_table

__all__ = ["DATA_SUFFIXES", "PriceSource", "SourceFile", "SymbolSpan", "candidate_files", "load_source", "scan_file"]

log = logging.getLogger(__name__)

#: File name endings the catalog reads; anything else in the directory is ignored quietly.
DATA_SUFFIXES: Final = (".csv", ".txt", ".csv.gz", ".txt.gz", ".jsonl", ".jsonl.gz", ".parquet")


@dataclass(frozen=True, slots=True)
class SymbolSpan:
    """One instrument in a source: its static facts and the start of its first and last bar (UTC)."""

    meta: TickerFacts
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A scanned source of bars.

    ``rel``: its path relative to the data directory (or ``synthetic:...``); ``format``: the
    :attr:`FileFormat.name`, ``trader_parquet`` or ``synthetic``; ``authority``: the merge rank
    (3 IB exports, 2 the index's publisher (CBOE), 1 other vendors); ``adjusted``: prices are
    dividend-adjusted; ``timezone``: the zone naive times were read in.
    """

    rel: str
    path: Path | None
    format: str
    bar_size: BarSize
    authority: int
    symbols: dict[str, SymbolSpan]
    fmt: FileFormat | None = None
    adjusted: bool = False
    timezone: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    origin: tuple[str, ...] = ()  # for a cache file: the source files its rows came from
    origin_adjusted: tuple[str, ...] = ()  # ... and those of them that are dividend-adjusted
    use_origin: bool = False  # list the origin files (a catalog read from a valid cache) instead of rel

    @property
    def listed(self) -> tuple[str, ...]:
        """The file names an instrument lists as its sources."""
        return self.origin if self.use_origin and self.origin else (self.rel,)

    def price_sources(self, symbol: str, *, merged: bool = True, overlaps: str | None = None) -> list[PriceSource]:
        """:class:`PriceSource` of each file this source lists, for ``symbol`` (one per origin file of a cache)."""
        span = self.symbols[symbol]
        adjusted = set(self.listed_adjusted)
        return [
            PriceSource(name, price_basis(name, name in adjusted), span.first, span.last, merged, overlaps)
            for name in self.listed
        ]

    @property
    def listed_adjusted(self) -> tuple[str, ...]:
        """Those of :attr:`listed` whose prices are dividend-adjusted."""
        if self.use_origin and self.origin:
            return self.origin_adjusted
        return (self.rel,) if self.adjusted else ()


@dataclass(frozen=True, slots=True)
class PriceSource:
    """One file's bars of one symbol, as :meth:`sdk.data.Catalog.price_sources` lists them.

    ``rel``: the file (relative to the data directory); ``basis``: what its prices are adjusted for
    (:func:`sdk.data.formats.price_basis`); ``first``/``last``: its first and last bar start (UTC);
    ``merged``: its bars are in the symbol's series; False when the catalog kept it apart because its
    span overlaps ``overlaps``, a raw file of the same symbol.
    """

    rel: str
    basis: PriceBasis
    first: datetime
    last: datetime
    merged: bool = True
    overlaps: str | None = None


def candidate_files(data_dir: Path) -> tuple[list[Path], list[Path]]:
    """(files the catalog tries to read, other files) under ``data_dir``, sorted; hidden entries skipped."""
    readable: list[Path] = []
    other: list[Path] = []
    for path in sorted(data_dir.rglob("*")):
        rel_parts = path.relative_to(data_dir).parts
        if any(part.startswith(".") for part in rel_parts) or not path.is_file():
            continue
        (readable if path.name.lower().endswith(DATA_SUFFIXES) else other).append(path)
    return readable, other


def _sample_text(lines: list[str], header: list[str]) -> str:
    return "\n".join([*header, *lines]) + "\n"


def _spans(loaded: LoadedFile) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    return {s: (f.index[0], f.index[-1]) for s, f in loaded.frames.items() if len(f)}


def scan_file(path: Path, rel: str) -> SourceFile:
    """Describe one file from its first and last 64 KB (see the module docstring).

    Raises:
        UnsupportedFile: not a market-data file this package reads; the message says why.
    """
    if path.name.lower().endswith(".parquet"):
        from sdk.data.cache import scan_parquet

        return scan_parquet(path, rel)
    s = sniff(path)
    fmt = detect(s)
    if fmt.multi_ticker:
        return _scan_multi(path, rel, fmt, s.head)
    header = s.head[: fmt.skip_rows]
    head_lines = s.head[fmt.skip_rows :]
    tail_lines = s.tail if not s.whole else head_lines
    try:
        head = load_table(read_table(_sample_text(head_lines, header), fmt), fmt, source=rel)
        tail = load_table(
            read_table(_sample_text(tail_lines[-2000:], header), fmt),
            fmt,
            source=rel,
            tz=head.timezone,
            bar_size=head.bar_size,
        )
    except (ValueError, KeyError) as exc:
        raise UnsupportedFile(f"{rel}: cannot be read as {fmt.name}: {exc}") from exc
    first, last = _spans(head), _spans(tail)
    symbols: dict[str, SymbolSpan] = {}
    for sym, (lo, hi) in first.items():  # rows may run newest first (Alpha Vantage): take both samples' extremes
        tail_lo, tail_hi = last.get(sym, (lo, hi))
        symbols[sym] = SymbolSpan(head.metas[sym], min(lo, tail_lo).to_pydatetime(), max(hi, tail_hi).to_pydatetime())
    if not symbols:
        raise UnsupportedFile(f"{rel}: no bars with a full open/high/low/close in the first rows")
    return SourceFile(
        rel, path, fmt.name, head.bar_size, fmt.authority, symbols, fmt, fmt.adjusted, head.timezone, head.skipped
    )


def _scan_multi(path: Path, rel: str, fmt: FileFormat, head_lines: list[str]) -> SourceFile:
    try:
        head = load_table(read_table(_sample_text(head_lines[1:], head_lines[:1]), fmt), fmt, source=rel)
        table = read_table(path, fmt, usecols=("time", "ticker"))
    except (ValueError, KeyError) as exc:
        raise UnsupportedFile(f"{rel}: cannot be read as {fmt.name}: {exc}") from exc
    tickers = table["ticker"].astype("str").str.strip().to_numpy()
    unique, codes = np.unique(tickers, return_inverse=True)
    times = parse_times(table["time"], fmt, tz=head.timezone)
    valid = np.asarray(~times.isna())
    metas: dict[int, TickerFacts] = {}
    skipped: dict[str, str] = {}
    for i, ticker in enumerate(unique):
        meta = describe_ticker(str(ticker))
        if meta is None:
            skipped[str(ticker)] = f"{ticker!r} is not an ASX, US or FX instrument this SDK trades"
        else:
            metas[i] = meta
    ns = times.asi8
    if fmt.time_kind == "date":
        valid &= np.asarray(times.day_of_week < 5)
    order = np.lexsort((ns, codes))
    codes_sorted, ns_sorted = codes[order][valid[order]], ns[order][valid[order]]
    bounds = np.searchsorted(codes_sorted, np.arange(len(unique) + 1))
    present = [c for c in metas if bounds[c + 1] > bounds[c]]
    firsts = ns_sorted[bounds[present]]
    lasts = ns_sorted[bounds[np.asarray(present, dtype="int64") + 1] - 1]
    if fmt.time_kind == "date":  # naive dates -> each market's session open, all at once per market
        for market in {metas[c].market for c in present}:
            rows = np.asarray([metas[c].market == market for c in present])
            firsts[rows] = session_opens(pd.DatetimeIndex(firsts[rows]), market).asi8
            lasts[rows] = session_opens(pd.DatetimeIndex(lasts[rows]), market).asi8
    symbols: dict[str, SymbolSpan] = {}
    for code, lo, hi in zip(
        present, pd.DatetimeIndex(firsts, tz="UTC"), pd.DatetimeIndex(lasts, tz="UTC"), strict=True
    ):
        symbols[metas[code].symbol] = SymbolSpan(metas[code], lo.to_pydatetime(), hi.to_pydatetime())
    if not symbols:
        raise UnsupportedFile(f"{rel}: none of its tickers is an ASX, US or FX instrument: {skipped}")
    return SourceFile(
        rel, path, fmt.name, head.bar_size, fmt.authority, symbols, fmt, fmt.adjusted, head.timezone, skipped
    )


def load_source(source: SourceFile) -> dict[str, pd.DataFrame]:
    """Read a scanned source in full: normalised frames per symbol (Parquet: with an ``authority`` column).

    Raises:
        UnsupportedFile: the file changed since the scan and no longer reads.
    """
    if source.path is None:
        raise UnsupportedFile(f"{source.rel}: has no file to read")
    if source.format == "trader_parquet":
        from sdk.data.cache import read_frame

        symbol, frame = read_frame(source.path)
        return {symbol: frame}
    assert source.fmt is not None
    loaded = load_file(source.path, source.fmt, tz=source.timezone)
    return loaded.frames
