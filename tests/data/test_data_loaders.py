"""Every file in ../shared/data loads with the right rows, range, time zone and values.

Expected counts and values are read independently from the raw text with the csv module (or are the
README's numbers), never from the loaders under test.
"""

from __future__ import annotations

import csv
import gzip
import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdk.data.formats import detect, sniff
from sdk.data.loaders import (
    load_cboe_csv,
    load_epoch_csv,
    load_file,
    load_ib_bardata_jsonl,
    load_ib_export,
    load_naive_csv,
    load_polygon_csv,
    load_yahoo_csv,
    load_yfinance_multiheader,
)

pytestmark = pytest.mark.shared_data

UTC = "UTC"


def raw_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [row for row in csv.reader(fh) if row]


def weekday_rows(path: Path, *, date_col: int = 0, fmt: str = "%Y-%m-%d", skip: int = 1) -> list[list[str]]:
    """Data rows with full numbers, dated Monday-Friday (the loaders drop 'null' rows and weekend placeholders)."""
    kept = []
    for row in raw_rows(path)[skip:]:
        if "null" in row or "" in row[1:5]:
            continue
        day = datetime.strptime(row[date_col][:10] if fmt == "%Y-%m-%d" else row[date_col], fmt)
        if day.weekday() < 5:
            kept.append(row)
    return kept


def assert_normalised(frame: pd.DataFrame) -> None:
    assert frame.index.name == "time"
    assert str(frame.index.dtype) == "datetime64[ns, UTC]"
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert list(frame.columns[:5]) == ["open", "high", "low", "close", "volume"]
    assert all(frame[c].dtype == np.float64 for c in frame.columns)
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()


ASX = ["ANZ", "BHP", "CBA", "CSL", "FMG", "NAB", "RIO", "WBC", "WES"]


@pytest.mark.parametrize("ticker", ASX)
def test_asx_daily_508_bars_from_sydney_offset_dates(shared_data: Path, ticker: str) -> None:
    path = shared_data / "asx_daily" / f"{ticker}.AX.csv"
    frame = load_yahoo_csv(path)
    assert_normalised(frame)
    assert len(frame) == 508  # README
    # The Sydney date is the trading day; the bar starts at the 10:00 Sydney open (AEDT in January).
    assert frame.index[0] == pd.Timestamp("2024-01-01T23:00Z")
    assert frame.index[-1] == pd.Timestamp("2026-01-01T23:00Z")
    assert detect(sniff(path)).adjusted, "yfinance history() exports (Dividends, Stock Splits) are adjusted"


def test_asx_daily_known_close_and_dst_change(shared_data: Path) -> None:
    path = shared_data / "asx_daily" / "BHP.AX.csv"
    rows = {r[0][:10]: r for r in raw_rows(path)[1:]}
    frame = load_yahoo_csv(path)
    # 2025-12-31 (AEDT, +11:00): open 10:00 Sydney = 23:00 UTC the day before.
    assert frame.loc[pd.Timestamp("2025-12-30T23:00Z"), "close"] == float(rows["2025-12-31"][4])
    # 2024-04-08 is after the clocks went back (+10:00): 10:00 Sydney = 00:00 UTC.
    assert rows["2024-04-08"][0].endswith("+10:00")
    assert frame.loc[pd.Timestamp("2024-04-08T00:00Z"), "open"] == float(rows["2024-04-08"][1])
    assert frame.loc[pd.Timestamp("2024-04-08T00:00Z"), "volume"] == float(rows["2024-04-08"][5])


@pytest.mark.parametrize(
    "name",
    ["ANZ.AX.csv", "AUDUSD_2017-2022.csv", "AXJO.csv", "BHP.AX.csv", "CBA.AX.csv", "CSL.AX.csv", "FMG.AX.csv",
     "NAB.AX_2015-2020.csv", "WBC.AX_2015-2020.csv"],
)  # fmt: skip
def test_asx_daily_long_raw_close_not_adj_close_and_no_trailing_newline(shared_data: Path, name: str) -> None:
    path = shared_data / "asx_daily_long" / name
    assert not path.read_bytes().endswith(b"\n"), "README: these files have no trailing newline"
    expected = weekday_rows(path)
    frame = load_yahoo_csv(path)
    assert_normalised(frame)
    assert len(frame) == len(expected)
    assert 1_260 <= len(frame) <= 1_380  # README: ~1,270-1,380 each, less 'null' rows
    assert frame["close"].iloc[-1] == float(expected[-1][4]), "the last line (no newline) is read"
    assert frame["close"].iloc[0] == float(expected[0][4]), "Close, not Adj Close"
    assert float(expected[0][4]) != float(expected[0][5]) or name.startswith(("AUDUSD", "AXJO"))
    assert not detect(sniff(path)).adjusted


def test_audusd_long_drops_null_rows_and_weekend_placeholder(shared_data: Path) -> None:
    path = shared_data / "asx_daily_long" / "AUDUSD_2017-2022.csv"
    frame = load_yahoo_csv(path)
    assert len(frame) == 1376 - 3 - 1  # 1376 data rows, 3 'null' rows, Sunday 2022-04-10
    # FX days close 17:00 New York and are named for the closing day: 2022-04-08 opened 17:00 NY on 04-07.
    assert frame.index[-1] == pd.Timestamp("2022-04-07T21:00Z")


@pytest.mark.parametrize(
    ("name", "rows", "first", "last"),
    [("SPY.csv", 8285, "1993-01-29", "2025-12-26"), ("QQQ.csv", 6743, "1999-03-10", "2025-12-26"),
     ("VIX.csv", 9103, "1990-01-02", "2026-02-23")],
)  # fmt: skip
def test_us_daily(shared_data: Path, name: str, rows: int, first: str, last: str) -> None:
    frame = load_yahoo_csv(shared_data / "us_daily" / name)
    assert_normalised(frame)
    assert len(frame) == rows
    # NYSE opens 09:30 New York: 14:30 UTC in winter.
    assert frame.index[0] == pd.Timestamp(f"{first}T09:30", tz="America/New_York")
    assert frame.index[-1] == pd.Timestamp(f"{last}T09:30", tz="America/New_York")


def test_spy_daily_known_close(shared_data: Path) -> None:
    path = shared_data / "us_daily" / "SPY.csv"
    row = next(r for r in raw_rows(path) if r[0] == "2019-03-21")
    frame = load_yahoo_csv(path)
    bar = frame.loc[pd.Timestamp("2019-03-21T13:30Z")]
    assert (bar["open"], bar["close"], bar["volume"]) == (float(row[1]), float(row[4]), float(row[5]))


def test_vix_yahoo_odd_column_order(shared_data: Path) -> None:
    path = shared_data / "us_daily" / "VIX.csv"
    header, *rows = raw_rows(path)
    assert header == ["Date", "Close", "High", "Low", "Open", "Volume"]
    last = rows[-1]
    bar = load_yahoo_csv(path).iloc[-1]
    assert bar["close"] == float(last[1]) and bar["high"] == float(last[2])
    assert bar["low"] == float(last[3]) and bar["open"] == float(last[4])


def test_fx_daily(shared_data: Path) -> None:
    path = shared_data / "fx" / "AUDUSD_daily.csv"
    expected = weekday_rows(path)
    frame = load_yahoo_csv(path)
    assert len(frame) == len(expected) == 5143  # two weekend placeholder rows dropped
    first = expected[0]
    assert frame.index[0] == pd.Timestamp("2006-05-15T17:00", tz="America/New_York")
    assert frame["open"].iloc[0] == float(first[4]) and frame["close"].iloc[0] == float(first[1])


def test_fx_15min_yfinance_three_header_lines(shared_data: Path) -> None:
    path = shared_data / "fx" / "AUDUSD_15min.csv"
    rows = raw_rows(path)
    assert [r[0] for r in rows[:3]] == ["Price", "Ticker", "Datetime"]
    frame = load_yfinance_multiheader(path)
    assert_normalised(frame)
    assert len(frame) == len(rows) - 3 == 5599
    assert frame.index[0] == pd.Timestamp("2025-10-19T23:00Z")
    assert frame["close"].iloc[0] == float(rows[3][1]) and frame["open"].iloc[0] == float(rows[3][4])
    assert (np.diff(frame.index.asi8) >= 15 * 60 * 10**9).all()


def test_polygon_spy_1min_crosses_the_march_clock_change(shared_data: Path) -> None:
    path = shared_data / "intraday" / "SPY_1min_2024-02-20_2024-05-17.csv"
    rows = {r[0]: r for r in raw_rows(path)[1:]}
    frame = load_polygon_csv(path)
    assert_normalised(frame)
    assert len(frame) == 49_720  # README
    local_days = frame.index.tz_convert("America/New_York").normalize().unique()
    assert len(local_days) == 63  # README: 63 sessions
    # 09:30 New York is 14:30 UTC before 2024-03-10 (EST) and 13:30 UTC after (EDT).
    before, after = rows["2024-03-08 09:30:00-05:00"], rows["2024-03-11 09:30:00-04:00"]
    assert frame.loc[pd.Timestamp("2024-03-08T14:30Z"), "open"] == float(before[1])
    assert frame.loc[pd.Timestamp("2024-03-11T13:30Z"), "open"] == float(after[1])
    assert frame.loc[pd.Timestamp("2024-03-11T13:30Z"), "wap"] == float(after[6])
    assert frame.loc[pd.Timestamp("2024-03-11T13:30Z"), "bar_count"] == float(after[7])


def test_naive_spy_july_2025_read_in_new_york(shared_data: Path) -> None:
    path = shared_data / "intraday" / "SPY_1min_2025-07.csv"
    rows = {r[0]: r for r in raw_rows(path)[1:]}
    loaded = load_file(path)
    assert loaded.format.name == "naive_csv" and loaded.timezone == "America/New_York"
    frame = load_naive_csv(path)
    assert len(frame) == 19_953  # README
    assert frame.loc[pd.Timestamp("2025-07-01T13:30Z"), "open"] == float(rows["2025-07-01 09:30:00"][1])


def test_cboe_files_month_day_year(shared_data: Path) -> None:
    vix = load_cboe_csv(shared_data / "vix" / "VIX_daily_cboe.csv")
    vix3m = load_cboe_csv(shared_data / "vix" / "VIX3M_daily_cboe.csv")
    assert len(vix) == len(raw_rows(shared_data / "vix" / "VIX_daily_cboe.csv")) - 1 == 9066
    assert vix.index[0] == pd.Timestamp("1990-01-02T09:30", tz="America/New_York")
    assert vix.index[-1] == pd.Timestamp("2025-11-25T09:30", tz="America/New_York")
    last = raw_rows(shared_data / "vix" / "VIX_daily_cboe.csv")[-1]
    assert last[0] == "11/25/2025" and vix["close"].iloc[-1] == float(last[4])
    assert vix["volume"].isna().all(), "an index has no volume: NaN, not 0"
    assert (vix3m.index[0].date(), vix3m.index[-1].date()) == (date(2009, 9, 18), date(2026, 7, 22))


def test_vix_5min_epoch_seconds(shared_data: Path) -> None:
    path = shared_data / "vix" / "VIX_5min.csv"
    rows = raw_rows(path)
    frame = load_epoch_csv(path)
    assert len(frame) == 20_224  # README
    assert frame.index[0] == pd.Timestamp(int(rows[1][0]), unit="s", tz=UTC) == pd.Timestamp("2025-08-11T07:15Z")
    assert frame.index[-1].date() == date(2026, 2, 13)
    assert frame["volume"].isna().all()


def test_ib_1min_export_bom_central_time_and_lots(shared_data: Path) -> None:
    path = shared_data / "ib_bars" / "ib_1min_6sym_2019-03-25_2019-04-30.csv"
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf", "the file starts with a byte-order mark"
    loaded = load_file(path)
    assert loaded.timezone == "America/Chicago"
    frames = load_ib_export(path)
    assert sorted(frames) == ["AAPL/USD", "IWM/USD", "MSFT/USD", "QQQ/USD", "SPY/USD", "TSLA/USD"]
    assert sum(len(f) for f in frames.values()) == 60_840  # README: 6 x 26 days x 390
    spy = frames["SPY/USD"]
    assert_normalised(spy)
    first = raw_rows(path)[1]  # ['0', '3/25/2019 8:30', ..., volume, barCount, average, 'SPY']
    assert first[1] == "3/25/2019 8:30" and first[-1] == "SPY"
    bar = spy.iloc[0]
    assert spy.index[0] == pd.Timestamp("2019-03-25T09:30", tz="America/New_York"), "8:30 Chicago = 9:30 New York"
    assert bar["volume"] == float(first[6]) * 100, "volume is in lots of 100 shares"
    assert bar["bar_count"] == float(first[7]) and bar["wap"] == float(first[8])
    local = spy.index.tz_convert("America/New_York")
    assert local.time.min().strftime("%H:%M") == "09:30" and local.time.max().strftime("%H:%M") == "15:59"


def test_ib_daily_sp500_many_tickers(shared_data: Path) -> None:
    path = shared_data / "ib_bars" / "ib_daily_sp500_2019-03-21_2019-04-17.csv"
    rows = raw_rows(path)[1:]
    frames = load_ib_export(path)
    assert len(frames) == len({r[-1] for r in rows}) == 506
    assert sum(len(f) for f in frames.values()) == len(rows) == 10_115
    assert "BRK.B/USD" in frames and "BF.B/USD" in frames, "IB's 'BRK B' is BRK.B"
    spy_row = next(r for r in rows if r[-1] == "SPY" and r[1] == "2019-03-21")
    bar = frames["SPY/USD"].loc[pd.Timestamp("2019-03-21T13:30Z")]
    assert bar["close"] == float(spy_row[5]) and bar["volume"] == float(spy_row[6]) * 100


def test_ib_bardata_jsonl_has_no_symbol_but_loads_when_named(shared_data: Path) -> None:
    path = shared_data / "ib_captures" / "ib_1min_bars_2021-01-05.jsonl.gz"
    with gzip.open(path, "rt") as fh:
        lines = [json.loads(line) for line in fh if line.strip()]
    with pytest.raises(ValueError, match="do not name their contract"):
        load_file(path)
    frame = load_ib_bardata_jsonl(path, ticker="XYZ")
    assert len(frame) == len(lines) == 405
    assert frame.index[0] == pd.Timestamp(lines[0]["date"], tz=UTC)
    assert frame["wap"].iloc[-1] == lines[-1]["average"] and frame["bar_count"].iloc[-1] == lines[-1]["barCount"]


def test_named_loader_rejects_another_format(shared_data: Path) -> None:
    with pytest.raises(ValueError, match="is cboe_csv, not yahoo_csv"):
        load_yahoo_csv(shared_data / "vix" / "VIX_daily_cboe.csv")
