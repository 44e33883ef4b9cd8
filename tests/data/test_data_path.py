"""Intraday paths: inside [low, high], touching open, high, low and close; seeded and window-independent."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdk.data import Catalog, load_catalog
from sdk.data.path import generate_path, symbol_key

MINUTE = 60 * 10**9


@st.composite
def bars_and_step(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    count = draw(st.integers(1, 6))
    lengths = draw(st.lists(st.integers(1, 120), min_size=count, max_size=count))  # minutes
    gaps = draw(st.lists(st.integers(0, 30), min_size=count, max_size=count))
    rows = []
    for _ in range(count):
        low = draw(st.floats(0.5, 500, allow_nan=False))
        high = low + draw(st.floats(0, 50, allow_nan=False))
        open_ = draw(st.floats(low, high))
        close = draw(st.floats(low, high))
        rows.append((open_, high, low, close, draw(st.sampled_from([0.0, 1e3, 5e6, np.nan]))))
    starts, ends, t = [], [], 1_700_000_000 * 10**9
    for length, gap in zip(lengths, gaps, strict=True):
        t += gap * MINUTE
        starts.append(t)
        t += length * MINUTE
        ends.append(t)
    step = draw(st.sampled_from([1, 5, 15, 60, 300, 3600])) * 10**9
    return np.array(starts), np.array(ends), np.array(rows, dtype="float64"), step


@settings(max_examples=150, deadline=None)
@given(bars_and_step(), st.integers(0, 2**31 - 1))
def test_path_stays_inside_each_bar_and_touches_its_prices(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, int], seed: int
) -> None:
    starts, ends, ohlcv, step = data
    key = symbol_key(seed, "TEST/USD")
    path = generate_path(starts, ends, ohlcv, window_start=int(starts[0]), window_end=int(ends[-1]), step=step, key=key)
    bar_of = np.searchsorted(starts, pd.DatetimeIndex(path["bar_time"]).asi8)
    for i in range(len(starts)):
        prices = path["price"].to_numpy()[bar_of == i]
        o, h, lo, c, v = ohlcv[i]
        n = -(-(ends[i] - starts[i]) // step)
        assert len(prices) == n
        assert prices.min() >= lo and prices.max() <= h
        assert prices[0] == o
        if n >= 2:
            assert prices[-1] == c
        if n >= 4:
            assert h in prices and lo in prices
        volume = path["volume"].to_numpy()[bar_of == i]
        if np.isfinite(v):
            assert volume[-1] == pytest.approx(v) and (np.diff(volume) >= 0).all()
    times = path.index.asi8
    assert (np.diff(times) > 0).all()
    assert ((times - pd.DatetimeIndex(path["bar_time"]).asi8) % step == 0).all()


@settings(max_examples=40, deadline=None)
@given(bars_and_step(), st.integers(0, 1000), st.floats(0.05, 0.95))
def test_path_is_the_same_whatever_window_asks_for_it(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, int], seed: int, cut: float
) -> None:
    starts, ends, ohlcv, step = data
    key = symbol_key(seed, "TEST/USD")
    lo, hi = int(starts[0]), int(ends[-1])
    middle = lo + int((hi - lo) * cut)
    whole = generate_path(starts, ends, ohlcv, window_start=lo, window_end=hi, step=step, key=key)
    left = generate_path(starts, ends, ohlcv, window_start=lo, window_end=middle, step=step, key=key)
    right = generate_path(starts, ends, ohlcv, window_start=middle, window_end=hi, step=step, key=key)
    pd.testing.assert_frame_equal(pd.concat([left, right]), whole)
    other = generate_path(starts, ends, ohlcv, window_start=lo, window_end=hi, step=step, key=key + 1)
    assert other["price"].between(0, np.inf).all()


def test_seed_changes_the_path_but_not_its_anchors() -> None:
    starts, ends = np.array([0]), np.array([390 * MINUTE])
    ohlcv = np.array([[100.0, 103.0, 98.0, 101.0, 1e6]])
    a = generate_path(starts, ends, ohlcv, window_start=0, window_end=int(ends[0]), step=MINUTE, key=symbol_key(1, "X"))
    b = generate_path(starts, ends, ohlcv, window_start=0, window_end=int(ends[0]), step=MINUTE, key=symbol_key(2, "X"))
    assert not np.array_equal(a["price"].to_numpy(), b["price"].to_numpy())
    for p in (a, b):
        assert p["price"].iloc[0] == 100.0 and p["price"].iloc[-1] == 101.0
        assert p["price"].max() == 103.0 and p["price"].min() == 98.0


@pytest.mark.shared_data
def test_daily_only_path_stays_in_session_hours_and_the_days_range(catalog: Catalog) -> None:
    sydney = ZoneInfo("Australia/Sydney")
    start, end = datetime(2025, 12, 22, tzinfo=sydney), datetime(2025, 12, 27, tzinfo=sydney)
    path = catalog.path("BHP/AUD", start, end, timedelta(seconds=30))
    daily = catalog.bars("BHP/AUD", "1D", start, end)
    assert catalog.instruments["BHP/AUD"].daily_only
    assert list(daily["session"]) == [date(2025, 12, 22), date(2025, 12, 23), date(2025, 12, 24)]
    local = path.index.tz_convert(sydney)
    assert local.time.min().strftime("%H:%M") == "10:00"
    assert local.time.max() < datetime(2000, 1, 1, 16).time()
    christmas_eve = path[local.date == date(2025, 12, 24)]
    assert christmas_eve.index.tz_convert(sydney).time.max() < datetime(2000, 1, 1, 14, 10).time(), "early close"
    for (_, bar), (_, day) in zip(daily.iterrows(), path.groupby("bar_time"), strict=True):
        prices = day["price"]
        assert prices.iloc[0] == bar["open"] and prices.iloc[-1] == bar["close"]
        assert prices.max() == bar["high"] and prices.min() == bar["low"]


@pytest.mark.shared_data
def test_path_uses_one_minute_bars_where_they_exist(catalog: Catalog) -> None:
    ny = ZoneInfo("America/New_York")
    start, end = datetime(2019, 3, 25, 9, 30, tzinfo=ny), datetime(2019, 3, 25, 9, 35, tzinfo=ny)
    path = catalog.path("SPY/USD", start, end, timedelta(seconds=10))
    minutes = catalog.bars("SPY/USD", "1 min", start, end)
    assert len(path) == 30 and path["bar_time"].nunique() == 5
    for t, bar in minutes.iterrows():
        inside = path[path["bar_time"] == t]["price"]
        assert inside.iloc[0] == bar["open"] and inside.iloc[-1] == bar["close"]
        assert inside.between(bar["low"], bar["high"]).all()
    again = catalog.path("SPY/USD", start, end, timedelta(seconds=10))
    pd.testing.assert_frame_equal(path, again)


def test_path_refuses_bad_windows() -> None:
    catalog = load_catalog(None, synthetic_end=date(2025, 6, 30))
    with pytest.raises(ValueError, match="needs both start and end"):
        catalog.path("SPY/USD", None, datetime(2025, 6, 30, tzinfo=ZoneInfo("UTC")))
    with pytest.raises(ValueError, match="step must be positive"):
        t = datetime(2025, 6, 30, tzinfo=ZoneInfo("UTC"))
        catalog.path("SPY/USD", t - timedelta(days=1), t, timedelta(0))
