"""The simulated account: cash per currency, positions at average cost, realised and unrealised PnL, commissions.

The one average-cost implementation of the SDK (the shadow book, the portfolio's realised PnL, the demo's summary
and the simulated venue all book through :class:`Holding`):

* a fill that opens or adds to a position moves its average entry price to the size-weighted mean;
* a fill that reduces it realises ``(price - average) × closed`` (a long; the opposite for a short) in the quote
  currency, and leaves the average unchanged; one that flips it opens the rest at the fill's price;
* cash: a buy pays ``price × amount`` in the quote currency, a sell receives it; an FX fill (``AUD/USD``) also moves
  the base currency's cash by ``amount``, as IB's account does (the pair's "position" is then in both cashes);
* a commission is charged in its own currency when it is known; an unknown one is *pending* (never 0.0) until
  :meth:`Account.settle_fee` charges it (IB sends its commission report after the execution).

Valuation in the base currency (``IB_BASE_CURRENCY``, AUD by default) asks a rate source for each currency (a
missing rate is :class:`~sdk.errors.FxRateUnavailable`, never 1.0); marks are the caller's (the last price).
All figures are ``Decimal``; nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from sdk.errors import FxRateUnavailable
from sdk.sim.orders import Execution, Fee
from sdk.symbols import parse_symbol

__all__ = ["Account", "Holding", "RateLookup"]

#: ``rate(currency)``: base-currency units per one unit of ``currency`` (raises ``FxRateUnavailable`` when unknown).
RateLookup = Callable[[str], Decimal]


@dataclass(slots=True)
class Holding:
    """A position: ``amount`` signed base units, ``average`` entry price and ``realized`` PnL in the quote currency."""

    symbol: str
    amount: Decimal = Decimal(0)
    average: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)

    @property
    def quote(self) -> str:
        return parse_symbol(self.symbol).quote

    def apply(self, side: str, amount: Decimal, price: Decimal) -> Decimal:
        """Book one fill at average cost (``side`` ``buy``/``sell``, ``amount`` base units, ``price`` quote currency);
        returns the PnL it realised, in the quote currency (0 for a fill that opens or adds)."""
        signed = amount if side == "buy" else -amount
        if self.amount == 0 or (self.amount > 0) == (signed > 0):
            total = self.amount + signed
            self.average = (self.average * abs(self.amount) + price * amount) / abs(total)
            self.amount = total
            return Decimal(0)
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

    def unrealized(self, mark: Decimal) -> Decimal:
        """``(mark - average) × amount`` in the quote currency (signed amount: a short gains when the mark falls)."""
        return (mark - self.average) * self.amount


class Account:
    """Cash, positions and commissions of one simulated account (rules in the module docstring).

    Args:
        base_currency: the currency equity is reported in (``AUD``).
        cash: opening cash per currency.
        holdings: opening positions.
    """

    def __init__(
        self, base_currency: str, cash: Mapping[str, Decimal] | None = None, holdings: Iterable[Holding] = ()
    ) -> None:
        self.base_currency = base_currency
        self.cash: dict[str, Decimal] = {str(k): Decimal(v) for k, v in (cash or {}).items()}
        self.holdings: dict[str, Holding] = {h.symbol: h for h in holdings}
        #: Commissions charged so far, per currency.
        self.commissions: dict[str, Decimal] = {}
        #: Executions whose commission is still unknown, by execution id.
        self.pending_fees: dict[str, Execution] = {}

    def holding(self, symbol: str) -> Holding:
        """The position in ``symbol`` (a flat one when none is held)."""
        found = self.holdings.get(symbol)
        if found is None:
            found = self.holdings[symbol] = Holding(symbol)
        return found

    # --- booking ----------------------------------------------------------------------------------
    def apply(self, symbol: str, side: str, amount: Decimal, price: Decimal, fee: Fee | None = None) -> Decimal:
        """Book one fill: the position, the cash of the quote currency (and of the base for FX), and ``fee`` when
        known (a pending or absent fee charges nothing). Returns the realised PnL in the quote currency."""
        pair = parse_symbol(symbol)
        realized = self.holding(symbol).apply(side, amount, price)
        value = amount * price
        self.cash[pair.quote] = self.cash.get(pair.quote, Decimal(0)) + (-value if side == "buy" else value)
        if pair.is_fx:  # an FX trade moves both cash legs (IB also reports the pair's position)
            self.cash[pair.base] = self.cash.get(pair.base, Decimal(0)) + (amount if side == "buy" else -amount)
        if fee is not None and not fee.pending:
            self._charge(fee)
        return realized

    def book(self, execution: Execution) -> Decimal:
        """Book an execution of the matching engine (its ``fee`` as priced by the caller; None or pending: kept in
        :attr:`pending_fees` until :meth:`settle_fee`); sets and returns ``execution.realized`` (quote currency)."""
        execution.realized = self.apply(
            execution.symbol, execution.side, execution.amount, execution.price, execution.fee
        )
        if execution.fee is None or execution.fee.pending:
            self.pending_fees[execution.id] = execution
        return execution.realized

    def settle_fee(self, execution_id: str, fee: Fee) -> bool:
        """Charge the commission of a pending execution once it is known; False when it was not pending (or
        ``fee`` is still pending)."""
        execution = self.pending_fees.get(execution_id)
        if execution is None or fee.pending:
            return False
        del self.pending_fees[execution_id]
        execution.fee = fee
        self._charge(fee)
        return True

    def _charge(self, fee: Fee) -> None:
        assert fee.amount is not None and fee.currency is not None
        self.cash[fee.currency] = self.cash.get(fee.currency, Decimal(0)) - fee.amount
        self.commissions[fee.currency] = self.commissions.get(fee.currency, Decimal(0)) + fee.amount

    # --- reading ----------------------------------------------------------------------------------
    def positions(self) -> dict[str, Holding]:
        """The open positions (non-zero amount), by symbol, sorted."""
        return {s: h for s, h in sorted(self.holdings.items()) if h.amount != 0}

    def realized(self) -> dict[str, Decimal]:
        """Realised PnL per quote currency since the account opened (before commissions)."""
        totals: dict[str, Decimal] = {}
        for holding in self.holdings.values():
            totals[holding.quote] = totals.get(holding.quote, Decimal(0)) + holding.realized
        return totals

    def unrealized(self, marks: Mapping[str, Decimal]) -> dict[str, Decimal]:
        """Unrealised PnL per quote currency at ``marks`` (symbol -> price in its quote currency).

        Raises:
            KeyError: an open position has no mark.
        """
        totals: dict[str, Decimal] = {}
        for symbol, holding in self.positions().items():
            totals[holding.quote] = totals.get(holding.quote, Decimal(0)) + holding.unrealized(marks[symbol])
        return totals

    def to_base(self, amounts: Mapping[str, Decimal], rate: RateLookup) -> Decimal:
        """The sum of ``amounts`` (currency -> amount) in the base currency, at ``rate``.

        Raises:
            FxRateUnavailable: a currency with a non-zero amount has no rate.
        """
        total = Decimal(0)
        for currency, amount in sorted(amounts.items()):
            if amount:
                total += amount * (Decimal(1) if currency == self.base_currency else rate(currency))
        return total

    def equity(self, marks: Mapping[str, Decimal], rate: RateLookup) -> Decimal:
        """Cash of every currency plus signed positions at ``marks``, in the base currency (IB's NetLiquidation for
        a cash account). FX positions are not added: their value is already in the cash of both currencies.

        Raises:
            FxRateUnavailable: a currency held has no rate, or a stock position has no mark.
        """
        value = dict(self.cash)
        for symbol, holding in self.positions().items():
            pair = parse_symbol(symbol)
            if pair.is_fx:
                continue
            mark = marks.get(symbol)
            if mark is None:
                raise FxRateUnavailable(f"position {symbol} has no mark; equity is unknown")
            value[pair.quote] = value.get(pair.quote, Decimal(0)) + holding.amount * mark
        return self.to_base(value, rate)

    def gross_exposure(self, marks: Mapping[str, Decimal], rate: RateLookup) -> Decimal:
        """The gross value of non-FX positions (``|amount| × mark``) in the base currency (what margin is on).

        Raises:
            FxRateUnavailable: a currency has no rate, or a position has no mark.
        """
        value: dict[str, Decimal] = {}
        for symbol, holding in self.positions().items():
            pair = parse_symbol(symbol)
            if pair.is_fx:
                continue
            mark = marks.get(symbol)
            if mark is None:
                raise FxRateUnavailable(f"position {symbol} has no mark; its exposure is unknown")
            value[pair.quote] = value.get(pair.quote, Decimal(0)) + abs(holding.amount) * mark
        return self.to_base(value, rate)
