"""`trader api`: serve the data API (:mod:`dashboard.api.app`) with uvicorn, on loopback by default.

The API has no authentication: whoever reaches it reads the cache's contents and makes this process connect to
IB (``POST /data/ib/test``). So it listens on ``127.0.0.1`` unless ``--allow-remote`` is given with another
``--host`` (then put it behind something that authenticates). ``--port 0`` takes a free port; the address is
printed on stdout once the socket is bound (``trader api: http://127.0.0.1:PORT``). SIGINT/SIGTERM stop it
(SIGTERM with status 0).
"""

from __future__ import annotations

import ipaddress
import signal
import socket
from pathlib import Path
from typing import Annotated

import typer

from sdk.cli.common import state

__all__ = ["is_loopback", "register"]


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def register(app: typer.Typer) -> None:
    """Add `trader api` to the root app."""

    @app.command(
        "api",
        help=(
            "Serve the data API (HTTP, JSON, OpenAPI at /openapi.json): GET /data/status, GET /data/ranges/{symbol}, "
            "GET /data/ib/status, POST /data/ib/test. Loopback only unless --allow-remote."
        ),
    )
    def _api_command(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="Address to listen on (loopback unless --allow-remote).")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port; 0 takes a free one.")] = 8765,
        allow_remote: Annotated[
            bool, typer.Option("--allow-remote", help="Allow a non-loopback --host (the API has no login).")
        ] = False,
        cache: Annotated[
            Path | None, typer.Option("--cache", help="The IB history cache (default: the DATA_CACHE_DIR setting).")
        ] = None,
        client_id: Annotated[
            int | None, typer.Option(help="IB client id of the API's session (default: IB_CLIENT_ID).")
        ] = None,
    ) -> None:
        import asyncio

        import uvicorn

        from dashboard.api.app import build_app

        if not is_loopback(host) and not allow_remote:
            typer.echo(
                f"error: --host {host} is not a loopback address. The API has no authentication: anyone who can reach "
                f"{host}:{port} reads the cache and makes this process connect to IB. Use --host 127.0.0.1, or add "
                "--allow-remote if that is what you want (behind an authenticating proxy).",
                err=True,
            )
            raise typer.Exit(2)
        overrides = {"ib_client_id": client_id, "ib_client_id_max": client_id} if client_id is not None else {}
        settings = state(ctx).settings(**overrides)
        try:
            sock = _bind(host, port)
        except OSError as exc:
            typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port", err=True)
            raise typer.Exit(1) from None
        bound = sock.getsockname()[1]
        app = build_app(settings, cache_dir=cache)
        config = uvicorn.Config(app, log_level=settings.log_level.lower(), access_log=False, lifespan="on")
        server = uvicorn.Server(config)
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"trader api: http://{shown}:{bound} (cache {app.state.cache_dir}; OpenAPI at /openapi.json)")
        # uvicorn stops on SIGTERM (closing the IB session) and then re-raises the signal for the handler it found;
        # a no-op there makes a requested stop exit 0 instead of dying of the signal
        signal.signal(signal.SIGTERM, lambda *_: None)
        try:
            asyncio.run(server.serve(sockets=[sock]))
        finally:
            sock.close()
