"""`trader db`: migrate and inspect the SQL ledger (``DATABASE_URL``).

``trader db upgrade`` migrates the ledger to the revision this code needs (creating the SQLite file
and its directory); ``trader db current`` shows the database's revision; ``trader db revision -m``
autogenerates a migration after a change to ``sdk/ledger/models.py``. ``--url`` overrides
``DATABASE_URL``. Other commands open the ledger with :func:`open_ledger_or_exit`, which refuses an
unmigrated database with the command that fixes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from sdk.cli.common import state

if TYPE_CHECKING:
    from sdk.ledger.database import Ledger

__all__ = ["open_ledger_or_exit", "register"]

_URL_HELP = "Database URL (default: DATABASE_URL), e.g. sqlite:///./data/trader.db or postgresql://host/db"
UrlOption = Annotated[str | None, typer.Option("--url", help=_URL_HELP)]


def open_ledger_or_exit(url: str, *, configured: bool = True) -> Ledger:
    """Open the ledger for a command; on an unmigrated or unusable database print why and exit 2.

    Args:
        url: the database URL (``settings.database_url``).
        configured: ``url`` is the configured ``DATABASE_URL``, so the fix printed is plain
            ``trader db upgrade``.
    """
    from sdk.ledger import LedgerError, open_ledger

    try:
        return open_ledger(url, configured_url=configured)
    except LedgerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _url(ctx: typer.Context, url: str | None) -> tuple[str, bool]:
    if url is not None:
        return url, False
    return state(ctx).settings().database_url, True


def register(app: typer.Typer) -> None:
    """Add `trader db` (upgrade, current, revision) to the root app."""
    db_app = typer.Typer(
        name="db",
        help="Migrate and inspect the SQL ledger (DATABASE_URL).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @db_app.command("upgrade", help="Migrate the ledger to the revision this code needs (creates a SQLite file).")
    def _upgrade(
        ctx: typer.Context,
        url: UrlOption = None,
        revision: Annotated[str, typer.Option(help="Target revision")] = "head",
    ) -> None:
        from sdk.ledger import LedgerError, mask_url
        from sdk.ledger.migrate import current_revision, head_revision, upgrade

        target, _configured = _url(ctx, url)
        try:
            before = current_revision(target)
            after = upgrade(target, revision)
            head = head_revision()
        except LedgerError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        where = mask_url(target)
        if before == after:
            typer.echo(f"{where}: already at revision {after} (head {head})")
        else:
            typer.echo(f"{where}: upgraded from {before or 'an empty database'} to revision {after} (head {head})")

    @db_app.command("current", help="Show the ledger's migration revision and whether it is up to date.")
    def _current(
        ctx: typer.Context,
        url: UrlOption = None,
        check: Annotated[bool, typer.Option("--check", help="Exit with status 1 unless at head")] = False,
    ) -> None:
        from sdk.ledger import LedgerError, mask_url
        from sdk.ledger.migrate import current_revision, head_revision, upgrade_command
        from sdk.ledger.urls import normalise_url

        target, configured = _url(ctx, url)
        try:
            current = current_revision(target)
            head = head_revision()
            fix = upgrade_command(None if configured else normalise_url(target))
        except LedgerError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        where = mask_url(target)
        if current == head:
            typer.echo(f"{where}: revision {current} (head {head}): up to date")
            return
        typer.echo(f"{where}: revision {current or 'none'} (head {head}): needs migrating. Run: {fix}")
        if check:
            raise typer.Exit(1)

    @db_app.command("revision", help="Autogenerate a migration from the models (the database must be at head).")
    def _revision(
        ctx: typer.Context,
        message: Annotated[str, typer.Option("--message", "-m", help="What the migration changes")],
        url: UrlOption = None,
    ) -> None:
        from sdk.ledger import LedgerError
        from sdk.ledger.migrate import make_revision

        target, _configured = _url(ctx, url)
        try:
            path = make_revision(message, target)
        except LedgerError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"wrote {path}; review it, then run: trader db upgrade")

    app.add_typer(db_app, name="db")
