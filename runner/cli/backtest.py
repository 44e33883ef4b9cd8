"""`trader backtest`: a registered strategy over history, through the runner's own decision path, on a simulated venue.

Example (BHP daily bars, 2019-2021, the moving-average crossover, 10,000 AUD per order, 5 bps slippage)::

    trader backtest --strategy ma_crossover --symbols BHP/AUD --timeframe 1d --start 2019-01-01 --end 2021-12-31 \\
        --order-value 10000 --slippage-bps 5

It writes ``OUT/<run id>/`` (``--out``, default ``BACKTEST_DIR``): ``bars.parquet``, ``orders.parquet``,
``fills.parquet``, ``equity.parquet``, ``summary.json``, ``report.html`` and ``manifest.json``
(:mod:`runner.backtest.artifacts`), prints the metrics, and prints the run directory last. See ``docs/backtest.md``.

Exit status: 0 when the run completed; 2 for a bad option or input, before anything runs (an unknown strategy or
parameter, a symbol the data does not hold, a timeframe finer than the data, a window outside it, files mixing
price bases, a run directory that exists), each with its fix; 1 when the run failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sdk.cli.common import state

__all__ = ["register"]

_HELP = {
    "strategy": "A registered strategy: ma_crossover, momentum, ... (or one a --plugin registers).",
    "param": "Strategy parameter NAME=NUMBER (repeatable), e.g. --param fast=5.",
    "symbols": "Comma-separated canonical symbols the data holds, e.g. BHP/AUD,CBA/AUD.",
    "timeframe": "Bar size decided on and matched on: 1m, 2m, 3m, 5m, 10m, 15m, 30m or 1d.",
    "start": "First date of the window (YYYY-MM-DD, UTC); bars closed before it warm the strategy up.",
    "end": "Last date of the window, included (YYYY-MM-DD): the run ends at 00:00 UTC the day after.",
    "data": "Market data directory (default MARKET_DATA_DIR); events in its corporate_actions/ are applied.",
    "cash": "Opening cash CURRENCY=AMOUNT (repeatable or comma-separated; default 1000000 of the base currency).",
    "order_value": "Notional of one sized order in the base currency (default: MAX_ORDER_VALUE, at most 10000).",
    "slippage_bps": "Basis points every taker fill moves against the order (default 0).",
    "fill_volume_share": "Share of each bar's volume the run's orders of one symbol may take, in (0, 1] (default 1).",
    "fill": "next-open (default: a decision fills no earlier than the next bar's open) or at-close (the closing "
    "auction of the bar decided on; ASX and NYSE listings only).",
    "price_mode": "raw (default: as traded, as the offline gateway replays), split_adjusted or total_return.",
    "risk_free_rate": "Annual risk-free rate for Sharpe and Sortino, a fraction (0.04 = 4%; default 0).",
    "out": "Directory the run's directory is written into (default BACKTEST_DIR, ./backtests).",
    "run_id": "Name of the run's directory (default bt-<UTC time>-<random>); an existing one is refused.",
    "plugin": "A module to import first that registers strategies (repeatable), e.g. mydesk.strategies.",
}


def register(app: typer.Typer) -> None:
    """Add `trader backtest` to the root app."""

    @app.command(
        "backtest",
        help=(
            "Backtest a strategy on historical bars through the runner's own path (strategy -> sizing -> "
            "RiskManager -> simulated venue -> plan monitor). Writes OUT/<run id>/ (Parquet tables, summary.json, "
            "report.html, manifest.json) and prints the run directory last. See docs/backtest.md."
        ),
    )
    def _backtest(
        ctx: typer.Context,
        strategy: Annotated[str, typer.Option(help=_HELP["strategy"])],
        symbols: Annotated[str, typer.Option(help=_HELP["symbols"])],
        start: Annotated[str, typer.Option(help=_HELP["start"])],
        end: Annotated[str, typer.Option(help=_HELP["end"])],
        timeframe: Annotated[str, typer.Option(help=_HELP["timeframe"])] = "1d",
        param: Annotated[list[str] | None, typer.Option(help=_HELP["param"])] = None,
        data: Annotated[Path | None, typer.Option(help=_HELP["data"])] = None,
        cash: Annotated[list[str] | None, typer.Option(help=_HELP["cash"])] = None,
        order_value: Annotated[str | None, typer.Option(help=_HELP["order_value"])] = None,
        slippage_bps: Annotated[str, typer.Option(help=_HELP["slippage_bps"])] = "0",
        fill_volume_share: Annotated[str, typer.Option(help=_HELP["fill_volume_share"])] = "1",
        fill: Annotated[str, typer.Option(help=_HELP["fill"])] = "next-open",
        price_mode: Annotated[str, typer.Option(help=_HELP["price_mode"])] = "raw",
        risk_free_rate: Annotated[float, typer.Option(help=_HELP["risk_free_rate"])] = 0.0,
        out: Annotated[Path | None, typer.Option(help=_HELP["out"])] = None,
        run_id: Annotated[str | None, typer.Option(help=_HELP["run_id"])] = None,
        plugin: Annotated[list[str] | None, typer.Option(help=_HELP["plugin"])] = None,
    ) -> None:
        from runner.backtest.command import BacktestFailed, BacktestRequest, run_command
        from runner.backtest.config import BacktestInputError

        settings = state(ctx).settings()
        request = BacktestRequest(
            strategy=strategy, symbols=symbols, timeframe=timeframe, start=start, end=end, params=list(param or []),
            data=data, cash=list(cash or []), order_value=order_value, slippage_bps=slippage_bps,
            fill_volume_share=fill_volume_share, fill=fill, price_mode=price_mode, risk_free_rate=risk_free_rate,
            out=out, run_id=run_id, plugins=list(plugin or []),
        )  # fmt: skip
        try:
            run_dir = run_command(settings, request, typer.echo)
        except BacktestInputError as exc:
            typer.echo(f"trader backtest: {exc}", err=True)
            raise typer.Exit(2) from None
        except BacktestFailed as exc:
            typer.echo(f"trader backtest: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(str(run_dir))
