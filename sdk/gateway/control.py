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

A malformed body is answered 400 with ``{"error": "<what was wrong and what to send instead>"}``. A
``POST /clock`` body is checked whole before any part of it is applied: numbers must be finite (JSON
``NaN``/``Infinity`` are refused), ``speed`` within 0..1e9, ``advance_seconds`` >= 0.
"""

from __future__ import annotations

import json
import math
import socket
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sdk.gateway.clock import MAX_SPEED

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


def _finite(body: dict[str, Any], key: str) -> float | None:
    if key not in body:
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number, got {value!r}")
    return float(value)


def _clock_request(body: dict[str, Any], now: float) -> tuple[float | None, datetime | None, float | None]:
    """Check a whole ``POST /clock`` body before any of it is applied: ``(speed, to, advance_seconds)``.

    Raises:
        ValueError: a part that is not a finite number (NaN, Infinity, text), a negative or too large
            speed or step, a ``to`` that is not ISO 8601 with an offset, or a step past the year 9999.
    """
    speed = _finite(body, "speed")
    if speed is not None and not 0 <= speed <= MAX_SPEED:
        raise ValueError(f"speed must be between 0 (paused) and {MAX_SPEED:g}, got {speed:g}")
    to: datetime | None = None
    if "to" in body:
        if not isinstance(body["to"], str):
            raise ValueError(f"to must be an ISO 8601 text with an offset, got {body['to']!r}")
        try:
            to = datetime.fromisoformat(body["to"])
        except ValueError:
            raise ValueError(f"to {body['to']!r} is not ISO 8601") from None
        if to.tzinfo is None:
            raise ValueError(f"to {body['to']!r} needs a UTC offset, e.g. 2025-03-04T10:00:00+11:00")
        now = to.timestamp()
    advance = _finite(body, "advance_seconds")
    if advance is not None:
        if advance < 0:
            raise ValueError(f"advance_seconds must be >= 0, got {advance:g}; use to to go back")
        try:
            datetime.fromtimestamp(now + advance, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"advance_seconds {advance:g} would move the clock past the year 9999") from None
    return speed, to, advance


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
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
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
        try:
            speed, to, advance = _clock_request(body, self.gw.clock.timestamp())
        except ValueError as exc:
            return _bad(f"{exc}; {example}")
        clock = self.gw.clock  # every part was checked above: apply all of it, in this order
        if speed is not None:
            clock.set_speed(speed)
        if to is not None:
            clock.jump(to)
        if advance is not None:
            clock.advance(advance)
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
