"""Resampling matches an independent OHLCV aggregation of the raw rows; sessions, DST and FX days."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from sdk.data import Catalog

pytestmark = pytest.mark.shared_data

NY = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
UTC = ZoneInfo("UTC")


def aggregate_rows(rows: list[tuple[datetime, float, float, float, float, float]]) -> tuple[float, ...]:
    """OHLCV of consecutive rows, by the textbook rules (first, max, min, last, sum)."""
    return (rows[0][1], max(r[2] for r in rows), min(r[3] for r in rows), rows[-1][4], sum(r[5] for r in rows))


def ib_spy_rows(shared_data: Path, day: str) -> list[tuple[datetime, float, float, float, float, float]]:
    """SPY's 1-minute rows of one day from the raw IB export: (UTC time, o, h, l, c, shares)."""
    path = shared_data / "ib_bars" / "ib_1min_6sym_2019-03-25_2019-04-30.csv"
    out = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["ticker"] == "SPY" and row["date"].startswith(day + " "):
                local = datetime.strptime(row["date"], "%m/%d/%Y %H:%M").replace(tzinfo=CHICAGO)
                o, h, lo, c = (float(row[k]) for k in ("open", "high", "low", "close"))
                out.append((local.astimezone(UTC), o, h, lo, c, float(row["volume"]) * 100))
    return out


def as_tuple(bar: pd.Series) -> tuple[float, ...]:
    return tuple(float(bar[k]) for k in ("open", "high", "low", "close", "volume"))


def test_five_minute_bars_match_independent_aggregation(catalog: Catalog, shared_data: Path) -> None:
    rows = ib_spy_rows(shared_data, "3/25/2019")
    assert len(rows) == 390
    buckets: dict[datetime, list] = defaultdict(list)
    for r in rows:
        local = r[0].astimezone(NY)
        buckets[local.replace(minute=local.minute - local.minute % 5)].append(r)
    bars = catalog.bars("SPY/USD", "5 mins", datetime(2019, 3, 25, tzinfo=NY), datetime(2019, 3, 26, tzinfo=NY))
    assert len(bars) == len(buckets) == 78
    for start, members in buckets.items():
        assert as_tuple(bars.loc[pd.Timestamp(start)]) == pytest.approx(aggregate_rows(members))
    # wap is the volume-weighted mean of the 1-minute waps
    first = catalog.native("SPY/USD", "1min").loc["2019-03-25 13:30":"2019-03-25 13:34"]
    expected_wap = float((first["wap"] * first["volume"]).sum() / first["volume"].sum())
    assert bars["wap"].iloc[0] == pytest.approx(expected_wap)
    assert bars["bar_count"].iloc[0] == first["bar_count"].sum()


def test_hourly_bars_start_at_the_open_then_on_the_clock(catalog: Catalog, shared_data: Path) -> None:
    rows = ib_spy_rows(shared_data, "3/25/2019")
    bars = catalog.bars("SPY/USD", "1 hour", datetime(2019, 3, 25, tzinfo=NY), datetime(2019, 3, 26, tzinfo=NY))
    local_starts = [t.tz_convert(NY).strftime("%H:%M") for t in bars.index]
    assert local_starts == ["09:30", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00"]
    opening = [r for r in rows if r[0].astimezone(NY).hour == 9]
    assert len(opening) == 30
    assert as_tuple(bars.iloc[0]) == pytest.approx(aggregate_rows(opening))
    three_pm = [r for r in rows if r[0].astimezone(NY).hour == 15]
    assert as_tuple(bars.iloc[-1]) == pytest.approx(aggregate_rows(three_pm))


def test_daily_bar_from_one_minute_bars_wins_over_an_equal_authority_daily_bar(
    catalog: Catalog, shared_data: Path
) -> None:
    rows = ib_spy_rows(shared_data, "3/25/2019")
    day = catalog.bars("SPY/USD", "1 day", datetime(2019, 3, 25, tzinfo=NY), datetime(2019, 3, 26, tzinfo=NY))
    assert len(day) == 1
    assert day.index[0] == pd.Timestamp("2019-03-25T09:30", tz=NY)
    assert day["session"].iloc[0] == date(2019, 3, 25)
    assert as_tuple(day.iloc[0]) == pytest.approx(aggregate_rows(rows))
    ib_daily = catalog.native("SPY/USD", "1D").loc[pd.Timestamp("2019-03-25T13:30Z")]
    assert ib_daily["close"] != pytest.approx(rows[-1][4]), "the IB daily bar differs: the rule is observable"


def dict_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_ib_export_beats_yahoo_on_the_same_day(catalog: Catalog, shared_data: Path) -> None:
    ib_rows = dict_rows(shared_data / "ib_bars" / "ib_daily_sp500_2019-03-21_2019-04-17.csv")
    ib = next(r for r in ib_rows if r["ticker"] == "SPY" and r["date"] == "2019-03-21")
    yahoo = {r["Date"]: r for r in dict_rows(shared_data / "us_daily" / "SPY.csv")}
    assert float(ib["volume"]) * 100 != float(yahoo["2019-03-21"]["Volume"])
    bar = catalog.bars("SPY/USD", "1D", datetime(2019, 3, 21, tzinfo=NY), datetime(2019, 3, 22, tzinfo=NY)).iloc[0]
    assert bar["volume"] == float(ib["volume"]) * 100
    before = catalog.bars("SPY/USD", "1D", datetime(2019, 3, 20, tzinfo=NY), datetime(2019, 3, 21, tzinfo=NY))
    assert before["volume"].iloc[0] == float(yahoo["2019-03-20"]["Volume"]), "outside the IB file, Yahoo's bar"


def test_hourly_bars_across_the_march_clock_change(catalog: Catalog) -> None:
    bars = catalog.bars("SPY/USD", "1 hour", datetime(2024, 3, 8, tzinfo=NY), datetime(2024, 3, 12, tzinfo=NY))
    friday = bars[bars.index < pd.Timestamp("2024-03-09T00:00Z")]
    monday = bars[bars.index > pd.Timestamp("2024-03-09T00:00Z")]
    assert friday.index[0] == pd.Timestamp("2024-03-08T14:30Z"), "09:30 EST"
    assert monday.index[0] == pd.Timestamp("2024-03-11T13:30Z"), "09:30 EDT"
    assert [t.tz_convert(NY).hour for t in monday.index[1:]] == [10, 11, 12, 13, 14, 15]
    one_minute = catalog.native("SPY/USD", "1min").loc["2024-03-11 14:00":"2024-03-11 14:59"]
    assert len(one_minute) == 60
    assert float(monday["high"].iloc[1]) == one_minute["high"].max()
    assert float(monday["volume"].iloc[1]) == one_minute["volume"].sum()


def test_extended_hours_only_when_asked(catalog: Catalog) -> None:
    start, end = datetime(2024, 3, 11, tzinfo=NY), datetime(2024, 3, 12, tzinfo=NY)
    rth = catalog.bars("SPY/USD", "1 hour", start, end)
    everything = catalog.bars("SPY/USD", "1 hour", start, end, rth_only=False)
    assert everything.index[0] == pd.Timestamp("2024-03-11T04:00", tz=NY)
    assert everything.index[-1] == pd.Timestamp("2024-03-11T19:00", tz=NY)
    assert len(everything) == 16 and len(rth) == 7
    assert everything.loc[pd.Timestamp("2024-03-11T09:00", tz=NY), "volume"] > rth["volume"].iloc[0]


def test_fx_sessions_run_17_to_17_new_york_and_bars_never_span_them(catalog: Catalog) -> None:
    native = catalog.native("AUD/USD", "15min")
    bars = catalog.bars("AUD/USD", "4 hours", datetime(2025, 11, 4, tzinfo=NY), datetime(2025, 11, 6, tzinfo=NY))
    labels = [t.tz_convert(NY).strftime("%m-%d %H:%M") for t in bars.index]
    assert "11-04 16:00" in labels and "11-04 17:00" in labels, "the 16:00-20:00 bin splits at the 17:00 close"
    before = native.loc[pd.Timestamp("2025-11-04T16:00", tz=NY) : pd.Timestamp("2025-11-04T16:45", tz=NY)]
    after = native.loc[pd.Timestamp("2025-11-04T17:00", tz=NY) : pd.Timestamp("2025-11-04T19:45", tz=NY)]
    assert bars.loc[pd.Timestamp("2025-11-04T16:00", tz=NY), "high"] == before["high"].max()
    assert bars.loc[pd.Timestamp("2025-11-04T17:00", tz=NY), "low"] == after["low"].min()
    daily = catalog.bars("AUD/USD", "1D", datetime(2025, 11, 3, tzinfo=NY), datetime(2025, 11, 8, tzinfo=NY))
    assert [t.tz_convert(NY).strftime("%a %H:%M") for t in daily.index] == [
        "Mon 17:00", "Tue 17:00", "Wed 17:00", "Thu 17:00"
    ]  # fmt: skip
    assert list(daily["session"]) == [date(2025, 11, 4), date(2025, 11, 5), date(2025, 11, 6), date(2025, 11, 7)]
    weekend = catalog.bars(
        "AUD/USD", "15 mins", datetime(2025, 11, 7, 17, tzinfo=NY), datetime(2025, 11, 9, 17, tzinfo=NY)
    )
    assert len(weekend) == 0, "no FX session from Friday 17:00 to Sunday 17:00 New York"


def test_asx_daily_bars_carry_their_session_date(catalog: Catalog) -> None:
    sydney = ZoneInfo("Australia/Sydney")
    bars = catalog.bars("BHP/AUD", "1D", datetime(2024, 1, 1, tzinfo=sydney), datetime(2024, 1, 10, tzinfo=sydney))
    assert bars.index[0] == pd.Timestamp("2024-01-02T10:00", tz=sydney)
    assert bars.index[0] == pd.Timestamp("2024-01-01T23:00Z"), "the session of 2 January opens on 1 January UTC"
    assert list(bars["session"]) == [date(2024, 1, d) for d in (2, 3, 4, 5, 8, 9)]


def test_weekly_and_monthly_bars_match_independent_grouping(catalog: Catalog, shared_data: Path) -> None:
    rows = []
    with open(shared_data / "asx_daily" / "BHP.AX.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            day = date.fromisoformat(r["Date"][:10])
            if date(2024, 1, 1) <= day < date(2024, 4, 1):
                rows.append((day, float(r["Open"]), float(r["High"]), float(r["Low"]), float(r["Close"]),
                             float(r["Volume"])))  # fmt: skip
    weeks: dict[tuple[int, int], list] = defaultdict(list)
    months: dict[int, list] = defaultdict(list)
    for r in rows:
        weeks[r[0].isocalendar()[:2]].append(r)
        months[r[0].month].append(r)
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 31, tzinfo=UTC)
    weekly = catalog.bars("BHP/AUD", "1 week", start, end)
    assert len(weekly) == len(weeks)
    for (_, members), (_, bar) in zip(sorted(weeks.items()), weekly.iterrows(), strict=True):
        assert as_tuple(bar) == pytest.approx(aggregate_rows(members))
        assert bar["session"] == members[0][0]
    monthly = catalog.bars("BHP/AUD", "1 month", start, end)
    assert len(monthly) == 3
    for month, (_, bar) in zip((1, 2, 3), monthly.iterrows(), strict=True):
        assert as_tuple(bar) == pytest.approx(aggregate_rows(months[month]))


def test_a_bar_size_finer_than_the_data_says_what_is_available(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match=r"BHP/AUD has no data fine enough for 5min.*1D 2017-01-02\.\.2026-01-01"
                       r".*Ask for one of 1D, 1W, 1M, or use Catalog.path\(\)"):  # fmt: skip
        catalog.bars("BHP/AUD", "5 mins")
    with pytest.raises(ValueError, match=r"Ask for one of 15min, 30min, 1h"):
        catalog.bars("AUD/USD", "20 mins"), "20 minutes cannot be built from 15-minute bars"
    assert catalog.available_bar_sizes("VIX/USD")[:3] == ("5min", "10min", "15min")


def test_naive_bounds_are_refused(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        catalog.bars("SPY/USD", "1D", datetime(2024, 1, 1))


def test_one_minute_rth_filter_follows_the_calendar_early_close(catalog: Catalog) -> None:
    # 2025-07-03 closed at 13:00 New York (Independence Day eve); the file has bars after it.
    raw = catalog.native("SPY/USD", "1min").loc["2025-07-03 12:00":"2025-07-03 23:59"]
    assert (raw.index.tz_convert(NY).hour >= 13).any()
    bars = catalog.bars("SPY/USD", "1 min", datetime(2025, 7, 3, tzinfo=NY), datetime(2025, 7, 4, tzinfo=NY))
    assert bars.index[-1] == pd.Timestamp("2025-07-03T12:59", tz=NY)
    assert len(bars) == 210
    assert np.isfinite(bars["close"]).all()
    assert bars.index[0] - timedelta(0) == pd.Timestamp("2025-07-03T09:30", tz=NY)
