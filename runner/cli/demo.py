"""`trader demo`: the main job on the embedded default (the offline gateway), in shadow mode.

Starts the offline IB Gateway on ``../shared/data`` (or its synthetic universe, said plainly), migrates the
ledger at ``DATABASE_URL``, runs the StrategyRunner in shadow mode over the last ``--sessions`` sessions of
the data, prints each decision and order, then a summary (orders, fills, commissions, PnL and equity in
AUD) and how to open the dashboard and the MCP server on the same ledger. See ``runner/demo.py``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from sdk.cli.common import state

__all__ = ["register"]

_HELP = {
    "data": "Market data directory (default MARKET_DATA_DIR, ../shared/data); synthetic data when it is absent.",
    "symbols": "Comma-separated canonical symbols.",
    "strategy": "A registered strategy: ma_crossover, momentum, ...",
    "param": "Strategy parameter NAME=NUMBER (repeatable).",
    "sessions": "Trading sessions replayed, ending at the end of the data.",
    "speed": "Simulated seconds per wall second while the market trades (20000: an ASX session in about a "
    "second); closed hours pass 20 times faster.",
    "timeframe": "Bar size the strategy decides on.",
}


def register(app: typer.Typer) -> None:
    """Add `trader demo` to the root app."""

    @app.command(
        "demo",
        help="Run the main job on the offline gateway in shadow mode over replayed sessions, then summarise it.",
    )
    def _demo(
        ctx: typer.Context,
        data: Annotated[Path | None, typer.Option(help=_HELP["data"])] = None,
        symbols: Annotated[str, typer.Option(help=_HELP["symbols"])] = "BHP/AUD,CBA/AUD,CSL/AUD,AUD/USD",
        strategy: Annotated[str, typer.Option(help=_HELP["strategy"])] = "ma_crossover",
        param: Annotated[list[str] | None, typer.Option(help=_HELP["param"])] = None,
        sessions: Annotated[int, typer.Option(min=2, help=_HELP["sessions"])] = 20,
        speed: Annotated[float, typer.Option(min=1, help=_HELP["speed"])] = 20_000,
        timeframe: Annotated[str, typer.Option(help=_HELP["timeframe"])] = "1d",
    ) -> None:
        from runner.cli.run import _params
        from runner.demo import DemoOptions, run_demo
        from runner.runner import RunnerError
        from sdk.errors import BaseError
        from sdk.ledger import LedgerError

        settings = state(ctx).settings()
        options = DemoOptions(
            data_dir=data, symbols=tuple(s.strip() for s in symbols.split(",") if s.strip()), strategy=strategy,
            params=_params(param or []), sessions=sessions, speed=speed, timeframe=timeframe,
        )  # fmt: skip
        try:
            asyncio.run(run_demo(settings, options, typer.echo))
        except (ValueError, RunnerError, LedgerError) as exc:
            typer.echo(f"trader demo: {exc}", err=True)
            raise typer.Exit(2) from None
        except BaseError as exc:
            typer.echo(f"trader demo: {type(exc).__name__}: {exc}", err=True)
            raise typer.Exit(1) from None
