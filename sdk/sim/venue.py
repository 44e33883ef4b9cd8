"""The simulated venue: a :class:`~sdk.base.BaseTrader` over a market-data catalog and the simulation core.

:class:`SimulatedVenue` answers every venue question in ccxt's unified shapes from the catalog's bars and a
:class:`~sdk.sim.broker.SimBroker` (the matching engine, the account, the commission schedules), at a simulated time
its driver moves with :meth:`SimulatedVenue.step` (or ``await venue.clock.sleep(seconds)``). No sockets, no
sleeping, no SQL: a backtest steps it bar by bar.

What it shows at simulated time ``t`` (no look-ahead):

* ``fetch_ohlcv``: only bars that had closed by ``t`` (a bar ``[start, end)`` with ``end <= t``; a daily bar ends at
  its session's close), at any timeframe the catalog can build; each row stamped as the IB venue stamps it (an
  intraday bar by its start, a daily bar at 00:00 UTC of its session's date: :attr:`sdk.sim.bars.BarSeries.stamp`);
* ``fetch_ticker``: the last closed bar of the driving timeframe: ``last`` its close, ``bid``/``ask`` one price step
  around it (:func:`sdk.sim.fills.quote_for`); positions are marked at that close. From a session's open until the
  session's first bar closes the ticker shows that bar's open instead: the opening auction's price, published at
  the open (ASX: https://www.asx.com.au/markets/market-resources/asx-trading-hours, NYSE: the opening auction), so an
  order sent at the open is priced from what a trader sees then, as the IB venue and the shadow venue price it from
  the quote streamed after the open. Nothing else of the session is known before its bars close.

When an order fills (``fill_at``):

* ``"next_open"`` (default): an order placed at ``t`` meets the market from the first bar starting at or after
  ``t``: a market order fills at that bar's opening quote (the ask for a buy, the bid for a sell), a resting limit
  where a later bar trades through it, as the matching engine's rules say (:mod:`sdk.sim.matching`);
* ``"close"``: market-on-close: a market or limit order placed at the close of a bar (``t`` = its end) is matched
  first at that bar's close (the closing auction; for an intraday bar, its close); the rest works from the next bar.
  Only where the market runs a closing auction (ASX, NYSE/Nasdaq): FX orders are refused.

Errors are ccxt's: ``BadSymbol`` (a symbol the venue does not hold), ``InvalidOrder`` (a venue rule: type, size
step, price ladder, OPG without an auction, an index, a raw ASX market order), ``InsufficientFunds`` (the initial
margin), ``OrderNotFound``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from ccxt.base.types import Balances, Market, Order, OrderBook, Position, Ticker, Trade

from sdk.base import OHLCV, BaseTrader, OrderSide, with_conveniences
from sdk.calendars import get_calendar
from sdk.clock import SimulatedClock
from sdk.data.barsizes import BAR_SIZES, BarSize
from sdk.errors import BadRequest, BadSymbol, InvalidOrder, NotSupported, OrderNotFound
from sdk.instruments import InstrumentSpec, market_orders_taken, refuse_market_order
from sdk.sim.account import Account
from sdk.sim.bars import BarSeries
from sdk.sim.broker import DEFAULT_INITIAL_MARGIN, SimBroker
from sdk.sim.ccxt_shapes import balance_to_ccxt, iso, order_to_ccxt, position_to_ccxt, trade_to_ccxt
from sdk.sim.commissions import CommissionModel, ScheduleCommissions
from sdk.sim.fills import quote_for
from sdk.sim.matching import FillConfig
from sdk.sim.orders import AUCTION_MARKETS, Execution, SimOrder
from sdk.sim.rates import CatalogRates, RateSource
from sdk.symbols import InstrumentType
from sdk.ticks import ladder_for

if TYPE_CHECKING:
    from sdk.settings import Settings

__all__ = ["FillAt", "SimulatedVenue", "catalog_instrument"]

FillAt = Literal["next_open", "close"]
_TIMEFRAMES: dict[str, BarSize] = {b.timeframe: b for b in BAR_SIZES.values() if b.seconds <= 86_400}


def _dec(value: float | int | str) -> Decimal:
    """A float from a caller as the Decimal of its shortest repr (``100`` -> ``100``, ``45.13`` -> ``45.13``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    found = Decimal(repr(float(value)))
    return found.quantize(Decimal(1)) if found == found.to_integral_value() else found


def _ms(ts: datetime) -> int:
    if ts.tzinfo is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {ts.isoformat()}")
    return int(ts.timestamp() * 1000)


def catalog_instrument(
    catalog: Any, symbol: str, *, venue: str = "SIM", market_orders_as_limits: bool = False
) -> InstrumentSpec:
    """The :class:`~sdk.instruments.InstrumentSpec` of a catalog instrument, as IB would describe its contract: the
    built-in ladder (:func:`sdk.ticks.ladder_for`: ASX price steps, US 0.01, IDEALPRO 0.00005), whole units (1 share,
    1 unit of an FX base currency), the market whose hours apply, and the SDK's market-order rule
    (:func:`sdk.instruments.market_orders_taken`).

    Raises:
        BadSymbol: the catalog holds no ``symbol``.
    """
    info = catalog.info(symbol)
    base, quote = symbol.split("/")
    return InstrumentSpec(
        symbol=symbol,
        instrument_type=info.instrument_type,
        base=base,
        quote=quote,
        ladder=ladder_for("STK" if info.sec_type == "IND" else info.sec_type, info.currency, info.exchange),
        size_increment=Decimal(1),
        min_size=Decimal(1),
        market=info.market,
        market_orders_allowed=market_orders_taken(info.market, as_limits=market_orders_as_limits),
        venue=venue,
        exchange=info.exchange,
        long_name=info.long_name,
    )


class _VenueTime:
    """The venue's time as a :class:`sdk.clock.SteppableTime`: ``advance`` steps the venue (speed 0: only steps
    move it), so ``SimulatedClock(...).sleep(s)`` is a step of ``s`` seconds."""

    speed = 0.0

    def __init__(self, venue: SimulatedVenue) -> None:
        self._venue = venue

    def timestamp(self) -> float:
        return self._venue.now_ms / 1000

    def advance(self, seconds: float) -> object:
        return self._venue.step(self._venue.now_ms + round(seconds * 1000))


class SimulatedVenue(BaseTrader):
    """A venue simulated over a market-data catalog (see the module docstring).

    Args:
        settings: the SDK settings (base currency, commission plan and GST, ``MARKET_ORDERS_AS_LIMITS``).
        catalog: the market data (:func:`sdk.data.load_catalog`).
        symbols: the instruments traded (canonical, e.g. ``["BHP/AUD", "SPY/USD"]``).
        timeframe: the ccxt timeframe orders are matched on (``"1d"``, ``"5m"``, ``"1m"`` ...).
        start: the simulated time the venue starts at (aware datetime).
        end: the last bar start loaded (exclusive; None: all the data holds).
        history_start: the first bar loaded, for warm-up history (None: all the data holds).
        cash: opening cash per currency (default: 1,000,000 of the base currency).
        config: the fill model's assumptions (volume share, slippage, market-order protection).
        fill_at: ``"next_open"`` or ``"close"`` (module docstring).
        commissions: prices each fill (default: IB's schedules through the CostTracker at ``rates``).
        rates: FX into the base currency (default: the catalog's FX pairs, daily closes).
        initial_margin: initial margin rate on gross stock value (:data:`sdk.sim.broker.DEFAULT_INITIAL_MARGIN`);
            None for no check.
        rth_only: match and show regular-hours bars only (IB's ``useRTH``).

    Raises:
        BadSymbol: a symbol the catalog does not hold. BadRequest: an unknown or coarser-than-daily timeframe.
        ValueError: a naive datetime, or a timeframe finer than a symbol's data.
    """

    id = "SIM"
    #: Whose contracts the catalog describes and whose commission schedules price the fills (IB's: ASX, NYSE and
    #: IDEALPRO contracts, :class:`~sdk.sim.commissions.ScheduleCommissions`). The instruments say so
    #: (``InstrumentSpec.venue``), so the RiskManager estimates an order's cost by the schedule that charges its fills.
    contracts_venue = "IB"
    default_clock = "venue"
    has = with_conveniences({
        "fetchOHLCV": True, "fetchTicker": True, "fetchTime": True, "fetchBalance": True, "fetchPositions": True,
        "createOrder": True, "createStopOrder": True, "createStopLimitOrder": True, "cancelOrder": True,
        "fetchOrder": True, "fetchOpenOrders": True, "fetchClosedOrders": True, "fetchMyTrades": True,
        "fetchOrderBook": False, "fetchTrades": False, "fetchAccountSummary": False, "accountId": False,
        "clientId": False, "connectivityEvents": False, "orderNeverReceived": False,
    })  # fmt: skip

    def __init__(
        self,
        settings: Settings,
        catalog: Any,
        *,
        symbols: Sequence[str],
        timeframe: str = "1d",
        start: datetime,
        end: datetime | None = None,
        history_start: datetime | None = None,
        cash: Mapping[str, Decimal | float | int] | None = None,
        config: FillConfig | None = None,
        fill_at: FillAt = "next_open",
        commissions: CommissionModel | None = None,
        rates: RateSource | None = None,
        initial_margin: Decimal | None = DEFAULT_INITIAL_MARGIN,
        rth_only: bool = True,
    ) -> None:
        super().__init__(settings)
        if fill_at not in ("next_open", "close"):
            raise ValueError(f"fill_at must be 'next_open' or 'close', got {fill_at!r}")
        self.catalog = catalog
        self.fill_at: FillAt = fill_at
        self.rth_only = rth_only
        self.timeframe = timeframe
        self.bar_size = self._bar_size(timeframe)
        self._window = (history_start, end)
        self.now_ms = _ms(start)
        self.rates: RateSource = rates if rates is not None else CatalogRates(catalog)
        if commissions is None:
            from sdk.costs import CostTracker

            commissions = ScheduleCommissions(CostTracker(settings), self.rates)
        opening = {k: Decimal(str(v)) for k, v in (cash or {self.base_currency: 1_000_000}).items()}
        self.broker = SimBroker(
            Account(self.base_currency, opening), commissions, self.rates, config=config, initial_margin=initial_margin
        )
        self.symbols = tuple(dict.fromkeys(symbols))
        self._instruments = {s: self._instrument(s) for s in self.symbols}
        self._series: dict[tuple[str, str], BarSeries] = {}
        self._driving = {s: self._bars(s, self.bar_size) for s in self.symbols}
        self._cursor = {s: bars.closed_by(self.now_ms) for s, bars in self._driving.items()}
        self._markets: dict[str, Market] = {}
        self._by_cid: dict[str, SimOrder] = {}
        self.clock = SimulatedClock(_VenueTime(self))

    def mode_facts(self) -> dict[str, Any]:
        """``{"simulated": True}``: a simulation in this process, ``paper`` for the live gate
        (:func:`sdk.venues.mode.venue_mode`); nothing it is asked reaches a broker."""
        return {"simulated": True}

    # --- set-up -------------------------------------------------------------------------------------
    @staticmethod
    def _bar_size(timeframe: str) -> BarSize:
        size = _TIMEFRAMES.get(timeframe)
        if size is None:
            raise BadRequest(f"timeframe {timeframe!r} is not simulated; use one of {', '.join(_TIMEFRAMES)}")
        return size

    def _bars(self, symbol: str, size: BarSize) -> BarSeries:
        key = (symbol, size.label)
        found = self._series.get(key)
        if found is None:
            first, last = self._window
            found = BarSeries.from_catalog(self.catalog, symbol, size, first, last, rth_only=self.rth_only)
            self._series[key] = found
        return found

    def _instrument(self, symbol: str) -> InstrumentSpec:
        as_limits = self.settings.market_orders_as_limits
        return catalog_instrument(self.catalog, symbol, venue=self.contracts_venue, market_orders_as_limits=as_limits)

    def _known(self, symbol: str) -> InstrumentSpec:
        found = self._instruments.get(symbol)
        if found is None:
            raise BadSymbol(f"{symbol!r} is not simulated here; the venue holds {', '.join(self.symbols)}")
        return found

    # --- time ---------------------------------------------------------------------------------------
    def step(self, to: int | datetime) -> list[Execution]:
        """Move the simulated time to ``to`` (ms UTC or an aware datetime): every bar that closes by then is worked
        against the open orders of its symbol, in time order across symbols, then ``DAY``/``OPG`` orders whose time
        is up end. Returns the executions booked (fees priced).

        Raises:
            ValueError: ``to`` is before the venue's time (time only moves forward).
        """
        target = _ms(to) if isinstance(to, datetime) else int(to)
        if target < self.now_ms:
            raise ValueError(f"simulated time moves forward only: {iso(target)} is before {iso(self.now_ms)}")
        pending: list[tuple[int, str, int]] = []
        for symbol, bars in self._driving.items():
            first, last = self._cursor[symbol], bars.closed_by(target)
            self._cursor[symbol] = last
            if last > first and self.broker.engine.has_working(symbol):
                pending += [(int(bars.start[i]), symbol, i) for i in range(first, last)]
        executions: list[Execution] = []
        for _, symbol, i in sorted(pending):
            if not self.broker.engine.has_working(symbol):
                continue
            bars = self._driving[symbol]
            executions += self.broker.on_bar(
                symbol, float(bars.open[i]), float(bars.high[i]), float(bars.low[i]), float(bars.close[i]),
                bars.volume_at(i), int(bars.start[i]), int(bars.end[i]),
            )  # fmt: skip
        self.broker.expire(target)
        self.now_ms = target
        return executions

    async def fetch_time(self, params: dict[str, Any] | None = None) -> int:
        """The simulated time, ms UTC."""
        return self.now_ms

    # --- market data --------------------------------------------------------------------------------
    async def load_markets(self, reload: bool = False) -> dict[str, Market]:
        """ccxt spot markets for the simulated symbols (``id`` the symbol; precision: size step and price step)."""
        if not self._markets or reload:
            self._markets = {s: self._market(self._instruments[s]) for s in self.symbols}
        return self._markets

    def _market(self, spec: InstrumentSpec) -> Market:
        last = self._last_close(spec.symbol)
        tick = spec.ladder.increment_at(last) if last is not None else spec.ladder.bands[-1][1]
        market: dict[str, Any] = {
            "id": spec.symbol, "symbol": spec.symbol, "base": spec.base, "quote": spec.quote, "baseId": spec.base,
            "quoteId": spec.quote, "type": "spot", "spot": True, "margin": False, "swap": False, "future": False,
            "option": False, "contract": False, "active": spec.instrument_type != InstrumentType.INDEX,
            "precision": {"amount": float(spec.size_increment), "price": float(tick)},
            "limits": {"amount": {"min": float(spec.min_size), "max": None}, "price": {"min": None, "max": None},
                       "cost": {"min": None, "max": None}},
            "info": {"simulated": True, "market": spec.market, "exchange": spec.exchange,
                     "instrumentType": str(spec.instrument_type)},
        }  # fmt: skip
        return market

    async def fetch_instrument(self, symbol: str) -> InstrumentSpec:
        """Price ladder (:func:`sdk.ticks.ladder_for`), whole-unit size step, market hours and the market-order rule.

        Raises:
            BadSymbol: not a simulated symbol.
        """
        return self._known(symbol)

    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[OHLCV]:
        """Bars closed by the simulated time, oldest first: from ``since`` (ms, a bar's timestamp) the first
        ``limit``, else the last ``limit`` (None: all).

        Raises:
            BadSymbol: not a simulated symbol. BadRequest: a timeframe finer than the data or coarser than a day.
        """
        self._known(symbol)
        size = self._bar_size(timeframe)
        try:
            bars = self._driving[symbol] if size == self.bar_size else self._bars(symbol, size)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        last = bars.closed_by(self.now_ms)
        first = 0 if since is None else min(bars.stamped_by(since - 1), last)
        if since is not None and limit is not None:
            last = min(last, first + limit)
        elif limit is not None:
            first = max(first, last - limit)
        return [bars.row(i) for i in range(first, last)]

    def _last_close(self, symbol: str) -> Decimal | None:
        bars = self._driving[symbol]
        n = bars.closed_by(self.now_ms)
        return Decimal(repr(float(bars.close[n - 1]))) if n else None

    def marks(self) -> dict[str, Decimal]:
        """The last closed bar's close of every simulated symbol that has one (quote currency)."""
        found = {s: self._last_close(s) for s in self.symbols}
        return {s: m for s, m in found.items() if m is not None}

    def _opening(self, spec: InstrumentSpec, bars: BarSeries) -> int | None:
        """The index of the bar in progress at the simulated time when it is its session's first (it starts at the
        session's open: every daily bar, an intraday session's first): its open is known from then on."""
        i = bars.started_by(self.now_ms) - 1
        if i < 0 or i < bars.closed_by(self.now_ms):
            return None
        if not bars.bar_size.intraday:
            return i
        session = get_calendar(spec.market).session_at(datetime.fromtimestamp(self.now_ms / 1000, UTC))
        return i if session is not None and _ms(session.open) == int(bars.start[i]) else None

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> Ticker:
        """The last closed bar as a ticker: ``last``/``close`` its close, ``bid``/``ask`` one price step around it,
        ``baseVolume`` its volume; ``timestamp`` the simulated time. From a session's open until its first bar closes,
        that bar's open instead (``last``, ``open``, ``high``, ``low`` all the open; ``baseVolume`` None;
        ``info.opening`` True: the module docstring says why). Before any bar has closed or opened every price is None.

        Raises:
            BadSymbol: not a simulated symbol.
        """
        spec = self._known(symbol)
        bars = self._driving[symbol]
        opening = self._opening(spec, bars)
        last: Decimal | None
        high: float | None
        low: float | None
        first: float | None
        volume: Decimal | None
        if opening is not None:
            price = float(bars.open[opening])
            last = Decimal(repr(price))
            high = low = first = price
            start: int | None = int(bars.start[opening])
            volume = None
        else:
            n = bars.closed_by(self.now_ms)
            last = Decimal(repr(float(bars.close[n - 1]))) if n else None
            high, low, first = (float(bars.high[n - 1]), float(bars.low[n - 1]), float(bars.open[n - 1])) if n else (
                None, None, None)  # fmt: skip
            start = int(bars.start[n - 1]) if n else None
            volume = bars.volume_at(n - 1) if n else None
        quote = quote_for(last, spec.ladder) if last is not None else None
        ticker: dict[str, Any] = {
            "symbol": symbol, "info": {"simulated": True, "barStart": start, "opening": opening is not None},
            "timestamp": self.now_ms, "datetime": iso(self.now_ms), "high": high, "low": low,
            "bid": float(quote.bid) if quote else None, "bidVolume": None,
            "ask": float(quote.ask) if quote else None, "askVolume": None, "vwap": None,
            "open": first, "close": float(last) if last is not None else None,
            "last": float(last) if last is not None else None, "previousClose": None, "change": None,
            "percentage": None, "average": None,
            "baseVolume": float(volume) if volume is not None else None, "quoteVolume": None,
            "markPrice": None, "indexPrice": None,
        }  # fmt: skip
        return ticker

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> OrderBook:
        """Not simulated: bars hold no book (``has["fetchOrderBook"]`` is False).

        Raises:
            NotSupported: always; use ``fetch_ticker``.
        """
        raise NotSupported("the simulated venue has no order book (bars hold none); use fetch_ticker")

    async def fetch_fx_rate(self, base: str, quote: str) -> float:
        """Units of ``quote`` per one ``base`` at the simulated time, from the venue's rate source.

        Raises:
            FxRateUnavailable: the source has no rate then.
        """
        return float(self.rates.rate(base, quote, self.now_ms))

    # --- account ------------------------------------------------------------------------------------
    @property
    def account(self) -> Account:
        """The simulated account (cash, positions, commissions)."""
        return self.broker.account

    async def fetch_balance(self, params: dict[str, Any] | None = None) -> Balances:
        """Cash per currency; ``used`` what open buy limit orders reserve at their limit (quote currency)."""
        used: dict[str, Decimal] = {}
        for order in self.broker.engine.open_orders():
            if order.side == "buy" and order.price is not None:
                quote = self._instruments[order.symbol].quote
                used[quote] = used.get(quote, Decimal(0)) + order.remaining * order.price
        return balance_to_ccxt(self.account.cash, used, {"simulated": True})

    async def fetch_positions(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> list[Position]:
        """Open positions in ccxt's shape, marked at the last closed bar's close (quote currency)."""
        marks = self.marks()
        return [
            position_to_ccxt(h, marks.get(s), self.now_ms, {"simulated": True})
            for s, h in self.account.positions().items()
            if symbols is None or s in symbols
        ]

    async def get_equity(self) -> float:
        """Cash plus positions at their marks in the base currency (FX positions are in the cash already).

        Raises:
            FxRateUnavailable: a currency without a rate, or a position without a mark.
        """
        return float(self.broker.equity(self.marks(), self.now_ms))

    # --- orders -------------------------------------------------------------------------------------
    async def create_order(
        self,
        symbol: str,
        type: str,
        side: OrderSide,
        amount: float,
        price: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> Order:
        """Place a simulated order at the simulated time; it fills by the rules of the module docstring.

        ``params``: ``clientOrderId`` (a repeat returns the first order: idempotent), ``timeInForce`` (``GTC``
        default, ``DAY``, ``IOC``, ``FOK``, ``OPG``), ``triggerPrice``/``stopPrice`` (a stop's trigger),
        ``reduceOnly`` (recorded). ``amount`` base units; ``price`` quote currency.

        Raises:
            BadSymbol: not a simulated symbol. InvalidOrder: a venue rule (module docstring).
            InsufficientFunds: the initial margin after the order would exceed the equity.
        """
        params = dict(params or {})
        spec = self._known(symbol)
        cid = params.get("clientOrderId")
        if cid is not None:
            existing = self._by_client_id(str(cid))
            if existing is not None:
                return self._order(existing)
        if spec.instrument_type == InstrumentType.INDEX:
            raise InvalidOrder(f"{symbol} is an index; indexes have prices but cannot be traded")
        refuse_market_order(spec, type)
        if self.fill_at == "close" and spec.market not in AUCTION_MARKETS:
            raise InvalidOrder(
                f"{symbol} trades on {spec.market}, which has no closing auction: fill_at='close' (market-on-close) "
                "is for ASX and NYSE/Nasdaq listings; use fill_at='next_open'"
            )
        stop = params.get("triggerPrice", params.get("stopPrice"))
        order = self.broker.place(
            spec, type, side, _dec(amount), _dec(price) if price is not None else None,
            at=self.now_ms, marks=self.marks(),
            stop_price=_dec(stop) if stop is not None else None,
            time_in_force=str(params.get("timeInForce") or "GTC").upper(),
            client_order_id=str(cid) if cid is not None else None, reduce_only=bool(params.get("reduceOnly", False)),
        )  # fmt: skip
        if order.client_order_id is not None:
            self._by_cid[order.client_order_id] = order
        if self.fill_at == "close" and not order.is_done:
            bars = self._driving[symbol]
            n = bars.closed_by(self.now_ms)
            if n and int(bars.end[n - 1]) == self.now_ms:
                self.broker.close_auction(symbol, float(bars.close[n - 1]), bars.volume_at(n - 1), self.now_ms)
        return self._order(order)

    def _by_client_id(self, cid: str) -> SimOrder | None:
        return self._by_cid.get(cid)

    def _find(self, id: str) -> SimOrder:
        found = self.broker.engine.orders.get(id) or self._by_client_id(id)
        if found is None:
            raise OrderNotFound(f"no simulated order with id or clientOrderId {id!r}")
        return found

    def _order(self, order: SimOrder) -> Order:
        return order_to_ccxt(order, [trade_to_ccxt(e, {"simulated": True}) for e in order.fills], {"simulated": True})

    async def cancel_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """Cancel an open order (by id or client order id) at the simulated time; a finished one is returned as is.

        Raises:
            OrderNotFound: no such order.
        """
        order = self._find(id)
        return self._order(self.broker.cancel(order.id, self.now_ms))

    async def fetch_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """One order by id or client order id.

        Raises:
            OrderNotFound: no such order.
        """
        return self._order(self._find(id))

    def _orders(self, done: bool, symbol: str | None, since: int | None, limit: int | None) -> list[Order]:
        found = [
            self._order(o)
            for o in self.broker.engine.orders.values()
            if o.is_done == done and (symbol is None or o.symbol == symbol) and (since is None or o.timestamp >= since)
        ]
        return found[:limit] if limit is not None else found

    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Order]:
        """Open orders, oldest first."""
        return self._orders(False, symbol, since, limit)

    async def fetch_closed_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Order]:
        """Finished orders (closed, canceled, expired, rejected), oldest first."""
        return self._orders(True, symbol, since, limit)

    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Trade]:
        """Own fills, oldest first (``fee`` None while pending)."""
        found = [
            trade_to_ccxt(e, {"simulated": True})
            for e in self.broker.executions
            if (symbol is None or e.symbol == symbol) and (since is None or e.timestamp >= since)
        ]
        return found[:limit] if limit is not None else found
