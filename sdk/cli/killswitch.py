"""`trader killswitch on|off|status`: the kill switch every process on the ledger (``DATABASE_URL``) obeys.

``on`` engages it (``--reason`` says why, ``--by`` who; default ``user@host``): from their next order on, the
runner, the MCP server and every guarded trader on this ledger open no position; exits still go. ``off``
releases it; ``status`` prints it (and exits 1 while engaged, 2 when it cannot be read), fit for a script.
See :mod:`sdk.services.killswitch`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from sdk.cli.common import state
from sdk.cli.db import UrlOption, open_ledger_or_exit

if TYPE_CHECKING:
    from sdk.ledger.database import Ledger
    from sdk.settings import Settings

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add `trader killswitch` (on, off, status) to the root app."""
    ks_app = typer.Typer(
        name="killswitch",
        help="Stop every process on the ledger from opening positions (exits still go).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    def _ledger(ctx: typer.Context, url: str | None) -> tuple[Ledger, Settings]:
        settings = state(ctx).settings()
        return open_ledger_or_exit(url or settings.database_url, configured=url is None), settings

    def _change(ctx: typer.Context, engage: bool, url: str | None, by: str | None, reason: str | None) -> None:
        from sdk.ledger.killswitch import KillSwitchUnreadable, release
        from sdk.ledger.killswitch import engage as engage_it

        ledger, _settings = _ledger(ctx, url)
        with ledger:
            try:
                switch = (engage_it if engage else release)(ledger, by=by, reason=reason)
            except KillSwitchUnreadable as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from None
        typer.echo(f"kill switch {switch.describe()}")

    @ks_app.command("on", help="Engage: no process on this ledger opens a position from its next order on.")
    def on(
        ctx: typer.Context,
        reason: Annotated[str | None, typer.Option(help="Why (kept in the ledger, shown to every refusal)")] = None,
        by: Annotated[str | None, typer.Option(help="Who engages it (default: user@host)")] = None,
        url: UrlOption = None,
    ) -> None:
        _change(ctx, True, url, by, reason)

    @ks_app.command("off", help="Release: opening orders are decided by the RiskManager again.")
    def off(
        ctx: typer.Context,
        reason: Annotated[str | None, typer.Option(help="Why it is safe to resume")] = None,
        by: Annotated[str | None, typer.Option(help="Who releases it (default: user@host)")] = None,
        url: UrlOption = None,
    ) -> None:
        _change(ctx, False, url, by, reason)

    @ks_app.command("status", help="Show the switch (ledger row and KILL_SWITCH_FILE); exit 1 while engaged.")
    def show(ctx: typer.Context, url: UrlOption = None) -> None:
        from sdk.ledger.killswitch import KillSwitchUnreadable, status
        from sdk.services.killswitch import kill_switch_reason

        ledger, settings = _ledger(ctx, url)
        with ledger:
            try:
                status(ledger)
                unreadable = False
            except KillSwitchUnreadable:
                unreadable = True
            why = kill_switch_reason(ledger, settings.kill_switch_file)
        if why is None:
            typer.echo("kill switch released: positions may be opened")
            return
        typer.echo(why)
        raise typer.Exit(2 if unreadable else 1)

    app.add_typer(ks_app)
