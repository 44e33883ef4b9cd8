"""The Parquet cache: an identical round trip, staleness detection, and a cache dropped in as data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdk.data import load_catalog
from sdk.data.cache import cache_path, read_frame, read_manifest, write_frame
from sdk.data.instruments import describe_ticker

pytestmark = pytest.mark.shared_data

FILES = (
    "asx_daily/BHP.AX.csv",
    "asx_daily_long/BHP.AX.csv",
    "us_daily/SPY.csv",
    "intraday/SPY_1min_2025-07.csv",
    "fx/AUDUSD_15min.csv",
    "vix/VIX_daily_cboe.csv",
)


@pytest.fixture
def data_dir(shared_data: Path, tmp_path: Path) -> Path:
    """A small data directory of links to real files (nothing is copied)."""
    root = tmp_path / "data"
    for rel in FILES:
        link = root / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(shared_data / rel)
    return root


def test_cache_round_trip_is_identical(data_dir: Path, tmp_path: Path) -> None:
    original = load_catalog(data_dir)
    cache = tmp_path / "cache"
    written = original.write_cache(cache)
    assert written == sum(len(i.bar_sizes) for i in original.instruments.values()) == 5
    assert (cache / "SPY-USD" / "1min.parquet").is_file() and (cache / "BHP-AUD" / "1D.parquet").is_file()
    manifest = read_manifest(cache)
    assert manifest is not None and sorted(manifest["files"]) == sorted(FILES)

    cached = load_catalog(data_dir, cache_dir=cache)
    assert cached.cache_dir == cache and original.cache_dir is None
    assert dict(cached.instruments) == dict(original.instruments), "same facts, same source names"
    for symbol, info in original.instruments.items():
        for size in info.bar_sizes:
            pd.testing.assert_frame_equal(cached.native(symbol, size), original.native(symbol, size))
    pd.testing.assert_frame_equal(cached.bars("SPY/USD", "5 mins"), original.bars("SPY/USD", "5 mins"))
    pd.testing.assert_frame_equal(cached.bars("AUD/USD", "1D"), original.bars("AUD/USD", "1D"))


def test_a_changed_directory_makes_the_cache_stale(data_dir: Path, shared_data: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_catalog(data_dir).write_cache(cache)
    (data_dir / "us_daily" / "QQQ.csv").symlink_to(shared_data / "us_daily" / "QQQ.csv")
    fresh = load_catalog(data_dir, cache_dir=cache)
    assert fresh.cache_dir is None, "the manifest no longer matches: the files are read"
    assert "QQQ/USD" in fresh.instruments


def test_a_cache_dropped_into_a_data_directory_loads(data_dir: Path, tmp_path: Path) -> None:
    original = load_catalog(data_dir)
    drop = tmp_path / "dropped"
    original.write_cache(drop)
    (drop / "manifest.json").unlink()
    catalog = load_catalog(drop)
    assert list(catalog.instruments) == list(original.instruments)
    spy = catalog.instruments["SPY/USD"]
    assert spy.sources == ("SPY-USD/1D.parquet", "SPY-USD/1min.parquet")
    assert spy.bar_sizes == ("1min", "1D") and spy.first == original.instruments["SPY/USD"].first
    assert catalog.instruments["BHP/AUD"].adjusted_sources == ("BHP-AUD/1D.parquet",)
    pd.testing.assert_frame_equal(catalog.bars("BHP/AUD", "1W"), original.bars("BHP/AUD", "1W"))


def test_frame_and_metadata_survive_exactly(tmp_path: Path) -> None:
    index = pd.DatetimeIndex(pd.date_range("2024-03-11 13:30", periods=4, freq="1min", tz="UTC"), name="time")
    frame = pd.DataFrame(
        {"open": [1.0, 2, 3, 4], "high": [2.0, 3, 4, 5], "low": [0.5, 1, 2, 3], "close": [1.5, 2.5, 3.5, 4.5],
         "volume": [100.0, np.nan, 300, 400], "wap": [1.2, 2.2, np.nan, 4.2], "bar_count": [3.0, 4, 5, 6]},
        index=index.as_unit("ns"),
    )  # fmt: skip
    frame["authority"] = np.int8(3)
    meta = describe_ticker("SPY")
    assert meta is not None
    path = cache_path(tmp_path, "SPY/USD", "1min")
    write_frame(path, frame, meta=meta, bar_label="1min", sources=["a.csv"])
    symbol, back = read_frame(path)
    assert symbol == "SPY/USD"
    pd.testing.assert_frame_equal(back, frame, check_freq=False)  # a range's freq is not data
    import pyarrow.parquet as pq

    info = json.loads(pq.read_schema(path).metadata[b"trader_sdk.data"])
    assert info["rows"] == 4 and info["meta"]["exchange"] == "ARCA" and info["first"] == "2024-03-11T13:30:00+00:00"
