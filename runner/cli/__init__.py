"""The runner's ``trader`` subcommands, ``run`` and ``demo`` (registered through the ``trader.commands``
entry-point group, so the SDK's command line never imports the runner)."""

from __future__ import annotations

import typer

from runner.cli import demo, run

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add `trader run` and `trader demo` to the root app."""
    run.register(app)
    demo.register(app)
