"""The ``trader`` command (typer). Each subcommand lives in its own module and registers itself here.

The SDK's own subcommands (``gateway``, ``db``, ``data``, ``killswitch``) are modules of this package; the
apps' (``run`` and ``demo`` from the runner, ``mcp``, ``dashboard``) come from the ``trader.commands``
entry-point group in ``pyproject.toml`` (``name = "package.module:register"``), so the library never imports
an app (AGENTS.md, "Layers"). A third party adds a subcommand the same way.

Subcommands import their heavy dependencies (ib_async, streamlit, mcp) inside the command
function, so ``trader --help`` stays fast and importing this package does no work.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any

import typer

from sdk.cli.common import CliState

__all__ = ["COMMANDS_GROUP", "app", "build_app", "main"]

#: The entry-point group whose ``register(app)`` functions add subcommands (the apps' and third parties').
COMMANDS_GROUP = "trader.commands"

_app: typer.Typer | None = None


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


def build_app() -> typer.Typer:
    """The ``trader`` app with every subcommand: the SDK's own and those of the ``trader.commands`` entry points.

    Built on first use (``sdk.cli.app``, :func:`main`), not at import: an app's command module imports
    ``sdk.cli.common``, which imports this package, so registering at import time would be circular.
    """
    from sdk.cli import data, db, gateway, killswitch

    root = typer.Typer(
        name="trader",
        help="Trade IB (ASX, US, FX; AUD base) and ccxt venues through one SDK.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    root.callback()(_root)
    gateway.register(root)
    for entry in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        try:
            entry.load()(root)
        except Exception as exc:  # one broken plugin must not take `trader killswitch`/`db` down with it
            print(
                f"trader: the {entry.name!r} commands ({entry.value}) failed to load and are missing: {exc}",
                file=sys.stderr,
            )
    db.register(root)
    data.register(root)
    killswitch.register(root)
    return root


def __getattr__(name: str) -> Any:
    """``sdk.cli.app``: the ``trader`` app, built once on first access (:func:`build_app`)."""
    global _app
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _app is None:
        _app = build_app()
    return _app


def main() -> None:
    """Console entry point ``trader``."""
    __getattr__("app")()
