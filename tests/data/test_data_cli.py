"""`trader data list | show | cache` through typer's CliRunner, on the real data and the synthetic universe."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdk.cli import app

runner = CliRunner()


@pytest.mark.shared_data
def test_list_shows_instruments_spans_and_sources(pinned_data: Path) -> None:
    result = runner.invoke(app, ["data", "list", "--data", str(pinned_data)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("# market data: 522 instruments from 30 files")
    row = next(line for line in lines if line.startswith("SPY/USD "))
    assert row.split()[:6] == ["SPY/USD", "etf", "ARCA", "1min,1D", "1993-01-29", "2025-12-26"]
    assert "intraday/SPY_1min_2024-02-20_2024-05-17.csv" in row
    assert any(line.startswith("# skipped ib_captures/ib_1min_bars_2021-01-05.jsonl.gz") for line in lines)


@pytest.mark.shared_data
def test_show_prints_bars_in_the_market_time_zone_window(shared_data: Path) -> None:
    result = runner.invoke(
        app, ["data", "show", "SPY/USD", "--bar", "5 mins", "--start", "2024-03-11 09:30", "--rows", "2",
              "--data", str(shared_data)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "SPY/USD (SPDR S&P 500 ETF Trust; STK SPY on ARCA, USD, NYSE hours)" in result.output
    assert "2024-03-11 13:30:00+00:00" in result.output and "2024-03-11 13:35:00+00:00" in result.output
    assert "13:40" not in result.output


@pytest.mark.shared_data
def test_show_errors_name_what_to_do(shared_data: Path) -> None:
    unknown = runner.invoke(app, ["data", "show", "BHP.AX", "--data", str(shared_data)])
    assert unknown.exit_code == 2 and "close matches: BHP/AUD" in unknown.output
    finer = runner.invoke(app, ["data", "show", "BHP/AUD", "--bar", "1 min", "--data", str(shared_data)])
    assert finer.exit_code == 2 and "Ask for one of 1D, 1W, 1M" in finer.output
    bad_date = runner.invoke(app, ["data", "show", "BHP/AUD", "--start", "soon", "--synthetic"])
    assert bad_date.exit_code == 2 and "is not a date or time" in bad_date.output


def test_missing_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "list", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "does not exist" in result.output and "MARKET_DATA_DIR" in result.output


def test_data_defaults_to_the_market_data_dir_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKET_DATA_DIR", str(tmp_path / "configured"))
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 2 and str(tmp_path / "configured") in result.output


def test_synthetic_list_and_cache_then_list_reads_the_cache(tmp_path: Path) -> None:
    listed = runner.invoke(app, ["data", "list", "--synthetic", "--seed", "3"])
    assert listed.exit_code == 0, listed.output
    assert "SYNTHETIC seeded universe (seed 3" in listed.output and "NOT real prices" in listed.output
    out = tmp_path / "cache"
    cached = runner.invoke(app, ["data", "cache", "--synthetic", "--out", str(out)])
    assert cached.exit_code == 0, cached.output
    assert "wrote 12 Parquet files for 6 instruments" in cached.output
    from_cache = runner.invoke(app, ["data", "list", "--data", str(out)])
    assert from_cache.exit_code == 0, from_cache.output
    assert "BHP/AUD     stock  ASX       1min,1D" in from_cache.output
    assert "BHP-AUD/1D.parquet BHP-AUD/1min.parquet" in from_cache.output


@pytest.mark.shared_data
def test_cache_of_a_directory_is_used_by_list(shared_data: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    for rel in ("asx_daily/CBA.AX.csv", "fx/AUDUSD_15min.csv"):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).symlink_to(shared_data / rel)
    out = tmp_path / "c"
    made = runner.invoke(app, ["data", "cache", "--data", str(data), "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert "wrote 2 Parquet files for 2 instruments" in made.output
    listed = runner.invoke(app, ["data", "list", "--data", str(data), "--cache", str(out)])
    assert listed.exit_code == 0
    assert listed.output.splitlines()[0].startswith("# market data: 2 instruments from 2 files")
    assert "AUD/USD     fx     IDEALPRO  15min" in listed.output
