"""Metrics on real bars from ../shared/data: a buy-and-hold of BHP (ASX daily) checked against the price
series itself, and backtesting.py's own run of an SMA crossover on SPY daily bars checked against its stats."""

from __future__ import annotations

import itertools
import math
import statistics
from typing import Any

import numpy as np
import pandas as pd
import pytest
from backtest_cases import buy_and_hold, from_backtesting, sma_cross_backtesting

from sdk.backtest import compute_metrics, monthly_returns

pytestmark = pytest.mark.shared_data

START, END = pd.Timestamp("2018-01-01", tz="UTC"), pd.Timestamp("2021-01-01", tz="UTC")


@pytest.fixture(scope="module")
def bhp(catalog: Any) -> pd.DataFrame:
    """BHP/AUD daily bars, 2018-2020 (asx_daily_long, Yahoo), indexed by the session open in UTC."""
    bars = catalog.bars("BHP/AUD", "1 day", START, END)
    assert len(bars) > 700
    return bars


@pytest.fixture(scope="module")
def spy(catalog: Any) -> pd.DataFrame:
    """SPY/USD daily bars, 2018-2020 (us_daily, unadjusted): the 2020 crash gives a deep drawdown."""
    bars = catalog.bars("SPY/USD", "1 day", START, END)
    assert len(bars) == 756
    return bars


def test_buy_and_hold_follows_the_price(bhp: pd.DataFrame) -> None:
    run = buy_and_hold("BHP/AUD", bhp, shares=1_000)
    m = compute_metrics(run.equity, run.trades, run.exposure, timeframe="1d")
    closes = bhp["close"].tolist()

    assert m.total_return == pytest.approx(closes[-1] / closes[0] - 1)
    assert m.exposure == 1.0 and m.trades == 0
    # the price's own worst fall from a running high, by a plain loop
    high, worst, worst_at = closes[0], 0.0, 0
    for i, close in enumerate(closes):
        high = max(high, close)
        if 1 - close / high > worst:
            worst, worst_at = 1 - close / high, i
    assert m.max_drawdown == pytest.approx(worst)
    assert m.max_drawdown_trough == bhp.index[worst_at]
    returns = [b / a - 1 for a, b in itertools.pairwise(closes)]
    assert m.volatility == pytest.approx(statistics.stdev(returns) * math.sqrt(252))
    assert m.sharpe == pytest.approx(statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(252))
    years = (bhp.index[-1] - bhp.index[0]).total_seconds() / (365.25 * 86_400)
    assert m.cagr == pytest.approx((closes[-1] / closes[0]) ** (1 / years) - 1)
    # months in Sydney compound to the whole run
    table = monthly_returns(run.equity, "Australia/Sydney")
    assert (1 + table["year"]).prod() - 1 == pytest.approx(m.total_return)
    assert list(table.index) == [2018, 2019, 2020]


@pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofweek is deprecated")  # inside backtesting.py
def test_agrees_with_backtesting_py(spy: pd.DataFrame) -> None:
    stats = sma_cross_backtesting(spy)
    run = from_backtesting(stats, "SPY/USD", spy["close"].to_numpy())
    m = compute_metrics(run.equity, run.trades, run.exposure, timeframe="1d")

    assert stats["# Trades"] >= 10 and m.trades == stats["# Trades"]
    assert m.total_return * 100 == pytest.approx(stats["Return [%]"], rel=1e-9)
    assert m.cagr is not None and m.cagr * 100 == pytest.approx(stats["CAGR [%]"], rel=1e-9)
    assert m.max_drawdown * 100 == pytest.approx(-stats["Max. Drawdown [%]"], rel=1e-9)
    assert m.max_drawdown > 0.05  # the 2020 crash is in the window
    # backtesting.py's longest drawdown, in whole days (it rounds up to the data's resolution)
    assert pd.Timedelta(seconds=m.longest_drawdown_seconds).ceil("D") == stats["Max. Drawdown Duration"]
    assert m.hit_rate is not None and m.hit_rate * 100 == pytest.approx(stats["Win Rate [%]"], rel=1e-12)
    assert m.total_commission == pytest.approx(stats["Commissions [$]"], rel=1e-9)
    pnl = stats["_trades"]["PnL"]
    assert m.net_pnl == pytest.approx(pnl.sum(), rel=1e-9)
    assert m.net_pnl == pytest.approx(run.equity.iloc[-1] - run.equity.iloc[0], rel=1e-9)  # all closed at the end
    assert m.average_win == pytest.approx(pnl[pnl > 0].mean()) and m.average_loss == pytest.approx(pnl[pnl < 0].mean())
    # Sharpe by its definition (arithmetic mean over sample deviation; backtesting.py uses a geometric form)
    returns = np.diff(run.equity.to_numpy()) / run.equity.to_numpy()[:-1]
    assert m.sharpe == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(252))
