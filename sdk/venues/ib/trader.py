"""``IBTrader``: the Interactive Brokers venue behind :class:`sdk.base.BaseTrader` (``create_trader("IB")``).

A facade over one :class:`~sdk.venues.ib.connection.IBConnection` and the services split by concern:
market data (:mod:`.market_data`), live bars (:mod:`.bars`), history (:mod:`.history`), orders
(:mod:`.orders`), executions (:mod:`.executions`), account (:mod:`.account`) and FX (:mod:`.fx`).
Every public method answers in ccxt's unified structures and raises ccxt's errors, translated from
IB's codes by :func:`sdk.venues.ib.parsing.error_for`.

Example::

    async with create_trader("IB") as trader:
        ticker = await trader.fetch_ticker("BHP/AUD")            # prices in AUD
        order = await trader.create_order("BHP/AUD", "limit", "buy", 100, 45.10,
                                          {"clientOrderId": "trd-rebalance-0001"})
        equity_aud = await trader.get_equity()                    # IB NetLiquidation, AUD
        async for bar in trader.watch_ohlcv("BHP/AUD", "1m"):     # completed bars, across reconnects
            ...
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, ParamSpec, TypeVar

from ccxt.base.types import Balances, Market, Order, OrderBook, Position, Ticker, Trade
from ib_async import Contract, ContractDetails, RequestError

from sdk.base import OHLCV, BaseTrader, OrderSide
from sdk.calendars import market_for
from sdk.clock import Clock, VenueClock
from sdk.errors import ArgumentsRequired, NetworkError, OrderNotFound, RequestTimeout
from sdk.instruments import InstrumentSpec, market_orders_taken
from sdk.registry import register_venue
from sdk.settings import Settings
from sdk.ticks import MARKET_RULES, PriceLadder, ladder_for
from sdk.venues.ib.account import AccountService
from sdk.venues.ib.bars import BarStreams
from sdk.venues.ib.connection import Backoff, ConnectivityEvent, Health, IBConnection
from sdk.venues.ib.contracts import ContractResolver, ResolvedContract
from sdk.venues.ib.executions import ExecutionStore
from sdk.venues.ib.fx import FxCache
from sdk.venues.ib.history import HistoryService
from sdk.venues.ib.history_cache import CachedHistory
from sdk.venues.ib.market_data import MarketDataService
from sdk.venues.ib.orders import OrderService
from sdk.venues.ib.pacing import PacingBudget
from sdk.venues.ib.parsing import error_for
from sdk.venues.ib.shared_pacing import default_budget, login_key
from sdk.venues.ib.timeframes import MAX_DURATION_SECONDS, bar_size_for

__all__ = ["IBTrader"]

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def _ms(answer: datetime) -> int:
    """IB's ``reqCurrentTime`` answer (timezone-aware) as ms UTC."""
    return int(answer.timestamp() * 1000)


@contextmanager
def _ib_errors() -> Any:
    """Translate what ib_async raises into ccxt's errors at the venue boundary."""
    try:
        yield
    except RequestError as exc:
        raise error_for(exc.code, exc.message) from exc
    except ConnectionError as exc:
        raise NetworkError(f"IB connection lost: {exc}") from exc
    except TimeoutError as exc:
        raise RequestTimeout(f"IB did not answer in time: {exc}") from exc


def _translated(method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _ib_errors():
            return await method(*args, **kwargs)

    return wrapper


@register_venue("IB")
class IBTrader(BaseTrader):
    """Interactive Brokers (ASX and US stocks, IDEALPRO FX) through TWS / IB Gateway or the offline gateway.

    Args:
        settings: the SDK settings (``IB_*``, ``CLIENT_ORDER_PREFIX``, ``SYMBOL_OVERRIDES``, ``ALLOWED_SYMBOLS``).
        client_id: this process's client id instead of ``IB_CLIENT_ID`` (the MCP server passes
            ``MCP_IB_CLIENT_ID``); ``client_id_max`` ends its lease range.
        host, port: override ``IB_HOST``/``IB_PORT`` (tests use the offline gateway's port).
        clock: the venue's time for every timestamp and "now" (default: a
            :class:`~sdk.clock.VenueClock` over this trader's ``reqCurrentTime``, started on
            connect: a real gateway's time, or the offline gateway's replayed one; tests and benchmarks
            pass :class:`~sdk.clock.SimulatedClock` over an in-process gateway's clock). Any
            clock with ``observe`` (a ``VenueClock``) also takes the session's ``reqCurrentTime`` answers.
        budget: the pacing budget (default: the process-wide one for ``clock``, the wall clock's without one).
        backoff: reconnect timing; ``heartbeat_interval`` overrides ``IB_HEARTBEAT_INTERVAL``.
        quote_timeout: seconds a first ``fetch_ticker`` waits for a quote.
        ack_timeout: seconds ``create_order``/``cancel_order`` wait for IB (default ``IB_CONNECT_TIMEOUT``).
    """

    id: ClassVar[str] = "IB"
    default_clock: ClassVar[Literal["wall", "venue"]] = "venue"  # the offline gateway replays its own day
    has: ClassVar[dict[str, bool]] = {
        "fetchTicker": True,
        "fetchOrderBook": True,
        "fetchOHLCV": True,
        "watchOHLCV": True,
        "fetchBalance": True,
        "fetchPositions": True,
        "fetchMyTrades": True,
        "fetchOrder": True,
        "fetchOpenOrders": True,
        "fetchClosedOrders": True,
        "fetchTime": True,
        "accountId": True,
        "fetchAccountSummary": True,
        "clientId": True,
        "createOrder": True,
        "createLimitOrder": True,
        "createMarketOrder": True,
        "createStopOrder": True,
        "createStopLimitOrder": True,
        "createStopMarketOrder": True,
        "createLimitBuyOrder": True,
        "createLimitSellOrder": True,
        "createMarketBuyOrder": True,
        "createMarketSellOrder": True,
        "createOrderWithTakeProfitAndStopLoss": True,
        "createStopLossOrder": False,
        "createTakeProfitOrder": False,
        "cancelOrder": True,
        "cancelAllOrders": True,
        "fetchOrderTrades": True,
        "fetchTickers": True,
        "orderNeverReceived": True,
        "editOrder": False,
        "fetchTrades": False,
    }
    fx_bridge_currencies: ClassVar[tuple[str, ...]] = ("USD",)
    fee_currencies: ClassVar[tuple[str, ...]] = ("USD",)  # IDEALPRO and US commissions are charged in USD

    def __init__(
        self,
        settings: Settings,
        *,
        client_id: int | None = None,
        client_id_max: int | None = None,
        host: str | None = None,
        port: int | None = None,
        clock: Clock | None = None,
        budget: PacingBudget | None = None,
        backoff: Backoff | None = None,
        heartbeat_interval: float | None = None,
        quote_timeout: float = 5.0,
        ack_timeout: float | None = None,
    ) -> None:
        super().__init__(settings)
        #: the clock this trader made for itself (started on connect, closed on close); None when given one
        self._own_clock: VenueClock | None = None
        self.clock: Clock
        if clock is None:
            self.clock = self._own_clock = VenueClock(self.fetch_time)
        else:
            self.clock = clock
        self.connection = IBConnection(
            settings,
            client_id=client_id,
            client_id_max=client_id_max,
            backoff=backoff,
            heartbeat_interval=heartbeat_interval,
            host=host,
            port=port,
            clock=self.clock,
        )
        observe = getattr(self.clock, "observe", None)
        if callable(observe):
            self.connection.add_time_listener(lambda answer, started, ended: observe(_ms(answer), started, ended))
        self.budget = budget or default_budget(settings, clock, self._pacing_login)
        self.resolver = ContractResolver(settings, self._contract_details)
        self.executions = ExecutionStore()
        # Resync hooks run in construction order: streams, bar series, then order reconciliation.
        self.market = MarketDataService(self.connection, self.resolver, self.clock, quote_timeout)
        self.bars = BarStreams(self.connection, self.resolver, self.budget, self.clock)
        self.history = HistoryService(self.connection, self.resolver, self.budget, self.clock)
        self.history_cache = CachedHistory(self.history, settings.data_cache_dir)
        self.fx = FxCache(self.market.fx_mid, settings.ib_fx_max_age, self.clock, self.fx_bridge_currencies)
        self.orders = OrderService(
            settings,
            self.connection,
            self.resolver,
            self.executions,
            self.clock,
            instrument=self.fetch_instrument,
            position=lambda symbol: self.account.position_of(symbol),
            quote=self._touch,
            ack_timeout=ack_timeout,
        )
        self.account = AccountService(
            self.connection,
            self.resolver,
            self.fx,
            self.market,
            self.clock,
            settings.base_currency,
            self.orders.records,
        )
        self._markets: dict[str, Market] = {}
        self._instruments: dict[str, InstrumentSpec] = {}
        self._ladders: dict[int, PriceLadder] = {}

    async def _contract_details(self, contract: Contract) -> list[ContractDetails]:
        """``reqContractDetails``; IB's 200 ("no security definition") is an empty answer, so the
        resolver raises ``BadSymbol`` with its own advice and the FX cache can try the inverse pair."""
        await self.connection.ensure_ready()
        try:
            return await self.connection.ib.reqContractDetailsAsync(contract)
        except RequestError as exc:
            if exc.code == 200:
                return []
            raise error_for(exc.code, exc.message) from exc

    def _pacing_login(self) -> str:
        """The IB login this session's historical requests are paced under (a hash of its managed accounts)."""
        accounts = [a for a in self.connection.ib.managedAccounts() if a]
        if not accounts:  # not connected yet: the gateway's address stands in for the login
            return login_key([f"{self.connection.host}:{self.connection.port}"])
        return login_key(accounts)

    # --- lifecycle and connectivity -------------------------------------------------------
    @property
    def health(self) -> Health:
        """The session's :class:`~sdk.venues.ib.connection.Health`."""
        return self.connection.health

    @property
    def client_id(self) -> int | None:
        """The IB client id the session holds."""
        return self.connection.client_id

    @property
    def account_id(self) -> str | None:
        """The account orders go to: the one the session holds (the first managed account when
        ``IB_ACCOUNT_ID`` is unset), else ``IB_ACCOUNT_ID``; None before connecting without it."""
        return self.connection.account or self.settings.ib_account_id

    def mode_facts(self) -> dict[str, Any]:
        """What decides live or paper (:func:`sdk.venues.mode.venue_mode`): the port connected to, the account
        orders go to (None before connecting without ``IB_ACCOUNT_ID``) and whether the session is the offline
        gateway (its identification notice at connect)."""
        conn = self.connection
        version = conn.ib.client.serverVersion() if conn.is_ready else None
        return {"port": conn.port, "account": conn.account, "simulated": conn.offline_gateway,
                "server_version": version}  # fmt: skip

    async def connect(self) -> None:
        """Connect (live guard, client-id lease, reconciliation) and load markets. Idempotent.

        Raises:
            LiveTradingNotAllowed, SettingsError, ExchangeNotAvailable, NetworkError: see
            :meth:`IBConnection.connect`.
        """
        with _ib_errors():
            await self.connection.connect()
            if self._own_clock is not None:
                await self._own_clock.start()
        await self.load_markets()

    async def close(self) -> None:
        """Cancel streams and disconnect. Idempotent."""
        if self.connection.is_ready:
            await self.market.close()
        if self._own_clock is not None:
            await self._own_clock.close()
        await self.connection.close()

    async def maybe_reconnect(self) -> bool:
        """For a health circuit: reconnect now if down or silent; True when the session is ready after."""
        return await self.connection.maybe_reconnect()

    def add_connectivity_listener(self, listener: Callable[[ConnectivityEvent], None]) -> Callable[[], None]:
        """Call ``listener`` with every :class:`ConnectivityEvent`; returns the function that removes it."""
        return self.connection.add_listener(listener)

    @_translated
    async def fetch_time(self, params: dict[str, Any] | None = None) -> int:
        """IB's current time (``reqCurrentTime``), integer ms UTC (one-second resolution)."""
        await self.connection.ensure_ready()
        return _ms(await self.connection.current_time())

    # --- markets and instruments ----------------------------------------------------------
    @property
    def markets(self) -> dict[str, Market]:
        """The markets loaded so far (ccxt's ``exchange.markets``); :meth:`load_markets` fills it."""
        return self._markets

    async def load_markets(self, reload: bool = False) -> dict[str, Market]:
        """ccxt markets for ``ALLOWED_SYMBOLS`` (and every symbol resolved since), keyed by symbol.

        Symbols IB does not list are left out and logged; ``id`` is IB's conId.
        """
        if self._markets and not reload:
            for resolved in self.resolver.resolved():
                self._markets.setdefault(resolved.symbol, self._market(resolved))
            return self._markets
        wanted = [s for s in self.settings.allowed_symbols if s != "*"]
        if self.connection.is_ready:
            results = await asyncio.gather(*(self.resolver.resolve(s) for s in wanted), return_exceptions=True)
            for symbol, result in zip(wanted, results, strict=True):
                if isinstance(result, BaseException):
                    log.warning("allowed symbol not listed by IB", extra={"symbol": symbol, "error": str(result)})
        for resolved in self.resolver.resolved():
            self._markets[resolved.symbol] = self._market(resolved)
        return self._markets

    def _market(self, resolved: ResolvedContract) -> Market:
        base, quote = resolved.symbol.split("/")
        contract = resolved.contract
        market: dict[str, Any] = {
            "id": str(resolved.con_id),
            "symbol": resolved.symbol,
            "base": base,
            "quote": quote,
            "baseId": contract.symbol,
            "quoteId": contract.currency,
            "type": "spot",
            "spot": True,
            "margin": False,
            "swap": False,
            "future": False,
            "option": False,
            "contract": False,
            "active": True,
            "precision": {"amount": resolved.size_increment, "price": resolved.min_tick},
            "limits": {
                "amount": {"min": resolved.details.minSize or resolved.size_increment, "max": None},
                "price": {"min": None, "max": None},
                "cost": {"min": None, "max": None},
            },
            "info": {
                "conId": resolved.con_id,
                "secType": contract.secType,
                "exchange": contract.exchange,
                "primaryExchange": contract.primaryExchange,
                "localSymbol": contract.localSymbol,
                "longName": resolved.long_name,
                "marketRuleIds": list(resolved.market_rule_ids),
                "instrumentType": str(resolved.instrument_type),
            },
        }
        return market

    @_translated
    async def fetch_instrument(self, symbol: str) -> InstrumentSpec:
        """Tick ladder (IB market rule via ``reqMarketRule``, else :func:`sdk.ticks.ladder_for`), size
        step, market hours (:func:`sdk.calendars.market_for`) and the market-order rule of ``symbol``.

        ``market_orders_allowed`` (:func:`sdk.instruments.market_orders_taken`, the SDK's one market-order rule)
        is False on ASX, where exits are marketable limits, and with ``MARKET_ORDERS_AS_LIMITS=true``; True
        for US stocks and IDEALPRO FX.

        Raises:
            BadSymbol: IB does not list ``symbol`` (error 200) or it is not canonical.
        """
        cached = self._instruments.get(symbol)
        if cached is not None:
            return cached
        await self.connection.ensure_ready()
        resolved = await self.resolver.resolve(symbol)
        contract = resolved.contract
        primary = contract.primaryExchange or contract.exchange
        ladder = await self._ladder(resolved)
        try:
            market: str | None = market_for(contract.secType, contract.currency, primary)
        except ValueError:
            market = None
        base, quote = symbol.split("/")
        step = Decimal(repr(float(resolved.size_increment or 1)))
        min_size = Decimal(repr(float(resolved.details.minSize or resolved.size_increment or 1)))
        spec = InstrumentSpec(
            symbol=symbol,
            instrument_type=resolved.instrument_type,
            base=base,
            quote=quote,
            ladder=ladder,
            size_increment=step,
            min_size=min_size,
            market=market,
            market_orders_allowed=market_orders_taken(market, as_limits=self.settings.market_orders_as_limits),
            venue=self.id,
            con_id=resolved.con_id,
            exchange=primary,
            long_name=resolved.long_name,
        )
        self._instruments[symbol] = spec
        return spec

    async def _ladder(self, resolved: ResolvedContract) -> PriceLadder:
        contract = resolved.contract
        rule_ids = resolved.market_rule_ids
        exchanges = resolved.valid_exchanges
        preferred = contract.primaryExchange or contract.exchange
        rule_id = None
        if rule_ids:
            rule_id = rule_ids[exchanges.index(preferred)] if preferred in exchanges[: len(rule_ids)] else rule_ids[0]
        if rule_id is not None:
            if rule_id in self._ladders:
                return self._ladders[rule_id]
            increments = await self.connection.ib.reqMarketRuleAsync(rule_id)
            if increments:
                ladder = PriceLadder.from_increments([(i.lowEdge, i.increment) for i in increments], rule_id)
                self._ladders[rule_id] = ladder
                return ladder
            if rule_id in MARKET_RULES:
                return MARKET_RULES[rule_id]
        return ladder_for(contract.secType, contract.currency, contract.primaryExchange)

    # --- market data ----------------------------------------------------------------------
    @_translated
    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> Ticker:
        """ccxt ticker from the shared streaming subscription; prices in the quote currency."""
        return await self.market.fetch_ticker(symbol)

    @_translated
    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> OrderBook:
        """ccxt order book: depth when IB serves it, else top of book as one level per side."""
        return await self.market.fetch_order_book(symbol, limit)

    def ohlcv_request_span(self, timeframe: str) -> int | None:
        """IB's longest ``durationStr`` for ``timeframe``'s bar size, in seconds (IB "Historical Bar Data", valid
        duration and bar size settings; :data:`sdk.venues.ib.timeframes.MAX_DURATION_SECONDS`).

        Raises:
            BadRequest: a timeframe IB has no bar size for (the message lists the ones it has).
        """
        bar_size_for(timeframe)
        return MAX_DURATION_SECONDS[timeframe]

    @_translated
    async def fetch_head_timestamp(self, symbol: str, params: dict[str, Any] | None = None) -> int | None:
        """IB's ``reqHeadTimeStamp`` for ``symbol`` (ms UTC; cached per contract, whatToShow and useRTH), paced by
        the history budget; ``params``: ``whatToShow`` (default TRADES, MIDPOINT for FX), ``useRTH`` (default False).
        """
        params = params or {}
        return await self.history.head_timestamp(symbol, params.get("whatToShow"), bool(params.get("useRTH", False)))

    @_translated
    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[OHLCV]:
        """Historical candles, chunked by IB's maximum durations and paced (see :mod:`.history`); intraday bars
        from ``since`` are read from the download cache (``DATA_CACHE_DIR``) where it covers them
        (:mod:`.history_cache`)."""
        if since is not None and self.history_cache.applies(timeframe, since):
            return await self.history_cache.fetch_ohlcv(symbol, timeframe, since, limit, params)
        return await self.history.fetch_ohlcv(symbol, timeframe, since, limit, params)

    async def watch_ohlcv(
        self, symbol: str, timeframe: str = "1m", params: dict[str, Any] | None = None
    ) -> AsyncIterator[OHLCV]:
        """Each completed bar, in order, once, across reconnects (see :mod:`.bars`)::

        async for ts, o, h, l, c, v in trader.watch_ohlcv("BHP/AUD", "1m"): ...
        """
        with _ib_errors():
            async for bar in self.bars.watch_ohlcv(symbol, timeframe, params):
                yield bar

    # --- account --------------------------------------------------------------------------
    @_translated
    async def fetch_balance(self, params: dict[str, Any] | None = None) -> Balances:
        """ccxt balances per currency (IB CashBalance; ``used`` reserved by this SDK's open orders)."""
        return await self.account.fetch_balance()

    @_translated
    async def fetch_account_summary(self) -> dict[str, float]:
        """IB's headline account values (NetLiquidation, AvailableFunds, ...) in the base currency."""
        return await self.account.fetch_account_summary()

    @_translated
    async def fetch_positions(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> list[Position]:
        """ccxt positions (``side`` short for negative IB positions); money in the position's currency."""
        return await self.account.fetch_positions(symbols)

    @_translated
    async def get_equity(self) -> float:
        """IB's NetLiquidation in the base currency (AUD); raises ``FxRateUnavailable`` rather than guess."""
        return await self.account.get_equity()

    @_translated
    async def fetch_fx_rate(self, base: str, quote: str) -> float:
        """Units of ``quote`` per ``base`` from cached IDEALPRO quotes (inverse pairs used; never a silent 1.0)."""
        return await self.fx.rate(base, quote)

    # --- orders ---------------------------------------------------------------------------
    @_translated
    async def create_order(
        self,
        symbol: str,
        type: str,
        side: OrderSide,
        amount: float,
        price: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> Order:
        """Place an order and return it once IB acknowledges it.

        Args:
            symbol: canonical (``BHP/AUD``).
            type: ``limit``, ``market`` (US stocks and FX; refused on ASX, where a marketable limit is
                sent instead), ``stop`` or ``stop_limit``. ``params={"reduceOnly": True}`` with any type:
                refused unless it only reduces the held position.
            side: ``buy`` or ``sell``.
            amount: base units (shares; FX: base currency), a multiple of the size increment.
            price: limit price in the quote currency, on the instrument's price ladder.
            params: ``clientOrderId`` (``CLIENT_ORDER_PREFIX`` + suffix; a retry with the same id never
                sends a second order), ``timeInForce`` (GTC default, DAY, IOC, FOK, OPG, GTD),
                ``stopPrice`` (stop and stop-limit), ``reduceOnly``, ``outsideRth``, and the attached exits
                ``stopLossPrice``/``takeProfitPrice`` (quote currency; or ccxt's ``stopLoss``/``takeProfit``
                ``{"triggerPrice": p}``): IB's bracket, children ``<clientOrderId>-sl`` (STP) and ``-tp`` (LMT),
                GTC, one cancels the other (:mod:`sdk.venues.ib.brackets`).

        Returns:
            ccxt order; ``id`` is IB's permId, ``info["status"]`` IB's raw status, ``fee`` None until
            every fill's commission report has arrived. With a bracket it is the entry, carrying
            ``stopLossPrice``/``takeProfitPrice`` and its children's client order ids in ``info["attached"]``
            (each child is an order of its own: ``fetch_order("<clientOrderId>-sl")``).

        Raises:
            InvalidOrder: bad type/side/amount/price (off the ladder: the message names the nearest
                safe price), a stop-loss or take-profit on the wrong side of the entry or off the ladder,
                a market order that would not only reduce, or IB's rejection (201, 110).
            NotSupported: a param IB does not honour (named), or a bracket with ``reduceOnly``.
            InsufficientFunds: IB rejected it for funds or margin.
            BadSymbol: unknown symbol. BadRequest: a malformed clientOrderId.
            RequestTimeout: sent but not acknowledged in time (retry with the same clientOrderId).
            NetworkError: not connected, or the order was lost with the connection before IB saw it.
        """
        return await self.orders.create_order(symbol, type, side, amount, price, params)

    @_translated
    async def create_order_with_take_profit_and_stop_loss(
        self, symbol: str, type: str, side: OrderSide, amount: float, price: float | None = None,
        takeProfit: float | None = None, stopLoss: float | None = None, params: dict[str, Any] | None = None,
    ) -> Order:  # fmt: skip
        """ccxt's ``create_order_with_take_profit_and_stop_loss``: :meth:`create_order` with the exits attached as
        IB's bracket (``takeProfit``/``stopLoss`` in the quote currency; see ``stopLossPrice`` there).

        Raises:
            ArgumentsRequired: neither exit given. The errors of :meth:`create_order`.
        """
        if takeProfit is None and stopLoss is None:
            raise ArgumentsRequired(
                "create_order_with_take_profit_and_stop_loss needs takeProfit or stopLoss (quote currency); "
                "without exits use create_order"
            )
        exits = {"takeProfitPrice": takeProfit, "stopLossPrice": stopLoss}
        extra = {k: v for k, v in exits.items() if v is not None}
        return await self.create_order(symbol, type, side, amount, price, {**(params or {}), **extra})

    async def _touch(self, symbol: str) -> tuple[float | None, float | None]:
        """``(bid, ask)`` of ``symbol`` now, quote currency (a bracket's market entry is checked against it)."""
        ticker = await self.fetch_ticker(symbol)
        return ticker.get("bid"), ticker.get("ask")

    @_translated
    async def order_never_received(self, client_order_id: str) -> bool | None:
        """True when IB provably never got ``client_order_id``: the session's reconcile read IB's open and
        completed orders in full (``reqAllOpenOrders``, ``reqCompletedOrders``) and neither they nor the
        executions know it (see :meth:`BaseTrader.order_never_received`)."""
        await self.connection.ensure_ready()
        return self.orders.never_received(client_order_id)

    @_translated
    async def cancel_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """Cancel by ``id`` (permId) or client order id; returns the order once IB confirms, or as last known."""
        return await self.orders.cancel_order(id)

    @_translated
    async def fetch_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """One of this SDK's orders by permId or client order id.

        Raises:
            OrderNotFound: not an order this SDK placed or adopted at reconciliation.
        """
        record = self.orders.find(id)
        if record is None:
            raise OrderNotFound(f"no order with id or clientOrderId {id!r} placed by this SDK")
        self.orders.refresh_commissions()
        return self.orders.to_order(record)

    @_translated
    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Order]:
        """Open orders of this SDK only (orderRef with ``CLIENT_ORDER_PREFIX``), oldest first."""
        return self._orders_where(lambda done: not done, symbol, since, limit)

    @_translated
    async def fetch_closed_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Order]:
        """Finished orders of this SDK (closed, canceled, rejected, expired), oldest first."""
        return self._orders_where(lambda done: done, symbol, since, limit)

    def _orders_where(
        self, keep: Callable[[bool], bool], symbol: str | None, since: int | None, limit: int | None
    ) -> list[Order]:
        self.orders.refresh_commissions()
        found = [
            self.orders.to_order(r)
            for r in self.orders.records()
            if keep(r.is_done)
            and r.client_order_id.startswith(self.orders.prefix)
            and (symbol is None or r.symbol == symbol)
            and (since is None or r.timestamp >= since)
        ]
        return found[:limit] if limit is not None else found

    # --- trades ---------------------------------------------------------------------------
    async def _refresh_executions(self) -> None:
        if not self.connection.is_ready:
            return
        try:
            fills = await asyncio.wait_for(self.connection.ib.reqExecutionsAsync(), self.settings.ib_connect_timeout)
        except (TimeoutError, ConnectionError, RequestError) as exc:
            log.warning("reqExecutions failed; answering from the fills already held", extra={"error": repr(exc)})
            return
        for fill in fills:
            self.orders.ingest_fill(fill)
        self.orders.refresh_commissions()

    @_translated
    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Trade]:
        """The account's executions joined with commission reports, oldest first.

        Asks IB for its executions first (``reqExecutions``; ``params={"refresh": False}`` skips it),
        merges them without duplicates, then filters: ``since`` ms UTC inclusive, ``limit`` the
        first N. ``fee`` is None while IB's commission report is pending; ``takerOrMaker`` from
        IB's lastLiquidity (1 maker, 2 taker, else None).
        """
        if symbol is not None:
            self.resolver.contract_for(symbol)  # BadSymbol for a non-canonical symbol
        if (params or {}).get("refresh", True):
            await self._refresh_executions()
        return [f.to_trade() for f in self.executions.query(symbol, since, limit)]

    async def get_trades_from_timestamp(
        self, since: int, symbol: str | None = None, page_size: int = 100, max_pages: int = 1000
    ) -> list[Trade]:
        """Every fill at or after ``since`` (ms UTC), oldest first, each once.

        IB answers executions in one list, so there is no paging to go wrong: one refresh, then the
        store; ``page_size × max_pages`` still bounds the answer (logged when it cuts).
        """
        trades = await self.fetch_my_trades(symbol, since=since)
        bound = page_size * max_pages
        if len(trades) > bound:
            log.warning("trades cut at page_size*max_pages", extra={"bound": bound, "total": len(trades)})
            trades = trades[:bound]
        return trades
