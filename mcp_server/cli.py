"""`trader mcp`: the MCP tool server for LLM agents, over stdio or streamable HTTP (see docs/mcp.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from sdk.cli.common import state

__all__ = ["Transport", "register"]


class Transport(StrEnum):
    """How agents reach the server."""

    STDIO = "stdio"
    HTTP = "http"


def register(app: typer.Typer) -> None:
    """Add `trader mcp` to the root app."""

    @app.command(
        "mcp",
        help=(
            "Run the MCP tool server: read tools always; preview_order / place_order / cancel_order / create_plan / "
            "cancel_plan only with MCP_TRADING_ENABLED=true. stdio (default) talks on stdin/stdout (logs go to "
            "stderr); http serves http://MCP_HTTP_HOST:MCP_HTTP_PORT/mcp and requires MCP_HTTP_TOKEN. Uses its own "
            "IB client id (MCP_IB_CLIENT_ID, outside the runner's IB_CLIENT_ID..IB_CLIENT_ID_MAX) and the ledger "
            "at DATABASE_URL (run `trader db upgrade` first)."
        ),
    )
    def _mcp(
        ctx: typer.Context,
        transport: Annotated[Transport, typer.Option(help="stdio or http.")] = Transport.STDIO,
        host: Annotated[str | None, typer.Option(help="HTTP bind address (default MCP_HTTP_HOST).")] = None,
        port: Annotated[int | None, typer.Option(help="HTTP port (default MCP_HTTP_PORT).")] = None,
        clock: Annotated[
            str,
            typer.Option(
                help="Whose time the server follows for market hours and history: 'venue' (the venue's own time: "
                "IB's reqCurrentTime, so the offline gateway's replayed day), 'wall', or the offline gateway's "
                "control API URL (http://127.0.0.1:4099)."
            ),
        ] = "venue",
    ) -> None:
        import anyio

        from mcp_server import build_server
        from mcp_server.server import check_client_ids
        from mcp_server.transport import check_http_binding, serve_http
        from sdk.cli.db import open_ledger_or_exit
        from sdk.redaction import redact
        from sdk.services.clock import make_clock
        from sdk.settings import SettingsError

        try:
            venue_clock = make_clock(clock)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--clock") from None
        settings = state(ctx).settings()
        bind_host = host or settings.mcp_http_host
        bind_port = port or settings.mcp_http_port
        token = settings.mcp_http_token.get_secret_value() if settings.mcp_http_token else None
        if transport is Transport.HTTP:
            try:
                check_http_binding(bind_host, token)
            except SettingsError as exc:
                typer.echo(f"trader mcp: {exc}", err=True)
                raise typer.Exit(2) from None
        try:
            check_client_ids(settings)  # a runner's IB client id: refused before anything connects
        except SettingsError as exc:
            typer.echo(f"trader mcp: {exc}", err=True)
            raise typer.Exit(2) from None
        open_ledger_or_exit(settings.database_url).close()  # an unmigrated ledger stops here, with the fix
        server = build_server(settings, clock=venue_clock)
        try:
            if transport is Transport.HTTP:
                anyio.run(lambda: serve_http(server, bind_host, bind_port, token))
            else:
                anyio.run(server.run_stdio_async)
        except KeyboardInterrupt:
            raise typer.Exit(0) from None
        except BaseException as exc:  # the venue or ledger refused at start: one line, not a traceback
            cause = _first_cause(exc)
            if isinstance(cause, KeyboardInterrupt):
                raise typer.Exit(0) from None
            if not isinstance(cause, _startup_errors()):
                raise
            typer.echo(f"trader mcp: cannot start: {type(cause).__name__}: {redact(str(cause))}", err=True)
            raise typer.Exit(1) from None


def _first_cause(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (task groups wrap what the lifespan raised)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _startup_errors() -> tuple[type[BaseException], ...]:
    from ccxt.base.errors import BaseError

    from sdk.ledger import LedgerError
    from sdk.settings import SettingsError

    return (BaseError, LedgerError, SettingsError, OSError)
