"""Commissions of simulated fills: the CostTracker's schedules, priced synchronously at the simulated time.

A :class:`CommissionModel` prices one fill as a :class:`~sdk.sim.orders.Fee` in the currency the venue charges in.
:class:`ScheduleCommissions` is the one the simulated venue uses: :meth:`sdk.costs.CostTracker.estimate` on IB's
published schedules (ASX and US stocks, IDEALPRO FX; plan and GST from the settings; sources in
:mod:`sdk.costs.schedules`) or a ccxt venue's maker/taker rates, with the month-to-date volume that picks an IB
Tiered tier counted from the simulated fills themselves. What cannot be priced (no schedule for the instrument, no
FX rate the schedule needs, such as USD for IDEALPRO's minimum) is *pending*: ``Fee(None, ...)``, never 0.0, as
everywhere in the SDK.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, Protocol

from sdk.costs import CostTracker, FeeRates, FxRate, FxTable, MonthlyVolume
from sdk.errors import ExchangeError, FxRateUnavailable
from sdk.instruments import InstrumentSpec
from sdk.sim.fills import Liquidity
from sdk.sim.orders import Fee
from sdk.sim.rates import RateSource
from sdk.symbols import InstrumentType

__all__ = ["COMMISSION_SOURCE", "CommissionModel", "FreeCommissions", "ScheduleCommissions"]

log = logging.getLogger(__name__)

#: ``Fee.source`` of a schedule's figure (what IB would charge by its published rates, not its report).
COMMISSION_SOURCE = "estimate"


class CommissionModel(Protocol):
    """Prices one simulated fill."""

    def __call__(
        self,
        instrument: InstrumentSpec,
        side: Literal["buy", "sell"],
        amount: Decimal,
        price: Decimal,
        liquidity: Liquidity,
        at: int,
    ) -> Fee:
        """The fee of ``amount`` base units at ``price`` (quote currency), filled at ``at`` (ms UTC); pending when
        unknown."""
        ...


class FreeCommissions:
    """No commission at all: an explicit zero in the quote currency (a benchmark against a costless engine), never
    the stand-in for an unknown one."""

    def __call__(
        self,
        instrument: InstrumentSpec,
        side: Literal["buy", "sell"],
        amount: Decimal,
        price: Decimal,
        liquidity: Liquidity,
        at: int,
    ) -> Fee:
        return Fee(Decimal(0), instrument.quote, "free")


class ScheduleCommissions:
    """The CostTracker's schedules at the simulated time (see the module docstring).

    Args:
        costs: the tracker (its settings give the IB plan, GST and overrides).
        rates: FX rates into ``costs.base_currency`` at the fill's time.
        schedule_venue: whose schedule prices the fills (``"IB"``: the simulated venue trades IB's contracts); None
            keeps each instrument's own venue.
        fee_rates: a ccxt venue's maker/taker rates (ignored for IB).
    """

    def __init__(
        self,
        costs: CostTracker,
        rates: RateSource,
        *,
        schedule_venue: str | None = "IB",
        fee_rates: FeeRates | None = None,
    ) -> None:
        self.costs = costs
        self.rates = rates
        self.schedule_venue = schedule_venue
        self.fee_rates = fee_rates
        #: Month-to-date volume per ``YYYY-MM`` (UTC), from the fills priced so far.
        self.monthly: dict[str, MonthlyVolume] = {}

    def __call__(
        self,
        instrument: InstrumentSpec,
        side: Literal["buy", "sell"],
        amount: Decimal,
        price: Decimal,
        liquidity: Liquidity,
        at: int,
    ) -> Fee:
        base = self.costs.base_currency
        spec = instrument
        if self.schedule_venue is not None and instrument.venue != self.schedule_venue:
            spec = replace(instrument, venue=self.schedule_venue)
        when = datetime.fromtimestamp(at / 1000, UTC)
        fx = FxTable.of(base, *self._rates(spec, base, at, when))
        month = when.strftime("%Y-%m")
        monthly = self.monthly.get(month, MonthlyVolume())
        try:
            cost = self.costs.estimate(
                spec, side, amount, price, fx, fee_rates=self.fee_rates, liquidity=liquidity, monthly=monthly
            )
        except (ExchangeError, ValueError) as exc:  # NotSupported, FxRateUnavailable: unknown, so pending
            log.debug("no commission for a simulated fill", extra={"symbol": instrument.symbol, "error": repr(exc)})
            return Fee.unknown(None, COMMISSION_SOURCE)
        self.monthly[month] = self._add(monthly, spec, amount, price, fx)
        if cost.amount is None or cost.currency is None:
            return Fee.unknown(cost.currency, COMMISSION_SOURCE)
        return Fee(cost.amount, cost.currency, COMMISSION_SOURCE)

    def _rates(self, spec: InstrumentSpec, base: str, at: int, when: datetime) -> list[FxRate]:
        wanted = {spec.quote, "USD", spec.base if spec.instrument_type == InstrumentType.CRYPTO else base} - {base}
        found = []
        for currency in sorted(wanted):
            try:
                value = self.rates.rate(currency, base, at)
            except FxRateUnavailable:
                continue
            found.append(FxRate(currency, base, value, f"simulation rate {currency}->{base}", when))
        return found

    @staticmethod
    def _add(
        monthly: MonthlyVolume, spec: InstrumentSpec, amount: Decimal, price: Decimal, fx: FxTable
    ) -> MonthlyVolume:
        value = amount * price
        if spec.instrument_type == InstrumentType.FX:
            try:
                usd = value if spec.quote == "USD" else fx.to_base(value, spec.quote) / fx.rate("USD").rate
            except FxRateUnavailable:
                return monthly
            return replace(monthly, fx_value_usd=monthly.fx_value_usd + usd)
        if spec.quote == "AUD" or spec.market == "ASX":
            return replace(monthly, asx_value_aud=monthly.asx_value_aud + value)
        if spec.quote == "USD":
            return replace(monthly, us_shares=monthly.us_shares + amount)
        return monthly
