"""The control API: loopback HTTP with JSON bodies, for tests and for processes that follow the clock.

=================  =========================================================================================
``GET /state``     ``{"clock", "orders": [{orderId, clientId, permId, orderRef, symbol, action, totalQuantity,
                   orderType, lmtPrice, status, filled, ...}], "executions": [{execId, permId, orderRef,
                   symbol, side, shares, price, time, commission, commissionCurrency, ...}], "positions",
                   "cash", "clients", "pacing", "faults"}`` (commission ``null`` while pending)
``GET /clock``     ``{"now": ISO 8601, "speed": N}``
``POST /clock``    ``{"advance_seconds": N}``, ``{"to": ISO with offset}`` and/or ``{"speed": N}``; answers
                   ``GET /clock`` after the replay has processed the step
``GET /faults``    the faults in force and what is left of their counters
``POST /faults``   ``{"spec": "drop_every=30,..."}`` or the faults as an object; ``{}`` clears them
=================  =========================================================================================

A malformed body is answered 400 with ``{"error": "<what was wrong and what to send instead>"}``.
"""

from __future__ import annotations

import json
import socket
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from sdk.gateway.server import OfflineGateway

__all__ = ["ControlServer"]


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _body(request: web.Request) -> dict[str, Any] | str:
    text = await request.text()
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text
    return data if isinstance(data, dict) else text


class ControlServer:
    """The aiohttp application of one gateway's control API."""

    def __init__(self, gw: OfflineGateway) -> None:
        self.gw = gw
        self._runner: web.AppRunner | None = None
        app = web.Application()
        app.add_routes(
            [
                web.get("/state", self._state),
                web.get("/clock", self._get_clock),
                web.post("/clock", self._post_clock),
                web.get("/faults", self._get_faults),
                web.post("/faults", self._post_faults),
            ]
        )
        self._app = app

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: a free port); returns the bound port."""
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.SockSite(self._runner, sock)
        await site.start()
        bound: int = sock.getsockname()[1]
        return bound

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self.gw.state())

    async def _get_clock(self, request: web.Request) -> web.Response:
        return web.json_response(self.gw.clock_state())

    async def _post_clock(self, request: web.Request) -> web.Response:
        body = await _body(request)
        example = 'send {"advance_seconds": 60}, {"to": "2025-03-04T10:00:00+11:00"} or {"speed": 0}'
        if not isinstance(body, dict) or not body or set(body) - {"advance_seconds", "to", "speed"}:
            return _bad(f"POST /clock takes a JSON object; {example}")
        clock = self.gw.clock
        try:
            if "speed" in body:
                clock.set_speed(float(body["speed"]))
            if "to" in body:
                clock.jump(datetime.fromisoformat(str(body["to"])))
            if "advance_seconds" in body:
                clock.advance(float(body["advance_seconds"]))
        except (TypeError, ValueError) as exc:
            return _bad(f"{exc}; {example}")
        return web.json_response(self.gw.clock_state())

    async def _get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.gw.faults.state())

    async def _post_faults(self, request: web.Request) -> web.Response:
        body = await _body(request)
        spec: str | dict[str, Any] = body
        if isinstance(body, dict) and "spec" in body:
            if not isinstance(body["spec"], str):
                return _bad('"spec" must be a text such as "drop_every=30,reject_next=1"')
            spec = body["spec"]
        try:
            return web.json_response(self.gw.set_faults(spec))
        except ValueError as exc:
            return _bad(str(exc))
