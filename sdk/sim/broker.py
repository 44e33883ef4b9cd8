"""The simulation core's synchronous facade: orders, bars, commissions and the account in one object.

:class:`SimBroker` is what a backtest drives bar by bar (and what :class:`sdk.sim.venue.SimulatedVenue` wraps in
ccxt's shapes): :meth:`SimBroker.place` accepts an order (checked as a venue checks it, plus the account's initial
margin), :meth:`SimBroker.on_bar` works the open orders of a symbol against one bar through the matching engine
(:mod:`sdk.sim.matching`), prices each fill with the commission model and books it into the account
(:mod:`sdk.sim.account`). No clock, no sockets, no sleeping, no SQL: every call says what time it is (ms UTC).

Margin (``initial_margin``): an order that would raise the account's post-trade initial margin (that rate × the
gross value of its stock positions, in the base currency) above its equity is refused with
:class:`~sdk.errors.InsufficientFunds`, as the offline gateway refuses it (IB's error 201; 0.25 is IB's 4×
intraday buying power, 1 a cash account without leverage, None no check). FX orders are not margined.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from sdk.errors import InsufficientFunds, InvalidOrder
from sdk.instruments import InstrumentSpec
from sdk.sim.account import Account
from sdk.sim.commissions import CommissionModel
from sdk.sim.fills import MarketSlice, quote_for
from sdk.sim.matching import FillConfig, MatchingEngine
from sdk.sim.orders import Execution, SimOrder
from sdk.sim.rates import RateSource

__all__ = ["DEFAULT_INITIAL_MARGIN", "SimBroker"]

#: IB's intraday initial margin on stocks (4× buying power), as the offline gateway applies it.
DEFAULT_INITIAL_MARGIN = Decimal("0.25")


class SimBroker:
    """One simulated account at one simulated venue (see the module docstring).

    Args:
        account: the account (opening cash and positions).
        commissions: prices each fill (:class:`~sdk.sim.commissions.ScheduleCommissions` for IB's schedules).
        rates: FX into ``account.base_currency`` at a time (margin and equity).
        config: the fill model's assumptions.
        initial_margin: the initial margin rate on gross stock value (None: no check).
    """

    def __init__(
        self,
        account: Account,
        commissions: CommissionModel,
        rates: RateSource,
        *,
        config: FillConfig | None = None,
        initial_margin: Decimal | None = DEFAULT_INITIAL_MARGIN,
    ) -> None:
        self.account = account
        self.commissions = commissions
        self.rates = rates
        self.engine = MatchingEngine(config)
        self.initial_margin = initial_margin
        self.instruments: dict[str, InstrumentSpec] = {}
        #: Every execution booked, in the order booked (chronological).
        self.executions: list[Execution] = []
        self._seq = 0

    # --- orders -------------------------------------------------------------------------------------
    def place(
        self,
        instrument: InstrumentSpec,
        type: str,
        side: Literal["buy", "sell"],
        amount: Decimal,
        price: Decimal | None = None,
        *,
        at: int,
        marks: Mapping[str, Decimal],
        stop_price: Decimal | None = None,
        time_in_force: str = "GTC",
        client_order_id: str | None = None,
        reduce_only: bool = False,
    ) -> SimOrder:
        """Accept an order placed at ``at`` (ms UTC); it works from the next slice on.

        Args:
            instrument: what is traded (ladder, size step, market hours).
            type: ``market``, ``limit``, ``stop`` or ``stop_limit``.
            side: ``buy`` or ``sell``.
            amount: base units.
            price: the limit (``limit``, ``stop_limit``), quote currency.
            at: the time it is placed, ms UTC.
            marks: the last price of each symbol (quote currency): the margin check values positions and a market
                order at them.
            stop_price: the trigger of ``stop``/``stop_limit``.
            time_in_force: ``GTC``, ``DAY``, ``IOC``, ``FOK`` or ``OPG``.
            client_order_id: the caller's id (kept on the order and its fills).
            reduce_only: recorded on the order (not enforced: IB has no such flag for stocks).

        Returns:
            The order (its ``id`` is the broker's sequence number, ``"1"``, ``"2"`` ...).

        Raises:
            InvalidOrder: a rule of :func:`sdk.sim.orders.validate_order`, or a market order before any price is
                known. InsufficientFunds: the initial margin after the order would exceed equity.
        """
        self.instruments[instrument.symbol] = instrument
        order = SimOrder(
            id=str(self._seq + 1),
            client_order_id=client_order_id,
            symbol=instrument.symbol,
            type=type,
            side=side,
            amount=amount,
            price=price if type in ("limit", "stop_limit") else None,
            stop_price=stop_price if type in ("stop", "stop_limit") else None,
            time_in_force=time_in_force,
            timestamp=at,
            reduce_only=reduce_only,
        )
        if self.initial_margin is not None and instrument.instrument_type not in ("fx", "crypto"):
            self._check_margin(instrument, order, marks, at)
        self.engine.submit(order, instrument)
        self._seq += 1
        return order

    def _check_margin(self, instrument: InstrumentSpec, order: SimOrder, marks: Mapping[str, Decimal], at: int) -> None:
        assert self.initial_margin is not None
        price = order.price or order.stop_price or marks.get(instrument.symbol)
        if price is None:
            raise InvalidOrder(f"no price for {instrument.symbol} yet (no bar has closed); a limit price is needed")
        base = self.account.base_currency

        def rate(currency: str) -> Decimal:
            return self.rates.rate(currency, base, at)

        valued = {instrument.symbol: price, **marks}
        equity = self.account.equity(valued, rate)
        holding = self.account.holding(instrument.symbol)
        signed = order.amount if order.side == "buy" else -order.amount
        holding.amount += signed
        try:
            gross = self.account.gross_exposure({**valued, instrument.symbol: price}, rate)
        finally:
            holding.amount -= signed
        needed = gross * self.initial_margin
        if needed > equity:
            raise InsufficientFunds(
                f"the initial margin after this order ({needed:.2f} {base}, {self.initial_margin} x gross stock value "
                f"{gross:.2f}) would exceed the equity ({equity:.2f} {base}); trade less"
            )

    def cancel(self, order_id: str, at: int) -> SimOrder:
        """Cancel an open order (a finished one is returned as it is).

        Raises:
            OrderNotFound: no such order.
        """
        return self.engine.cancel(order_id, at)

    # --- the market ---------------------------------------------------------------------------------
    def on_bar(
        self,
        symbol: str,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: Decimal | None,
        start: int,
        end: int,
    ) -> list[Execution]:
        """Work the open orders of ``symbol`` against the bar ``[start, end)`` (prices in the quote currency, volume
        in base units or None), then price and book what filled. The bar's quote is one price step around its open
        (:func:`sdk.sim.fills.quote_for`)."""
        if not self.engine.has_working(symbol):
            return []
        instrument = self.instruments[symbol]
        o = Decimal(repr(open))
        quote = quote_for(o, instrument.ladder)
        market = MarketSlice(
            quote.bid, quote.ask, o, Decimal(repr(high)), Decimal(repr(low)), Decimal(repr(close)), volume
        )
        return self.book(self.engine.on_slice(symbol, market, start, end))

    def close_auction(self, symbol: str, close: float, volume: Decimal | None, at: int) -> list[Execution]:
        """Match the orders of ``symbol`` placed at ``at`` (a bar's close, ms) at that ``close`` (market-on-close),
        then price and book what filled.

        Raises:
            InvalidOrder: the market runs no closing auction (FX).
        """
        orders = [o for o in self.engine.open_orders(symbol) if o.timestamp == at]
        if not orders:
            return []
        return self.book(self.engine.close_auction(symbol, Decimal(repr(close)), volume, at, orders))

    def expire(self, now: int) -> list[SimOrder]:
        """End the orders whose time is up at ``now`` (``DAY`` at their session's close, ``OPG`` after theirs)."""
        return self.engine.expire(now)

    def book(self, executions: list[Execution]) -> list[Execution]:
        """Price (the commission model) and book ``executions`` into the account, in order; returns them."""
        for execution in executions:
            instrument = self.instruments[execution.symbol]
            execution.fee = self.commissions(
                instrument, execution.side, execution.amount, execution.price, execution.liquidity,
                execution.timestamp,
            )  # fmt: skip
            self.account.book(execution)
            self.executions.append(execution)
        return executions

    # --- valuation ----------------------------------------------------------------------------------
    def equity(self, marks: Mapping[str, Decimal], at: int) -> Decimal:
        """Cash plus positions at ``marks``, in the base currency, at the rates of ``at``.

        Raises:
            FxRateUnavailable: a currency has no rate then, or a position has no mark.
        """
        base = self.account.base_currency
        return self.account.equity(marks, lambda c: self.rates.rate(c, base, at))
