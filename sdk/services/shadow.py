"""Shadow (observe) mode: real data and account, orders filled by a local simulator, nothing sent.

:class:`ShadowVenue` is a :class:`~sdk.base.BaseTrader` over a real venue. Market data, instruments
and FX come from the real venue; orders never reach it. ``create_order`` matches the order against
the venue's live quote with the offline gateway's own fill model (:func:`sdk.sim.fills.match`,
imported, not copied), so a shadow fill is what the offline gateway would have given a paper order:

* a market order, or a limit that reaches the far touch, fills at once at the touch (taker), while the
  instrument's market is open (:mod:`sdk.calendars`; nothing fills while it is shut, as on the gateway); a
  market order is protected by the gateway's cap (:func:`sdk.sim.fills.protection_cap`), and one where the
  SDK's market-order rule says no (ASX, ``MARKET_ORDERS_AS_LIMITS``) is refused as the IB venue refuses it
  (:func:`sdk.instruments.refuse_market_order`);
* a resting limit or stop is worked, whenever :meth:`ShadowVenue.fetch_order` looks at it, against every
  whole minute that traded since (the venue's 1-minute bars) and then the live quote: a limit fills
  where a minute trades through it (maker), a stop triggers and fills as the fill model says, as the
  offline gateway works an order against the replayed market between two moves of its clock; ``IOC``
  leaves are cancelled on arrival; ``DAY`` orders expire at the close of their session
  (:mod:`sdk.calendars`), after the minutes before it were worked.

The account (:class:`ShadowBook`) starts from the real account's cash and positions and moves with
every shadow fill; commissions are the :class:`~sdk.costs.CostTracker`'s estimates (source
``estimate``), charged in their currency. Positions, balances and equity answer from the book in
ccxt's shapes, so the risk path and the portfolio see shadow positions exactly as they would see
real ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ccxt.base.types import Balances, Order, Position, Trade

from sdk.base import BaseTrader, OrderSide
from sdk.calendars import get_calendar
from sdk.costs import CostTracker
from sdk.costs.fx import FxRate, FxTable, to_decimal
from sdk.errors import ExchangeError, FxRateUnavailable, InvalidOrder, NetworkError, NotSupported, OrderNotFound
from sdk.instruments import InstrumentSpec, refuse_market_order
from sdk.services.forwarding import VenueForwarder
from sdk.sim.fills import Fill, MarketSlice, OrderSpec, OrderType, Side, match, protection_cap, quote_for
from sdk.symbols import parse_symbol

__all__ = ["Holding", "ShadowBook", "ShadowOrder", "ShadowVenue", "shadow_order_id"]

log = logging.getLogger(__name__)

_FILL_TYPES: dict[str, OrderType] = {"market": "MKT", "limit": "LMT", "stop": "STP", "stop_limit": "STP LMT"}
#: The bars a resting shadow order is worked against between two looks (:meth:`ShadowVenue._work_range`).
RANGE_TIMEFRAME = "1m"
_MINUTE_MS = 60_000
_DONE = frozenset({"closed", "canceled", "expired", "rejected"})
COMMISSION_SOURCE = "estimate"


def shadow_order_id(client_order_id: str) -> str:
    """The venue-style id of a shadow order (``shadow:<client order id>``): never a real venue's id."""
    return f"shadow:{client_order_id}"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class Holding:
    """A shadow position: ``amount`` signed base units, ``average`` entry price and ``realized`` PnL in the quote."""

    symbol: str
    amount: Decimal = Decimal(0)
    average: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)

    @property
    def quote(self) -> str:
        return parse_symbol(self.symbol).quote

    def apply(self, side: str, amount: Decimal, price: Decimal) -> Decimal:
        """Book one fill at average cost; returns the PnL it realised, in the quote currency."""
        signed = amount if side == "buy" else -amount
        realized = Decimal(0)
        if self.amount == 0 or (self.amount > 0) == (signed > 0):
            total = self.amount + signed
            self.average = (self.average * abs(self.amount) + price * amount) / abs(total)
            self.amount = total
            return realized
        closing = min(abs(signed), abs(self.amount))
        direction = Decimal(1) if self.amount > 0 else Decimal(-1)
        realized = (price - self.average) * closing * direction
        self.realized += realized
        left = self.amount + signed
        if left == 0:
            self.amount, self.average = Decimal(0), Decimal(0)
        elif (left > 0) != (self.amount > 0):  # flipped: the rest opens at this price
            self.amount, self.average = left, price
        else:
            self.amount = left
        return realized


@dataclass(slots=True)
class ShadowOrder:
    """One simulated order. ``amount``/``filled`` in base units; prices in the quote currency; times ms UTC."""

    client_order_id: str
    symbol: str
    type: str
    side: OrderSide
    amount: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str
    reduce_only: bool
    timestamp: int
    status: str = "open"
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    triggered: bool = False
    cap: Decimal | None = None  # a market order's protection cap, set when it first meets the market
    worked_until: int | None = None  # ms: the end of the last minute of bars the order was worked against
    expires_at: int | None = None
    last_update: int | None = None
    reason: str = ""
    trades: list[Trade] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def is_done(self) -> bool:
        return self.status in _DONE

    def to_order(self) -> Order:
        """The ccxt order structure (``id`` is :func:`shadow_order_id`)."""
        average = self.cost / self.filled if self.filled else None
        fees = [t["fee"] for t in self.trades if t.get("fee")]
        currencies = {f["currency"] for f in fees}
        fee = None
        if fees and len(currencies) == 1 and len(fees) == len(self.trades):
            fee = {"cost": float(sum(to_decimal(f["cost"]) for f in fees)), "currency": currencies.pop()}
        order: dict[str, Any] = {
            "info": {"shadow": True, "reason": self.reason or None, "commissionSource": COMMISSION_SOURCE},
            "id": shadow_order_id(self.client_order_id),
            "clientOrderId": self.client_order_id,
            "timestamp": self.timestamp,
            "datetime": _iso(self.timestamp),
            "lastTradeTimestamp": self.trades[-1]["timestamp"] if self.trades else None,
            "lastUpdateTimestamp": self.last_update,
            "symbol": self.symbol,
            "type": self.type,
            "timeInForce": self.time_in_force,
            "postOnly": False,
            "reduceOnly": self.reduce_only,
            "side": self.side,
            "price": float(self.price) if self.price is not None else None,
            "stopPrice": float(self.stop_price) if self.stop_price is not None else None,
            "triggerPrice": float(self.stop_price) if self.stop_price is not None else None,
            "amount": float(self.amount),
            "cost": float(self.cost),
            "average": float(average) if average is not None else None,
            "filled": float(self.filled),
            "remaining": float(self.remaining) if not self.is_done or self.status != "closed" else 0.0,
            "status": self.status,
            "fee": fee,
            "fees": [fee] if fee else [],
            "trades": list(self.trades),
        }
        return order


class ShadowBook:
    """The shadow account: cash per currency, holdings, orders and fills, in exact Decimals.

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
        self.base_currency = base_currency
        self.cash: dict[str, Decimal] = {k: to_decimal(v) for k, v in (cash or {}).items()}
        self.holdings: dict[str, Holding] = {h.symbol: h for h in holdings}
        self.orders: dict[str, ShadowOrder] = {}
        self.fills: list[Trade] = []
        self._fill_ids: set[str] = set()

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
        return self.holdings.setdefault(symbol, Holding(symbol))

    def apply_fill(self, trade: Mapping[str, Any]) -> bool:
        """Book a ccxt trade (a shadow fill, or one replayed from the ledger); False when already booked."""
        trade_id = str(trade["id"])
        if trade_id in self._fill_ids:
            return False
        symbol = str(trade["symbol"])
        amount, price = to_decimal(trade["amount"]), to_decimal(trade["price"])
        quote = parse_symbol(symbol).quote
        base = parse_symbol(symbol).base
        side = str(trade["side"])
        self.holding(symbol).apply(side, amount, price)
        value = amount * price
        self.cash[quote] = self.cash.get(quote, Decimal(0)) + (-value if side == "buy" else value)
        if parse_symbol(symbol).is_fx:  # an FX trade moves both cash legs (IB also reports the pair's position)
            self.cash[base] = self.cash.get(base, Decimal(0)) + (amount if side == "buy" else -amount)
        fee = trade.get("fee")
        if fee and fee.get("cost") is not None and fee.get("currency"):
            currency = str(fee["currency"])
            self.cash[currency] = self.cash.get(currency, Decimal(0)) - to_decimal(fee["cost"])
        self._fill_ids.add(trade_id)
        self.fills.append(dict(trade))
        return True

    def realized(self) -> dict[str, Decimal]:
        """Realised PnL per quote currency since the book opened."""
        totals: dict[str, Decimal] = {}
        for holding in self.holdings.values():
            totals[holding.quote] = totals.get(holding.quote, Decimal(0)) + holding.realized
        return totals


class ShadowVenue(VenueForwarder):
    """A real venue with simulated orders and a simulated account (see the module docstring).

    Args:
        venue: the real, connected venue (quotes, instruments, FX).
        book: the shadow account.
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
        self.has = {  # type: ignore[misc]
            **venue.has,
            "createOrder": True,
            "cancelOrder": True,
            "fetchOrder": True,
            "fetchOpenOrders": True,
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
        for order in [o for o in self.book.orders.values() if not o.is_done]:
            await self._work(order, await self.venue.fetch_instrument(order.symbol), arrival=False)

    async def fetch_balance(self, params: dict[str, Any] | None = None) -> Balances:
        """Shadow cash per currency (``used``: what open shadow buy orders reserve at their limit), after every open
        shadow order was worked up to now."""
        await self._catch_up()
        used: dict[str, Decimal] = {}
        for order in self.book.orders.values():
            if not order.is_done and order.side == "buy" and order.price is not None:
                quote = parse_symbol(order.symbol).quote
                used[quote] = used.get(quote, Decimal(0)) + order.remaining * order.price
        balance: dict[str, Any] = {"info": {"shadow": True}, "free": {}, "used": {}, "total": {}}
        for currency, total in sorted(self.book.cash.items()):
            reserved = used.get(currency, Decimal(0))
            entry = {"free": float(total - reserved), "used": float(reserved), "total": float(total)}
            balance[currency] = entry
            for key in ("free", "used", "total"):
                balance[key][currency] = entry[key]
        return balance

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
            mark = await self._mark(symbol)
            size = abs(holding.amount)
            side = "long" if holding.amount > 0 else "short"
            unrealized = (mark - holding.average) * holding.amount if mark is not None else None
            position: dict[str, Any] = {
                "info": {"shadow": True, "position": float(holding.amount)},
                "id": None,
                "symbol": symbol,
                "timestamp": self._now_ms(),
                "datetime": _iso(self._now_ms()),
                "side": side,
                "contracts": float(size),
                "contractSize": 1.0,
                "entryPrice": float(holding.average),
                "markPrice": float(mark) if mark is not None else None,
                "notional": float(size * mark) if mark is not None else None,
                "unrealizedPnl": float(unrealized) if unrealized is not None else None,
                "realizedPnl": float(holding.realized),
                "leverage": 1.0,
                "marginMode": "cash",
                "hedged": False,
                "percentage": None,
                "collateral": float(size * mark) if mark is not None else None,
            }
            positions.append(position)
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

    # --- orders: simulated --------------------------------------------------------------------
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
        first), ``timeInForce`` (GTC default, DAY, IOC, FOK), ``triggerPrice``/``stopPrice``, ``reduceOnly``.

        Raises:
            InvalidOrder: an unknown order type, a missing price, or no live quote to fill against.
        """
        params = dict(params or {})
        cid = params.get("clientOrderId")
        if not isinstance(cid, str) or not cid:
            raise InvalidOrder("a shadow order needs params={'clientOrderId': ...}")
        existing = self.book.orders.get(cid)
        if existing is not None:
            return existing.to_order()
        if type not in _FILL_TYPES:
            raise InvalidOrder(f"order type {type!r} is not simulated; use one of {', '.join(_FILL_TYPES)}")
        stop = params.get("triggerPrice", params.get("stopPrice"))
        tif = str(params.get("timeInForce") or "GTC").upper()
        now = self._now_ms()
        order = ShadowOrder(
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
            last_update=now,
        )
        instrument = await self.venue.fetch_instrument(symbol)
        refuse_market_order(instrument, type)  # as the IB venue: nothing is simulated
        if tif == "DAY":
            order.expires_at = self._session_close_ms(instrument, now)
        self.book.orders[cid] = order
        await self._work(order, instrument, arrival=True)
        if not order.is_done and tif in ("IOC", "FOK"):
            order.status, order.reason = "canceled", f"{tif} order not filled on arrival"
        log.info(
            "shadow order",
            extra={"orderRef": cid, "symbol": symbol, "side": side, "amount": float(amount), "status": order.status,
                   "filled": float(order.filled), "conId": instrument.con_id, "exchange": instrument.exchange,
                   "commissionSource": COMMISSION_SOURCE},
        )  # fmt: skip
        return order.to_order()

    def _session_close_ms(self, instrument: InstrumentSpec, now_ms: int) -> int | None:
        if instrument.market is None:
            return None
        session = get_calendar(instrument.market).next_session(datetime.fromtimestamp(now_ms / 1000, UTC))
        return int(session.close.timestamp() * 1000)

    async def _work(self, order: ShadowOrder, instrument: InstrumentSpec, *, arrival: bool) -> None:
        """Match the open part of ``order`` against what traded since it last met the market (a resting order:
        the venue's 1-minute bars, :meth:`_work_range`), then against the live quote (one slice), and book what
        fills."""
        if order.is_done:
            return
        now = self._now_ms()
        if not arrival:
            await self._work_range(order, instrument, now if order.expires_at is None else min(now, order.expires_at))
            if order.is_done:
                return
        if order.expires_at is not None and now >= order.expires_at:
            order.status, order.reason, order.last_update = "expired", "DAY order: its session closed", now
            return
        if instrument.market is not None and get_calendar(instrument.market).session_at(_utc(now)) is None:
            return  # the market is shut: nothing trades (as on the offline gateway) until its next session
        market = await self._slice(order.symbol, instrument)
        if market is None:
            if arrival and order.type == "market":
                order.status, order.reason = "rejected", "no live quote to simulate a market fill against"
            return
        await self._match(order, instrument, market, arrival=arrival, at=now)
        order.last_update = now

    async def _match(
        self, order: ShadowOrder, instrument: InstrumentSpec, market: MarketSlice, *, arrival: bool, at: int
    ) -> None:
        """One slice of the fill model (the gateway's own), fills booked at ``at`` (ms)."""
        side: Side = "BUY" if order.side == "buy" else "SELL"
        if order.type == "market" and order.cap is None:  # the gateway's protection, set at arrival
            order.cap = protection_cap(side, market, instrument.ladder)
        spec = OrderSpec(
            side=side,
            order_type=_FILL_TYPES[order.type],
            quantity=order.remaining,
            limit_price=order.cap if order.type == "market" else order.price,
            stop_price=order.stop_price,
            triggered=order.triggered,
        )
        # the size step as the gateway's broker passes it: a partial fill is rounded down to whole steps
        decision = match(
            spec, market, volume_left=None, arrival=arrival, ladder=instrument.ladder,
            size_increment=instrument.size_increment,
        )  # fmt: skip
        order.triggered = decision.triggered
        for fill in decision.fills:
            await self._book_fill(order, instrument, fill, at)
        if order.remaining <= 0:
            order.status = "closed"

    async def _work_range(self, order: ShadowOrder, instrument: InstrumentSpec, until: int) -> None:
        """Work a resting order against every whole minute that traded since it last met the market.

        The venue's 1-minute bars (``fetch_ohlcv(symbol, "1m")``) from the first whole minute after the order was
        placed (or after the minutes already worked) to ``until`` (ms: now, or the order's DAY expiry) are matched
        in order, each as one slice (the quote one step around its open, its open, high, low and close), as the
        offline gateway works an order against the replayed market between two moves of its clock: a resting
        limit fills where a bar trades through it, a stop triggers where a bar reaches it. A minute is worked once
        (``ShadowOrder.worked_until``). Without bars (a venue without history, a failed request) the order is
        worked against the live quote alone, as before; nothing is guessed.
        """
        start = -(-(order.worked_until or order.timestamp) // _MINUTE_MS) * _MINUTE_MS
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
                await self._match(order, instrument, market, arrival=False, at=int(ts))
            if not worked:
                break  # nothing traded in the rest of the range (a closed market)
            start = int(worked[-1][0]) + _MINUTE_MS
            order.worked_until = start
        order.worked_until = end

    async def _slice(self, symbol: str, instrument: InstrumentSpec) -> MarketSlice | None:
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

    async def _book_fill(self, order: ShadowOrder, instrument: InstrumentSpec, fill: Fill, now: int) -> None:
        fee, rate = await self._estimate_fee(instrument, order.side, fill)
        number = len(order.trades) + 1
        trade: dict[str, Any] = {
            "info": {"shadow": True, "commissionSource": COMMISSION_SOURCE, "fxRate": str(rate) if rate else None},
            "id": f"{shadow_order_id(order.client_order_id)}:{number}",
            "order": shadow_order_id(order.client_order_id),
            "clientOrderId": order.client_order_id,
            "timestamp": now,
            "datetime": _iso(now),
            "symbol": order.symbol,
            "type": order.type,
            "side": order.side,
            "takerOrMaker": fill.liquidity,
            "price": float(fill.price),
            "amount": float(fill.quantity),
            "cost": float(fill.price * fill.quantity),
            "fee": fee,
            "fees": [fee] if fee else [],
        }
        order.trades.append(trade)
        order.filled += fill.quantity
        order.cost += fill.price * fill.quantity
        self.book.apply_fill(trade)

    async def _estimate_fee(
        self, instrument: InstrumentSpec, side: OrderSide, fill: Fill
    ) -> tuple[dict[str, Any] | None, Decimal | None]:
        """The CostTracker's estimate for one fill, in its currency, and the rate into the base currency."""
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
                instrument, side, fill.quantity, fill.price, FxTable.of(base, *rates),
                fee_rates=fee_rates, liquidity=fill.liquidity,
            )  # fmt: skip
        except Exception as exc:  # unknown cost: the fee stays pending (None), never 0.0
            extra = {"symbol": instrument.symbol, "error": repr(exc)}
            log.warning("no commission estimate for a shadow fill", extra=extra)
            return None, None
        if cost.amount is None or cost.currency is None or cost.fx is None:
            return None, None
        return {"cost": float(cost.amount), "currency": cost.currency}, cost.fx.rate

    async def cancel_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """Cancel a shadow order by client order id or shadow id; a finished one is returned as it is. An open one is
        first worked up to now (what the market filled before the cancel stays filled, as at a real venue)."""
        order = self._find(id)
        if not order.is_done:
            await self._work(order, await self.venue.fetch_instrument(order.symbol), arrival=False)
        if not order.is_done:
            order.status, order.reason, order.last_update = "canceled", "cancelled", self._now_ms()
        return order.to_order()

    async def fetch_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """A shadow order, first worked against the current quote when it is still open."""
        order = self._find(id)
        if not order.is_done:
            await self._work(order, await self.venue.fetch_instrument(order.symbol), arrival=False)
        return order.to_order()

    def _find(self, id: str) -> ShadowOrder:
        cid = id.removeprefix("shadow:")
        order = self.book.orders.get(cid)
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
            o.to_order()
            for o in self.book.orders.values()
            if not o.is_done and (symbol is None or o.symbol == symbol) and (since is None or o.timestamp >= since)
        ]
        return found[:limit] if limit is not None else found

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
