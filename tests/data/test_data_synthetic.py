"""The synthetic universe: seeded, deterministic, in session hours, on the tick ladder, and said plainly."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from sdk.data import Catalog, load_catalog

START, END = date(2025, 5, 1), date(2025, 6, 30)


def synthetic(seed: int = 0) -> Catalog:
    return load_catalog(None, seed=seed, synthetic_start=START, synthetic_end=END)


def test_universe_and_flag() -> None:
    catalog = synthetic()
    assert catalog.synthetic and catalog.data_dir is None
    assert list(catalog.instruments) == ["AAPL/USD", "AUD/USD", "BHP/AUD", "CBA/AUD", "CSL/AUD", "SPY/USD"]
    for info in catalog.instruments.values():
        assert info.bar_sizes == ("1min", "1D") and not info.daily_only
    assert catalog.summary()[0].startswith("market data: SYNTHETIC seeded universe (seed 0, 2025-05-01..2025-06-30)")
    assert "NOT real prices" in catalog.summary()[0]


def test_same_seed_same_bars_other_seed_other_bars() -> None:
    a, b, c = synthetic(0), synthetic(0), synthetic(1)
    for symbol in ("BHP/AUD", "AUD/USD"):
        pd.testing.assert_frame_equal(a.native(symbol, "1min"), b.native(symbol, "1min"))
        assert not np.array_equal(a.native(symbol, "1min")["close"], c.native(symbol, "1min")["close"])
    assert not np.array_equal(a.native("BHP/AUD", "1min")["close"], a.native("CBA/AUD", "1min")["close"] / 2.8)


def test_minutes_fill_exactly_the_sessions() -> None:
    catalog = synthetic()
    bhp = catalog.native("BHP/AUD", "1min")
    local = bhp.index.tz_convert(ZoneInfo("Australia/Sydney"))
    per_day = pd.Series(1, index=local.date).groupby(level=0).sum()
    assert per_day.max() == 360, "10:00-16:00 Sydney"
    assert date(2025, 6, 9) not in per_day.index, "the King's Birthday holiday (ASX closed)"
    assert local.time.min().strftime("%H:%M") == "10:00" and local.time.max().strftime("%H:%M") == "15:59"
    assert len(catalog.bars("BHP/AUD", "1 min")) == len(bhp), "all synthetic minutes are regular-hours minutes"
    fx = catalog.native("AUD/USD", "1min")
    assert fx.index.tz_convert(ZoneInfo("America/New_York")).day_of_week.isin([0, 1, 2, 3, 4, 6]).all()
    assert (fx["volume"] == 0).all(), "FX volume is 0, as vendors write it"


def test_daily_bars_are_the_minutes_aggregated() -> None:
    catalog = synthetic()
    minutes = catalog.native("SPY/USD", "1min")
    days = minutes.index.tz_convert(ZoneInfo("America/New_York")).date
    daily = catalog.bars("SPY/USD", "1D")
    assert len(daily) == len(set(days))
    for (day, group), (_, bar) in zip(minutes.groupby(days), daily.iterrows(), strict=True):
        assert bar["session"] == day
        assert bar["open"] == group["open"].iloc[0] and bar["close"] == group["close"].iloc[-1]
        assert bar["high"] == group["high"].max() and bar["low"] == group["low"].min()
        assert bar["volume"] == group["volume"].sum()


@pytest.mark.parametrize(("symbol", "tick"), [("CSL/AUD", 0.01), ("AAPL/USD", 0.01), ("AUD/USD", 0.00005)])
def test_prices_sit_on_the_tick_ladder(symbol: str, tick: float) -> None:
    frame = synthetic().native(symbol, "1min")
    units = frame[["open", "high", "low", "close"]].to_numpy() / tick
    assert np.abs(units - np.round(units)).max() < 1e-6
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()


def test_an_empty_directory_serves_the_synthetic_universe_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "notes.txt").write_text("nothing here")
    with caplog.at_level(logging.WARNING, logger="sdk.data"):
        catalog = load_catalog(tmp_path, synthetic_start=START, synthetic_end=END)
    assert catalog.synthetic and catalog.data_dir == tmp_path
    assert "notes.txt" in catalog.skipped
    assert any("SYNTHETIC" in r.getMessage() for r in caplog.records)


def test_bad_span_is_refused() -> None:
    with pytest.raises(ValueError, match="after synthetic_end"):
        load_catalog(None, synthetic_start=END, synthetic_end=START)
