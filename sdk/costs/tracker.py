"""The CostTracker: what an order will cost before it is sent, and what a fill did cost after.

* **Estimates** (:meth:`CostTracker.estimate`, for risk checks and MCP previews): IB's published
  schedules (:mod:`sdk.costs.schedules`: ASX fixed and tiered, US fixed and tiered with SEC and FINRA
  fees on sales, IDEALPRO FX; GST for Australian residents with ``IB_GST``; the plan from
  ``IB_COMMISSION_PLAN``; a US stock routed elsewhere than SMART, by ``SYMBOL_OVERRIDES[symbol].exchange``
  else ``IB_EXCHANGE``, at IB's directed-order rate), or a ccxt venue's maker/taker rates from its market
  data. A cost in another currency than the base is converted at the given rate plus ``FX_SPREAD_BUFFER_PCT``.
* **Actuals** (:meth:`CostTracker.actual_from_commission_report`, :meth:`CostTracker.actual_from_trade`):
  IB's commission report, or a ccxt trade's ``fee``/``fees``. A report that has not arrived (IB's unset
  double, an empty currency, a ccxt fee of None) is *pending*: amount None, never 0.0.

Per-venue overrides come from ``COMMISSION_OVERRIDES`` (JSON, venue -> overrides): for ``IB`` the keys
``plan`` (fixed|tiered) and ``gst`` (true|false); for a ccxt venue ``maker`` and ``taker`` (fractions of
trade value, 0.001 = 0.1%) and ``fee_side`` (quote|base|get|give).

Sources: IB ASX stocks https://www.interactivebrokers.com.au/en/pricing/commissions-stocks-asia-pacific.php;
IB US stocks https://www.interactivebrokers.com/en/pricing/commissions-stocks.php; IB IDEALPRO FX
https://www.interactivebrokers.com.au/en/index.php?f=49818 (rates in :mod:`sdk.costs.schedules`); ccxt's
fee rule (``Exchange.calculate_fee``) for ccxt venues.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any, Literal, Protocol

from sdk.costs.fx import FxRate, FxTable, to_decimal
from sdk.costs.model import Cost, FeeRates, Liquidity, MonthlyVolume
from sdk.costs.schedules import CommissionQuote, Plan, asx_stock, idealpro_fx, us_stock
from sdk.errors import NotSupported
from sdk.instruments import InstrumentSpec
from sdk.settings import Settings, SettingsError
from sdk.symbols import InstrumentType

__all__ = ["IB_UNSET_DOUBLE", "CommissionReportLike", "CostTracker"]

Side = Literal["buy", "sell"]

#: The TWS API's "unset" double (``1.7976931348623157E308``): a commission report not yet known.
IB_UNSET_DOUBLE = 1.7976931348623157e308
_IB_REPORT_SOURCE = "IB CommissionReport (TWS API execDetails / commissionReport)"
_CCXT_FEE_SOURCE = "ccxt Exchange.calculate_fee rule on the venue's market maker/taker rates"
_BASE_PLACES = Decimal("0.0001")

_IB_OVERRIDE_KEYS = {"plan": "fixed or tiered", "gst": "true or false"}
_CCXT_OVERRIDE_KEYS = {
    "maker": "a fraction of trade value, e.g. 0.001",
    "taker": "a fraction of trade value, e.g. 0.002",
    "fee_side": "quote, base, get or give",
}
_OVERRIDE_EXAMPLE = (
    'COMMISSION_OVERRIDES={"IB": {"plan": "tiered", "gst": true}, "gemini": {"maker": 0.001, "taker": 0.002}}'
)


class CommissionReportLike(Protocol):
    """What the tracker reads from an IB commission report (``ib_async.CommissionReport``)."""

    execId: str
    commission: float
    currency: str


def _is_ib(venue: str) -> bool:
    return venue.upper() == "IB"


def _check_overrides(raw: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    checked: dict[str, dict[str, Any]] = {}
    for venue, values in raw.items():
        if not isinstance(values, Mapping):
            raise SettingsError(f"COMMISSION_OVERRIDES[{venue!r}] must be a JSON object. Example: {_OVERRIDE_EXAMPLE}")
        known = _IB_OVERRIDE_KEYS if _is_ib(venue) else _CCXT_OVERRIDE_KEYS
        unknown = sorted(set(values) - set(known))
        if unknown:
            allowed = "; ".join(f"{k} ({v})" for k, v in known.items())
            raise SettingsError(
                f"COMMISSION_OVERRIDES[{venue!r}] has unknown keys {unknown}; allowed for this venue: {allowed}. "
                f"Example: {_OVERRIDE_EXAMPLE}"
            )
        problem = _bad_override_value(venue, values)
        if problem:
            raise SettingsError(f"COMMISSION_OVERRIDES[{venue!r}]: {problem}. Example: {_OVERRIDE_EXAMPLE}")
        checked[venue.upper() if _is_ib(venue) else venue.lower()] = dict(values)
    return checked


def _bad_override_value(venue: str, values: Mapping[str, Any]) -> str | None:
    if "plan" in values and values["plan"] not in ("fixed", "tiered"):
        return f"plan must be 'fixed' or 'tiered', got {values['plan']!r}"
    if "gst" in values and not isinstance(values["gst"], bool):
        return f"gst must be true or false, got {values['gst']!r}"
    for key in ("maker", "taker"):
        if key in values:
            value = values[key]
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                return f"{key} must be a number, got {value!r}"
            try:
                rate = to_decimal(value)
            except ArithmeticError:
                return f"{key} must be a number, got {value!r}"
            if not rate.is_finite() or rate < (Decimal("-0.01") if key == "maker" else 0) or rate >= 1:
                return f"{key} must be a fraction of trade value below 1 (0.002 = 0.2%), got {value!r}"
    if "fee_side" in values and values["fee_side"] not in ("quote", "base", "get", "give"):
        return f"fee_side must be quote, base, get or give, got {values['fee_side']!r}"
    return None


class CostTracker:
    """Estimates and actual costs, in the venue's currency and in the base currency.

    Args:
        settings: supplies ``IB_BASE_CURRENCY``, ``IB_COMMISSION_PLAN``, ``IB_GST``,
            ``FX_SPREAD_BUFFER_PCT``, ``COMMISSION_OVERRIDES``, and ``IB_EXCHANGE`` with
            ``SYMBOL_OVERRIDES`` (the routing exchange, as :class:`sdk.venues.ib.contracts` builds the contract).

    Raises:
        SettingsError: ``COMMISSION_OVERRIDES`` names an unknown key or a bad value for a venue.
    """

    def __init__(self, settings: Settings) -> None:
        self.base_currency = settings.base_currency
        self.fx_buffer_pct = settings.fx_spread_buffer_pct
        self._plan: Plan = settings.ib_commission_plan
        self._gst = settings.ib_gst
        self._overrides = _check_overrides(settings.commission_overrides)
        self._ib_exchange = settings.ib_exchange
        self._routes = {s: o.exchange for s, o in settings.symbol_overrides.items() if o.exchange}

    # --- settings per venue ----------------------------------------------------------------
    def ib_plan(self) -> tuple[Plan, bool]:
        """The IB commission plan and GST flag in force (``COMMISSION_OVERRIDES["IB"]`` wins)."""
        override = self._overrides.get("IB", {})
        return override.get("plan", self._plan), bool(override.get("gst", self._gst))

    def fee_rates(self, venue: str, market_rates: FeeRates | None) -> FeeRates:
        """The maker/taker rates for a ccxt venue: the market's, with ``COMMISSION_OVERRIDES`` on top.

        Raises:
            NotSupported: neither the market nor the overrides give a rate; pass the market's
                :class:`FeeRates` (``CcxtTrader.fetch_fee_rates``) or set ``COMMISSION_OVERRIDES``.
        """
        override = self._overrides.get(venue.lower(), {})
        if market_rates is None:
            if not {"maker", "taker"} <= override.keys():
                raise NotSupported(
                    f"no fee rates for {venue}: pass the market's FeeRates (CcxtTrader.fetch_fee_rates) or set "
                    f'COMMISSION_OVERRIDES={{"{venue}": {{"maker": 0.001, "taker": 0.002}}}}'
                )
            return FeeRates(
                maker=to_decimal(override["maker"]),
                taker=to_decimal(override["taker"]),
                fee_side=override.get("fee_side", "quote"),
                source=f"COMMISSION_OVERRIDES[{venue}]",
            )
        if not override:
            return market_rates
        return FeeRates(
            maker=to_decimal(override["maker"]) if "maker" in override else market_rates.maker,
            taker=to_decimal(override["taker"]) if "taker" in override else market_rates.taker,
            fee_side=override.get("fee_side", market_rates.fee_side),
            source=f"COMMISSION_OVERRIDES[{venue}] over {market_rates.source}",
        )

    def ib_directed(self, symbol: str) -> bool:
        """True when an IB order for ``symbol`` is routed to an exchange other than SMART (a directed order):
        ``SYMBOL_OVERRIDES[symbol].exchange``, else ``IB_EXCHANGE``, as the IB venue builds the contract."""
        return self._routes.get(symbol, self._ib_exchange).upper() != "SMART"

    # --- before an order ------------------------------------------------------------------
    def estimate(
        self,
        instrument: InstrumentSpec,
        side: Side,
        amount: Decimal | float,
        price: Decimal | float,
        fx: FxTable,
        *,
        fee_rates: FeeRates | None = None,
        liquidity: Liquidity = "taker",
        monthly: MonthlyVolume | None = None,
    ) -> Cost:
        """The expected cost of trading ``amount`` base units of ``instrument`` at ``price`` (quote currency).

        IB instruments use IB's schedule for their type and currency; other venues their maker/taker
        ``fee_rates`` (a negative maker rate counts as 0). A cost in a currency other than the base is
        converted with ``fx`` and raised by ``FX_SPREAD_BUFFER_PCT``.

        Args:
            instrument: the instrument (its venue, type and currencies pick the schedule).
            side: ``"buy"`` or ``"sell"`` (US sales add SEC and FINRA fees).
            amount: base units (shares, or base currency for FX); positive.
            price: quote currency per base unit; positive.
            fx: rates into the base currency (needs the charge currency; IDEALPRO also needs USD).
            fee_rates: the ccxt market's rates (ignored for IB).
            liquidity: ``"taker"`` (default, the conservative choice) or ``"maker"``.
            monthly: month-to-date volume picking the IB Tiered tier (default: first tier).

        Returns:
            A :class:`Cost` with ``kind="estimate"``, never pending and never negative.

        Raises:
            ValueError: ``amount`` or ``price`` is not positive.
            NotSupported: no schedule for the instrument (or no fee rates for a ccxt venue).
            FxRateUnavailable: ``fx`` lacks a rate the conversion needs.
        """
        qty, px = to_decimal(amount), to_decimal(price)
        if not (qty.is_finite() and px.is_finite()) or qty <= 0 or px <= 0:
            raise ValueError(f"amount and price must be positive numbers, got amount={amount} price={price}")
        if _is_ib(instrument.venue):
            quote = self._ib_quote(instrument, side, qty, px, fx, liquidity, monthly or MonthlyVolume())
            parts = {"commission": quote.commission, **quote.parts}
            if quote.gst:
                parts["gst"] = quote.gst
            return self._estimate_cost(
                instrument, quote.amount, quote.currency, fx, quote.schedule, quote.source, parts, liquidity
            )
        rates = self.fee_rates(instrument.venue, fee_rates)
        rate = max(rates.rate(liquidity), Decimal(0))
        if rates.charged_in_quote(side):
            charged, currency = qty * px * rate, instrument.quote
        else:
            charged, currency = qty * rate, instrument.base
        schedule = f"{instrument.venue} {liquidity} {rate}"
        source = f"{rates.source}; {_CCXT_FEE_SOURCE}" if rates.source else _CCXT_FEE_SOURCE
        return self._estimate_cost(instrument, charged, currency, fx, schedule, source, {}, liquidity)

    def _ib_quote(
        self,
        instrument: InstrumentSpec,
        side: Side,
        qty: Decimal,
        px: Decimal,
        fx: FxTable,
        liquidity: Liquidity,
        monthly: MonthlyVolume,
    ) -> CommissionQuote:
        plan, gst = self.ib_plan()
        if instrument.instrument_type == InstrumentType.FX:
            usd_per_quote = Decimal(1)
            if instrument.quote != "USD":  # value the trade in USD through the base currency
                usd_per_quote = fx.rate(instrument.quote).rate / fx.rate("USD").rate
            return idealpro_fx(qty, px, usd_per_quote=usd_per_quote, monthly_value_usd=monthly.fx_value_usd, gst=gst)
        if instrument.instrument_type in (InstrumentType.STOCK, InstrumentType.ETF):
            if instrument.quote == "AUD" or instrument.market == "ASX" or instrument.exchange == "ASX":
                return asx_stock(qty, px, plan=plan, monthly_value=monthly.asx_value_aud, gst=gst)
            if instrument.quote == "USD":
                return us_stock(
                    qty, px, side=side, plan=plan, monthly_shares=monthly.us_shares, liquidity=liquidity,
                    directed=self.ib_directed(instrument.symbol), gst=gst,
                )  # fmt: skip
        raise NotSupported(
            f"no IB commission schedule for {instrument.symbol} ({instrument.instrument_type}, quoted in "
            f"{instrument.quote}); the CostTracker knows ASX and US stocks/ETFs and IDEALPRO FX"
        )

    def _estimate_cost(
        self,
        instrument: InstrumentSpec,
        amount: Decimal,
        currency: str,
        fx: FxTable,
        schedule: str,
        source: str,
        parts: Mapping[str, Decimal],
        liquidity: Liquidity,
    ) -> Cost:
        rate = fx.rate(currency)
        buffer = Decimal(0) if currency == self.base_currency else self.fx_buffer_pct
        amount_base = (rate.convert(amount) * (1 + buffer / 100)).quantize(_BASE_PLACES, rounding=ROUND_CEILING)
        return Cost(
            kind="estimate",
            venue=instrument.venue,
            symbol=instrument.symbol,
            amount=amount,
            currency=currency,
            base_currency=self.base_currency,
            amount_base=amount_base,
            fx=rate,
            fx_buffer_pct=buffer,
            schedule=schedule,
            source=source,
            parts=dict(parts),
            liquidity=liquidity,
        )

    # --- after a fill ---------------------------------------------------------------------
    def actual_from_commission_report(
        self, report: CommissionReportLike, fx: FxTable, *, symbol: str | None = None
    ) -> Cost:
        """The actual cost of an IB execution from its commission report.

        IB sends the report after the execution, sometimes with the unset double
        (``1.7976931348623157E308``); ib_async's placeholder before it arrives has an empty currency.
        Both give a pending cost (amount None). The amount is converted at ``fx`` without a buffer.

        Raises:
            FxRateUnavailable: the report's currency has no rate in ``fx``.
        """
        commission = report.commission
        currency = report.currency or None
        unknown = commission is None or not math.isfinite(commission) or commission >= IB_UNSET_DOUBLE / 2
        if unknown or currency is None:
            return self._pending("IB", symbol, currency, "IB commission report", _IB_REPORT_SOURCE)
        source = f"{_IB_REPORT_SOURCE} execId={report.execId}"
        return self._actual_cost("IB", symbol, to_decimal(commission), currency, fx, "IB commission report", source)

    def actual_from_trade(self, trade: Mapping[str, Any], fx: FxTable, *, venue: str) -> Cost:
        """The actual cost of a ccxt fill from its ``fees`` list (else its ``fee``).

        A fee whose ``cost`` or ``currency`` is None is pending. Fees in several currencies are
        converted one by one and reported in the base currency, itemised by currency in ``parts``.

        Raises:
            FxRateUnavailable: a fee currency has no rate in ``fx``.
        """
        symbol = trade.get("symbol")
        fees: Sequence[Mapping[str, Any]] = [f for f in (trade.get("fees") or []) if f] or (
            [trade["fee"]] if trade.get("fee") else []
        )
        schedule = f"{venue} trade fee"
        source = f"{venue} trade {trade.get('id')} (ccxt fee)"
        known = [f for f in fees if f.get("cost") is not None and f.get("currency")]
        if not fees or len(known) != len(fees):
            currency = next((f.get("currency") for f in fees if f.get("currency")), None)
            return self._pending(venue, symbol, currency, schedule, source)
        currencies = {str(f["currency"]) for f in known}
        if len(currencies) == 1:
            total = sum((to_decimal(f["cost"]) for f in known), Decimal(0))
            return self._actual_cost(venue, symbol, total, currencies.pop(), fx, schedule, source)
        parts: dict[str, Decimal] = {}
        for fee in known:
            parts[str(fee["currency"])] = parts.get(str(fee["currency"]), Decimal(0)) + to_decimal(fee["cost"])
        total_base = sum((fx.to_base(v, c) for c, v in parts.items()), Decimal(0)).quantize(_BASE_PLACES, ROUND_HALF_UP)
        return Cost(
            "actual", venue, symbol, total_base, self.base_currency, self.base_currency, total_base,
            FxRate.identity(self.base_currency), Decimal(0), schedule, source, parts,
        )  # fmt: skip

    def _actual_cost(
        self, venue: str, symbol: str | None, amount: Decimal, currency: str, fx: FxTable, schedule: str, source: str
    ) -> Cost:
        rate = fx.rate(currency)
        return Cost(
            kind="actual",
            venue=venue,
            symbol=symbol,
            amount=amount,
            currency=currency,
            base_currency=self.base_currency,
            amount_base=rate.convert(amount).quantize(_BASE_PLACES, rounding=ROUND_HALF_UP),
            fx=rate,
            fx_buffer_pct=Decimal(0),
            schedule=schedule,
            source=source,
        )

    def _pending(self, venue: str, symbol: str | None, currency: str | None, schedule: str, source: str) -> Cost:
        base = self.base_currency
        return Cost("actual", venue, symbol, None, currency, base, None, None, Decimal(0), schedule, source)
