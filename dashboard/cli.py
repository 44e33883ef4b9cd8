"""`trader dashboard`: the Streamlit account dashboard over the ledger at ``DATABASE_URL`` (read-only).

Runs ``streamlit run dashboard/streamlit_app.py`` headless on ``--address`` (default 127.0.0.1) and
``--port`` (default 8501), with ``DATABASE_URL`` from the settings (environment, then ``.env`` or
``--env-file``) handed to it. The process becomes Streamlit's (``exec``), so stopping it (Ctrl-C,
SIGTERM to its pid) stops the server. See ``docs/dashboard.md``.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from sdk.cli.common import state

__all__ = ["APP_SCRIPT", "register", "streamlit_command"]

#: The dashboard's entry script, in this package.
APP_SCRIPT = Path(__file__).resolve().parent / "streamlit_app.py"


def streamlit_command(address: str, port: int, *, python: str = sys.executable) -> list[str]:
    """The argv that serves the dashboard: headless, no usage statistics, no file watcher.

    Args:
        address: the interface to listen on (``127.0.0.1``: this machine only).
        port: the TCP port (1-65535).
        python: the interpreter that has Streamlit (this one).
    """
    return [
        python, "-m", "streamlit", "run", str(APP_SCRIPT),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.address", address,
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip


def _is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def register(app: typer.Typer) -> None:
    """Add `trader dashboard` and `trader api` (the data API, :mod:`dashboard.api.cli`) to the root app."""
    from dashboard.api.cli import register as register_api

    register_api(app)

    @app.command(
        "dashboard",
        help=(
            "Serve the account dashboard (Streamlit) over the ledger at DATABASE_URL, read-only: "
            "account, positions, orders and fills, equity and drawdown, costs, market status, agent activity."
        ),
    )
    def _dashboard_command(
        ctx: typer.Context,
        port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to serve on")] = 8501,
        address: Annotated[
            str, typer.Option(help="Address to listen on; 127.0.0.1 keeps the dashboard on this machine")
        ] = "127.0.0.1",
    ) -> None:
        from sdk.ledger import LedgerInputError, mask_url, normalise_url

        settings = state(ctx).settings()
        try:
            normalise_url(settings.database_url)
        except LedgerInputError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        if not APP_SCRIPT.is_file():
            typer.echo(
                f"error: the dashboard's script is not at {APP_SCRIPT}; install trader-sdk from its source "
                "tree (pip install -e .)",
                err=True,
            )
            raise typer.Exit(2)
        if not _is_loopback(address):
            typer.echo(
                f"warning: listening on {address}: the dashboard has no login, so anyone who can reach "
                f"{address}:{port} sees the account; use --address 127.0.0.1 unless that is what you want",
                err=True,
            )
        typer.echo(f"dashboard: http://{address}:{port} (ledger {mask_url(settings.database_url)}, read-only)")
        env = {**os.environ, "DATABASE_URL": settings.database_url}
        argv = streamlit_command(address, port)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(argv[0], argv, env)  # noqa: S606 - this interpreter running Streamlit, no shell
