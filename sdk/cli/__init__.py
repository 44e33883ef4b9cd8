"""The ``trader`` command (typer). Each subcommand lives in its own module and registers itself here.

Subcommands import their heavy dependencies (ib_async, streamlit, mcp) inside the command
function, so ``trader --help`` stays fast and importing this package does no work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sdk.cli import dashboard, data, db, demo, gateway, mcp, run
from sdk.cli.common import CliState

__all__ = ["app", "main"]

app = typer.Typer(
    name="trader",
    help="Trade IB (ASX, US, FX; AUD base) and ccxt venues through one SDK.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    env_file: Annotated[
        Path | None,
        typer.Option(help="Read settings from this .env file too (the environment wins). Default: ./.env if present."),
    ] = Path(".env"),
    log_format: Annotated[str | None, typer.Option(help="text or json (overrides LOG_FORMAT)")] = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING or ERROR (overrides LOG_LEVEL)")] = None,
) -> None:
    ctx.obj = CliState(env_file=env_file, log_format=log_format, log_level=log_level)


for _module in (gateway, run, demo, mcp, dashboard, db, data):
    _module.register(app)


def main() -> None:
    """Console entry point ``trader``."""
    app()
