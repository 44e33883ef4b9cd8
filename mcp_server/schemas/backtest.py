"""Output of ``run_backtest``: the run's ids, its headline metrics (base currency, fractions) and its files."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["BacktestMetricsOut", "BacktestOut"]


class BacktestMetricsOut(BaseModel):
    """The account's metrics (``summary.json``'s ``metrics``; definitions in ``sdk.backtest.metrics``).

    Returns and rates are fractions (0.05 = 5 %); money is in ``base_currency``; None where undefined.
    """

    base_currency: str = Field(description="currency of every money figure here (the account's base currency)")
    initial_equity: float = Field(description="equity at the first bar close, in base_currency")
    final_equity: float = Field(description="equity at the last bar close, in base_currency")
    net_pnl: float = Field(description="sum of the closed trades' PnL net of commissions, in base_currency")
    total_return: float = Field(description="final / initial equity - 1, a fraction")
    cagr: float | None = Field(description="compound annual growth rate, a fraction")
    volatility: float | None = Field(description="annualised standard deviation of bar returns, a fraction")
    sharpe: float | None = Field(description="annualised Sharpe ratio over the risk-free rate")
    sortino: float | None = Field(description="annualised Sortino ratio over the risk-free rate")
    max_drawdown: float = Field(description="largest fall from a running peak, a positive fraction")
    max_drawdown_duration_seconds: int = Field(description="peak to recovery (or to the end), seconds")
    calmar: float | None = Field(description="CAGR / max drawdown")
    trades: int = Field(description="closed round trips (a position open at the end closed at the last close)")
    hit_rate: float | None = Field(description="winning trades / trades, a fraction")
    profit_factor: float | None = Field(description="gross profit / gross loss")
    exposure: float = Field(description="share of bars with a position held, a fraction")
    turnover: float = Field(description="value traded (entries and exits) / mean equity")
    total_commission: float = Field(description="commissions, in base_currency")
    total_slippage: float = Field(description="cost of slippage already in the fill prices, in base_currency")


class BacktestOut(BaseModel):
    """A finished backtest: where its files are and what it measured. Nothing was traded."""

    run_id: str = Field(description="the run's id: the name of its directory under BACKTEST_DIR")
    run_dir: str = Field(description="absolute path of the run's directory")
    engine_run_id: str = Field(description="the runner's run id inside the engine (same for the same configuration)")
    configuration_hash: str = Field(description="SHA-256 of the run's configuration")
    data_hash: str = Field(description="SHA-256 of the data the run read")
    price_mode: str = Field(description="raw, split_adjusted or total_return")
    orders: int = Field(description="orders the strategy's decisions placed on the simulated venue")
    fills: int = Field(description="fills on the simulated venue")
    metrics: BacktestMetricsOut
    warnings: list[str] = Field(description="what the price audit found (suspicious jumps, contradicted events)")
    artifacts: dict[str, str] = Field(
        description="absolute paths: bars, orders, fills, equity (Parquet), summary (JSON), report (HTML), manifest"
    )
    wall_seconds: float = Field(description="wall time of the whole command, seconds")
    engine_seconds: float = Field(description="wall time of the simulation itself, seconds")
