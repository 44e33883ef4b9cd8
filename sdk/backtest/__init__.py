"""The backtester's library: performance metrics of a run (the HTML report follows).

    from sdk.backtest import compute_metrics
    metrics = compute_metrics(equity, trades, exposure, timeframe="1d")   # PerformanceMetrics
    summary["metrics"] = metrics.to_dict()                                # JSON-safe, deterministic

* :mod:`sdk.backtest.trades` — the closed-trade record (:class:`ClosedTrade`, :func:`trades_frame`).
* :mod:`sdk.backtest.metrics` — returns, risk and trade statistics, with their definitions and sources.

Importing this package reads nothing and starts nothing.
"""

from sdk.backtest.metrics import (
    NYSE_SESSION_SECONDS,
    TRADING_DAYS_PER_YEAR,
    PerformanceMetrics,
    SymbolMetrics,
    compute_metrics,
    drawdown,
    json_number,
    monthly_returns,
    periods_per_year,
)
from sdk.backtest.trades import TRADE_COLUMNS, ClosedTrade, trades_frame

__all__ = [
    "NYSE_SESSION_SECONDS",
    "TRADE_COLUMNS",
    "TRADING_DAYS_PER_YEAR",
    "ClosedTrade",
    "PerformanceMetrics",
    "SymbolMetrics",
    "compute_metrics",
    "drawdown",
    "json_number",
    "monthly_returns",
    "periods_per_year",
    "trades_frame",
]
