"""Running the server: stdio, or streamable HTTP on loopback behind a bearer token.

HTTP rules (the MCP servers we studied often exposed an account on the network with no check):

* the bind address defaults to ``MCP_HTTP_HOST`` (127.0.0.1);
* a bearer token (``MCP_HTTP_TOKEN``) is required: without one the server does not start, and it
  never binds a non-loopback address without one;
* every HTTP request must carry ``Authorization: Bearer <token>`` (compared in constant time); any
  other request is answered 401 before it reaches MCP.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import socket
from typing import TYPE_CHECKING, Any

from sdk.settings import SettingsError

if TYPE_CHECKING:
    import uvicorn
    from mcp.server.mcpserver import MCPServer
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["BearerTokenMiddleware", "check_http_binding", "http_app", "http_server", "is_loopback", "serve_http"]

_TOKEN_EXAMPLE = "MCP_HTTP_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"  # noqa: S105 - a shell recipe, not a secret


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_http_binding(host: str, token: str | None) -> str:
    """The token to require on ``host``.

    Raises:
        SettingsError: no token (always required over HTTP), saying why a non-loopback address makes it
            non-negotiable, with an example.
    """
    if token:
        return token
    if not is_loopback(host):
        raise SettingsError(
            f"MCP_HTTP_HOST={host} is not a loopback address and MCP_HTTP_TOKEN is not set: refusing to expose the "
            f"account's tools on the network without a bearer token. Set one, e.g. {_TOKEN_EXAMPLE}"
        )
    raise SettingsError(
        "MCP_HTTP_TOKEN is not set: the HTTP transport requires a bearer token even on 127.0.0.1 (other local "
        f"programs and web pages can reach loopback ports). Set one, e.g. {_TOKEN_EXAMPLE}; "
        "or use --transport stdio"
    )


class BearerTokenMiddleware:
    """ASGI middleware: HTTP requests without ``Authorization: Bearer <token>`` get 401; lifespan passes."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope.get("headers") or []:
            if name.lower() == b"authorization" and value[:7].lower() == b"bearer ":
                given = value[7:].strip()
        if not hmac.compare_digest(given, self._token):
            body = json.dumps(
                {"error": "invalid_token", "error_description": "send Authorization: Bearer <MCP_HTTP_TOKEN>"}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer error="invalid_token"'),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def http_app(server: MCPServer[Any], host: str, token: str) -> BearerTokenMiddleware:
    """The streamable-HTTP ASGI app of ``server`` (path ``/mcp``) behind the bearer-token check."""
    return BearerTokenMiddleware(server.streamable_http_app(host=host), check_http_binding(host, token))


def http_server(server: MCPServer[Any], host: str, port: int, token: str | None) -> uvicorn.Server:
    """A uvicorn server for ``server`` over streamable HTTP on ``host:port`` behind the bearer token.

    Run it with ``await http.serve()`` (or ``serve(sockets=[sock])`` on a bound socket); stop it with
    ``http.should_exit = True``.

    Raises:
        SettingsError: no token (see :func:`check_http_binding`).
    """
    import uvicorn

    required = check_http_binding(host, token)
    config = uvicorn.Config(
        http_app(server, host, required), host=host, port=port, log_level="warning", access_log=False, lifespan="on"
    )
    return uvicorn.Server(config)


async def serve_http(
    server: MCPServer[Any], host: str, port: int, token: str | None, *, sock: socket.socket | None = None
) -> None:
    """Serve ``server`` over streamable HTTP on ``host:port`` until stopped (``sock``: an already bound socket).

    Raises:
        SettingsError: no token (see :func:`check_http_binding`).
    """
    await http_server(server, host, port, token).serve(sockets=[sock] if sock is not None else None)
