"""CostTracker: IB's published examples through the tracker, conversion into AUD at real rates,
ccxt maker/taker against ccxt's own fee calculation, actuals (pending is never 0.0), overrides."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import ccxt.async_support as ccxt_async
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdk.costs import IB_UNSET_DOUBLE, CostTracker, FeeRates, FxRate, FxTable, MonthlyVolume
from sdk.errors import FxRateUnavailable, NotSupported
from sdk.instruments import InstrumentSpec
from sdk.settings import SettingsError, load_settings
from sdk.symbols import InstrumentType
from sdk.ticks import ASX_EQUITY, FX_IDEALPRO, US_EQUITY
from sdk.venues.ccxt.markets import fee_rates_from_market, instrument_from_market

BHP = InstrumentSpec(
    "BHP/AUD", InstrumentType.STOCK, "BHP", "AUD", ASX_EQUITY, Decimal(1), Decimal(1), "ASX", True, "IB"
)
SPY = InstrumentSpec("SPY/USD", InstrumentType.ETF, "SPY", "USD", US_EQUITY, Decimal(1), Decimal(1), "NYSE", True, "IB")
AAPL = InstrumentSpec(
    "AAPL/USD", InstrumentType.STOCK, "AAPL", "USD", US_EQUITY, Decimal(1), Decimal(1), "NYSE", True, "IB"
)
AUDUSD = InstrumentSpec(
    "AUD/USD", InstrumentType.FX, "AUD", "USD", FX_IDEALPRO, Decimal(1), Decimal(1), "FX", True, "IB"
)
AUD_ONLY = FxTable("AUD")


def tracker(**overrides: object) -> CostTracker:
    return CostTracker(load_settings(**overrides))


def test_ib_published_examples_through_the_tracker(usd_to_aud: Callable[[str], FxRate]) -> None:
    costs = tracker()
    asx = costs.estimate(BHP, "buy", 400, 50.00, AUD_ONLY)
    assert (asx.amount, asx.currency, asx.amount_base) == (Decimal("16.00"), "AUD", Decimal("16.00"))
    assert asx.fx is not None and asx.fx.source == "identity" and asx.fx_buffer_pct == 0
    assert "commissions-stocks-asia-pacific" in asx.source and asx.kind == "estimate" and not asx.pending

    fx = FxTable.of("AUD", usd_to_aud("2025-06-03"))
    for qty, price, expected in ((100, 25.00, "1.00"), (1_000, 25.00, "5.00"), (1_000, 0.25, "2.50")):
        us = costs.estimate(AAPL, "buy", qty, price, fx)
        assert (us.amount, us.currency) == (Decimal(expected), "USD")
    fx_min = costs.estimate(AUDUSD, "buy", 10_000, 0.65, fx)
    assert (fx_min.amount, fx_min.currency, fx_min.schedule) == (Decimal("2.00"), "USD", "IB IDEALPRO FX")


def test_a_usd_cost_is_converted_into_aud_at_the_days_rate_plus_the_fx_buffer(
    usd_to_aud: Callable[[str], FxRate],
) -> None:
    rate = usd_to_aud("2025-06-03")  # AUD/USD closed at 0.649840 that day
    cost = tracker(fx_spread_buffer_pct="0.2").estimate(AAPL, "buy", 1_000, 25.00, FxTable.of("AUD", rate))
    expected = (Decimal("5.00") / Decimal(str(0.6498399972915649)) * Decimal("1.002")).quantize(Decimal("0.0001"))
    assert cost.amount_base is not None and abs(cost.amount_base - expected) <= Decimal("0.0001")
    assert cost.fx == rate and cost.fx_buffer_pct == Decimal("0.2")
    assert cost.to_dict()["fx_source"] == "fx/AUDUSD_daily.csv close 2025-06-03"


def test_sales_add_regulatory_fees_and_gst_applies_when_asked(usd_to_aud: Callable[[str], FxRate]) -> None:
    fx = FxTable.of("AUD", usd_to_aud("2025-06-03"))
    buy, sell = tracker().estimate(SPY, "buy", 1_000, 25, fx), tracker().estimate(SPY, "sell", 1_000, 25, fx)
    assert sell.parts["sec"] == Decimal("0.6950") and sell.parts["finra_taf"] == Decimal("0.1660")
    assert sell.amount == buy.amount + Decimal("0.8610")  # type: ignore[operator]
    with_gst = tracker(ib_gst=True).estimate(BHP, "buy", 400, 50.00, AUD_ONLY)
    assert with_gst.amount == Decimal("17.60") and with_gst.parts["gst"] == Decimal("1.60")


def test_tiered_plan_from_settings_or_overrides_and_monthly_volume() -> None:
    tiered = tracker(ib_commission_plan="tiered").estimate(BHP, "buy", 1_000, 50.00, AUD_ONLY)
    assert tiered.schedule == "IB ASX tiered" and tiered.parts.keys() >= {"commission", "exchange", "clearing"}
    busy = tracker(ib_commission_plan="tiered").estimate(
        BHP, "buy", 1_000, 50.00, AUD_ONLY, monthly=MonthlyVolume(asx_value_aud=Decimal(10_000_000))
    )
    assert busy.parts["commission"] == Decimal("25.00") < tiered.parts["commission"] == Decimal("40.00")
    overridden = tracker(commission_overrides='{"IB": {"plan": "tiered", "gst": true}}')
    assert overridden.ib_plan() == ("tiered", True)
    assert overridden.estimate(BHP, "buy", 1_000, 50.00, AUD_ONLY).schedule == "IB ASX tiered"


def test_a_directed_us_order_is_priced_at_ibs_directed_rate(usd_to_aud: Callable[[str], FxRate]) -> None:
    """IB_EXCHANGE other than SMART routes US stocks directly: USD 0.0075 a share under Fixed (IB's page)."""
    fx = FxTable.of("AUD", usd_to_aud("2025-06-03"))
    smart = tracker().estimate(SPY, "buy", 1_000, 25.00, fx)
    directed = tracker(ib_exchange="ARCA").estimate(SPY, "buy", 1_000, 25.00, fx)
    assert (smart.amount, smart.schedule) == (Decimal("5.00"), "IB US fixed")
    assert (directed.amount, directed.schedule) == (Decimal("7.50"), "IB US fixed directed")
    assert tracker(ib_exchange="ARCA").estimate(SPY, "buy", 100, 25.00, fx).amount == Decimal("1.00"), "minimum"
    assert tracker(ib_exchange="ARCA").estimate(SPY, "buy", 1_000, 0.25, fx).amount == Decimal("2.50"), "1% cap"
    # a symbol routed to SMART by SYMBOL_OVERRIDES is not directed; one routed elsewhere is
    routed = tracker(ib_exchange="ARCA", symbol_overrides='{"SPY/USD": {"exchange": "SMART"}}')
    assert routed.estimate(SPY, "buy", 1_000, 25.00, fx).amount == Decimal("5.00")
    one = tracker(symbol_overrides='{"AAPL/USD": {"exchange": "NASDAQ"}}')
    assert one.estimate(AAPL, "buy", 1_000, 25.00, fx).amount == Decimal("7.50")
    assert one.estimate(SPY, "buy", 1_000, 25.00, fx).amount == Decimal("5.00")
    # ASX has no directed rate; Tiered has none in IB's reference either: both priced as before
    assert tracker(ib_exchange="ASX").estimate(BHP, "buy", 400, 50.00, AUD_ONLY).amount == Decimal("16.00")
    tiered = tracker(ib_commission_plan="tiered", ib_exchange="ARCA").estimate(SPY, "buy", 1_000, 25.00, fx)
    assert tiered.parts["commission"] == Decimal("3.50") and tiered.schedule == "IB US tiered"


def test_fx_estimate_needs_usd_for_a_non_usd_quote() -> None:
    eurgbp = InstrumentSpec(
        "EUR/GBP", InstrumentType.FX, "EUR", "GBP", FX_IDEALPRO, Decimal(1), Decimal(1), "FX", True, "IB"
    )
    gbp = FxRate("GBP", "AUD", Decimal("2.00"), "test quote")
    with pytest.raises(FxRateUnavailable, match="USD to AUD"):
        tracker().estimate(eurgbp, "buy", 100_000, 0.85, FxTable.of("AUD", gbp))
    usd = FxRate("USD", "AUD", Decimal("1.50"), "test quote")
    cost = tracker().estimate(eurgbp, "buy", 100_000, 0.85, FxTable.of("AUD", gbp, usd))
    # 85,000 GBP = 113,333.33 USD; 0.2 bp = 2.27 USD; minimum 2.00 does not bind
    assert cost.amount == Decimal("2.2667") and cost.currency == "USD"


def test_missing_rate_is_an_error_never_one() -> None:
    with pytest.raises(FxRateUnavailable, match="no FX rate from USD to AUD"):
        tracker().estimate(SPY, "buy", 100, 500, AUD_ONLY)


def test_bad_input_and_unknown_schedules_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        tracker().estimate(BHP, "buy", 0, 45.0, AUD_ONLY)
    index = InstrumentSpec(
        "XJO/AUD", InstrumentType.INDEX, "XJO", "AUD", ASX_EQUITY, Decimal(1), Decimal(1), "ASX", True, "IB"
    )
    with pytest.raises(NotSupported, match="no IB commission schedule for XJO/AUD"):
        tracker().estimate(index, "buy", 1, 7000, AUD_ONLY)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ('{"IB": {"plan": "monthly"}}', "plan must be 'fixed' or 'tiered'"),
        ('{"IB": {"maker": 0.001}}', "unknown keys \\['maker'\\]"),
        ('{"gemini": {"taker": 2}}', "fraction of trade value below 1"),
        ('{"gemini": {"taker": "x"}}', "must be a number"),
        ('{"gemini": {"rebate": 0.1}}', "allowed for this venue: maker"),
        ('{"gemini": 0.1}', "valid dictionary"),  # the settings model itself refuses it
    ],
)
def test_bad_overrides_stop_at_start_with_an_example(overrides: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as info:
        tracker(commission_overrides=overrides)
    assert "Example: COMMISSION_OVERRIDES=" in str(info.value)


# --- ccxt venues ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gemini_markets(shared_data: Path) -> dict[str, dict[str, object]]:
    return json.loads((shared_data / "ccxt_static" / "markets" / "gemini.json").read_text())


@pytest.mark.parametrize(("side", "liquidity"), [("buy", "taker"), ("sell", "maker"), ("sell", "taker")])
async def test_ccxt_fee_matches_ccxts_own_calculation(
    gemini_markets: dict[str, dict[str, object]], side: str, liquidity: str
) -> None:
    exchange = ccxt_async.gemini({"markets": gemini_markets})
    try:
        expected = exchange.calculate_fee("BTC/USD", "limit", side, 0.5, 73_268.24, liquidity)
    finally:
        await exchange.close()
    instrument = instrument_from_market(gemini_markets["BTC/USD"], venue="gemini", precision_mode=4, has=exchange.has)
    rates = fee_rates_from_market(gemini_markets["BTC/USD"], venue="gemini")
    usd = FxRate("USD", "AUD", Decimal("1.5388"), "test quote")
    cost = tracker().estimate(
        instrument, side, 0.5, 73_268.24, FxTable.of("AUD", usd), fee_rates=rates, liquidity=liquidity
    )  # type: ignore[arg-type]
    assert cost.currency == expected["currency"] == "USD"
    assert cost.amount == Decimal(str(expected["cost"]))
    assert cost.schedule == f"gemini {liquidity} {expected['rate']}"


def test_ccxt_overrides_and_missing_rates(gemini_markets: dict[str, dict[str, object]]) -> None:
    instrument = instrument_from_market(gemini_markets["BTC/USD"], venue="gemini", precision_mode=4, has={})
    rates = fee_rates_from_market(gemini_markets["BTC/USD"], venue="gemini")
    usd = FxTable.of("AUD", FxRate("USD", "AUD", Decimal("1.5"), "test quote"))
    cheaper = tracker(commission_overrides='{"gemini": {"taker": 0.001}}')
    cost = cheaper.estimate(instrument, "buy", 1, 10_000, usd, fee_rates=rates)
    assert cost.amount == Decimal("10.000") and "COMMISSION_OVERRIDES[gemini]" in cost.source
    with pytest.raises(NotSupported, match="no fee rates for gemini"):
        tracker().estimate(instrument, "buy", 1, 10_000, usd)
    only_overrides = tracker(commission_overrides='{"gemini": {"maker": 0.001, "taker": 0.003}}')
    assert only_overrides.estimate(instrument, "buy", 1, 10_000, usd).amount == Decimal("30.000")
    rebate = FeeRates(maker=Decimal("-0.0001"), taker=Decimal("0.002"), source="test")
    assert tracker().estimate(instrument, "sell", 1, 10_000, usd, fee_rates=rebate, liquidity="maker").amount == 0


def test_fee_in_base_currency_is_converted_from_the_base_currency() -> None:
    instrument = InstrumentSpec("BTC/USD", InstrumentType.CRYPTO, "BTC", "USD", US_EQUITY, Decimal("1e-8"),
                                Decimal("1e-5"), None, False, "kraken")  # fmt: skip
    rates = FeeRates(maker=Decimal("0.001"), taker=Decimal("0.002"), fee_side="get", source="test")
    btc = FxRate("BTC", "AUD", Decimal("150000"), "test quote")
    cost = tracker().estimate(instrument, "buy", 2, 100_000, FxTable.of("AUD", btc), fee_rates=rates)
    assert (cost.amount, cost.currency) == (Decimal("0.004"), "BTC")
    assert cost.amount_base == (Decimal("600") * Decimal("1.002")).quantize(Decimal("0.0001"))


# --- actuals -------------------------------------------------------------------------------------
def report(commission: float, currency: str) -> SimpleNamespace:
    return SimpleNamespace(execId="0000e0d5.6575e3b2.01.01", commission=commission, currency=currency)


def test_ib_commission_report_actual_and_pending(usd_to_aud: Callable[[str], FxRate]) -> None:
    fx = FxTable.of("AUD", usd_to_aud("2025-06-03"))
    costs = tracker()
    for unknown in (report(IB_UNSET_DOUBLE, "USD"), report(0.0, ""), report(float("nan"), "USD")):
        pending = costs.actual_from_commission_report(unknown, fx, symbol="SPY/USD")  # type: ignore[arg-type]
        assert pending.pending and pending.amount is None and pending.amount_base is None
        assert pending.to_dict()["amount"] is None and pending.to_dict()["pending"] is True
    actual = costs.actual_from_commission_report(report(1.0, "USD"), fx, symbol="SPY/USD")  # type: ignore[arg-type]
    assert actual.amount == Decimal("1.0") and actual.kind == "actual" and actual.fx_buffer_pct == 0
    assert actual.amount_base == (Decimal(1) / Decimal(str(0.6498399972915649))).quantize(Decimal("0.0001"))
    assert "execId=0000e0d5.6575e3b2.01.01" in actual.source
    with pytest.raises(FxRateUnavailable):
        costs.actual_from_commission_report(report(2.0, "EUR"), fx)  # type: ignore[arg-type]


def test_ccxt_trade_fee_actual_pending_and_multi_currency() -> None:
    fx = FxTable.of("AUD", FxRate("USD", "AUD", Decimal("1.5"), "q"), FxRate("GUSD", "AUD", Decimal("1.5"), "q"))
    costs = tracker()
    public = {"id": "1", "symbol": "BTC/USD", "fee": {"cost": None, "currency": None}, "fees": []}
    assert costs.actual_from_trade(public, fx, venue="gemini").pending
    paid = {"id": "2", "symbol": "BTC/USD", "fee": {"cost": 0.0249, "currency": "USD"}, "fees": []}
    cost = costs.actual_from_trade(paid, fx, venue="gemini")
    assert (cost.amount, cost.currency, cost.amount_base) == (Decimal("0.0249"), "USD", Decimal("0.0374"))
    free = {"id": "3", "symbol": "BTC/USD", "fee": {"cost": 0.0, "currency": "USD"}}
    assert costs.actual_from_trade(free, fx, venue="gemini").amount == 0  # a stated zero is a zero
    mixed = {"id": "4", "symbol": "BTC/USD", "fees": [{"cost": 1, "currency": "USD"}, {"cost": 2, "currency": "GUSD"}]}
    both = costs.actual_from_trade(mixed, fx, venue="gemini")
    assert (both.amount, both.currency) == (Decimal("4.5000"), "AUD") and both.parts == {"USD": 1, "GUSD": 2}


# --- properties ------------------------------------------------------------------------------------
quantities = st.integers(min_value=1, max_value=2_000_000)
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("3000"), places=2)
rates = st.decimals(min_value=Decimal("1.2"), max_value=Decimal("1.8"), places=4)


@settings(max_examples=60, deadline=None)
@given(q=quantities, p=prices, rate=rates, side=st.sampled_from(["buy", "sell"]), gst=st.booleans(),
       plan=st.sampled_from(["fixed", "tiered"]))  # fmt: skip
def test_estimates_are_never_negative_and_bounds_hold(
    q: int, p: Decimal, rate: Decimal, side: str, gst: bool, plan: str
) -> None:
    costs = CostTracker(load_settings(ib_gst=gst, ib_commission_plan=plan))
    fx = FxTable.of("AUD", FxRate("USD", "AUD", rate, "generated"))
    asx = costs.estimate(BHP, side, q, p, fx)  # type: ignore[arg-type]
    us = costs.estimate(SPY, side, q, p, fx)  # type: ignore[arg-type]
    for cost in (asx, us):
        assert cost.amount is not None and cost.amount_base is not None
        assert cost.amount >= 0 and cost.amount_base >= 0 and all(v >= 0 for v in cost.parts.values())
    minimum = Decimal("6.00") if plan == "fixed" else Decimal("5.00")  # no monthly volume: the first tier
    assert asx.parts["commission"] >= minimum
    cap = (q * p * Decimal("0.01")).quantize(Decimal("0.0001"))
    assert us.parts["commission"] <= cap + Decimal("0.0001")
    us_minimum = Decimal("1.00") if plan == "fixed" else Decimal("0.35")  # per order, unless the 1% cap is lower
    assert us.parts["commission"] >= min(us_minimum, cap) - Decimal("0.0001")
    if cap >= us_minimum:
        assert us.parts["commission"] >= us_minimum
    assert us.amount_base >= us.amount * rate  # the FX buffer never lowers a cross-currency estimate
    fx_cost = costs.estimate(AUDUSD, side, q, p / 1000, fx)  # type: ignore[arg-type]
    assert fx_cost.amount is not None and fx_cost.amount >= Decimal("2.00")
