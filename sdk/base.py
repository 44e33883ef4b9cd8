"""The SDK contract: :class:`BaseTrader`, one async interface in ccxt's unified shapes for every venue.

Primitives keep ccxt's unified names and return ccxt's structures (``ccxt.base.types``); each venue
implements them. Derived helpers (:meth:`BaseTrader.get_market_data`, :meth:`BaseTrader.get_equity`,
:meth:`BaseTrader.get_trades_from_timestamp`, :meth:`BaseTrader.fetch_fx_rate`) are written once
here on top of the primitives. Errors are ccxt's (:mod:`sdk.errors`).

Conventions (ccxt's): ``symbol`` is canonical (``BHP/AUD``); ``amount`` is in units of the base
(shares for a stock, base currency for FX); ``price`` is in the quote currency per unit;
``timestamp`` is integer milliseconds since the epoch, UTC; OHLCV rows are
``[timestamp_ms, open, high, low, close, volume]``.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, Self, TypedDict

from ccxt.base.types import Balances, Market, Order, OrderBook, Position, Ticker, Trade

from sdk.clock import Clock, SystemClock
from sdk.errors import ArgumentsRequired, FxRateUnavailable, InvalidOrder, NotSupported
from sdk.symbols import parse_symbol

if TYPE_CHECKING:
    from sdk.costs.model import FeeRates
    from sdk.instruments import InstrumentSpec
    from sdk.settings import Settings

__all__ = [
    "CONVENIENCES", "OHLCV", "BaseTrader", "MarketData", "OrderSide", "OrderTypeName", "market_data_from",
    "with_conveniences",
]  # fmt: skip

log = logging.getLogger(__name__)

OHLCV = list[float]  # [timestamp_ms, open, high, low, close, volume]
OrderSide = Literal["buy", "sell"]
OrderTypeName = Literal["limit", "market", "stop", "stop_limit"]


class MarketData(TypedDict):
    """A compact top-of-book view of one symbol (prices in the quote currency).

    ``price``: last trade, else the bid/ask midpoint. ``bid_size``/``ask_size``: base units at the
    best bid/ask. ``volume``: base units traded today. ``spread_pct``: (ask - bid) / mid × 100.
    ``ob_imbalance``: (bid_size - ask_size) / (bid_size + ask_size), in [-1, 1].
    ``timestamp``: milliseconds UTC of the quote.
    """

    symbol: str
    timestamp: int | None
    price: float | None
    bid: float | None
    ask: float | None
    bid_size: float | None
    ask_size: float | None
    volume: float | None
    spread_pct: float | None
    ob_imbalance: float | None


class Connectivity(Protocol):
    """One change in a venue session's connectivity, as :meth:`BaseTrader.add_connectivity_listener` reports it.

    ``kind``: ``connected``, ``disconnected``, ``reconnecting``, ``reconnected``, ``resynced`` (safe to trade again;
    ``detail`` the reason: ``connect``, ``reconnect``, ``data_lost``), ``resync_failed``, ``health``, ``data_lost``,
    ``client_id`` or ``closed``; ``health`` the session's health after it (its ``str`` is the name); ``detail`` more
    words; ``at`` the venue's time, epoch seconds.
    """

    @property
    def kind(self) -> str: ...

    @property
    def health(self) -> object: ...

    @property
    def detail(self) -> str: ...

    @property
    def at(self) -> float: ...


class BaseTrader(abc.ABC):
    """An async venue in ccxt's shapes; an async context manager that connects and closes.

    Subclasses set :attr:`id` and :attr:`has`, implement the abstract primitives, and register
    themselves with :func:`sdk.registry.register_venue`.

    Example::

        async with create_trader("IB") as trader:
            ticker = await trader.fetch_ticker("BHP/AUD")
            equity_aud = await trader.get_equity()
    """

    #: The venue id: ``"IB"`` or a ccxt exchange id.
    id: ClassVar[str] = ""
    #: ccxt-style capabilities: ``{"fetchOHLCV": True, "createStopOrder": False, ...}``.
    has: ClassVar[Mapping[str, bool]] = {}
    #: Currencies tried as a bridge when no direct quote exists (``BTC -> USD -> AUD``).
    fx_bridge_currencies: ClassVar[tuple[str, ...]] = ("USD",)
    #: Currencies the venue may charge fees in whatever the instrument's quote (IB: USD, for IDEALPRO and US
    #: commissions); the RiskManager needs their FX rate into the base currency.
    fee_currencies: ClassVar[tuple[str, ...]] = ()
    #: Whose time a runner on this venue follows by default (``trader run --clock``): ``"wall"``, or ``"venue"``
    #: for a venue whose time may not be the wall clock's (IB: the offline gateway replays another day at another
    #: speed, and answers ``reqCurrentTime`` in that time).
    default_clock: ClassVar[Literal["wall", "venue"]] = "wall"

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.fx_fallback: BaseTrader | None = None
        #: The venue's time: every timestamp this trader puts in a payload, and "now" for whoever trades
        #: through it (the wall clock unless the venue has its own: IB's follows ``reqCurrentTime``, so the
        #: offline gateway's replayed day).
        self.clock: Clock = clock or SystemClock()

    @property
    def base_currency(self) -> str:
        """The account's base currency (``IB_BASE_CURRENCY``, AUD by default)."""
        return self.settings.base_currency

    # --- optional capabilities: what the apps may ask of any venue (``has`` says which are real) -------------
    @property
    def account_id(self) -> str | None:
        """The venue account orders go to (IB: the managed account the session holds, else ``IB_ACCOUNT_ID``;
        ``has["accountId"]``); None for a venue with one account per API key (ccxt), or before it is known."""
        return None

    @property
    def client_id(self) -> int | None:
        """The API client id the session holds (IB's ``clientId``; ``has["clientId"]``); None for a venue
        without client ids."""
        return None

    async def fetch_time(self, params: dict[str, Any] | None = None) -> int:
        """ccxt's ``fetch_time``: the venue's time now, ms UTC (``has["fetchTime"]``).

        Raises:
            NotSupported: the venue does not say its time; use the wall clock (``--clock wall``).
        """
        raise NotSupported(f"{self.id} does not report its time (has['fetchTime'] is False); use the wall clock")

    async def fetch_account_summary(self) -> dict[str, float]:
        """The venue's headline account values in the base currency (IB: ``NetLiquidation``, ``AvailableFunds``,
        ``BuyingPower`` ...; ``has["fetchAccountSummary"]``).

        Raises:
            NotSupported: the venue reports no such summary (ccxt venues: use ``fetch_balance``).
        """
        raise NotSupported(f"{self.id} reports no account summary; use fetch_balance")

    def mode_facts(self) -> dict[str, Any]:
        """The facts that decide live or paper (:func:`sdk.venues.mode.venue_mode`): IB's port, account and
        whether the session is the offline gateway; a ccxt venue's ``sandbox``. Empty when the venue states none
        (the settings decide)."""
        return {}

    async def fetch_fee_rates(self, symbol: str) -> FeeRates:
        """The venue's maker/taker rates for ``symbol`` (ccxt venues: the market's ``maker``/``taker``).

        Raises:
            NotSupported: the venue's costs follow a schedule instead (IB: :mod:`sdk.costs.schedules`).
        """
        raise NotSupported(f"{self.id} states no fee rates; its costs follow a commission schedule")

    async def fetch_trades(
        self, symbol: str, since: int | None = None, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> list[Trade]:
        """ccxt's ``fetch_trades``: public trades of ``symbol`` (``has["fetchTrades"]``).

        Raises:
            NotSupported: the venue publishes no public trades through this SDK.
        """
        raise NotSupported(f"{self.id} publishes no public trades through this SDK; use fetch_ticker or 1m candles")

    async def fetch_closed_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Order]:
        """ccxt's ``fetch_closed_orders``: finished orders of this SDK (closed, canceled, rejected, expired), oldest
        first (``has["fetchClosedOrders"]``).

        Raises:
            NotSupported: the venue does not list finished orders; use ``fetch_order`` with the order's id.
        """
        raise NotSupported(f"{self.id} has no fetch_closed_orders; use fetch_order with the order's id")

    def add_connectivity_listener(self, listener: Callable[[Connectivity], None]) -> Callable[[], None]:
        """Call ``listener`` with each change in the venue session's connectivity (an event with ``kind``,
        ``health``, ``detail`` and ``at``, the venue's epoch seconds; ``has["connectivityEvents"]``); returns the
        function that removes it. A venue without a session (HTTP per request) has no such events: a no-op."""
        return lambda: None

    async def maybe_reconnect(self) -> bool:
        """For a health circuit: reconnect now if the session is down or silent; True when ready after. A venue
        without a session is always ready."""
        return True

    # --- lifecycle ---------------------------------------------------------------------------
    async def connect(self) -> None:
        """Open the venue session and load markets. Idempotent."""
        await self.load_markets()

    async def close(self) -> None:  # noqa: B027 - optional hook, a no-op for stateless venues
        """Close the venue session and release its resources. Idempotent."""

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- primitives (ccxt unified names) ----------------------------------------------------
    @abc.abstractmethod
    async def load_markets(self, reload: bool = False) -> dict[str, Market]:
        """Markets keyed by canonical symbol, in ccxt's market structure."""

    @abc.abstractmethod
    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> Ticker:
        """A ccxt ticker; prices in the quote currency, volumes in base units."""

    @abc.abstractmethod
    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> OrderBook:
        """A ccxt order book: ``bids`` descending and ``asks`` ascending ``[price, amount]`` rows."""

    @abc.abstractmethod
    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[OHLCV]:
        """Candles ``[timestamp_ms, open, high, low, close, volume]``, oldest first, no duplicates."""

    @abc.abstractmethod
    async def fetch_balance(self, params: dict[str, Any] | None = None) -> Balances:
        """ccxt balances: ``{"AUD": {"free", "used", "total"}, ..., "free": {...}, "used": {...}, "total": {...}}``."""

    @abc.abstractmethod
    async def fetch_positions(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> list[Position]:
        """ccxt positions; notional and PnL in the position's quote currency."""

    @abc.abstractmethod
    async def create_order(
        self,
        symbol: str,
        type: str,
        side: OrderSide,
        amount: float,
        price: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> Order:
        """Place an order; ``params={"clientOrderId": ...}`` makes a retry with that id idempotent."""

    @abc.abstractmethod
    async def cancel_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """Cancel an order by venue id; returns the order as last known."""

    @abc.abstractmethod
    async def fetch_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """One order by venue id; raises ``OrderNotFound`` when the venue does not know it."""

    @abc.abstractmethod
    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Order]:
        """Open orders placed by this SDK (client order id with ``CLIENT_ORDER_PREFIX``)."""

    @abc.abstractmethod
    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Trade]:
        """Own fills, oldest first; ``fee`` is None while the venue's cost is still pending."""

    @abc.abstractmethod
    async def fetch_instrument(self, symbol: str) -> InstrumentSpec:
        """Tick ladder, size increment, market hours and order-type rules of ``symbol``.

        Raises:
            BadSymbol: the venue does not list ``symbol``.
        """

    async def order_never_received(self, client_order_id: str) -> bool | None:
        """Whether the venue provably never received the order ``client_order_id`` (sent by an ended process and
        never acknowledged): True proven absent, False the venue has it, None cannot be proven (the default:
        a venue that cannot list every order it holds proves nothing, so nothing is ever re-sent on a guess).
        ``has["orderNeverReceived"]`` says whether a venue can prove it."""
        return None

    async def fetch_head_timestamp(self, symbol: str, params: dict[str, Any] | None = None) -> int | None:
        """The time of the first bar the venue holds for ``symbol`` (ms UTC; IB's ``reqHeadTimeStamp``), None when
        the venue does not say. ``params``: ``whatToShow``, ``useRTH`` as for :meth:`fetch_ohlcv`.

        Raises:
            BadSymbol: the venue does not list ``symbol``.
        """
        return None

    def ohlcv_request_span(self, timeframe: str) -> int | None:
        """The longest span, in seconds, one history request to this venue covers for ``timeframe`` (IB: its
        valid duration table, ``sdk.venues.ib.timeframes``); None when the venue states no such limit.

        Raises:
            BadRequest: a timeframe the venue does not serve (the message lists the ones it does).
        """
        return None

    # --- ccxt's unified conveniences, written once over the primitives ----------------------
    async def create_limit_order(
        self, symbol: str, side: OrderSide, amount: float, price: float, params: dict[str, Any] | None = None
    ) -> Order:
        """ccxt's ``create_limit_order``: :meth:`create_order` with ``type="limit"``."""
        return await self.create_order(symbol, "limit", side, amount, price, params)

    async def create_market_order(
        self, symbol: str, side: OrderSide, amount: float, price: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> Order:  # fmt: skip
        """ccxt's ``create_market_order``: :meth:`create_order` with ``type="market"`` (``price`` is ignored by
        venues that fill at the market, as in ccxt)."""
        return await self.create_order(symbol, "market", side, amount, price, params)

    async def create_limit_buy_order(
        self, symbol: str, amount: float, price: float, params: dict[str, Any] | None = None
    ) -> Order:
        """ccxt's ``create_limit_buy_order``: ``amount`` base units at ``price`` (quote currency)."""
        return await self.create_order(symbol, "limit", "buy", amount, price, params)

    async def create_limit_sell_order(
        self, symbol: str, amount: float, price: float, params: dict[str, Any] | None = None
    ) -> Order:
        """ccxt's ``create_limit_sell_order``: ``amount`` base units at ``price`` (quote currency)."""
        return await self.create_order(symbol, "limit", "sell", amount, price, params)

    async def create_market_buy_order(self, symbol: str, amount: float, params: dict[str, Any] | None = None) -> Order:
        """ccxt's ``create_market_buy_order``: ``amount`` base units at the market."""
        return await self.create_order(symbol, "market", "buy", amount, None, params)

    async def create_market_sell_order(self, symbol: str, amount: float, params: dict[str, Any] | None = None) -> Order:
        """ccxt's ``create_market_sell_order``: ``amount`` base units at the market."""
        return await self.create_order(symbol, "market", "sell", amount, None, params)

    async def create_stop_order(
        self, symbol: str, type: str, side: OrderSide, amount: float, price: float | None = None,
        triggerPrice: float | None = None, params: dict[str, Any] | None = None,
    ) -> Order:  # fmt: skip
        """ccxt's ``create_stop_order``: a stop that becomes a ``type`` order (``market``: a stop, ``limit``: a
        stop-limit at ``price``) when the market trades through ``triggerPrice`` (quote currency).

        Raises:
            ArgumentsRequired: no ``triggerPrice``. InvalidOrder: ``type`` is neither market nor limit.
        """
        if triggerPrice is None:
            raise ArgumentsRequired(f"{self.id} create_stop_order needs triggerPrice, the price that triggers it")
        kinds = {"market": "stop", "limit": "stop_limit"}
        if type not in kinds:
            raise InvalidOrder(f"create_stop_order type {type!r}: use 'market' (a stop) or 'limit' (a stop-limit)")
        return await self.create_order(
            symbol, kinds[type], side, amount, price, {**(params or {}), "stopPrice": triggerPrice}
        )

    async def create_stop_limit_order(
        self, symbol: str, side: OrderSide, amount: float, price: float, triggerPrice: float,
        params: dict[str, Any] | None = None,
    ) -> Order:  # fmt: skip
        """ccxt's ``create_stop_limit_order``: a limit at ``price`` once ``triggerPrice`` trades (quote currency)."""
        return await self.create_stop_order(symbol, "limit", side, amount, price, triggerPrice, params)

    async def create_stop_market_order(
        self, symbol: str, side: OrderSide, amount: float, triggerPrice: float, params: dict[str, Any] | None = None
    ) -> Order:
        """ccxt's ``create_stop_market_order``: at the market once ``triggerPrice`` trades (quote currency)."""
        return await self.create_stop_order(symbol, "market", side, amount, None, triggerPrice, params)

    async def fetch_tickers(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Ticker]:
        """ccxt's ``fetch_tickers``: ``{symbol: Ticker}`` for ``symbols``, fetched concurrently.

        Raises:
            ArgumentsRequired: ``symbols`` is None or empty (IB has no "every ticker" request; name them).
            BadSymbol: one of them is not listed (nothing partial is returned).
        """
        if not symbols:
            raise ArgumentsRequired(
                f"{self.id} fetch_tickers needs the symbols, e.g. fetch_tickers(['BHP/AUD', 'CBA/AUD'])"
            )
        unique = list(dict.fromkeys(symbols))
        tickers = await asyncio.gather(*(self.fetch_ticker(s, params) for s in unique))
        return dict(zip(unique, tickers, strict=True))

    async def cancel_all_orders(self, symbol: str | None = None, params: dict[str, Any] | None = None) -> list[Order]:
        """ccxt's ``cancel_all_orders``: cancel every open order this SDK placed (of ``symbol``, or all), one
        :meth:`cancel_order` each; returns the cancelled orders. Orders of other programs on the account
        (another client order id prefix) are left alone, as :meth:`fetch_open_orders` lists only ours."""
        orders = await self.fetch_open_orders(symbol)
        return [await self.cancel_order(str(o["id"]), o.get("symbol"), params) for o in orders]

    async def fetch_order_trades(
        self, id: str, symbol: str | None = None, since: int | None = None, limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Trade]:  # fmt: skip
        """ccxt's ``fetch_order_trades``: the fills of one order (venue id or client order id), oldest first."""
        order = await self.fetch_order(id, symbol, params)
        ids = {str(order.get("id")), str(order.get("clientOrderId"))}
        trades = await self.fetch_my_trades(order.get("symbol") or symbol, since, None, params)
        mine = [t for t in trades if str(t.get("order")) in ids or str(t.get("clientOrderId")) in ids]
        return mine[:limit] if limit else mine

    # --- derived helpers, written once for every venue --------------------------------------
    async def fetch_fx_rate(self, base: str, quote: str) -> float:
        """Units of ``quote`` per one unit of ``base`` (``fetch_fx_rate("USD", "AUD")`` ~ 1.5).

        Tries, in order: the identity; a direct market ``BASE/QUOTE`` (mid of bid/ask, else last);
        the inverse market; a bridge through :attr:`fx_bridge_currencies`; then
        :attr:`fx_fallback` (another venue). Venues with their own FX cache override this.

        Raises:
            FxRateUnavailable: no quote anywhere. Never answers a silent 1.0.
        """
        if base == quote:
            return 1.0
        rate = await self._direct_rate(base, quote)
        if rate is not None:
            return rate
        for bridge in self.fx_bridge_currencies:
            if bridge in (base, quote):
                continue
            first = await self._direct_rate(base, bridge)
            second = await self._direct_rate(bridge, quote) if first is not None else None
            if first is not None and second is not None:
                return first * second
        if self.fx_fallback is not None and self.fx_fallback is not self:
            return await self.fx_fallback.fetch_fx_rate(base, quote)
        raise FxRateUnavailable(
            f"{self.id}: no quote to convert {base} to {quote}; add a {base}/{quote} market or set an FX fallback venue"
        )

    async def _direct_rate(self, base: str, quote: str) -> float | None:
        markets = await self.load_markets()
        for symbol, invert in ((f"{base}/{quote}", False), (f"{quote}/{base}", True)):
            if symbol not in markets:
                continue
            ticker = await self.fetch_ticker(symbol)
            price = _mid(ticker) or ticker.get("last")
            if price:
                return 1.0 / float(price) if invert else float(price)
        return None

    async def get_market_data(self, symbol: str) -> MarketData:
        """Top of book, last price, sizes, volume, spread % and order-book imbalance for ``symbol``.

        Uses the ticker, and the order book's top level when the ticker lacks sizes.
        """
        parse_symbol(symbol, default_quote=self.base_currency)
        ticker = await self.fetch_ticker(symbol)
        book = None
        if (ticker.get("bidVolume") is None or ticker.get("askVolume") is None) and self.has.get("fetchOrderBook"):
            book = await self.fetch_order_book(symbol, limit=1)
        return market_data_from(symbol, ticker, book)

    async def get_equity(self) -> float:
        """Account equity in the base currency (AUD by default).

        Cash of every currency plus the market value of held positions (shorts subtract), each
        converted with :meth:`fetch_fx_rate`. Venues that report net liquidation directly override.

        Raises:
            FxRateUnavailable: a currency held has no quote to the base currency.
        """
        balance = await self.fetch_balance()
        totals: Mapping[str, Any] = balance.get("total") or {}
        equity = 0.0
        for currency, amount in totals.items():
            if amount:
                equity += float(amount) * await self.fetch_fx_rate(currency, self.base_currency)
        if self.has.get("fetchPositions"):
            for position in await self.fetch_positions():
                equity += await self._position_value(position)
        return equity

    async def _position_value(self, position: Position) -> float:
        contracts = abs(float(position.get("contracts") or 0))
        mark = position.get("markPrice")
        if not contracts or mark is None:
            return 0.0
        size = float(position.get("contractSize") or 1)
        sign = -1.0 if position.get("side") == "short" else 1.0
        quote = parse_symbol(position["symbol"], default_quote=self.base_currency).quote
        value = sign * contracts * size * float(mark)
        return value * await self.fetch_fx_rate(quote, self.base_currency)

    async def get_trades_from_timestamp(
        self, since: int, symbol: str | None = None, page_size: int = 100, max_pages: int = 1000
    ) -> list[Trade]:
        """Every own fill at or after ``since`` (ms UTC), oldest first, each once.

        Pages through :meth:`fetch_my_trades`; a page that brings no new trade id ends the walk, and
        ``max_pages`` bounds it (logged, never silent).
        """
        seen: dict[str, Trade] = {}
        cursor = since
        for _ in range(max_pages):
            page = await self.fetch_my_trades(symbol, since=cursor, limit=page_size)
            fresh = [t for t in page if str(t.get("id")) not in seen]
            for trade in fresh:
                seen[str(trade.get("id"))] = trade
            if not fresh or len(page) < page_size:
                break
            cursor = max(int(t.get("timestamp") or cursor) for t in page)
        else:
            log.warning("trade pagination stopped at max_pages", extra={"venue": self.id, "max_pages": max_pages})
        return sorted(seen.values(), key=lambda t: (t.get("timestamp") or 0, str(t.get("id"))))


#: ccxt's conveniences :class:`BaseTrader` writes once, and the primitives (``has`` keys) each needs.
CONVENIENCES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ("createLimitOrder", "createMarketOrder", "createLimitBuyOrder", "createLimitSellOrder",
         "createMarketBuyOrder", "createMarketSellOrder"),
        ("createOrder",),
    ),
    "fetchTickers": ("fetchTicker",),
    "createStopMarketOrder": ("createStopOrder",),
    "cancelAllOrders": ("fetchOpenOrders", "cancelOrder"),
    "fetchOrderTrades": ("fetchOrder", "fetchMyTrades"),
}  # fmt: skip


def with_conveniences(has: Mapping[str, bool]) -> dict[str, bool]:
    """``has`` plus every convenience of :data:`CONVENIENCES` whose primitives it has (a venue's own answer for
    a convenience is kept only when True: the generic one works wherever its primitives do)."""
    found = dict(has)
    for name, needs in CONVENIENCES.items():
        found[name] = bool(found.get(name)) or all(found.get(n) for n in needs)
    return found


def market_data_from(symbol: str, ticker: Ticker, book: OrderBook | None = None) -> MarketData:
    """The :class:`MarketData` figures of a ccxt ticker, with the book's top level (``limit=1`` is enough)
    replacing the ticker's bid/ask and sizes when a book is given (tickers without sizes).

    Pure: the one definition of price (last, else mid), spread % of mid and order-book imbalance, used
    by :meth:`BaseTrader.get_market_data` and by callers that fetch through a cache (the MCP server).
    """
    bid, ask = ticker.get("bid"), ticker.get("ask")
    bid_size, ask_size = ticker.get("bidVolume"), ticker.get("askVolume")
    if book is not None:
        if book["bids"]:
            bid, bid_size = float(book["bids"][0][0]), float(book["bids"][0][1])
        if book["asks"]:
            ask, ask_size = float(book["asks"][0][0]), float(book["asks"][0][1])
    bid_f, ask_f, bid_n, ask_n = _num(bid), _num(ask), _num(bid_size), _num(ask_size)
    mid = _mid({"bid": bid_f, "ask": ask_f})
    spread_pct = (ask_f - bid_f) / mid * 100 if mid and bid_f and ask_f else None
    depth = (bid_n or 0.0) + (ask_n or 0.0)
    imbalance = (bid_n - ask_n) / depth if depth and bid_n is not None and ask_n is not None else None
    return MarketData(
        symbol=symbol,
        timestamp=ticker.get("timestamp"),
        price=_num(ticker.get("last")) or mid,
        bid=bid_f,
        ask=ask_f,
        bid_size=bid_n,
        ask_size=ask_n,
        volume=_num(ticker.get("baseVolume")),
        spread_pct=spread_pct,
        ob_imbalance=imbalance,
    )


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _mid(quote: Mapping[str, Any]) -> float | None:
    bid, ask = quote.get("bid"), quote.get("ask")
    if bid and ask and float(bid) > 0 and float(ask) > 0:
        return (float(bid) + float(ask)) / 2
    return None
