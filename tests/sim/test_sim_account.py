"""The simulated account, checked by hand: average cost, realised and unrealised PnL, cash per currency,
commissions known and pending (IB's published schedules through the CostTracker), FX into AUD."""

from __future__ import annotations

from typing import Any

import pytest
from sim_support import D, Driver, ms  # type: ignore[import-not-found]

from sdk.costs import CostTracker
from sdk.errors import FxRateUnavailable
from sdk.settings import load_settings
from sdk.sim.account import Account, Holding
from sdk.sim.commissions import ScheduleCommissions
from sdk.sim.orders import Execution, Fee
from sdk.sim.rates import CatalogRates, FixedRates
from sdk.sim.venue import catalog_instrument


def execution(symbol: str, side: str, amount: int, price: str, n: int, fee: Fee | None = None) -> Execution:
    return Execution(
        id=f"x{n}", order_id=str(n), client_order_id=None, symbol=symbol, side=side,  # type: ignore[arg-type]
        type="limit", price=D(price), amount=D(amount), liquidity="taker", timestamp=n, fee=fee,
    )  # fmt: skip


def test_average_cost_over_two_buys_and_a_partial_sell() -> None:
    account = Account("AUD", {"AUD": D(10_000)})
    account.book(execution("BHP/AUD", "buy", 100, "37.92", 1, Fee(D("6.00"), "AUD")))
    account.book(execution("BHP/AUD", "buy", 50, "38.50", 2, Fee(D("6.00"), "AUD")))
    held = account.holdings["BHP/AUD"]
    # (100 x 37.92 + 50 x 38.50) / 150 = (3,792 + 1,925) / 150 = 5,717 / 150 = 38.11333...
    assert held.amount == 150 and held.average == D(5717) / D(150)
    sold = execution("BHP/AUD", "sell", 60, "41.10", 3, Fee(D("6.00"), "AUD"))
    # realised: (41.10 - 38.11333...) x 60 = 2,466 - 60 x 38.11333... = 2,466 - 2,286.80 = 179.20
    assert account.book(sold).quantize(D("0.0001")) == D("179.2000") == sold.realized.quantize(D("0.0001"))
    assert held.amount == 90 and held.average == D(5717) / D(150), "a sale leaves the average where it was"
    # cash: 10,000 - 3,792 - 1,925 + 2,466 - 3 x 6.00 commissions = 6,731
    assert account.cash == {"AUD": D("6731.00")} and account.commissions == {"AUD": D("18.00")}
    # unrealised at 40.00: (40.00 - 38.11333...) x 90 = 3,600 - 3,430.20 = 169.80
    assert account.unrealized({"BHP/AUD": D("40.00")})["AUD"].quantize(D("0.0001")) == D("169.8000")
    assert account.realized()["AUD"].quantize(D("0.01")) == D("179.20")


def test_a_sale_through_zero_opens_a_short_at_the_fill_price() -> None:
    held = Holding("SPY/USD")
    held.apply("buy", D(100), D("510.00"))
    assert held.apply("sell", D(150), D("512.00")) == D("200.00")  # (512 - 510) x 100 closed
    assert (held.amount, held.average) == (D(-50), D("512.00"))
    assert held.unrealized(D("511.00")) == D("50.00"), "a short gains 1.00 a share as the price falls"
    assert held.apply("buy", D(50), D("513.00")) == D("-50.00") and held.amount == 0 and held.average == 0


def test_an_fx_fill_moves_both_currencies_and_equity_counts_it_once() -> None:
    account = Account("AUD", {"AUD": D(100_000)})
    account.book(execution("AUD/USD", "sell", 20_000, "0.6300", 1, Fee(D("2.00"), "USD")))
    # sold AUD 20,000 for USD 12,600, paid USD 2.00 commission
    assert account.cash == {"AUD": D(80_000), "USD": D("12598.0000")}
    rates = FixedRates({"USD": "1.60"}, base="AUD")
    # equity: AUD 80,000 + USD 12,598 x 1.60 = 80,000 + 20,156.80 = 100,156.80; the AUD/USD "position" is not added
    assert account.equity({}, lambda c: rates.rate(c, "AUD", 0)) == D("100156.800000")


def test_equity_converts_every_currency_into_aud_and_a_missing_rate_is_an_error() -> None:
    account = Account("AUD", {"AUD": D(50_000), "USD": D(10_000)})
    account.book(execution("SPY/USD", "buy", 10, "500.00", 1, Fee(D("1.00"), "USD")))
    account.book(execution("BHP/AUD", "buy", 100, "40.00", 2, Fee(D("6.00"), "AUD")))
    marks = {"SPY/USD": D("510.00"), "BHP/AUD": D("41.00")}
    rates = FixedRates({"USD": "1.50"}, base="AUD")
    # AUD: 50,000 - 4,000 - 6 + 100 x 41 = 50,094; USD: 10,000 - 5,000 - 1 + 10 x 510 = 10,099 -> x 1.50 = 15,148.50
    assert account.equity(marks, lambda c: rates.rate(c, "AUD", 0)) == D("65242.5000")
    # gross exposure: 4,100 + 5,100 x 1.50 = 11,750
    assert account.gross_exposure(marks, lambda c: rates.rate(c, "AUD", 0)) == D("11750.0000")
    none = FixedRates({}, base="AUD")
    with pytest.raises(FxRateUnavailable, match="no fixed FX rate from USD to AUD"):
        account.equity(marks, lambda c: none.rate(c, "AUD", 0))


def test_a_pending_commission_is_charged_only_when_it_is_known() -> None:
    account = Account("AUD", {"USD": D(10_000)})
    pending = execution("SPY/USD", "buy", 10, "500.00", 1, Fee.unknown("USD"))
    account.book(pending)
    assert account.cash == {"USD": D(5_000)} and account.commissions == {} and list(account.pending_fees) == ["x1"]
    assert not account.settle_fee("x1", Fee.unknown("USD")), "still unknown: nothing is charged"
    assert account.settle_fee("x1", Fee(D("1.00"), "USD")) and pending.fee == Fee(D("1.00"), "USD")
    assert account.cash == {"USD": D(4_999)} and account.pending_fees == {}
    assert not account.settle_fee("x1", Fee(D("1.00"), "USD")), "charged once"


@pytest.mark.shared_data
def test_commissions_follow_ibs_schedules_and_are_pending_without_the_rate_they_need(catalog: Any) -> None:
    costs = CostTracker(load_settings(ib_commission_plan="fixed", ib_gst=False))
    bhp, spy, aud = (catalog_instrument(catalog, s) for s in ("BHP/AUD", "SPY/USD", "AUD/USD"))
    priced = ScheduleCommissions(costs, FixedRates({"USD": "1.50"}, base="AUD"))
    at = ms("2025-03-05T00:00")
    # ASX fixed: 0.08% of value, at least AUD 6.00: 100 x 37.92 = 3,792 -> 3.03 -> 6.00; 1,000 x 38.50 -> 30.80
    assert priced(bhp, "buy", D(100), D("37.92"), "taker", at) == Fee(D("6.00"), "AUD")
    assert priced(bhp, "buy", D(1000), D("38.50"), "taker", at) == Fee(D("30.8000"), "AUD")
    # US fixed: USD 0.005 a share, at least 1.00: 100 shares -> 1.00; IDEALPRO: 0.2 bp, at least USD 2.00
    assert priced(spy, "buy", D(100), D("512.21"), "taker", at) == Fee(D("1.00"), "USD")
    assert priced(aud, "buy", D(25_000), D("0.6270"), "taker", at) == Fee(D("2.00"), "USD")
    # without a USD rate the cost cannot be valued in AUD: pending, never 0.0
    unpriced = ScheduleCommissions(costs, FixedRates({}, base="AUD"))
    fee = unpriced(spy, "buy", D(100), D("512.21"), "taker", at)
    assert fee.pending and fee.amount is None
    assert unpriced(bhp, "buy", D(100), D("37.92"), "taker", at) == Fee(D("6.00"), "AUD"), "AUD needs no rate"


@pytest.mark.shared_data
def test_fills_through_the_broker_are_charged_their_schedule_and_pending_ones_wait(catalog: Any) -> None:
    costs = CostTracker(load_settings(ib_commission_plan="fixed", ib_gst=False))
    sim = Driver(
        catalog, {"BHP/AUD": ("1D", True), "SPY/USD": ("1D", True)}, cash={"AUD": D(100_000), "USD": D(100_000)},
        commissions=ScheduleCommissions(costs, FixedRates({}, base="AUD")), window=("2025-03-01", "2025-03-15"),
    )  # fmt: skip
    sim.place("BHP/AUD", "market", "buy", 100, at=ms("2025-03-04T06:00"))
    sim.place("SPY/USD", "market", "buy", 10, at=ms("2025-03-04T22:00"))
    sim.run(ms("2025-03-06T00:00"))
    bhp_fill, spy_fill = sim.broker.executions
    assert bhp_fill.fee == Fee(D("6.00"), "AUD") and spy_fill.fee is not None and spy_fill.fee.pending
    account = sim.broker.account
    assert account.cash["AUD"] == D(100_000) - D(100) * bhp_fill.price - D("6.00")
    assert account.cash["USD"] == D(100_000) - D(10) * spy_fill.price, "no commission taken while it is unknown"
    assert list(account.pending_fees) == [spy_fill.id]


@pytest.mark.shared_data
def test_catalog_rates_are_the_last_closed_fx_bar_never_a_later_one(catalog: Any) -> None:
    rates = CatalogRates(catalog)
    # AUD/USD daily: the FX day named 2025-03-04 (17:00-17:00 New York) closed at 22:00 UTC on the 4th at 0.621581;
    # the next closes at 22:00 UTC on the 5th at 0.626999
    frame = catalog.bars("AUD/USD", "1D", "2025-03-03T00:00Z", "2025-03-05T00:00Z")
    fourth, fifth = (D(repr(float(c))) for c in frame["close"])
    assert round(fourth, 6) == D("0.621581") and round(fifth, 6) == D("0.626999")
    assert rates.rate("USD", "AUD", ms("2025-03-05T21:59")) == 1 / fourth
    assert rates.rate("USD", "AUD", ms("2025-03-05T22:00")) == 1 / fifth
    assert rates.rate("AUD", "USD", ms("2025-03-05T21:59")) == fourth, "the pair as quoted"
    assert rates.rate("AUD", "AUD", 0) == 1
    with pytest.raises(FxRateUnavailable, match="no EUR/AUD rate"):
        rates.rate("EUR", "AUD", ms("2025-03-05T21:59"))
