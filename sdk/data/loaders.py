"""Loaders: one function per file format, each returning normalised frames (:mod:`sdk.data.frames`).

:func:`load_file` reads any recognised file (:mod:`sdk.data.formats`); the named loaders check that
a file is of their format and return its frame (or, for files of many tickers, a frame per
canonical symbol). Daily bars are indexed by the session's open in UTC (:func:`sdk.data.frames.session_opens`);
rows dated on a weekend are dropped (no ASX, NYSE or IDEALPRO session closes on a weekend: Yahoo's
FX files carry flat Saturday/Sunday placeholder rows). ``Adj Close`` is ignored: the raw ``Close`` is
the price. Volume in lots of 100 (IB exports of US stocks) is multiplied into shares.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from sdk.data.barsizes import BAR_SIZES, BarSize
from sdk.data.formats import (
    FileFormat,
    UnsupportedFile,
    detect,
    infer_bar_size,
    infer_timezone,
    parse_times,
    read_table,
    sniff,
)
from sdk.data.frames import normalise, session_opens
from sdk.data.instruments import TickerFacts, describe_ticker

__all__ = [
    "LoadedFile",
    "load_cboe_csv",
    "load_epoch_csv",
    "load_file",
    "load_ib_bardata_jsonl",
    "load_ib_export",
    "load_naive_csv",
    "load_polygon_csv",
    "load_table",
    "load_yahoo_csv",
    "load_yfinance_multiheader",
]

log = logging.getLogger(__name__)

LOT_SIZE = 100.0  # IB historical volume of US stocks is in lots of 100 shares


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """A file read into normalised frames, one per canonical symbol.

    ``timezone``: the zone naive intraday times were read in (None when the file says, or is daily);
    ``skipped``: tickers left out, with the reason (a listing outside ASX, US and FX).
    """

    format: FileFormat
    bar_size: BarSize
    frames: dict[str, pd.DataFrame]
    metas: dict[str, TickerFacts]
    timezone: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)


def _tickers(table: pd.DataFrame, fmt: FileFormat, source: str) -> np.ndarray:
    if fmt.multi_ticker:
        return table["ticker"].astype("str").str.strip().to_numpy()
    if fmt.ticker is None:
        raise UnsupportedFile(
            f"{source}: neither the content nor the file name names the instrument; start the file name "
            "with its ticker (BHP.AX.csv, SPY_1min.csv, AUDUSD_daily.csv)"
        )
    return np.full(len(table), fmt.ticker, dtype=object)


def load_table(
    table: pd.DataFrame, fmt: FileFormat, *, source: str = "", tz: str | None = None, bar_size: BarSize | None = None
) -> LoadedFile:
    """Turn a raw table (:func:`sdk.data.formats.read_table`) into normalised frames per symbol.

    Works on all rows at once (an IB export of 506 tickers is one pass, not 506).
    ``tz``: the zone of naive intraday times; inferred from the first ticker's rows when None.
    ``bar_size``: the native bar size; inferred from the first ticker's bar spacing when None.

    Raises:
        UnsupportedFile: no instrument could be named, or the bar spacing is not an IB bar size.
    """
    tickers = _tickers(table, fmt, source)
    unique, codes = np.unique(tickers, return_inverse=True)
    metas_by_code = [describe_ticker(str(t)) for t in unique]
    skipped = {str(t): f"{t!r} is not an ASX, US or FX instrument this SDK trades" for t, m in
               zip(unique, metas_by_code, strict=True) if m is None}  # fmt: skip
    known = [i for i, m in enumerate(metas_by_code) if m is not None]
    if not known:
        raise UnsupportedFile(f"{source}: no instrument in the file is an ASX, US or FX instrument: {skipped}")
    first_code = codes[0] if metas_by_code[codes[0]] is not None else known[0]
    first_meta = metas_by_code[first_code]
    assert first_meta is not None
    if fmt.time_kind == "naive" and tz is None:
        rows = table[codes == first_code].iloc[:5000]
        volume = pd.to_numeric(rows["volume"], errors="coerce").to_numpy() if "volume" in rows else None
        tz = infer_timezone(parse_times(rows["time"], fmt, tz="UTC").tz_localize(None), first_meta.market, volume)
    times = parse_times(table["time"], fmt, tz=tz)
    keep = np.asarray(~times.isna()) & np.isin(codes, known)
    if fmt.time_kind == "date":
        keep &= np.asarray(times.day_of_week < 5)
        starts = np.zeros(len(times), dtype="int64")
        for market in {m.market for m in metas_by_code if m is not None}:
            rows = np.isin(codes, [i for i, m in enumerate(metas_by_code) if m is not None and m.market == market])
            starts[rows] = session_opens(times[rows], market).asi8
        times = pd.DatetimeIndex(starts).tz_localize("UTC")
    if bar_size is None:
        bar_size = BAR_SIZES["1D"] if fmt.time_kind == "date" else infer_bar_size(times[keep & (codes == first_code)])
    data = {c: pd.to_numeric(table[c], errors="coerce").to_numpy(dtype="float64") for c in table if c in _NUMERIC}
    if "volume" not in data:
        data["volume"] = np.full(len(table), np.nan)
    if fmt.volume_in_lots:
        lots = [i for i, m in enumerate(metas_by_code) if m is not None and m.sec_type == "STK" and m.currency == "USD"]
        data["volume"] = np.where(np.isin(codes, lots), data["volume"] * LOT_SIZE, data["volume"])
    frame = pd.DataFrame(data, index=times)[keep]
    frame_codes = codes[keep]
    order = np.lexsort((frame.index.asi8, frame_codes))
    frame, frame_codes = frame.iloc[order], frame_codes[order]
    bounds = np.searchsorted(frame_codes, np.arange(len(unique) + 1))
    frames: dict[str, pd.DataFrame] = {}
    metas: dict[str, TickerFacts] = {}
    for code in known:
        meta = metas_by_code[code]
        assert meta is not None
        part = normalise(frame.iloc[bounds[code] : bounds[code + 1]], source=source)
        if meta.symbol in frames:  # two tickers naming one symbol (BHP.AX and BHP in one ASX file)
            part = normalise(pd.concat([frames[meta.symbol], part]), source=source)
        frames[meta.symbol] = part
        metas[meta.symbol] = meta
    return LoadedFile(fmt, bar_size, frames, metas, tz if fmt.time_kind == "naive" else None, skipped)


_NUMERIC = frozenset({"open", "high", "low", "close", "volume", "wap", "bar_count"})


def load_file(path: Path, fmt: FileFormat | None = None, *, tz: str | None = None) -> LoadedFile:
    """Read any recognised market-data file (format detected from its content when ``fmt`` is None).

    Raises:
        UnsupportedFile: not a recognised market-data file; the message says why.
        OSError: the file cannot be read.
    """
    if fmt is None:
        fmt = detect(sniff(path))
    if fmt.name == "trader_parquet":
        raise UnsupportedFile(f"{path.name}: a Parquet cache file; read it with sdk.data.cache.read_frame")
    try:
        table = read_table(path, fmt)
    except (ValueError, KeyError) as exc:
        raise UnsupportedFile(f"{path.name}: cannot be read as {fmt.name}: {exc}") from exc
    return load_table(table, fmt, source=path.name, tz=tz)


def _expect(path: Path, *names: str) -> LoadedFile:
    fmt = detect(sniff(path))
    if fmt.name not in names:
        raise UnsupportedFile(f"{path.name}: is {fmt.name}, not {' or '.join(names)}")
    return load_file(path, fmt)


def _single(loaded: LoadedFile, path: Path) -> pd.DataFrame:
    if len(loaded.frames) != 1:
        raise UnsupportedFile(f"{path.name}: holds {len(loaded.frames)} instruments; use load_file")
    return next(iter(loaded.frames.values()))


def load_yahoo_csv(path: Path) -> pd.DataFrame:
    """A Yahoo/yfinance daily export (``Date,Open,High,Low,Close[,Adj Close],Volume[,Dividends,Stock Splits]``).

    Returns daily bars indexed by session open (UTC). Prices: the raw ``Close`` (``Adj Close`` is
    ignored); a yfinance ``history()`` export (Dividends/Stock Splits) is dividend-adjusted as written.
    """
    return _single(_expect(path, "yahoo_csv"), path)


def load_yfinance_multiheader(path: Path) -> pd.DataFrame:
    """A ``yf.download(...).to_csv()`` file: three header lines (Price/Ticker/Datetime), times in UTC."""
    return _single(_expect(path, "yfinance_multiheader"), path)


def load_cboe_csv(path: Path) -> pd.DataFrame:
    """A CBOE index history file (``DATE,OPEN,HIGH,LOW,CLOSE``, ``MM/DD/YYYY``); volume is NaN (indexes have none)."""
    return _single(_expect(path, "cboe_csv"), path)


def load_ib_export(path: Path) -> dict[str, pd.DataFrame]:
    """An IB ``reqHistoricalData`` export written by pandas (BOM, index column, ``barCount``, ``average``).

    Returns a frame per canonical symbol (the ``ticker`` column; else the file name's ticker).
    Intraday times are read in the zone inferred from the bars (a Chicago TWS writes ``8:30`` for the
    New York open); US stock volume is in lots of 100 and multiplied into shares; ``average`` is ``wap``.
    """
    return _expect(path, "ib_export").frames


def load_polygon_csv(path: Path) -> pd.DataFrame:
    """Polygon aggregates (``datetime`` with UTC offset, ``vwap`` -> ``wap``, ``transactions`` -> ``bar_count``)."""
    return _single(_expect(path, "polygon_csv"), path)


def load_naive_csv(path: Path) -> pd.DataFrame:
    """Intraday bars with zone-less times, read in the zone inferred by :func:`sdk.data.formats.infer_timezone`."""
    return _single(_expect(path, "naive_csv"), path)


def load_epoch_csv(path: Path) -> pd.DataFrame:
    """Bars timed in epoch seconds (or milliseconds) UTC; an empty volume column is NaN."""
    return _single(_expect(path, "epoch_csv"), path)


def load_ib_bardata_jsonl(path: Path, *, ticker: str | None = None, tz: str = "UTC") -> pd.DataFrame:
    """ib_async ``BarData`` written as JSON lines (``date, open, high, low, close, volume, average, barCount``).

    The lines do not name their contract: the ticker comes from ``ticker`` or the file name. Naive
    ``date`` values are read in ``tz`` (UTC by default, as ib_async's ``formatDate=2`` writes them).
    Volume is as written (lots of 100 for US stocks is not applied: the recorder may have converted).
    """
    s = sniff(path)
    if not s.head[0].lstrip().startswith("{"):
        raise UnsupportedFile(f"{path.name}: not JSON lines")
    fmt = replace(detect(s, ticker=ticker), volume_in_lots=False)
    return _single(load_table(read_table(path, fmt), fmt, source=path.name, tz=tz), path)
