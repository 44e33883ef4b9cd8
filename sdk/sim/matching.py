"""The matching engine: the book of working orders and the rules that fill, expire and cancel them.

:class:`MatchingEngine` holds every simulated order (:class:`~sdk.sim.orders.SimOrder`) and works the open ones
against the market its driver feeds it, one slice at a time (:meth:`MatchingEngine.on_slice`: a bar of the
catalog for the simulated venue, a minute bar or the live quote for the shadow venue). Prices come from the fill
model (:func:`sdk.sim.fills.match`, :func:`sdk.sim.fills.auction`); this module adds what the fill model does not
know:

* **Time**: an order meets only the market after it was placed (a slice starting at or after its ``timestamp``):
  an order placed at a bar's close fills no earlier than the next bar's open. The engine has no clock; its driver
  says what time it is (every time is integer ms UTC).
* **Sessions** (:mod:`sdk.calendars`): nothing fills in a slice that starts while the instrument's market is shut
  (pre- and post-market bars included); an order placed then waits, and its arrival is the first slice of the next
  session. An instrument without a market (``market=None``: crypto) trades around the clock.
* **Arrival**: the first slice an order meets inside a session; a marketable limit or a market order fills there at
  the touch as the taker. A market order gets its protection cap then (:func:`sdk.sim.fills.protection_cap`, as
  IB's simulated market orders have one; :attr:`FillConfig.market_protection_pct`).
* **Volume**: all orders of a symbol together take at most :attr:`FillConfig.fill_volume_share` of a slice's volume
  (orders served in the order they were placed); what is left fills in later slices (a partial fill). A slice
  without volume (IDEALPRO FX, the live quote) bounds nothing.
* **Times in force** (:mod:`sdk.sim.orders`): ``IOC`` cancels what its arrival did not fill; ``FOK`` fills whole on
  arrival or not at all (then it is cancelled); both are cancelled at once when placed while the market is shut.
  ``DAY`` expires at the close of its session (a slice starting at or after it, or :meth:`MatchingEngine.expire`).
  ``OPG`` trades only in the opening auction of the session after it was placed, at that session's first slice's
  open (the first bar's open), and what does not fill there is cancelled; an opening the driver never showed (no
  bar at the open) cancels it.
* **Closing auction** (:meth:`MatchingEngine.close_auction`): market and limit orders placed at a session's (or a
  bar's) close may be matched at that close, for market-on-close semantics; only where the market runs auctions.
* **Slippage**: :attr:`FillConfig.slippage_bps` moves every taker fill against the order (never past its limit
  or cap).

Deterministic: orders are worked in the order they were placed, executions are numbered per order
(``<order id>:<n>``), and nothing reads the wall clock or a random source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sdk.calendars import Session, get_calendar
from sdk.errors import InvalidOrder, OrderNotFound
from sdk.instruments import InstrumentSpec
from sdk.sim.fills import (
    MARKET_PROTECTION_PCT,
    Fill,
    FillDecision,
    MarketSlice,
    OrderSpec,
    Side,
    auction,
    match,
    protection_cap,
    slipped,
)
from sdk.sim.orders import AUCTION_MARKETS, Execution, SimOrder, validate_order

__all__ = ["FillConfig", "MatchingEngine"]


@dataclass(frozen=True, slots=True)
class FillConfig:
    """The fill model's named assumptions (NautilusTrader's habit: settings, not scattered constants).

    Attributes:
        fill_volume_share: the share of each slice's volume the account's orders of one symbol may take together
            (1 = all of it, the offline gateway's default ``participation``; None: unbounded, the shadow venue's
            behaviour against the live quote). Must be in (0, 1].
        slippage_bps: basis points every taker fill is moved against the order (0: none), on the price ladder and
            never past the order's limit or cap.
        market_protection_pct: a market order's protection cap beyond the touch at its arrival, in percent
            (:data:`sdk.sim.fills.MARKET_PROTECTION_PCT`); None for unprotected market orders.
    """

    fill_volume_share: Decimal | None = Decimal(1)
    slippage_bps: Decimal = Decimal(0)
    market_protection_pct: Decimal | None = MARKET_PROTECTION_PCT

    def __post_init__(self) -> None:
        share = self.fill_volume_share
        if share is not None and not (0 < share <= 1):
            raise ValueError(f"fill_volume_share must be in (0, 1] (a share of each bar's volume), got {share}")
        if self.slippage_bps < 0:
            raise ValueError(f"slippage_bps must be zero or more basis points, got {self.slippage_bps}")


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _side(order: SimOrder) -> Side:
    return "BUY" if order.side == "buy" else "SELL"


class MatchingEngine:
    """The book of simulated orders and its matching rules (see the module docstring).

    Args:
        config: the fill model's assumptions.
    """

    def __init__(self, config: FillConfig | None = None) -> None:
        self.config = config or FillConfig()
        #: Every order ever submitted, by id, in submission order.
        self.orders: dict[str, SimOrder] = {}
        self._instruments: dict[str, InstrumentSpec] = {}
        self._working: dict[str, list[SimOrder]] = {}
        self._consumed: dict[tuple[str, int], Decimal] = {}
        self._sessions: dict[str, Session] = {}

    # --- orders ------------------------------------------------------------------------------------
    def submit(self, order: SimOrder, instrument: InstrumentSpec) -> SimOrder:
        """Accept ``order`` (placed at ``order.timestamp``) for ``instrument`` and start working it.

        Sets a ``DAY`` order's expiry (the close of the session it is placed in, else of the next one) and an
        ``OPG`` order's opening auction (the next session to open after it is placed); cancels an ``IOC`` or
        ``FOK`` order placed while its market is shut. Nothing fills here: the next slice the driver feeds is the
        order's arrival.

        Raises:
            InvalidOrder: the order breaks a rule of :func:`sdk.sim.orders.validate_order`, or its id is in use.
        """
        validate_order(
            instrument, order.type, order.side, order.amount, order.price, order.stop_price, order.time_in_force
        )
        if order.id in self.orders:
            raise InvalidOrder(f"order id {order.id!r} is in use; give each order its own id")
        order.last_update = order.last_update or order.timestamp
        self.orders[order.id] = order
        self._instruments[order.symbol] = instrument
        if not self._schedule(order, instrument, order.timestamp):
            return order
        self._working.setdefault(order.symbol, []).append(order)
        return order

    def amend(
        self,
        order_id: str,
        at: int,
        *,
        type: str,
        amount: Decimal,
        price: Decimal | None,
        stop_price: Decimal | None,
        time_in_force: str,
    ) -> SimOrder:
        """Modify an open order at ``at`` (ms): IB's modification (``placeOrder`` again with the order's id), ccxt's
        ``edit_order``. Its type, ``amount`` (base units, what filled included), limit, stop and time in force become
        the new ones; it arrives again (a marketable limit takes the touch, a market order gets a new cap); a ``DAY``
        or ``OPG`` time in force is scheduled from ``at``, as :meth:`submit` schedules it; what filled stays filled
        (an ``amount`` equal to it closes the order). Side, symbol and id do not change.

        Raises:
            OrderNotFound: no such order.
            InvalidOrder: the order is finished, the new terms break a rule of :func:`sdk.sim.orders.validate_order`,
                or ``amount`` is below what already filled; nothing changes then.
        """
        order = self.get(order_id)
        if order.is_done:
            raise InvalidOrder(f"order {order_id!r} is {order.status}; only an open order can be modified")
        instrument = self._instruments[order.symbol]
        validate_order(instrument, type, order.side, amount, price, stop_price, time_in_force)
        if amount < order.filled:
            raise InvalidOrder(f"amount {amount} is below the {order.filled} already filled; cancel the order instead")
        order.type, order.amount, order.price, order.stop_price = type, amount, price, stop_price
        order.time_in_force, order.cap, order.arrival = time_in_force, None, True
        order.expires_at = order.opens_at = None
        order.last_update = max(order.last_update or at, at)
        if order.remaining <= 0:
            order.status = "closed"
            return order
        working = self._working.get(order.symbol, [])
        if self._schedule(order, instrument, at) and all(o is not order for o in working):
            self._working.setdefault(order.symbol, []).append(order)
        return order

    def _schedule(self, order: SimOrder, instrument: InstrumentSpec, now: int) -> bool:
        """Set a ``DAY`` order's expiry and an ``OPG`` order's opening auction from ``now`` (ms); cancel an ``IOC`` or
        ``FOK`` order placed while its market is shut. False when the order ended here."""
        session = self._session_at(instrument, now)
        if instrument.market is not None:
            calendar = get_calendar(instrument.market)
            if order.time_in_force == "DAY":
                order.expires_at = _ms((session or calendar.next_session(_utc(now))).close)
            elif order.time_in_force == "OPG":
                opening = calendar.next_session(session.close if session is not None else _utc(now))
                order.opens_at, order.expires_at = _ms(opening.open), _ms(opening.close)
        if instrument.market is not None and session is None and order.time_in_force in ("IOC", "FOK"):
            order.end("canceled", f"{order.time_in_force} order outside market hours", now)
            return False
        return True

    def restore(self, order: SimOrder, instrument: InstrumentSpec | None = None) -> None:
        """Put back an order as it was (a shadow run resumed from the ledger): no checks; an open one is worked again
        from here on (its instrument given here or by :meth:`set_instrument` before the next slice)."""
        self.orders[order.id] = order
        if instrument is not None:
            self.set_instrument(instrument)
        if not order.is_done:
            self._working.setdefault(order.symbol, []).append(order)

    def set_instrument(self, instrument: InstrumentSpec) -> None:
        """Say (again) what ``instrument.symbol`` is: its ladder, size step and market hours."""
        self._instruments[instrument.symbol] = instrument

    def get(self, order_id: str) -> SimOrder:
        """The order with ``order_id``.

        Raises:
            OrderNotFound: no such order.
        """
        found = self.orders.get(order_id)
        if found is None:
            raise OrderNotFound(f"no simulated order with id {order_id!r}")
        return found

    def cancel(self, order_id: str, at: int, reason: str = "cancelled") -> SimOrder:
        """Cancel an open order at ``at`` (ms); a finished one is returned as it is.

        Raises:
            OrderNotFound: no such order.
        """
        order = self.get(order_id)
        order.end("canceled", reason, at)
        return order

    def forget(self, order_id: str) -> None:
        """Drop a finished order from the book (a long-running driver that keeps its own history, as the offline
        gateway does, so the book does not grow with it); an unknown id is ignored.

        Raises:
            InvalidOrder: the order is still open (cancel it first).
        """
        order = self.orders.get(order_id)
        if order is None:
            return
        if not order.is_done:
            raise InvalidOrder(f"order {order_id!r} is {order.status}; only a finished order can be forgotten")
        del self.orders[order_id]
        working = self._working.get(order.symbol)
        if working is not None and any(o is order for o in working):
            self._working[order.symbol] = [o for o in working if o is not order]

    def reject(self, order_id: str, at: int, reason: str) -> SimOrder:
        """Reject an open order the driver cannot work (no market to fill a market order against)."""
        order = self.get(order_id)
        order.end("rejected", reason, at)
        return order

    def open_orders(self, symbol: str | None = None) -> list[SimOrder]:
        """The open orders (of ``symbol``), in the order they were placed."""
        lists = [self._working.get(symbol, [])] if symbol is not None else list(self._working.values())
        found = [o for orders in lists for o in orders if not o.is_done]
        return sorted(found, key=lambda o: (o.timestamp, o.id)) if symbol is None else found

    def symbols_working(self) -> list[str]:
        """Symbols with at least one open order, sorted."""
        return sorted(s for s, orders in self._working.items() if any(not o.is_done for o in orders))

    def has_working(self, symbol: str) -> bool:
        """True when ``symbol`` has an open order (cheap: the driver's fast path)."""
        orders = self._working.get(symbol)
        if not orders:
            return False
        if all(o.is_done for o in orders):
            del self._working[symbol]
            return False
        return True

    # --- time ---------------------------------------------------------------------------------------
    def expire(self, now: int, orders: Iterable[SimOrder] | None = None) -> list[SimOrder]:
        """End every open order (or only ``orders``) whose time is up at ``now`` (ms): a ``DAY`` order past its
        session's close (``expired``), an ``OPG`` order past its opening session (``canceled``). Returns them."""
        ended: list[SimOrder] = []
        chosen = list(orders) if orders is not None else [o for os in self._working.values() for o in os]
        for order in chosen:
            if not order.is_done and order.expires_at is not None and order.expires_at <= now:
                self._time_up(order)
                ended.append(order)
        if ended:
            for symbol in {o.symbol for o in ended}:
                self._working[symbol] = [o for o in self._working.get(symbol, []) if not o.is_done]
        return ended

    @staticmethod
    def _time_up(order: SimOrder) -> None:
        assert order.expires_at is not None
        if order.time_in_force == "OPG":
            order.end("canceled", "OPG order: its opening auction passed without filling it", order.expires_at)
        else:
            order.end("expired", "DAY order: its session closed", order.expires_at)

    def _session_at(self, instrument: InstrumentSpec, ms: int) -> Session | None:
        market = instrument.market
        if market is None:
            return None
        cached = self._sessions.get(market)
        when = _utc(ms)
        if cached is not None and cached.contains(when):
            return cached
        session = get_calendar(market).session_at(when)
        if session is not None:
            self._sessions[market] = session
        return session

    # --- matching -----------------------------------------------------------------------------------
    def on_slice(
        self,
        symbol: str,
        market: MarketSlice,
        start: int,
        end: int,
        *,
        bar_key: int | None = None,
        orders: Iterable[SimOrder] | None = None,
    ) -> list[Execution]:
        """Work the open orders of ``symbol`` (or only ``orders``) against the market of ``[start, end)`` (ms).

        Args:
            symbol: the instrument.
            market: the slice's quote at its start, traded range and volume (base units, or None).
            start, end: the slice's bounds; fills are stamped ``start``.
            bar_key: names the bar whose volume bounds the fills when several slices share one bar (default
                ``start``: each slice is its own bar).
            orders: work only these (the shadow venue works the order it is asked about).

        Returns:
            The executions, in the order they happened (their ``fee`` None: the caller prices them).
        """
        working = self._working.get(symbol)
        if not working:
            return []
        instrument = self._instruments[symbol]
        chosen = list(orders) if orders is not None else list(working)
        executions: list[Execution] = []
        session: Session | None = None
        if instrument.market is not None:
            session = self._session_at(instrument, start)
        key = (symbol, start if bar_key is None else bar_key)
        for order in chosen:
            if order.is_done or start < order.timestamp:
                continue
            if order.expires_at is not None and start >= order.expires_at:
                self._time_up(order)
                continue
            if instrument.market is not None and session is None:
                continue  # the market is shut: nothing trades until its next session
            if order.time_in_force == "OPG":
                executions += self._opening(order, instrument, market, start, key)
            else:
                executions += self._continuous(order, instrument, market, start, key)
        if any(o.is_done for o in working):
            self._working[symbol] = [o for o in working if not o.is_done]
        if len(self._consumed) > 50_000:
            self._consumed = {k: v for k, v in self._consumed.items() if k[1] >= start}
        return executions

    def close_auction(
        self, symbol: str, price: Decimal, volume: Decimal | None, at: int, orders: Iterable[SimOrder]
    ) -> list[Execution]:
        """Match ``orders`` (market and limit orders just placed) in the closing auction at ``price`` (the close of
        the bar that ended at ``at``, ms), for market-on-close semantics: a market order fills whole (bounded by the
        volume share), a limit when ``price`` is at or better than its limit. Stop orders and orders placed before
        ``at`` are left to the next slices; ``IOC``/``FOK`` orders end here like on any arrival.

        Raises:
            InvalidOrder: the instrument's market runs no closing auction (IDEALPRO FX).
        """
        instrument = self._instruments.get(symbol)
        if instrument is None:
            return []
        if instrument.market not in AUCTION_MARKETS:
            raise InvalidOrder(
                f"{symbol} trades on {instrument.market or 'a market without sessions'}, which has no closing "
                "auction: market-on-close fills are for ASX and NYSE/Nasdaq listings; fill at the next open instead"
            )
        executions: list[Execution] = []
        key = (symbol, at)
        for order in orders:
            if order.is_done or order.symbol != symbol or order.timestamp != at:
                continue
            if order.type not in ("market", "limit") or order.time_in_force == "OPG":
                continue
            spec = self._spec(order, cap=None)
            decision = auction(spec, price, volume_left=self._budget(key, volume), size_increment=self._step(order))
            executions += self._settle(order, instrument, decision, at, key, arrival=True)
        return executions

    def _opening(
        self, order: SimOrder, instrument: InstrumentSpec, market: MarketSlice, start: int, key: tuple[str, int]
    ) -> list[Execution]:
        assert order.opens_at is not None
        if start < order.opens_at:
            return []  # its session has not opened yet (the session it was placed in is still running)
        if start > order.opens_at:
            order.end("canceled", "OPG order: no price was seen at its opening auction", start)
            return []
        spec = self._spec(order, cap=None)
        budget = self._budget(key, market.volume)
        decision = auction(spec, market.open, volume_left=budget, size_increment=self._step(order))
        executions = self._settle(order, instrument, decision, start, key, arrival=False)
        order.end("canceled", "OPG order: not filled in its opening auction", start)
        return executions

    def _continuous(
        self, order: SimOrder, instrument: InstrumentSpec, market: MarketSlice, start: int, key: tuple[str, int]
    ) -> list[Execution]:
        if order.type == "market" and order.cap is None and self.config.market_protection_pct is not None:
            order.cap = protection_cap(_side(order), market, instrument.ladder, self.config.market_protection_pct)
        arrival = order.arrival
        decision = match(
            self._spec(order, cap=order.cap),
            market,
            volume_left=self._budget(key, market.volume),
            arrival=arrival,
            ladder=instrument.ladder,
            size_increment=self._step(order),
        )
        order.triggered = decision.triggered
        return self._settle(order, instrument, decision, start, key, arrival=arrival)

    def _settle(
        self,
        order: SimOrder,
        instrument: InstrumentSpec,
        decision: FillDecision,
        at: int,
        key: tuple[str, int],
        *,
        arrival: bool,
    ) -> list[Execution]:
        """Book ``decision``'s fills on ``order`` (FOK: all or none), then end an IOC/FOK order after its arrival."""
        order.arrival = False
        order.last_update = max(order.last_update or at, at)
        fills = decision.fills
        if order.time_in_force == "FOK" and decision.filled < order.remaining:
            fills = ()  # fill or kill: not all of it at once, so none of it
        executions = [self._execute(order, instrument, fill, at, key) for fill in fills]
        if arrival and order.time_in_force in ("IOC", "FOK") and not order.is_done:
            order.end("canceled", f"{order.time_in_force} order not filled on arrival", at)
        return executions

    def _execute(
        self, order: SimOrder, instrument: InstrumentSpec, fill: Fill, at: int, key: tuple[str, int]
    ) -> Execution:
        price = fill.price
        if fill.liquidity == "taker" and self.config.slippage_bps:
            bound = order.price if order.type in ("limit", "stop_limit") else order.cap
            price = slipped(price, _side(order), self.config.slippage_bps, instrument.ladder, bound)
        if self.config.fill_volume_share is not None:
            self._consumed[key] = self._consumed.get(key, Decimal(0)) + fill.quantity
        execution = Execution(
            id=f"{order.id}:{len(order.fills) + 1}",
            order_id=order.id,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            price=price,
            amount=fill.quantity,
            liquidity=fill.liquidity,
            timestamp=at,
        )
        order.fills.append(execution)
        order.filled += fill.quantity
        order.cost += price * fill.quantity
        order.last_update = at
        if order.remaining <= 0:
            order.status = "closed"
        return execution

    def _budget(self, key: tuple[str, int], volume: Decimal | None) -> Decimal | None:
        share = self.config.fill_volume_share
        if volume is None or share is None:
            return None
        return max(Decimal(0), volume * share - self._consumed.get(key, Decimal(0)))

    def _step(self, order: SimOrder) -> Decimal | None:
        step = self._instruments[order.symbol].size_increment
        return step if step > 0 else None

    @staticmethod
    def _spec(order: SimOrder, *, cap: Decimal | None) -> OrderSpec:
        return OrderSpec(
            side=_side(order),
            order_type=order.fill_type,
            quantity=order.remaining,
            limit_price=cap if order.type == "market" else order.price,
            stop_price=order.stop_price,
            triggered=order.triggered,
        )
