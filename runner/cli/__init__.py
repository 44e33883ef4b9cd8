"""The runner's ``trader`` subcommands, ``run``, ``backtest`` and ``demo`` (registered through the ``trader.commands``
entry-point group, so the SDK's command line never imports the runner)."""

from __future__ import annotations

import typer

from runner.cli import backtest, demo, run

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add `trader run`, `trader backtest` and `trader demo` to the root app."""
    run.register(app)
    backtest.register(app)
    demo.register(app)
