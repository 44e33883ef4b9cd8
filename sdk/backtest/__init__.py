"""The backtester's library: performance metrics and the HTML report a run writes.

    from sdk.backtest import compute_metrics, write_report

    metrics = compute_metrics(equity, trades, exposure, timeframe="1d")   # PerformanceMetrics
    summary["metrics"] = metrics.to_dict()                                # JSON-safe, deterministic
    write_report(run_dir / "report.html", equity=equity, trades=trades, metrics=metrics, bars=bars, config=config)

* :mod:`sdk.backtest.trades` — the closed-trade record (:class:`ClosedTrade`, :func:`trades_frame`).
* :mod:`sdk.backtest.metrics` — returns, risk and trade statistics, with their definitions and sources.
* :mod:`sdk.backtest.report` — one self-contained HTML file (Plotly inlined, Jinja2 template).

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
from sdk.backtest.report import CANDLESTICK_LIMIT, render_report, write_report
from sdk.backtest.trades import TRADE_COLUMNS, ClosedTrade, trades_frame

__all__ = [
    "CANDLESTICK_LIMIT",
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
    "render_report",
    "trades_frame",
    "write_report",
]
