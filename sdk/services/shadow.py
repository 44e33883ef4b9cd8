"""Shadow (observe) mode: real data and account, orders filled by the simulation core, nothing sent.

:class:`ShadowVenue` is a :class:`~sdk.base.BaseTrader` over a real venue. Market data, instruments and FX come from
the real venue; orders never reach it. It is a thin adapter over the simulation core (:mod:`sdk.sim`): the book of
working orders and the matching rules are the core's :class:`~sdk.sim.matching.MatchingEngine` (the rules the
simulated venue and the backtester follow, and the offline gateway's fill model, :mod:`sdk.sim.fills`), the account
is the core's :class:`~sdk.sim.account.Account`; this module fetches what the core needs (the instrument, the live
quote, the minutes that traded since an order last met the market, FX rates for commissions) and answers in
ccxt's shapes (:mod:`sdk.sim.ccxt_shapes`):

* ``create_order`` matches the order against the venue's live quote (one slice: bid/ask, and the last price as its
  range) while the instrument's market is open (:mod:`sdk.calendars`); a market order is protected by the gateway's
  cap, and one where the SDK's market-order rule says no (ASX, ``MARKET_ORDERS_AS_LIMITS``) is refused as the IB
  venue refuses it (:func:`sdk.instruments.refuse_market_order`); what a venue would refuse (a price off the ladder,
  a fractional share, ``OPG`` where there is no opening auction) is ``InvalidOrder``;
* a resting order is worked, whenever :meth:`ShadowVenue.fetch_order` (or a read of the account) looks at it,
  against every whole minute that traded since (the venue's 1-minute bars) and then the live quote: a limit fills
  where a minute trades through it (maker), a stop triggers and fills as the fill model says, an order placed while
  the market was shut meets its first minute of the next session as its arrival;
* times in force are the core's: ``IOC`` cancels what its arrival did not fill, ``FOK`` fills whole on arrival or
  not at all, ``DAY`` expires at the close of its session, ``OPG`` trades at the first minute's open of the next
  session (the opening auction) and is cancelled for what that does not fill.

The account (:class:`ShadowBook`) starts from the real account's cash and positions and moves with every shadow
fill; commissions are the :class:`~sdk.costs.CostTracker`'s estimates (source ``estimate``), charged in their
currency, pending (None) when unknown. Positions, balances and equity answer from the book in ccxt's shapes, so the
risk path and the portfolio see shadow positions exactly as they would see real ones. Fills are not bounded by
volume (the live quote reports none; ``FillConfig(fill_volume_share=None)``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ccxt.base.types import Balances, Order, Position, Ticker, Trade

from sdk.base import BaseTrader, OrderSide
from sdk.calendars import get_calendar
from sdk.costs import CostTracker
from sdk.costs.fx import FxRate, FxTable, to_decimal
from sdk.errors import ExchangeError, FxRateUnavailable, InvalidOrder, NetworkError, NotSupported, OrderNotFound
from sdk.instruments import InstrumentSpec, refuse_market_order
from sdk.services.forwarding import VenueForwarder
from sdk.sim.account import Account, Holding
from sdk.sim.ccxt_shapes import balance_to_ccxt, order_to_ccxt, position_to_ccxt, trade_to_ccxt
from sdk.sim.fills import MarketSlice, quote_for
from sdk.sim.matching import FillConfig, MatchingEngine
from sdk.sim.orders import Execution, Fee, SimOrder
from sdk.symbols import parse_symbol

__all__ = ["Holding", "ShadowBook", "ShadowOrder", "ShadowVenue", "shadow_order_id"]

log = logging.getLogger(__name__)

#: A shadow order is the core's simulated order (the name the ledger's resync and older callers use).
ShadowOrder = SimOrder
#: The bars a resting shadow order is worked against between two looks (:meth:`ShadowVenue._work_range`).
RANGE_TIMEFRAME = "1m"
_MINUTE_MS = 60_000
COMMISSION_SOURCE = "estimate"
#: The shadow venue's fill model: the live quote has no volume, so nothing bounds a fill by it.
SHADOW_FILLS = FillConfig(fill_volume_share=None)
#: Wall seconds an arriving order waits for the session's first quote when the live one is older than the session.
FRESH_QUOTE_WAIT = 2.0
_ORDER_INFO = {"shadow": True, "commissionSource": COMMISSION_SOURCE}


def shadow_order_id(client_order_id: str) -> str:
    """The venue-style id of a shadow order (``shadow:<client order id>``): never a real venue's id."""
    return f"shadow:{client_order_id}"


def _fee_of(trade: Mapping[str, Any]) -> Fee | None:
    fee = trade.get("fee")
    if fee and fee.get("cost") is not None and fee.get("currency"):
        return Fee(to_decimal(fee["cost"]), str(fee["currency"]), COMMISSION_SOURCE)
    return None


def execution_from_trade(trade: Mapping[str, Any]) -> Execution:
    """A ccxt trade (a shadow fill replayed from the ledger) as the core's execution."""
    return Execution(
        id=str(trade["id"]),
        order_id=str(trade.get("order") or ""),
        client_order_id=trade.get("clientOrderId"),
        symbol=str(trade["symbol"]),
        side="buy" if trade["side"] == "buy" else "sell",
        type=str(trade.get("type") or "limit"),
        price=to_decimal(trade["price"]),
        amount=to_decimal(trade["amount"]),
        liquidity="maker" if trade.get("takerOrMaker") == "maker" else "taker",
        timestamp=int(trade["timestamp"]),
        fee=_fee_of(trade),
    )


class ShadowBook:
    """The shadow account and its orders: the core's :class:`~sdk.sim.account.Account` (cash per currency, holdings
    at average cost) and :class:`~sdk.sim.matching.MatchingEngine` (the orders), with the fills as ccxt trades.

    Args:
        base_currency: the account's base currency (equity is reported in it).
        cash: opening cash per currency (from the real account's balances).
        holdings: opening positions, signed base units, with their entry prices.
    """

    def __init__(
        self,
        base_currency: str,
        cash: Mapping[str, Decimal] | None = None,
        holdings: Iterable[Holding] = (),
    ) -> None:
        self.account = Account(base_currency, {k: to_decimal(v) for k, v in (cash or {}).items()}, holdings)
        self.engine = MatchingEngine(SHADOW_FILLS)
        #: Every shadow fill (and fill replayed from the ledger) as a ccxt trade, in booking order.
        self.fills: list[Trade] = []
        self._trades: dict[str, Trade] = {}

    @property
    def base_currency(self) -> str:
        return self.account.base_currency

    @property
    def cash(self) -> dict[str, Decimal]:
        """Cash per currency (the account's)."""
        return self.account.cash

    @property
    def holdings(self) -> dict[str, Holding]:
        """Positions by symbol (the account's)."""
        return self.account.holdings

    @property
    def orders(self) -> dict[str, SimOrder]:
        """Every shadow order by its id (:func:`shadow_order_id`)."""
        return self.engine.orders

    @classmethod
    async def from_venue(cls, venue: BaseTrader) -> ShadowBook:
        """A book seeded from the real account: cash from ``fetch_balance``, positions from ``fetch_positions``."""
        balance = await venue.fetch_balance()
        cash = {str(k): to_decimal(v) for k, v in (balance.get("total") or {}).items() if v is not None}
        holdings = []
        if venue.has.get("fetchPositions"):
            for position in await venue.fetch_positions():
                amount = to_decimal(position.get("contracts") or 0) * to_decimal(position.get("contractSize") or 1)
                if position.get("side") == "short":
                    amount = -abs(amount)
                if amount:
                    entry = to_decimal(position.get("entryPrice") or 0)
                    holdings.append(Holding(str(position["symbol"]), amount, entry))
        return cls(venue.base_currency, cash, holdings)

    def holding(self, symbol: str) -> Holding:
        return self.account.holding(symbol)

    def record(self, execution: Execution, trade: Trade) -> None:
        """Book a fill of the engine (its fee priced) into the account, with ``trade`` its ccxt shape."""
        self.account.book(execution)
        self._trades[execution.id] = trade
        self.fills.append(trade)

    def apply_fill(self, trade: Mapping[str, Any]) -> bool:
        """Book a ccxt trade (a shadow fill replayed from the ledger); False when already booked."""
        trade_id = str(trade["id"])
        if trade_id in self._trades:
            return False
        self.record(execution_from_trade(trade), dict(trade))
        return True

    def restore(self, order: SimOrder, trades: Iterable[Mapping[str, Any]] = ()) -> None:
        """Put back a shadow order as the ledger recorded it (its fills, already booked with :meth:`apply_fill`, keep
        their ccxt shape)."""
        for trade in trades:
            self._trades.setdefault(str(trade["id"]), dict(trade))
        self.engine.restore(order)

    def to_order(self, order: SimOrder) -> Order:
        """The ccxt order structure of a shadow order (``id`` is :func:`shadow_order_id`)."""
        trades = [self._trades.get(e.id) or trade_to_ccxt(e, {"shadow": True}) for e in order.fills]
        return order_to_ccxt(order, trades, _ORDER_INFO)

    def realized(self) -> dict[str, Decimal]:
        """Realised PnL per quote currency since the book opened."""
        return self.account.realized()


class ShadowVenue(VenueForwarder):
    """A real venue with simulated orders and a simulated account (see the module docstring).

    Args:
        venue: the real, connected venue (quotes, instruments, FX).
        book: the shadow account and orders.
        costs: the commission estimates of shadow fills.
        clock: the venue's time in epoch seconds (order and fill timestamps, DAY expiries).
    """

    def __init__(
        self,
        venue: BaseTrader,
        book: ShadowBook,
        costs: CostTracker,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(venue)
        self.book = book
        self.costs = costs
        self._now: Callable[[], float] = clock or venue.clock.now
        #: ms: the end of the last minute of bars each open order was worked against (:meth:`_work_range`).
        self._worked_until: dict[str, int] = {}
        self.has = {  # type: ignore[misc]
            **venue.has,
            "createOrder": True,
            "cancelOrder": True,
            "fetchOrder": True,
            "fetchOpenOrders": True,
            "fetchClosedOrders": True,
            "fetchMyTrades": True,
            "fetchPositions": True,
            "fetchBalance": True,
        }

    def _now_ms(self) -> int:
        return int(self._now() * 1000)

    # --- lifecycle: the real venue is its creator's (market data comes from VenueForwarder) ----------
    async def connect(self) -> None:
        await self.venue.connect()

    async def close(self) -> None:
        """The real venue belongs to whoever created it; closing the shadow view leaves it open."""

    # --- account: the book's ----------------------------------------------------------------
    async def _catch_up(self) -> None:
        """Work every open shadow order up to now before the account is read, as a real venue's account already
        holds what its resting orders filled meanwhile (:meth:`_work`)."""
        for order in self.book.engine.open_orders():
            await self._work(order, await self.venue.fetch_instrument(order.symbol), placing=False)

    async def fetch_balance(self, params: dict[str, Any] | None = None) -> Balances:
        """Shadow cash per currency (``used``: what open shadow buy orders reserve at their limit), after every open
        shadow order was worked up to now."""
        await self._catch_up()
        used: dict[str, Decimal] = {}
        for order in self.book.engine.open_orders():
            if order.side == "buy" and order.price is not None:
                quote = parse_symbol(order.symbol).quote
                used[quote] = used.get(quote, Decimal(0)) + order.remaining * order.price
        return balance_to_ccxt(self.book.cash, used, {"shadow": True})

    async def fetch_positions(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> list[Position]:
        """Shadow positions in ccxt's shape, marked at the venue's last (else mid) price, after every open shadow
        order was worked up to now."""
        await self._catch_up()
        positions: list[Position] = []
        for symbol, holding in sorted(self.book.holdings.items()):
            if holding.amount == 0 or (symbols is not None and symbol not in symbols):
                continue
            positions.append(position_to_ccxt(holding, await self._mark(symbol), self._now_ms(), {"shadow": True}))
        return positions

    async def _mark(self, symbol: str) -> Decimal | None:
        try:
            ticker = await self.venue.fetch_ticker(symbol)
        except Exception as exc:  # a mark is best effort: the position is reported unpriced
            log.warning("no mark for a shadow position", extra={"symbol": symbol, "error": repr(exc)})
            return None
        last, bid, ask = ticker.get("last"), ticker.get("bid"), ticker.get("ask")
        if last:
            return to_decimal(last)
        if bid and ask:
            return (to_decimal(bid) + to_decimal(ask)) / 2
        return None

    async def get_equity(self) -> float:
        """Shadow cash plus stock positions at their marks, in the base currency (``FxRateUnavailable`` if unpriced).

        FX positions are not added: their value is already in the cash of both currencies (as IB's
        NetLiquidation counts them).
        """
        base = self.base_currency
        equity = Decimal(0)
        for currency, amount in self.book.cash.items():
            if amount:
                equity += amount * to_decimal(await self.venue.fetch_fx_rate(currency, base))
        for position in await self.fetch_positions():
            if parse_symbol(position["symbol"]).is_fx:
                continue  # an FX position is already in the cash of its two currencies
            mark = position.get("markPrice")
            if mark is None:
                raise FxRateUnavailable(f"shadow position {position['symbol']} has no mark; equity is unknown")
            quote = parse_symbol(position["symbol"]).quote
            signed = to_decimal(position["contracts"]) * (1 if position["side"] == "long" else -1)
            equity += signed * to_decimal(mark) * to_decimal(await self.venue.fetch_fx_rate(quote, base))
        return float(equity)

    # --- orders: simulated by the core --------------------------------------------------------------
    async def create_order(
        self,
        symbol: str,
        type: str,
        side: OrderSide,
        amount: float,
        price: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> Order:
        """Simulate an order against the live quote; never sends anything to the venue.

        ``params``: ``clientOrderId`` (required: shadow orders are keyed by it; a repeat returns the
        first), ``timeInForce`` (GTC default, DAY, IOC, FOK, OPG), ``triggerPrice``/``stopPrice``, ``reduceOnly``.

        Raises:
            InvalidOrder: a raw market order where the market-order rule says no, or what the core refuses
                (:func:`sdk.sim.orders.validate_order`: an unknown type or time in force, a missing or off-ladder
                price, a fractional share, OPG where the market has no opening auction).
        """
        params = dict(params or {})
        cid = params.get("clientOrderId")
        if not isinstance(cid, str) or not cid:
            raise InvalidOrder("a shadow order needs params={'clientOrderId': ...}")
        existing = self.book.orders.get(shadow_order_id(cid))
        if existing is not None:
            return self.book.to_order(existing)
        stop = params.get("triggerPrice", params.get("stopPrice"))
        tif = str(params.get("timeInForce") or "GTC").upper()
        instrument = await self.venue.fetch_instrument(symbol)
        refuse_market_order(instrument, type)  # as the IB venue: nothing is simulated
        now = self._now_ms()
        order = SimOrder(
            id=shadow_order_id(cid),
            client_order_id=cid,
            symbol=symbol,
            type=type,
            side=side,
            amount=to_decimal(amount),
            price=to_decimal(price) if price is not None and type in ("limit", "stop_limit") else None,
            stop_price=to_decimal(stop) if stop is not None else None,
            time_in_force=tif,
            reduce_only=bool(params.get("reduceOnly", False)),
            timestamp=now,
        )
        self.book.engine.submit(order, instrument)
        await self._work(order, instrument, placing=True)
        if not order.is_done and tif in ("IOC", "FOK"):  # open market, but no quote met it
            order.end("canceled", f"{tif} order not filled on arrival", now)
        log.info(
            "shadow order",
            extra={"orderRef": cid, "symbol": symbol, "side": side, "amount": float(amount), "status": order.status,
                   "filled": float(order.filled), "conId": instrument.con_id, "exchange": instrument.exchange,
                   "commissionSource": COMMISSION_SOURCE},
        )  # fmt: skip
        return self.book.to_order(order)

    async def _work(self, order: SimOrder, instrument: InstrumentSpec, *, placing: bool) -> None:
        """Match the open part of ``order`` against what traded since it last met the market (a resting order:
        the venue's 1-minute bars, :meth:`_work_range`), then against the live quote (one slice), and book what
        fills (the core's rules: :mod:`sdk.sim.matching`)."""
        if order.is_done:
            return
        engine = self.book.engine
        engine.set_instrument(instrument)
        now = self._now_ms()
        if not placing:
            await self._work_range(order, instrument, now if order.expires_at is None else min(now, order.expires_at))
            if order.is_done:
                return
        if engine.expire(now, [order]):
            return
        if instrument.market is not None and get_calendar(instrument.market).session_at(_utc(now)) is None:
            return  # the market is shut: nothing trades (as on the offline gateway) until its next session
        market = await self._slice(order.symbol, instrument, now, fresh=placing)
        if market is None:
            if placing and order.type == "market":
                engine.reject(order.id, now, "no live quote to simulate a market fill against")
            return
        await self._match(order, instrument, market, at=now)

    async def _match(self, order: SimOrder, instrument: InstrumentSpec, market: MarketSlice, *, at: int) -> None:
        """One slice of the core's matching (the gateway's fill model), fills booked at ``at`` (ms)."""
        for execution in self.book.engine.on_slice(order.symbol, market, at, at, orders=[order]):
            fee, rate = await self._estimate_fee(instrument, execution)
            execution.fee = fee
            info = {"shadow": True, "commissionSource": COMMISSION_SOURCE, "fxRate": str(rate) if rate else None}
            self.book.record(execution, trade_to_ccxt(execution, info))

    async def _work_range(self, order: SimOrder, instrument: InstrumentSpec, until: int) -> None:
        """Work a resting order against every whole minute that traded since it last met the market.

        The venue's 1-minute bars (``fetch_ohlcv(symbol, "1m")``) from the first whole minute after the order was
        placed (or after the minutes already worked) to ``until`` (ms: now, or the order's DAY expiry) are matched
        in order, each as one slice (the quote one step around its open, its open, high, low and close), as the
        offline gateway works an order against the replayed market between two moves of its clock: a resting
        limit fills where a bar trades through it, a stop triggers where a bar reaches it. A minute is worked once
        (the venue keeps how far each order was worked). Without bars (a venue without history, a failed request)
        the order is worked against the live quote alone, as before; nothing is guessed.
        """
        start = -(-(self._worked_until.get(order.id) or order.timestamp) // _MINUTE_MS) * _MINUTE_MS
        end = until // _MINUTE_MS * _MINUTE_MS
        if end - start < _MINUTE_MS:
            return
        while start < end and not order.is_done:  # page: one answer holds at most the venue's default limit
            try:
                bars = await self.venue.fetch_ohlcv(order.symbol, RANGE_TIMEFRAME, since=start)
            except (ExchangeError, NetworkError) as exc:  # NotSupported too; the live quote still works the order
                extra = {"orderRef": order.client_order_id, "symbol": order.symbol, "error": repr(exc)}
                log.warning("no bars to work a resting shadow order against", extra=extra)
                return
            worked = [bar for bar in bars if start <= bar[0] and bar[0] + _MINUTE_MS <= end]
            for ts, o, h, low, c, _ in worked:
                if order.is_done:
                    break
                quote = quote_for(to_decimal(o), instrument.ladder)
                market = MarketSlice(
                    bid=quote.bid, ask=quote.ask, open=to_decimal(o), high=to_decimal(h), low=to_decimal(low),
                    close=to_decimal(c), volume=None,
                )  # fmt: skip
                await self._match(order, instrument, market, at=int(ts))
            if not worked:
                break  # nothing traded in the rest of the range (a closed market)
            start = int(worked[-1][0]) + _MINUTE_MS
            self._worked_until[order.id] = start
        self._worked_until[order.id] = end

    async def _slice(self, symbol: str, instrument: InstrumentSpec, now: int, *, fresh: bool) -> MarketSlice | None:
        """The live quote as one slice (bid/ask, the last price as its range); None without one.

        ``fresh`` (an order arriving): a quote last updated (``timestamp``, venue time) before the session in progress
        opened is frozen since the pre-open (the close before), not what trades now; the venue's first quote of the
        session is awaited, up to :data:`FRESH_QUOTE_WAIT` wall seconds (an order sent at the open meets the session's
        first quote, as IB's would; the offline gateway fills it against its market at the open). A market that
        quotes nothing new in that time is matched against the quote it has."""
        ticker = await self.venue.fetch_ticker(symbol)
        if fresh and _stale(ticker, instrument, now):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + FRESH_QUOTE_WAIT
            while _stale(ticker, instrument, now) and loop.time() < deadline:
                await asyncio.sleep(0.02)  # the venue's quote stream updates the ticker; a deadline bounds the wait
                ticker = await self.venue.fetch_ticker(symbol)
        bid, ask, last = ticker.get("bid"), ticker.get("ask"), ticker.get("last")
        if bid and ask and float(bid) > 0 and float(ask) > float(bid):
            b, a = to_decimal(bid), to_decimal(ask)
        elif last:
            quote = quote_for(to_decimal(last), instrument.ladder)
            b, a = quote.bid, quote.ask
        else:
            return None
        price = to_decimal(last) if last else (b + a) / 2
        return MarketSlice(bid=b, ask=a, open=price, high=price, low=price, close=price, volume=None)

    async def _estimate_fee(self, instrument: InstrumentSpec, execution: Execution) -> tuple[Fee, Decimal | None]:
        """The CostTracker's estimate for one fill, in its currency (pending when unknown), and the rate into the base
        currency."""
        base = self.base_currency
        wanted = {instrument.quote, "USD", instrument.base if instrument.instrument_type == "crypto" else base} - {base}
        rates = []
        for currency in sorted(wanted):
            try:
                value = await self.venue.fetch_fx_rate(currency, base)
            except FxRateUnavailable:
                continue
            source = f"{self.venue.id} fetch_fx_rate({currency}, {base})"
            rates.append(FxRate(currency, base, to_decimal(value), source, _utc(self._now_ms())))
        try:
            fee_rates = await self.venue.fetch_fee_rates(instrument.symbol)
        except NotSupported:  # a venue whose costs follow a schedule (IB)
            fee_rates = None
        try:
            cost = self.costs.estimate(
                instrument, execution.side, execution.amount, execution.price, FxTable.of(base, *rates),
                fee_rates=fee_rates, liquidity=execution.liquidity,
            )  # fmt: skip
        except Exception as exc:  # unknown cost: the fee stays pending (None), never 0.0
            extra = {"symbol": instrument.symbol, "error": repr(exc)}
            log.warning("no commission estimate for a shadow fill", extra=extra)
            return Fee.unknown(None, COMMISSION_SOURCE), None
        if cost.amount is None or cost.currency is None or cost.fx is None:
            return Fee.unknown(cost.currency, COMMISSION_SOURCE), None
        return Fee(cost.amount, cost.currency, COMMISSION_SOURCE), cost.fx.rate

    async def cancel_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """Cancel a shadow order by client order id or shadow id; a finished one is returned as it is. An open one is
        first worked up to now (what the market filled before the cancel stays filled, as at a real venue)."""
        order = self._find(id)
        if not order.is_done:
            await self._work(order, await self.venue.fetch_instrument(order.symbol), placing=False)
        order.end("canceled", "cancelled", self._now_ms())
        return self.book.to_order(order)

    async def fetch_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """A shadow order, first worked against the current quote when it is still open."""
        order = self._find(id)
        if not order.is_done:
            await self._work(order, await self.venue.fetch_instrument(order.symbol), placing=False)
        return self.book.to_order(order)

    def _find(self, id: str) -> SimOrder:
        order = self.book.orders.get(shadow_order_id(id.removeprefix("shadow:")))
        if order is None:
            raise OrderNotFound(f"no shadow order with id or clientOrderId {id!r}")
        return order

    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Order]:
        await self._catch_up()
        found = [
            self.book.to_order(o) for o in self.book.engine.open_orders(symbol) if since is None or o.timestamp >= since
        ]
        return found[:limit] if limit is not None else found

    async def fetch_closed_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Order]:
        """Finished shadow orders (filled, cancelled, expired, rejected), oldest first (as they stand: open ones are
        not worked first)."""
        done = [
            self.book.to_order(o)
            for o in self.book.orders.values()
            if o.is_done and (symbol is None or o.symbol == symbol) and (since is None or o.timestamp >= since)
        ]
        return done[:limit] if limit is not None else done

    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Trade]:
        await self._catch_up()
        found = [
            t
            for t in self.book.fills
            if (symbol is None or t["symbol"] == symbol) and (since is None or int(t["timestamp"]) >= since)
        ]
        return found[:limit] if limit is not None else found


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _stale(ticker: Ticker, instrument: InstrumentSpec, now: int) -> bool:
    """True when the quote was last updated (``timestamp``, venue time) before the session in progress at ``now``
    (ms) opened: frozen since the pre-open. False outside a session, or without a timestamp or a market."""
    stamped = ticker.get("timestamp")
    if stamped is None or instrument.market is None:
        return False
    session = get_calendar(instrument.market).session_at(_utc(now))
    return session is not None and int(stamped) < int(session.open.timestamp() * 1000)
