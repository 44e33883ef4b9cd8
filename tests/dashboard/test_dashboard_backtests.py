"""The Backtests page through Streamlit's AppTest: the runs ``trader backtest`` wrote under ``BACKTEST_DIR`` (a real
run on real bars), their metrics with the base currency, the report to open; and the page with no run, and with no
usable ledger (it reads none)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dashboard_helpers import metrics, page_text, tables

from runner.backtest.command import BacktestRequest, run_command
from sdk.settings import load_settings

pytestmark = pytest.mark.shared_data

RunApp = Callable[..., Any]


@pytest.fixture(scope="module")
def runs(backtest_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BACKTEST_DIR holding one finished run of the moving-average crossover on BHP, and a directory that is none."""
    out = tmp_path_factory.mktemp("backtests")
    request = BacktestRequest(strategy="ma_crossover", symbols="BHP/AUD", timeframe="1d", start="2019-01-01",
                              end="2019-12-31", data=backtest_data, out=out, run_id="bhp-2019")  # fmt: skip
    run_command(load_settings(log_level="WARNING"), request, lambda line: None)
    (out / "half-written").mkdir()
    return out


def test_the_page_lists_each_run_with_its_metrics_and_offers_its_report(
    seeded_url: str, run_app: RunApp, runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKTEST_DIR", str(runs))
    app = run_app(seeded_url, "backtests.py")
    assert [t.value for t in app.title] == ["Backtests"]
    [table] = tables(app)
    assert list(table["Run"]) == ["bhp-2019"]
    row = table.iloc[0]
    assert (row["Strategy"], row["Symbols"], row["Timeframe"], row["Window"], row["Prices"]) == (
        "ma_crossover", "BHP/AUD", "1d", "2019-01-01 .. 2019-12-31", "raw",
    )  # fmt: skip
    assert row["Final equity"].endswith(" AUD") and row["Commissions"].endswith(" AUD")
    assert row["Total return"].endswith("%") and row["Started"].endswith(("AEDT", "AEST"))  # the ledger's home zone
    shown = metrics(app)
    assert shown["Net PnL of trades"][0].endswith(" AUD") and int(shown["Trades"][0]) >= 1
    [button] = app.get("download_button")
    assert "report.html" in button.proto.label
    text = page_text(app)
    assert str(runs / "bhp-2019") in text
    assert "half-written" in text and "no manifest.json" in text


def test_without_runs_the_page_says_how_to_make_one(
    empty_url: str, run_app: RunApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKTEST_DIR", str(tmp_path / "none"))
    app = run_app(empty_url, "backtests.py")  # an empty ledger: the Welcome page, and this one beside it
    assert [t.value for t in app.title] == ["Backtests"]
    assert "No backtest run" in app.info[0].value
    assert app.code[0].value.startswith("trader backtest --strategy ma_crossover")


def test_the_page_needs_no_ledger(
    unmigrated_url: str, run_app: RunApp, runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKTEST_DIR", str(runs))
    app = run_app(unmigrated_url, "backtests.py")
    [table] = tables(app)
    assert list(table["Run"]) == ["bhp-2019"]
