"""A fake Gemini on a real loopback socket, and CcxtTrader fixtures that talk to it through ccxt.

The fake checks what Gemini checks (HMAC-SHA384 signature of the base64 payload with the API secret,
the ``request`` path, a strictly increasing nonce) and answers from ``fixtures/gemini_private.json``
(documented Gemini responses, each with its source) and ccxt's static Gemini fixtures
(``../shared/data/ccxt_static``). It keeps its own orders so idempotency and reconciliation can be seen
from the venue's side (``new_order_requests``).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from sdk.settings import Settings, load_settings
from sdk.venues.ccxt import CcxtTrader

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "gemini_private.json").read_text())
API_KEY = "account-Tz7q9wK1nB4xPz0d"
API_SECRET = "3fWqmZ8hJ2yRk5Vn9LsCtX4b"


@pytest.fixture(scope="session")
def ccxt_static(shared_data: Path) -> dict[str, Any]:
    """ccxt's own static Gemini fixtures: ``{"markets": ..., "response": ..., "request": ...}``."""
    root = shared_data / "ccxt_static"
    return {kind: json.loads((root / kind / "gemini.json").read_text()) for kind in ("markets", "response", "request")}


class FakeGemini:
    """Gemini's REST API, the parts the SDK uses, served on 127.0.0.1 (port chosen by the OS)."""

    def __init__(self, static: dict[str, Any]) -> None:
        self.static = static
        self.orders: dict[str, dict[str, Any]] = {}
        self.trades: list[dict[str, Any]] = list(copy.deepcopy(FIXTURES["mytrades"]["response"]))
        self.new_order_requests: list[dict[str, Any]] = []
        self.last_nonce = 0
        self.next_order_id = 900_000_001
        self.delay_new_order = 0.0  # seconds the answer to /v1/order/new is held back (after booking)
        self.book_new_order = True  # False: a held-back order is never booked (it never reached the book)
        self.fill_new_orders = False  # True: new orders fill at once (not live; a trade is recorded)
        self.fail_next: str | None = None  # a FIXTURES key of an error to answer the next private call with
        self.url = ""
        self._runner: web.AppRunner | None = None

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v1/pubticker/{symbol}", self.pubticker)
        app.router.add_get("/v1/book/{symbol}", self.book)
        app.router.add_post("/v1/{path:.+}", self.private)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- public ------------------------------------------------------------------------
    async def pubticker(self, request: web.Request) -> web.Response:
        tickers = {"btcusd": 0, "btcusdt": 0, "usdcusd": 1}  # ccxt's static tickers (BTC/USDT serves btcusd too)
        index = tickers.get(request.match_info["symbol"])
        if index is None:
            return web.json_response(
                {"result": "error", "reason": "InvalidSymbol", "message": "bad symbol"}, status=400
            )
        return web.json_response(self.static["response"]["methods"]["fetchTicker"][index]["httpResponse"])

    async def book(self, request: web.Request) -> web.Response:
        return web.json_response(FIXTURES["order_book"]["response"])

    # --- private -----------------------------------------------------------------------
    def _authenticate(self, request: web.Request) -> dict[str, Any] | web.Response:
        payload = request.headers.get("X-GEMINI-PAYLOAD", "")
        expected = hmac.new(API_SECRET.encode(), payload.encode(), hashlib.sha384).hexdigest()
        if request.headers.get("X-GEMINI-APIKEY") != API_KEY:
            return self._error("InvalidApiKey", "Invalid API key", 400)
        if not hmac.compare_digest(request.headers.get("X-GEMINI-SIGNATURE", ""), expected):
            return self._error("InvalidSignature", "InvalidSignature", 400)
        body = json.loads(base64.b64decode(payload))
        if body.get("request") != request.path:
            return self._error("EndpointMismatch", "EndpointMismatch", 400)
        nonce = int(body["nonce"])
        if nonce <= self.last_nonce:
            return self._error("InvalidNonce", f"Nonce {nonce} not increasing", 400)
        self.last_nonce = nonce
        return body

    @staticmethod
    def _error(reason: str, message: str, status: int) -> web.Response:
        return web.json_response({"result": "error", "reason": reason, "message": message}, status=status)

    async def private(self, request: web.Request) -> web.StreamResponse:
        body = self._authenticate(request)
        if isinstance(body, web.Response):
            return body
        if request.path == "/v1/order/new":
            self.new_order_requests.append(body)
        if self.fail_next:
            error, self.fail_next = FIXTURES[self.fail_next], None
            return web.json_response(error["response"], status=error["status"])
        handler: Callable[[dict[str, Any]], Any] | None = {
            "/v1/balances": lambda b: FIXTURES["balances"]["response"],
            "/v1/orders": lambda b: (
                [FIXTURES["foreign_open_order"]["response"]] + [o for o in self.orders.values() if o["is_live"]]
            ),
            "/v1/order/status": self._status,
            "/v1/order/cancel": self._cancel,
            "/v1/mytrades": lambda b: [t for t in self.trades if t["symbol"].lower() == b.get("symbol")][::-1],
        }.get(request.path)
        if request.path == "/v1/order/new":
            return await self._new_order(body)
        if handler is None:
            return self._error("EndpointNotFound", request.path, 404)
        result = handler(body)
        return result if isinstance(result, web.Response) else web.json_response(result)

    async def _new_order(self, body: dict[str, Any]) -> web.Response:
        order = copy.deepcopy(FIXTURES["order_status"]["response"])
        order_id = str(self.next_order_id)
        self.next_order_id += 1
        filled = self.fill_new_orders
        order.update(
            order_id=order_id, id=order_id, client_order_id=body["client_order_id"], symbol=body["symbol"],
            side=body["side"], price=body["price"], original_amount=body["amount"],
            remaining_amount="0" if filled else body["amount"], executed_amount=body["amount"] if filled else "0",
            avg_execution_price=body["price"] if filled else "0.00", is_live=not filled,
            timestamp="1710328245", timestampms=1710328245123, options=body.get("options", []),
        )  # fmt: skip
        if self.book_new_order:
            self.orders[order_id] = order
            if filled:
                self.trades.append(
                    {"price": body["price"], "amount": body["amount"], "timestamp": 1710328245,
                     "timestampms": 1710328245200, "type": body["side"].title(), "aggressor": True,
                     "fee_currency": "USD", "fee_amount": "1.00", "tid": int(order_id) + 5, "order_id": order_id,
                     "exchange": "gemini", "is_auction_fill": False, "is_clearing_fill": False,
                     "symbol": body["symbol"].upper(), "client_order_id": body["client_order_id"]}
                )  # fmt: skip
        if self.delay_new_order:
            await asyncio.sleep(self.delay_new_order)
        return web.json_response(order)

    def _status(self, body: dict[str, Any]) -> Any:
        order = self.orders.get(str(body.get("order_id")))
        if order is None:
            error = FIXTURES["error_order_not_found"]
            return web.json_response(error["response"], status=error["status"])
        return order

    def _cancel(self, body: dict[str, Any]) -> Any:
        order = self._status(body)
        if isinstance(order, dict):
            order.update(is_live=False, is_cancelled=True, reason="Requested")
        return order


@pytest.fixture
async def gemini(ccxt_static: dict[str, Any]) -> AsyncIterator[FakeGemini]:
    """A running fake Gemini."""
    server = FakeGemini(ccxt_static)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _settings(**overrides: Any) -> Settings:
    return load_settings(ccxt_api_key=API_KEY, ccxt_secret=API_SECRET, **overrides)


TraderFactory = Callable[..., CcxtTrader]


@pytest.fixture
def gemini_credentials() -> tuple[str, str]:
    """The fake Gemini's API key and secret (what CCXT_API_KEY / CCXT_SECRET hold in these tests)."""
    return API_KEY, API_SECRET


@pytest.fixture
def make_trader(ccxt_static: dict[str, Any]) -> TraderFactory:
    """``make_trader(url, settings=None, **ccxt_config)``: a Gemini CcxtTrader pointed at ``url`` with ccxt's
    static Gemini markets preloaded and the fake's credentials. ``rateLimit`` is shortened for test speed;
    the limiter itself stays on."""

    def build(url: str, settings: Settings | None = None, **config: Any) -> CcxtTrader:
        options = {"markets": ccxt_static["markets"], "urls": {"api": {"public": url, "private": url}},
                   "rateLimit": 5, "timeout": 3000}  # fmt: skip
        options.update(config)
        return CcxtTrader(settings or _settings(), "gemini", config=options)

    return build


@pytest.fixture
async def trader(gemini: FakeGemini, make_trader: TraderFactory) -> AsyncIterator[CcxtTrader]:
    """A connected CcxtTrader talking to the fake Gemini over loopback."""
    async with make_trader(gemini.url) as venue:
        yield venue
