"""Runs the backtest tests measure: a buy-and-hold of real bars, backtesting.py's own run of a moving-average
crossover on real bars (its equity and trades turned into this package's inputs), and a small hand-made run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sdk.backtest import ClosedTrade


@dataclass(frozen=True)
class Run:
    """What an engine hands the metrics and the report."""

    equity: pd.Series
    trades: pd.DataFrame | list[ClosedTrade]
    exposure: pd.DataFrame
    bars: dict[str, pd.DataFrame]


def buy_and_hold(symbol: str, bars: pd.DataFrame, shares: float) -> Run:
    """``shares`` bought at the first close and held: equity = shares × close (no cash left, no costs)."""
    value = bars["close"] * shares
    equity = value.rename("equity")
    exposure = pd.DataFrame({symbol: value})
    return Run(equity=equity, trades=[], exposure=exposure, bars={symbol: bars})


def sma_cross_backtesting(bars: pd.DataFrame, *, fast: int = 10, slow: int = 30, commission: float = 0.001) -> Any:
    """backtesting.py's run of a long-only SMA crossover on ``bars`` (whole units, next-open fills); its stats."""
    from backtesting import Backtest, Strategy

    def sma(values: np.ndarray, n: int) -> np.ndarray:
        return np.asarray(pd.Series(values).rolling(n).mean())

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, fast)
            self.slow = self.I(sma, self.data.Close, slow)

        def next(self) -> None:
            if self.fast[-1] > self.slow[-1] and self.fast[-2] <= self.slow[-2]:
                self.buy()
            elif self.fast[-1] < self.slow[-1] and self.fast[-2] >= self.slow[-2]:
                self.position.close()

    data = bars.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    data.index = data.index.tz_localize(None)  # backtesting.py wants naive times; these are UTC
    test = Backtest(data, SmaCross, cash=100_000, commission=commission, finalize_trades=True)
    return test.run()


def from_backtesting(stats: Any, symbol: str, closes: np.ndarray) -> Run:
    """backtesting.py's equity curve and closed trades as this package's inputs (times back in UTC).

    Exposure: backtesting.py fills at the next bar's open, so a position is held after the bars from the
    entry bar up to the bar before the exit bar (the exit happens at that bar's open), valued at ``closes``.
    """
    curve = stats["_equity_curve"]
    index = pd.DatetimeIndex(curve.index).tz_localize("UTC")
    equity = pd.Series(curve["Equity"].to_numpy(dtype="float64"), index=index)
    raw = stats["_trades"]
    trades = [
        ClosedTrade(
            symbol=symbol,
            side="long" if t.Size > 0 else "short",
            amount=float(abs(t.Size)),
            entry_time=pd.Timestamp(t.EntryTime).tz_localize("UTC"),
            exit_time=pd.Timestamp(t.ExitTime).tz_localize("UTC"),
            entry_price=float(t.EntryPrice),
            exit_price=float(t.ExitPrice),
            entry_value=float(abs(t.Size) * t.EntryPrice),
            exit_value=float(abs(t.Size) * t.ExitPrice),
            pnl=float(t.PnL),
            commission=float(t.Commission),
        )
        for t in raw.itertuples(index=False)
    ]
    held = np.zeros(len(index))
    for t in raw.itertuples(index=False):
        held[t.EntryBar : t.ExitBar] = t.Size * closes[t.EntryBar : t.ExitBar]
    exposure = pd.DataFrame({symbol: held}, index=index)
    return Run(equity=equity, trades=trades, exposure=exposure, bars={})


def small_run() -> Run:
    """Six daily bars, two symbols, three trades: small enough to check every figure by hand."""
    index = pd.date_range("2024-01-31", periods=6, freq="D", tz="UTC")
    equity = pd.Series([100.0, 110.0, 99.0, 105.0, 121.0, 115.0], index=index)
    exposure = pd.DataFrame(
        {"SPY/USD": [0.0, 50.0, 50.0, 0.0, 0.0, 0.0], "BHP/AUD": [0.0, 0.0, 0.0, 0.0, -60.0, -60.0]}, index=index
    )
    trades = [
        ClosedTrade("SPY/USD", "long", 1, index[1], index[3], 50.0, 55.0, 50.0, 55.0, 4.5, 0.5, 0.1),
        ClosedTrade("BHP/AUD", "short", 2, index[4], index[5], 30.0, 33.0, 60.0, 66.0, -6.2, 0.2, 0.0),
        ClosedTrade("SPY/USD", "long", 1, index[3], index[3], 55.0, 55.0, 55.0, 55.0, 0.0, 0.0, 0.0),
    ]
    bars = {
        symbol: pd.DataFrame(
            {"open": base + 0.0, "high": base + 2.0, "low": base - 2.0, "close": base + 1.0, "volume": 1_000.0},
            index=index,
        )
        for symbol, base in (
            ("SPY/USD", np.array([50.0, 51, 52, 54, 55, 56])),
            ("BHP/AUD", np.array([30.0, 31, 30, 29, 30, 33])),
        )
    }
    return Run(equity=equity, trades=trades, exposure=exposure, bars=bars)
