"""The HTML report: the same inputs give the same bytes, the charts carry the run's data, it needs no network,
and its tables show the metrics, months, trades and configuration."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from backtest_cases import Run, from_backtesting, sma_cross_backtesting, small_run
from plotly.offline import get_plotlyjs
from report_reading import array, figures

from sdk.backtest import compute_metrics, drawdown, render_report, trades_frame, write_report

CONFIG = {"strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "symbols": ["SPY/USD"], "cash": "AUD=100000"}


def _render(run: Run, **kwargs: Any) -> str:
    metrics = compute_metrics(run.equity, run.trades, run.exposure, timeframe="1d")
    options = {"bars": run.bars, "config": CONFIG, **kwargs}
    return render_report(equity=run.equity, trades=run.trades, metrics=metrics, **options)


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    run = small_run()
    metrics = compute_metrics(run.equity, run.trades, run.exposure, timeframe="1d")
    kwargs = {"equity": run.equity, "trades": run.trades, "metrics": metrics, "bars": run.bars, "config": CONFIG}
    first = write_report(tmp_path / "a" / "report.html", **kwargs).read_bytes()
    second = write_report(tmp_path / "b" / "report.html", **kwargs).read_bytes()
    assert first == second
    assert first.decode() == _render(run)  # write_report writes render_report's text as UTF-8
    ours = first.decode().replace(get_plotlyjs(), "")
    assert re.findall(r'<div id="([^"]+)"', ours) == ["chart-equity", "chart-price-0", "chart-price-1"]
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-", ours)  # no uuid4 div id from plotly.io.to_html


def test_equity_chart_holds_the_equity_and_drawdown() -> None:
    run = small_run()
    chart = figures(_render(run))["chart-equity"]
    equity, dd = chart["data"]
    assert (equity["name"], dd["name"]) == ("equity", "drawdown")
    np.testing.assert_array_equal(array(equity["y"]), run.equity.to_numpy())
    np.testing.assert_allclose(array(dd["y"]), drawdown(run.equity).to_numpy() * 100)
    assert equity["x"][0].startswith("2024-01-31T00:00:00") and len(equity["x"]) == 6
    assert chart["layout"]["yaxis"]["title"]["text"] == "equity (AUD)"


def test_price_charts_mark_entries_and_exits() -> None:
    run = small_run()
    charts = figures(_render(run))
    assert sorted(k for k in charts if k.startswith("chart-price")) == ["chart-price-0", "chart-price-1"]
    bhp, spy = charts["chart-price-0"], charts["chart-price-1"]  # symbols in order
    assert bhp["layout"]["title"]["text"].startswith("BHP/AUD")
    candles = spy["data"][0]
    assert candles["type"] == "candlestick"
    np.testing.assert_array_equal(array(candles["close"]), run.bars["SPY/USD"]["close"].to_numpy())
    by_name = {trace["name"]: trace for trace in spy["data"][1:]}
    assert set(by_name) == {"long entry", "exit"}  # SPY's two trades are long
    np.testing.assert_array_equal(array(by_name["long entry"]["y"]), [55.0, 50.0][::-1])  # sorted by exit time
    assert [x[:10] for x in by_name["long entry"]["x"]] == ["2024-02-01", "2024-02-03"]
    np.testing.assert_array_equal(array(by_name["exit"]["y"]), [55.0, 55.0])
    short = {trace["name"]: trace for trace in bhp["data"][1:]}["short entry"]
    assert short["marker"]["symbol"] == "triangle-down" and array(short["y"]).tolist() == [30.0]


def test_long_series_are_drawn_as_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sdk.backtest.report.CANDLESTICK_LIMIT", 5)
    chart = figures(_render(small_run()))["chart-price-0"]
    assert chart["data"][0]["type"] == "scatter" and chart["data"][0]["mode"] == "lines"


def test_times_are_shown_in_the_given_zone() -> None:
    html = _render(small_run(), tz="Australia/Sydney")
    chart = figures(html)["chart-equity"]
    assert chart["data"][0]["x"][0].startswith("2024-01-31T11:00:00")  # 00:00 UTC, summer time in Sydney
    assert chart["layout"]["xaxis2"]["title"]["text"] == "time (Australia/Sydney)"
    assert "2024-02-01 11:00:00 AEDT" in html  # the max drawdown's peak in the metrics table


def test_opens_offline() -> None:
    html = _render(small_run())
    assert html.count(get_plotlyjs()) == 1  # plotly.js inlined, once
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == ["<script>", '<script type="application/json" id="figures">', "<script>"]
    outside = html.replace(get_plotlyjs(), "")
    assert not re.search(r"<link\b|@import|url\(|src=|https?://", outside)


def test_tables() -> None:
    html = _render(small_run())
    rows = dict(re.findall(r'<tr><td class="label">([^<]+)</td><td>([^<]*)</td></tr>', html))
    assert rows["Total return"] == "15.00 %"
    assert rows["Max drawdown"] == "10.00 %"
    assert rows["Max drawdown: duration"] == "3.0 days"
    assert rows["Hit rate"] == "33.33 %"
    assert rows["Profit factor"] == "0.73"
    assert rows["Average loss"] == "-6.20 AUD"
    assert rows["Sharpe ratio"] == f"{compute_metrics(small_run().equity, None, None, timeframe='1d').sharpe:,.2f}"
    assert '<h2 id="trades">Trades (3)</h2>' in html
    months = re.search(r'<tr><td class="label">2024</td>(.*?)</tr>', html)
    assert months is not None
    cells = re.findall(r'<td class="(\w*)">([^<]*)</td>', months.group(1))
    assert cells[0] == ("", "0.00") and cells[1] == ("pos", "15.00") and cells[-1] == ("pos", "15.00")
    assert cells[2] == ("", "")  # no bar in March


def test_configuration_is_escaped() -> None:
    hostile = "</script><script>alert(1)</script>"
    html = _render(small_run(), config={"note": hostile, "nested": {"b": 2, "a": [1, "x"]}}, title="<b>run</b>")
    assert hostile not in html and "alert(1)" in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{&#34;a&#34;: [1, &#34;x&#34;], &#34;b&#34;: 2}" in html  # JSON, keys sorted
    assert "<title>&lt;b&gt;run&lt;/b&gt;</title>" in html
    figures(html)  # the figures' JSON is still whole


def test_symbol_names_cannot_break_out_of_the_figures_script() -> None:
    run = small_run()
    odd = "</script>X/USD"
    trades = trades_frame(run.trades).assign(symbol=lambda f: f["symbol"].replace("SPY/USD", odd))
    exposure = run.exposure.rename(columns={"SPY/USD": odd})
    metrics = compute_metrics(run.equity, trades, exposure, timeframe="1d")
    html = render_report(equity=run.equity, trades=trades, metrics=metrics, bars={odd: run.bars["SPY/USD"]})
    assert html.count("</script>") == 3  # plotly.js, the figures, the drawing script
    assert figures(html)["chart-price-0"]["layout"]["title"]["text"].startswith(odd)


def test_bad_inputs() -> None:
    run = small_run()
    metrics = compute_metrics(run.equity, run.trades, run.exposure, timeframe="1d")
    with pytest.raises(ValueError, match="'close' column"):
        render_report(equity=run.equity, trades=run.trades, metrics=metrics, bars={"X/USD": pd.DataFrame({"c": []})})
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        render_report(equity=run.equity, trades=run.trades, metrics=metrics, tz="Mars/Olympus")


@pytest.mark.shared_data
@pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofweek is deprecated")  # inside backtesting.py
def test_real_run_report(catalog: Any, tmp_path: Path) -> None:
    spy = catalog.bars("SPY/USD", "1 day", pd.Timestamp("2018-01-01", tz="UTC"), pd.Timestamp("2021-01-01", tz="UTC"))
    run = from_backtesting(sma_cross_backtesting(spy), "SPY/USD", spy["close"].to_numpy())
    run = Run(run.equity, run.trades, run.exposure, {"SPY/USD": spy})
    metrics = compute_metrics(run.equity, run.trades, run.exposure, timeframe="1d")
    kwargs = {"equity": run.equity, "trades": run.trades, "metrics": metrics, "bars": run.bars, "config": CONFIG}
    first = write_report(tmp_path / "1.html", **kwargs, tz="America/New_York").read_bytes()
    second = write_report(tmp_path / "2.html", **kwargs, tz="America/New_York").read_bytes()
    assert first == second
    charts = figures(first.decode())
    np.testing.assert_array_equal(array(charts["chart-equity"]["data"][0]["y"]), run.equity.to_numpy())
    assert charts["chart-equity"]["data"][0]["x"][0].startswith("2018-01-02T09:30:00")  # the NYSE open
    price = charts["chart-price-0"]["data"]
    assert len(array(price[0]["close"])) == 756
    markers = {trace["name"]: len(array(trace["y"])) for trace in price[1:]}
    assert markers == {"long entry": len(run.trades), "exit": len(run.trades)}
    assert f"Trades ({len(run.trades)})" in first.decode()
