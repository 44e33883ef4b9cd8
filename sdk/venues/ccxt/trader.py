"""CcxtTrader: any ccxt exchange (Gemini by default) behind :class:`~sdk.base.BaseTrader`.

ccxt's async support does the work: its parsing, its rate limiter (always on), its errors, which pass
through unchanged (``InsufficientFunds``, ``InvalidOrder``, ``RateLimitExceeded`` ...). This class adds
what the SDK promises on every venue: canonical symbols only (spot markets such as ``BTC/USD``),
:meth:`CcxtTrader.fetch_instrument`, open orders limited to ours (``CLIENT_ORDER_PREFIX``), and
``create_order`` idempotent per client order id within the process.

Credentials come from ``CCXT_API_KEY`` / ``CCXT_SECRET`` (``SecretStr``); they are registered for log
redaction and never appear in ``repr``, logs or errors raised here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from ccxt.base.types import Balances, Market, Order, OrderBook, Position, Ticker, Trade

from sdk.base import OHLCV, BaseTrader, OrderSide, with_conveniences
from sdk.clock import Clock
from sdk.costs.model import FeeRates
from sdk.errors import BadSymbol, BaseError, InvalidOrder, NotSupported
from sdk.instruments import InstrumentSpec
from sdk.redaction import register_secret
from sdk.registry import register_venue_family
from sdk.settings import Settings
from sdk.symbols import parse_symbol
from sdk.venues.ccxt.holdings import holding_symbol, holdings_as_positions
from sdk.venues.ccxt.markets import fee_rates_from_market, instrument_from_market
from sdk.venues.ccxt.orders import ClientOrderRegistry, new_client_order_id

__all__ = ["CcxtTrader", "is_ccxt_exchange"]

log = logging.getLogger(__name__)

#: Order types of the SDK mapped to ccxt's (type, needs a trigger price).
_ORDER_TYPES: dict[str, tuple[str, bool]] = {
    "limit": ("limit", False),
    "market": ("market", False),
    "stop": ("market", True),
    "stop_limit": ("limit", True),
}


def is_ccxt_exchange(name: str) -> bool:
    """True when ``name`` is a ccxt exchange id (``ccxt.exchanges``)."""
    import ccxt  # deferred: ccxt is large

    return name in ccxt.exchanges


@register_venue_family(is_ccxt_exchange)
class CcxtTrader(BaseTrader):
    """A ccxt exchange in the SDK's shapes.

    Args:
        settings: supplies ``CCXT_EXCHANGE``, ``CCXT_API_KEY``, ``CCXT_SECRET``, ``CLIENT_ORDER_PREFIX``
            and ``IB_BASE_CURRENCY``.
        exchange_id: the ccxt id (``"gemini"``); default ``CCXT_EXCHANGE``.
        config: extra ccxt constructor options (``{"urls": ...}``, ``{"markets": ...}``, ``{"timeout": ms}``);
            ``enableRateLimit`` stays on whatever they say.

    Raises:
        NotSupported: ``exchange_id`` is not a ccxt exchange.

    ``has`` is ccxt's capability map of the exchange (``True`` for ``"emulated"``); ``id`` its ccxt id.
    """

    id: ClassVar[str] = "ccxt"
    has: ClassVar[Mapping[str, bool]] = {}

    def __init__(
        self,
        settings: Settings,
        exchange_id: str | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
    ):
        super().__init__(settings, clock=clock)
        import ccxt.async_support as ccxt_async  # deferred: loading every exchange class takes a moment

        venue = (exchange_id or settings.ccxt_exchange).lower()
        if venue not in ccxt_async.exchanges:
            raise NotSupported(f"{venue!r} is not a ccxt exchange id (ccxt.exchanges lists them, e.g. 'gemini')")
        options: dict[str, Any] = dict(config or {})
        for name, secret in (("apiKey", settings.ccxt_api_key), ("secret", settings.ccxt_secret)):
            if secret is not None:
                options[name] = secret.get_secret_value()
                register_secret(options[name])
        options["enableRateLimit"] = True
        self.exchange: Any = getattr(ccxt_async, venue)(options)
        if settings.ccxt_sandbox:
            try:
                self.exchange.set_sandbox_mode(True)
            except Exception as exc:  # ccxt raises NotSupported when the exchange has no test URLs
                raise NotSupported(
                    f"CCXT_SANDBOX=true but {venue} has no sandbox/testnet in ccxt ({exc}); set CCXT_SANDBOX=false "
                    "to use its real API (live: needs CCXT_ALLOW_LIVE=true and the live checklist)"
                ) from None
        self.id = venue  # type: ignore[misc]  # one class serves every ccxt id
        self.has = with_conveniences({k: v in (True, "emulated") for k, v in self.exchange.has.items()})  # type: ignore[misc]
        self._orders = ClientOrderRegistry()
        self._markets: dict[str, Market] | None = None
        self._markets_lock = asyncio.Lock()

    def mode_facts(self) -> dict[str, Any]:
        """What decides live or paper (:func:`sdk.venues.mode.venue_mode`): ccxt's sandbox/testnet switch
        (``CCXT_SANDBOX``); off means the exchange's real API."""
        return {"sandbox": bool(getattr(self.exchange, "isSandboxModeEnabled", False))}

    def __repr__(self) -> str:
        return f"CcxtTrader({self.id!r}, authenticated={bool(self.exchange.apiKey)})"

    # --- lifecycle -------------------------------------------------------------------------
    async def close(self) -> None:
        """Close ccxt's HTTP session. Idempotent."""
        await self.exchange.close()

    async def load_markets(self, reload: bool = False) -> dict[str, Market]:
        """Spot markets with canonical symbols (``BTC/USD``), in ccxt's market structure.

        Derivatives (``BTC/GUSD:GUSD``) and symbols outside the canonical form are left out.
        """
        async with self._markets_lock:
            if self._markets is None or reload:
                raw: Mapping[str, Market] = await self.exchange.load_markets(reload)
                self._markets = {s: m for s, m in raw.items() if m.get("spot") and _canonical(s)}
        return self._markets

    def _check_symbol(self, symbol: str) -> str:
        parse_symbol(symbol, default_quote=self.base_currency)
        return symbol

    # --- market data ---------------------------------------------------------------------
    async def fetch_time(self, params: dict[str, Any] | None = None) -> int:
        """The exchange's time, ms UTC (ccxt's ``fetch_time``).

        Raises:
            NotSupported: the exchange has no time endpoint (``has["fetchTime"]`` False).
        """
        if not self.exchange.has.get("fetchTime"):
            raise NotSupported(f"{self.id} has no fetchTime in ccxt; use the wall clock")
        return int(await self.exchange.fetch_time(params or {}))

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> Ticker:
        """ccxt ticker of a canonical spot ``symbol``; prices in the quote currency."""
        result: Ticker = await self.exchange.fetch_ticker(self._check_symbol(symbol), params or {})
        return result

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> OrderBook:
        """ccxt order book: ``bids`` descending and ``asks`` ascending ``[price, amount]`` rows."""
        result: OrderBook = await self.exchange.fetch_order_book(self._check_symbol(symbol), limit, params or {})
        return result

    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[OHLCV]:
        """Candles ``[timestamp_ms, open, high, low, close, volume]``, oldest first, one per timestamp."""
        rows = await self.exchange.fetch_ohlcv(self._check_symbol(symbol), timeframe, since, limit, params or {})
        unique = {int(row[0]): list(row) for row in rows}
        return [unique[ts] for ts in sorted(unique)]

    async def fetch_instrument(self, symbol: str) -> InstrumentSpec:
        """Tick (``precision.price`` in ccxt's precision mode), size step, minimum amount, and whether market
        orders are sent as such (``has["createMarketOrder"]``, Gemini's is False, and ``MARKET_ORDERS_AS_LIMITS``).

        Raises:
            BadSymbol: not canonical, or the venue lists no spot market ``symbol``.
            NotSupported: the market lacks the precision the risk layer needs.
        """
        return instrument_from_market(
            await self._market(symbol),
            venue=self.id,
            precision_mode=self.exchange.precisionMode,
            has=self.exchange.has,
            as_limits=self.settings.market_orders_as_limits,
        )

    async def fetch_fee_rates(self, symbol: str) -> FeeRates:
        """The market's maker/taker rates as ccxt states them (the CostTracker applies overrides)."""
        return fee_rates_from_market(await self._market(symbol), venue=self.id)

    async def _market(self, symbol: str) -> Market:
        self._check_symbol(symbol)
        markets = await self.load_markets()
        if symbol not in markets:
            self.exchange.market(symbol)  # ccxt's own BadSymbol when the venue does not list it
            raise BadSymbol(f"{self.id} lists {symbol} but not as a spot market; only spot markets trade here")
        return markets[symbol]

    # --- account -------------------------------------------------------------------------
    async def fetch_balance(self, params: dict[str, Any] | None = None) -> Balances:
        """ccxt balances (``free``/``used``/``total`` per currency)."""
        result: Balances = await self.exchange.fetch_balance(params or {})
        return result

    async def fetch_positions(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> list[Position]:
        """Positions: the venue's own when it has them, else spot holdings as long positions.

        A spot venue (Gemini) reports each non-fiat currency held as a long position in
        ``<CCY>/<base currency>`` or ``<CCY>/USD`` (the first listed), marked at its last price. ccxt's
        ``has["fetchPositions"]`` stays as ccxt says, so :meth:`get_equity` does not count holdings twice.
        """
        for symbol in symbols or []:
            self._check_symbol(symbol)
        if self.exchange.has.get("fetchPositions") is True:
            positions: list[Position] = await self.exchange.fetch_positions(symbols, params or {})
            return [p for p in positions if _canonical(str(p.get("symbol")))]
        markets = await self.load_markets()
        balance = await self.fetch_balance(params)
        quotes = (self.base_currency, "USD", "USDT", "USDC")
        totals: Mapping[str, Any] = balance.get("total") or {}
        held = {c: s for c in totals if (s := holding_symbol(c, markets, quotes)) and (not symbols or s in symbols)}
        tickers = await asyncio.gather(*(self.fetch_ticker(s) for s in held.values()))
        marks = {t["symbol"]: _mark(t) for t in tickers}
        positions = holdings_as_positions(balance, markets, marks, preferred_quotes=quotes)
        return [p for p in positions if not symbols or p["symbol"] in symbols]

    # --- orders --------------------------------------------------------------------------
    async def create_order(
        self,
        symbol: str,
        type: str,
        side: OrderSide,
        amount: float,
        price: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> Order:
        """Place an order; idempotent per ``params["clientOrderId"]`` within this process.

        Args:
            symbol: canonical spot symbol.
            type: ``limit``, ``market``, ``stop`` (market on trigger) or ``stop_limit``; a trigger price goes
                in ``params["triggerPrice"]`` (``stopPrice`` is accepted too).
            side: ``buy`` or ``sell``.
            amount: base units.
            price: quote currency per base unit (limit and stop-limit orders).
            params: ``clientOrderId`` (default: a new id with ``CLIENT_ORDER_PREFIX``), ``timeInForce``,
                ``postOnly``, other ccxt params. ``reduceOnly`` is dropped on venues without reduce-only
                orders (spot): the RiskManager enforces it before any order reaches here.

        Returns:
            ccxt's order structure; a repeat with an accepted id returns that order without sending.

        Raises:
            InvalidOrder: unknown ``type``, a stop without trigger price, or a bad client order id.
            DuplicateOrderId: an earlier attempt with this id has an unknown outcome and is not found.
            ccxt errors from the venue, unchanged (Gemini refuses market orders with ``ExchangeError``).
        """
        self._check_symbol(symbol)
        extra = dict(params or {})
        client_order_id = extra.pop("clientOrderId", None) or new_client_order_id(self.settings.client_order_prefix)
        if not isinstance(client_order_id, str) or not 0 < len(client_order_id) <= 64:
            raise InvalidOrder(f"clientOrderId must be a string of 1-64 characters, got {client_order_id!r}")
        if type not in _ORDER_TYPES:
            raise InvalidOrder(f"order type {type!r} is not one of {', '.join(_ORDER_TYPES)}")
        ccxt_type, needs_trigger = _ORDER_TYPES[type]
        trigger = extra.pop("triggerPrice", None) or extra.pop("stopPrice", None)
        if needs_trigger and trigger is None:
            raise InvalidOrder(f"a {type} order needs params['triggerPrice'] (the stop price, in the quote currency)")
        if trigger is not None:
            extra["triggerPrice"] = trigger
        if extra.get("reduceOnly") and not self.has.get("createReduceOnlyOrder"):
            extra.pop("reduceOnly")
            log.debug("reduceOnly dropped: venue has no reduce-only orders", extra={"venue": self.id})
        extra["clientOrderId"] = client_order_id

        async def send() -> Order:
            return await self.exchange.create_order(symbol, ccxt_type, side, amount, price, extra)

        async def find(cid: str) -> Order | None:
            return await self._find_by_client_order_id(symbol, cid)

        order = await self._orders.submit(client_order_id, send, find)
        if not order.get("clientOrderId"):
            order["clientOrderId"] = client_order_id
        log.info(
            "order accepted",
            extra={"venue": self.id, "symbol": symbol, "side": side, "type": type, "amount": amount,
                   "price": price, "clientOrderId": client_order_id, "order_id": order.get("id")},
        )  # fmt: skip
        return order

    async def _find_by_client_order_id(self, symbol: str, client_order_id: str) -> Order | None:
        for order in await self.fetch_open_orders(symbol):
            if order.get("clientOrderId") == client_order_id:
                return order
        if not self.has.get("fetchMyTrades"):
            return None
        for trade in await self.fetch_my_trades(symbol):
            info = trade.get("info") or {}
            if client_order_id in (info.get("client_order_id"), info.get("clientOrderId")) and trade.get("order"):
                order = await self.fetch_order(str(trade["order"]), symbol)
                return order
        return None

    async def cancel_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """Cancel by venue order id; returns ccxt's order as the venue reports it."""
        result: Order = await self.exchange.cancel_order(id, symbol and self._check_symbol(symbol), params or {})
        return result

    async def fetch_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """One order by venue id; ccxt's ``OrderNotFound`` when the venue does not know it."""
        result: Order = await self.exchange.fetch_order(id, symbol and self._check_symbol(symbol), params or {})
        return result

    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Order]:
        """Open orders placed by this SDK: client order id starting with ``CLIENT_ORDER_PREFIX``."""
        orders = await self.exchange.fetch_open_orders(
            symbol and self._check_symbol(symbol), since, limit, params or {}
        )
        prefix = self.settings.client_order_prefix
        return [o for o in orders if str(o.get("clientOrderId") or "").startswith(prefix)]

    async def fetch_closed_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Order]:
        """Finished orders placed by this SDK, from the exchange's ``fetch_closed_orders``.

        Raises:
            NotSupported: the exchange has no ``fetchClosedOrders`` in ccxt; use ``fetch_order``.
        """
        if not self.exchange.has.get("fetchClosedOrders"):
            raise NotSupported(f"{self.id} has no fetchClosedOrders in ccxt; use fetch_order with the order's id")
        orders = await self.exchange.fetch_closed_orders(
            symbol and self._check_symbol(symbol), since, limit, params or {}
        )
        prefix = self.settings.client_order_prefix
        return [o for o in orders if str(o.get("clientOrderId") or "").startswith(prefix)]

    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Trade]:
        """Own fills, oldest first; ``fee.cost`` None while the venue has not stated it."""
        trades: list[Trade] = await self.exchange.fetch_my_trades(
            symbol and self._check_symbol(symbol), since, limit, params or {}
        )
        return sorted(trades, key=lambda t: (t.get("timestamp") or 0, str(t.get("id"))))


def _canonical(symbol: str) -> bool:
    try:
        parse_symbol(symbol)
    except BaseError:
        return False
    return True


def _mark(ticker: Ticker) -> float | None:
    last = ticker.get("last")
    if last:
        return float(last)
    bid, ask = ticker.get("bid"), ticker.get("ask")
    return (float(bid) + float(ask)) / 2 if bid and ask else None
