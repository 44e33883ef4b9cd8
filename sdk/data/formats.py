"""Recognise a market-data file from its content, and read it into raw tables.

Detection reads the first and last 64 KB only (:func:`sniff`) and looks at the header and the shape
of the values, not the file name, so a user's own export loads too. Recognised layouts (the names
are :attr:`FileFormat.name`):

``yahoo_csv``       ``Date,Open,High,Low,Close[,Adj Close],Volume[,Dividends,Stock Splits]`` in any
                    column order (Yahoo / yfinance exports; dates plain or with a UTC offset such as
                    ``2024-01-02 00:00:00+11:00``, whose local date is the trading day). With
                    Dividends/Stock Splits and no Adj Close it is a yfinance ``history()`` export,
                    whose prices are dividend-adjusted; with Adj Close, ``Close`` is the raw close.
``yfinance_multiheader``  three header lines ``Price,...`` / ``Ticker,...`` / ``Datetime,...``
                    (``yf.download(...).to_csv()``); the Ticker line names the instrument.
``cboe_csv``        ``DATE|timestamp,OPEN,HIGH,LOW,CLOSE`` with ``MM/DD/YYYY`` dates (CBOE index history).
``ib_export``       IB ``reqHistoricalData`` bars written by pandas: optional BOM, an unnamed index
                    column, ``date,open,high,low,close,volume,barCount,average[,ticker]``. Intraday
                    dates are in the TWS's local zone (``M/D/YYYY H:MM``); US stock volume is in lots
                    of 100 shares (IB: "Historical Bar Data", volume) and is multiplied out.
``polygon_csv``     ``datetime`` with a UTC offset, ``vwap``, ``transactions`` (Polygon aggregates).
``epoch_csv``       a time column of epoch seconds (or milliseconds), UTC.
``naive_csv``       intraday times without a zone: read in the zone that puts the most bars inside
                    the market's regular hours (the exchange's own zone on a tie, see :func:`infer_timezone`).
``ib_bardata_jsonl`` ib_async/ib_insync ``BarData`` as JSON lines (``date, open, ..., average, barCount``).

Any other header with a recognisable time column and open/high/low/close columns loads as
``ohlc_csv`` (Alpha Vantage's ``timestamp,open,...,adjusted_close,...,split_coefficient`` and its
``1. open, 2. high, ...`` files among them: ``close`` is the raw close, rows may run newest first).
Columns are matched case-insensitively.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd

from sdk.data.barsizes import BAR_SIZES, BarSize
from sdk.data.frames import REGULAR_HOURS, TIME_ZONES

__all__ = [
    "SAMPLE_BYTES",
    "FileFormat",
    "PriceBasis",
    "Sniff",
    "UnsupportedFile",
    "detect",
    "infer_bar_size",
    "infer_timezone",
    "parse_times",
    "price_basis",
    "read_table",
    "sniff",
    "ticker_from_filename",
]

SAMPLE_BYTES: Final = 64 * 1024
TimeKind = Literal["date", "aware", "naive", "epoch"]

#: Lower-case header names -> normalised column names.
_COLUMN_NAMES: Final[dict[str, str]] = {
    "date": "time", "datetime": "time", "timestamp": "time", "time": "time", "date_time": "time",
    "open": "open", "high": "high", "low": "low", "close": "close", "last": "close",
    "adj close": "adj_close", "adj_close": "adj_close", "adjclose": "adj_close",
    "volume": "volume", "vol": "volume",
    "vwap": "wap", "wap": "wap", "average": "wap",
    "barcount": "bar_count", "transactions": "bar_count", "trades": "bar_count", "trade_count": "bar_count",
    "ticker": "ticker", "symbol": "ticker",
    "dividends": "dividends", "stock splits": "splits",
    # Alpha Vantage: TIME_SERIES_DAILY written from its JSON keys, and TIME_SERIES_DAILY_ADJUSTED's CSV
    "1. open": "open", "2. high": "high", "3. low": "low", "4. close": "close", "5. volume": "volume",
    "adjusted_close": "adj_close", "dividend_amount": "dividends", "split_coefficient": "splits",
}  # fmt: skip
_INDEX_COLUMNS: Final = {"", "unnamed: 0", "index"}
_OFFSET_RE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


class UnsupportedFile(ValueError):
    """A file that is not market data this module can read; the message says why and what would work."""


@dataclass(frozen=True, slots=True)
class Sniff:
    """The first and last lines of a text file (BOM removed), and whether it is compressed."""

    path: Path
    head: list[str]
    tail: list[str]
    whole: bool  # head holds the entire file
    size: int


@dataclass(frozen=True, slots=True)
class FileFormat:
    """How to read one file: which lines are headers, which columns mean what, and how times are written.

    ``columns`` maps the file's column names to normalised ones (``time, open, high, low, close,
    volume, wap, bar_count, ticker``); ``ticker`` is the single instrument a file holds when it has
    no ticker column (from its content or file name); ``time_format`` is a ``strptime`` format or
    None for ISO 8601 / epoch values.
    """

    name: str
    columns: dict[str, str]
    time_kind: TimeKind
    time_format: str | None = None
    skip_rows: int = 1
    names: tuple[str, ...] | None = None  # explicit column names when the header spans several lines
    ticker: str | None = None
    multi_ticker: bool = False
    adjusted: bool = False
    volume_in_lots: bool = False
    authority: int = 1
    jsonl: bool = False


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", errors="replace")
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def sniff(path: Path, *, sample_bytes: int = SAMPLE_BYTES) -> Sniff:
    """Read the first and last ``sample_bytes`` of a text file (gzip: decompressed head; tail of the whole).

    Raises:
        UnsupportedFile: the file is binary or empty.
    """
    size = path.stat().st_size
    if path.suffix == ".gz":
        with _open_text(path) as fh:
            text = fh.read()
        whole = True
    else:
        with open(path, "rb") as fb:
            raw = fb.read(sample_bytes)
            whole = len(raw) >= size
            tail_raw = b""
            if not whole:
                fb.seek(max(size - sample_bytes, len(raw)))
                tail_raw = fb.read()
        if b"\x00" in raw:
            raise UnsupportedFile(f"{path.name}: binary content, not a text market-data file")
        text = raw.decode("utf-8-sig", errors="replace")
        if not whole:
            head_lines = text.splitlines()[:-1]  # the last line may be cut
            tail_lines = tail_raw.decode("utf-8", errors="replace").splitlines()[1:]
            return Sniff(path, head_lines, [ln for ln in tail_lines if ln.strip()], False, size)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise UnsupportedFile(f"{path.name}: the file is empty")
    return Sniff(path, lines, lines, whole, size)


def ticker_from_filename(path: Path) -> str | None:
    """The ticker a file name starts with: ``BHP.AX.csv`` -> ``BHP.AX``, ``SPY_1min_2025-07.csv`` -> ``SPY``.

    Only an upper-case first token counts (``ib_1min_bars.jsonl.gz`` names no ticker).
    """
    name = path.name
    for suffix in (".gz", ".csv", ".txt", ".jsonl", ".parquet"):
        name = name.removesuffix(suffix)
    token = name.split("_")[0].split(" ")[0]
    if re.fullmatch(r"\^?[A-Z0-9][A-Z0-9.=^-]{0,15}", token):
        return token
    return None


def _time_kind(value: str) -> tuple[TimeKind, str | None]:
    v = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        return "date", "%Y-%m-%d"
    if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", v):
        return "date", "%m/%d/%Y"
    if re.fullmatch(r"\d{8}", v):
        return "date", "%Y%m%d"
    if re.fullmatch(r"\d{9,13}(\.\d+)?", v):
        return "epoch", None
    if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}", v):
        return "naive", "%m/%d/%Y %H:%M"
    if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2}", v):
        return "naive", "%m/%d/%Y %H:%M:%S"
    if re.fullmatch(r"\d{8} {1,2}\d{2}:\d{2}:\d{2}", v):
        return "naive", "%Y%m%d %H:%M:%S"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?", v):
        return "naive", None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s?(Z|[+-]\d{2}:?\d{2})", v):
        return "aware", None
    raise UnsupportedFile(f"unrecognised time value {value!r}")


def _dates_written_as_times(kind: TimeKind, fmt: str | None, sample: list[str]) -> tuple[TimeKind, str | None]:
    """Daily files written with a midnight time (``2024-01-02 00:00:00+11:00``) hold dates."""
    if kind in ("aware", "naive") and fmt is None and len(sample) > 1 and all_midnight(pd.Series(sample)):
        return "date", "%Y-%m-%d"
    return kind, fmt


def _map_columns(header: Iterable[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for name in header:
        key = name.strip().strip('"').lower()
        if key in _COLUMN_NAMES and _COLUMN_NAMES[key] not in mapping.values():
            mapping[name] = _COLUMN_NAMES[key]
    return mapping


#: File-name words that declare back-adjusted prices (TradingView's "divadj" exports, yfinance "splitadj",
#: "..._adj_..."); content alone cannot tell an adjusted series from a raw one.
_ADJUSTED_NAME = re.compile(r"(?:^|[_\-.])(?:divadj|splitadj|adj)(?=[_\-.]|$)", re.IGNORECASE)
_SPLIT_ADJUSTED_NAME = re.compile(r"(?:^|[_\-.])splitadj(?=[_\-.]|$)", re.IGNORECASE)

#: What a file's prices are adjusted for: nothing, splits only, or splits and dividends (a total-return series).
PriceBasis = Literal["raw", "split_adjusted", "total_return"]


def price_basis(name: str, adjusted: bool) -> PriceBasis:
    """The price basis of a source file from its name and the catalog's ``adjusted`` flag.

    ``raw`` when not adjusted; ``split_adjusted`` when the name says ``splitadj`` (yfinance's
    ``auto_adjust=False`` Close); otherwise ``total_return``: yfinance ``history()`` exports
    (Dividends/Stock Splits, no Adj Close) and ``divadj``/``adj`` files are back-adjusted for dividends and
    splits alike (yfinance ``auto_adjust=True``; TradingView's "adjust for dividends").
    """
    if not adjusted:
        return "raw"
    return "split_adjusted" if _SPLIT_ADJUSTED_NAME.search(Path(name).name) else "total_return"


def detect(s: Sniff, *, ticker: str | None = None) -> FileFormat:
    """Recognise the file's layout from its sniffed lines (see the module docstring).

    ``ticker``: the instrument of a single-instrument file when neither its content nor its name says.
    A file whose name declares adjusted prices (``divadj``, ``splitadj``, ``adj`` as a word) is marked
    ``adjusted`` whatever its layout.

    Raises:
        UnsupportedFile: not a bar file this module reads; the message says what is missing.
    """
    fmt = _detect(s, ticker=ticker)
    if not fmt.adjusted and _ADJUSTED_NAME.search(s.path.name):
        return replace(fmt, adjusted=True)
    return fmt


def _detect(s: Sniff, *, ticker: str | None = None) -> FileFormat:
    name = s.path.name
    first = s.head[0].lstrip("\ufeff")
    if first.lstrip().startswith("{"):
        return _detect_jsonl(s, ticker)
    header = [c.strip() for c in first.split(",")]
    if header and header[0].lower() == "price" and len(s.head) > 3 and s.head[1].lower().startswith("ticker,"):
        return _detect_multiheader(s, header)
    columns = _map_columns(header)
    needed = {"time", "open", "high", "low", "close"}
    if not needed <= set(columns.values()):
        if header and header[0].strip().lower() in _INDEX_COLUMNS and len(header) > 1:
            columns = _map_columns(header[1:])
        if not needed <= set(columns.values()):
            missing = sorted(needed - set(columns.values()))
            raise UnsupportedFile(
                f"{name}: no {'/'.join(missing)} column in header {first[:80]!r}; expected a time column "
                "(Date, Datetime, timestamp, time) and Open, High, Low, Close"
            )
    data_lines = s.head[1:]
    if not data_lines:
        raise UnsupportedFile(f"{name}: a header but no data rows")
    time_col = next(c for c, v in columns.items() if v == "time")
    time_index = header.index(time_col)
    kind, fmt = _time_kind(data_lines[0].split(",")[time_index])
    kind, fmt = _dates_written_as_times(kind, fmt, [ln.split(",")[time_index] for ln in data_lines[:500]])
    lowered = {c.strip().lower() for c in header}
    values = set(columns.values())
    base = FileFormat("ohlc_csv", columns, kind, fmt, ticker=ticker_from_filename(s.path) or ticker)
    if "ticker" in values:
        base = replace(base, multi_ticker=True, ticker=None)
    if {"barcount", "average"} <= lowered:
        return replace(base, name="ib_export", volume_in_lots=True, authority=3)
    if "vwap" in lowered and "transactions" in lowered:
        return replace(base, name="polygon_csv")
    if kind == "epoch":
        return replace(base, name="epoch_csv")
    if fmt == "%m/%d/%Y" and "volume" not in values:
        return replace(base, name="cboe_csv", authority=2)
    if kind == "naive":
        return replace(base, name="naive_csv")
    if "date" in lowered and {"open", "high", "low", "close"} <= lowered:
        adjusted = "dividends" in values and "adj_close" not in values
        return replace(base, name="yahoo_csv", adjusted=adjusted)
    return base


def _detect_multiheader(s: Sniff, header: list[str]) -> FileFormat:
    tickers = [t.strip() for t in s.head[1].split(",")[1:] if t.strip()]
    if len(set(tickers)) != 1:
        raise UnsupportedFile(f"{s.path.name}: a yfinance export of {len(set(tickers))} tickers; export one per file")
    names = ("time", *(c.strip() for c in header[1:]))
    columns = _map_columns(names)
    columns["time"] = "time"
    data = [ln for ln in s.head[3:] if ln.strip()]
    if not data:
        raise UnsupportedFile(f"{s.path.name}: a header but no data rows")
    kind, fmt = _time_kind(data[0].split(",")[0])
    kind, fmt = _dates_written_as_times(kind, fmt, [ln.split(",")[0] for ln in data[:500]])
    return FileFormat(
        "yfinance_multiheader", columns, kind, fmt, skip_rows=3, names=names, ticker=tickers[0], authority=1
    )


def _detect_jsonl(s: Sniff, ticker: str | None) -> FileFormat:
    try:
        row = json.loads(s.head[0])
    except json.JSONDecodeError as exc:
        raise UnsupportedFile(f"{s.path.name}: not JSON lines ({exc.msg})") from None
    columns = _map_columns(row)
    if not {"time", "open", "high", "low", "close"} <= set(columns.values()):
        raise UnsupportedFile(f"{s.path.name}: JSON lines without date/open/high/low/close fields")
    kind, fmt = _time_kind(str(row[next(c for c, v in columns.items() if v == "time")]))
    ticker = ticker or ticker_from_filename(s.path)
    if ticker is None:
        raise UnsupportedFile(
            f"{s.path.name}: IB BarData lines do not name their contract and the file name starts with no "
            "ticker; rename it <TICKER>_... (e.g. AAPL_1min_2021-01-05.jsonl.gz) to load it"
        )
    return FileFormat("ib_bardata_jsonl", columns, kind, fmt, skip_rows=0, ticker=ticker, jsonl=True, authority=3)


def read_table(source: Path | str, fmt: FileFormat, *, usecols: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a file (or a text sample of it) into a table of normalised column names, times unparsed.

    ``source``: a path, or the text itself (header lines included). ``usecols``: normalised names to keep.
    """
    keep = set(usecols) if usecols is not None else None
    wanted = {src: dst for src, dst in fmt.columns.items() if keep is None or dst in keep}
    if fmt.jsonl:
        if isinstance(source, Path):
            with _open_text(source) as fh:
                text = fh.read()
        else:
            text = source
        table = pd.DataFrame([json.loads(line) for line in text.splitlines() if line.strip()])
        return table[list(wanted)].rename(columns=wanted)
    buffer: Path | io.StringIO = source if isinstance(source, Path) else io.StringIO(source)
    dtypes = {src: "str" for src, dst in wanted.items() if dst in ("time", "ticker")}
    if fmt.names is not None:
        table = pd.read_csv(
            buffer, skiprows=fmt.skip_rows, header=None, names=list(fmt.names), usecols=list(wanted), dtype=dtypes
        )
    else:
        table = pd.read_csv(buffer, usecols=list(wanted), dtype=dtypes, encoding="utf-8-sig", skipinitialspace=True)
    return table.rename(columns=wanted)


def parse_times(values: pd.Series, fmt: FileFormat, *, tz: str | None = None) -> pd.DatetimeIndex:
    """Parse a time column: ``date`` kinds give naive midnight dates (the trading day), the others UTC.

    ``tz``: the zone of naive intraday times (required for ``naive``). Files of many tickers repeat
    each time once per ticker: distinct strings are parsed once.
    """
    text = values.astype("str").str.strip()
    if fmt.time_kind == "date" and fmt.time_format == "%Y-%m-%d":
        text = text.str.slice(0, 10)  # '2024-01-02 00:00:00+11:00': the local date is the trading day
    codes, uniques = pd.factorize(text)
    if len(uniques) < len(text) // 2:
        return _parse_distinct(pd.Series(uniques), fmt, tz)[codes]
    return _parse_distinct(text, fmt, tz)


def _parse_distinct(text: pd.Series, fmt: FileFormat, tz: str | None) -> pd.DatetimeIndex:
    if fmt.time_kind == "epoch":
        numbers = pd.to_numeric(text)
        unit = "ms" if len(numbers) and float(numbers.iloc[0]) > 1e11 else "s"
        return pd.DatetimeIndex(pd.to_datetime(numbers, unit=unit, utc=True)).as_unit("ns")
    if fmt.time_kind == "date":
        return pd.DatetimeIndex(pd.to_datetime(text, format=fmt.time_format)).as_unit("ns")
    if fmt.time_kind == "aware":
        return pd.DatetimeIndex(pd.to_datetime(text, utc=True, format="ISO8601")).as_unit("ns")
    if tz is None:
        raise ValueError("naive times need a time zone")
    naive = pd.DatetimeIndex(pd.to_datetime(text, format=fmt.time_format or "ISO8601")).as_unit("ns")
    return naive.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC")


def all_midnight(times: pd.Series) -> bool:
    """True when every ISO time in the column is ``00:00:00`` local (a daily file written with times)."""
    text = times.astype("str").str.strip().str.replace(_OFFSET_RE, "", regex=True)
    return bool(text.str.slice(11).isin(["", "00:00:00", "00:00"]).all())


#: Candidate zones for naive intraday times, in order of preference after the market's own.
_CANDIDATE_ZONES: Final = ("America/New_York", "America/Chicago", "America/Los_Angeles", "UTC",
                           "Europe/London", "Australia/Sydney", "Asia/Hong_Kong")  # fmt: skip


def infer_timezone(naive: pd.DatetimeIndex, market: str, volume: np.ndarray | None = None) -> str:
    """The zone naive intraday bar times were written in: the one putting most volume in regular hours.

    Scores each candidate (the market's own zone first, then US, UTC, London, Sydney, Hong Kong) by
    the share of volume (of bars, when there is no volume) starting inside the market's regular hours
    on a weekday; ties keep the earlier candidate. Regular hours hold most of a day's volume, so an
    IB export written by a TWS in Chicago (first bar ``8:30``) scores 100% in America/Chicago, and a
    file with pre- and post-market bars still scores best in the zone that puts its busy hours at
    the open and close.
    """
    own = TIME_ZONES[market]
    zones = [own, *(z for z in _CANDIDATE_ZONES if z != own)]
    open_t, close_t = REGULAR_HOURS[market]
    lo, hi = open_t.hour * 60 + open_t.minute, close_t.hour * 60 + close_t.minute
    weights = np.ones(len(naive))
    if volume is not None and len(volume) == len(naive):
        clean = np.nan_to_num(np.asarray(volume, dtype="float64"), nan=0.0)
        if clean.sum() > 0:
            weights = clean
    total = float(weights.sum())
    best, best_score = own, -1.0
    for zone in zones:
        local = naive.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").tz_convert(own)
        minutes = np.asarray(local.hour * 60 + local.minute)
        inside = (minutes >= lo) & (minutes < hi) if lo < hi else np.ones(len(local), dtype=bool)
        inside &= np.asarray(local.day_of_week < 5)
        score = float(weights[inside].sum()) / total if total else 0.0
        if score > best_score + 1e-9:
            best, best_score = zone, score
    return best


def infer_bar_size(times: pd.DatetimeIndex) -> BarSize:
    """The most common spacing of intraday bar starts, as one of IB's bar sizes.

    Raises:
        UnsupportedFile: the spacing is not an IB bar size (or there are fewer than two bars).
    """
    values = np.unique(times.as_unit("ns").asi8)
    diffs = np.diff(values) // 1_000_000_000
    diffs = diffs[diffs > 0]
    if len(diffs) == 0:
        raise UnsupportedFile("fewer than two distinct bar times: cannot tell the bar size")
    uniques, counts = np.unique(diffs, return_counts=True)
    seconds = int(uniques[np.argmax(counts)])
    for size in BAR_SIZES.values():
        if size.seconds == seconds and size.intraday:
            return size
    raise UnsupportedFile(f"bars are {seconds} s apart, which is not an IB bar size")
