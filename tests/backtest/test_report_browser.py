"""The report of a real run opened from disk in headless Debian Chromium: every chart draws, the markers of
every trade are on the price chart, and the screenshot shows the equity curve and its drawdown."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from backtest_cases import Run, from_backtesting, sma_cross_backtesting
from support.browser import chromium

from sdk.backtest import compute_metrics, write_report

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.shared_data,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofweek is deprecated"),  # inside backtesting.py's stats
]

EQUITY_BLUE = (0x2C, 0x7B, 0xB6)  # the equity line (sdk.backtest.report)
DRAWDOWN_RED = (0xD7, 0x19, 0x1C)  # the drawdown line


def _near(colour: tuple[int, int, int], target: tuple[int, int, int], tolerance: int = 40) -> bool:
    return sum(abs(a - b) for a, b in zip(colour, target, strict=True)) <= tolerance


@pytest.fixture
def report(catalog: Any, tmp_path: Path) -> tuple[Path, int]:
    """report.html of backtesting.py's SMA cross on SPY daily 2018-2020; with its number of trades."""
    spy = catalog.bars("SPY/USD", "1 day", pd.Timestamp("2018-01-01", tz="UTC"), pd.Timestamp("2021-01-01", tz="UTC"))
    run = from_backtesting(sma_cross_backtesting(spy), "SPY/USD", spy["close"].to_numpy())
    run = Run(run.equity, run.trades, run.exposure, {"SPY/USD": spy})
    metrics = compute_metrics(run.equity, run.trades, run.exposure, timeframe="1d")
    path = write_report(
        tmp_path / "run" / "report.html",
        equity=run.equity,
        trades=run.trades,
        metrics=metrics,
        bars=run.bars,
        config={"strategy": "sma_cross", "symbols": ["SPY/USD"]},
        currency="USD",
        tz="America/New_York",
    )
    return path, len(run.trades)


def test_report_draws_in_chromium(chromium_path: str, report: tuple[Path, int], tmp_path: Path) -> None:
    from PIL import Image

    path, trades = report
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    with chromium(chromium_path, profile) as page:
        page.call("Page.navigate", url=path.as_uri())
        state = page.wait_for("document.body && document.body.dataset.charts")
        assert state == "drawn"  # every Plotly.newPlot resolved
        drawn = page.call(
            "Runtime.evaluate",
            returnByValue=True,
            expression="""({
                svgs: ['chart-equity', 'chart-price-0'].map(
                    id => document.querySelectorAll('#' + id + ' .main-svg').length),
                equityPaths: document.querySelectorAll('#chart-equity .scatterlayer .trace path.js-line').length,
                candles: document.querySelectorAll('#chart-price-0 .boxlayer .trace path').length,
                markers: document.querySelectorAll('#chart-price-0 .scatterlayer .point').length,
                text: document.body.innerText,
            })""",
        )["result"]["value"]
        # two frames after the charts resolved, the last one has painted
        page.call(
            "Runtime.evaluate",
            awaitPromise=True,
            expression="new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))",
        )
        png = page.screenshot(tmp_path / "report.png")

    assert all(n > 0 for n in drawn["svgs"]), drawn["svgs"]
    assert drawn["equityPaths"] == 2  # the equity line and the drawdown line
    assert drawn["candles"] > 0
    assert drawn["markers"] == 2 * trades  # an entry and an exit for each trade
    for needle in ("Equity and drawdown", "Sharpe ratio", "Monthly returns", f"Trades ({trades})", "sma_cross"):
        assert needle in drawn["text"]

    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width == 1400 and image.height > 600
    colours = image.getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 100  # lines, fills and anti-aliased text, not a blank page
    blue = sum(count for count, colour in colours if _near(colour, EQUITY_BLUE))
    red = sum(count for count, colour in colours if _near(colour, DRAWDOWN_RED))
    assert blue > 300, f"the equity line is not on the screenshot ({blue} blue pixels)"
    assert red > 300, f"the drawdown line is not on the screenshot ({red} red pixels)"
