"""IB commission schedules: IB's published examples, and bounds that hold for every trade."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdk.costs.schedules import asx_stock, ib_commission, idealpro_fx, us_stock


def test_ib_published_examples() -> None:
    assert asx_stock(400, 50.00).amount == Decimal("16.00")
    assert us_stock(100, 25.00, side="buy").amount == Decimal("1.00")
    assert us_stock(1_000, 25.00, side="buy").amount == Decimal("5.00")
    assert us_stock(1_000, 0.25, side="buy").amount == Decimal("2.50")
    assert idealpro_fx(10_000, 0.65, usd_per_quote=1).amount == Decimal("2.00")


def test_asx_fixed_minimum_and_gst() -> None:
    small = asx_stock(10, 45.00)
    assert small.amount == Decimal("6.00") and small.currency == "AUD"
    with_gst = asx_stock(400, 50.00, gst=True)
    assert with_gst.gst == Decimal("1.60") and with_gst.amount == Decimal("17.60")


def test_asx_tiered_adds_exchange_and_clearing_and_moves_with_volume() -> None:
    tier1 = asx_stock(1_000, 50.00, plan="tiered")
    tier2 = asx_stock(1_000, 50.00, plan="tiered", monthly_value=10_000_000)
    assert tier1.commission == Decimal("40.00") and tier2.commission == Decimal("25.00")
    assert tier1.parts.keys() == {"exchange", "clearing"} and tier1.third_party > 0
    assert asx_stock(10, 45.00, plan="tiered").commission == Decimal("5.00")


def test_us_sales_pay_regulatory_fees() -> None:
    buy, sell = us_stock(1_000, 25.00, side="buy"), us_stock(1_000, 25.00, side="sell")
    assert buy.third_party == 0
    assert sell.parts["sec"] == Decimal("0.6950") and sell.parts["finra_taf"] == Decimal("0.1660")
    assert sell.amount == buy.amount + sell.parts["sec"] + sell.parts["finra_taf"]


def test_us_tiered() -> None:
    quote = us_stock(1_000, 25.00, side="buy", plan="tiered")
    assert quote.commission == Decimal("3.50") and quote.parts["clearing"] == Decimal("0.20")
    assert us_stock(10, 25.00, side="buy", plan="tiered").commission == Decimal("0.35")


def test_fx_in_usd_for_non_usd_quote() -> None:
    big = idealpro_fx(1_000_000, 0.65, usd_per_quote=1)
    assert big.amount == Decimal("13.00") and big.currency == "USD"
    with pytest.raises(ValueError, match="usd_per_quote"):
        ib_commission("CASH", "JPY", 100_000, 98.0, side="buy")


def test_dispatch_and_bad_input() -> None:
    assert ib_commission("STK", "AUD", 400, 50, side="buy").schedule == "IB ASX fixed"
    assert ib_commission("STK", "USD", 100, 25, side="buy").schedule == "IB US fixed"
    with pytest.raises(ValueError, match="no IB commission schedule"):
        ib_commission("STK", "EUR", 1, 1, side="buy")
    with pytest.raises(ValueError, match="must be positive"):
        asx_stock(0, 45.0)


qty = st.integers(min_value=1, max_value=5_000_000)
px = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)


@given(
    q=qty,
    p=px,
    plan=st.sampled_from(["fixed", "tiered"]),
    gst=st.booleans(),
    volume=st.integers(min_value=0, max_value=500_000_000),
)
def test_asx_bounds(q: int, p: Decimal, plan: str, gst: bool, volume: int) -> None:
    quote = asx_stock(q, p, plan=plan, monthly_value=volume, gst=gst)  # type: ignore[arg-type]
    assert quote.amount >= quote.commission >= Decimal("1.00") > 0
    assert quote.gst >= 0 and quote.third_party >= 0
    if plan == "fixed":
        assert quote.commission >= Decimal("6.00")
        assert quote.commission == max(q * p * Decimal("0.0008"), Decimal("6.00")).quantize(Decimal("0.0001"))


@given(q=qty, p=px, side=st.sampled_from(["buy", "sell"]), plan=st.sampled_from(["fixed", "tiered"]),
       directed=st.booleans(), shares=st.integers(min_value=0, max_value=200_000_000))  # fmt: skip
def test_us_bounds(q: int, p: Decimal, side: str, plan: str, directed: bool, shares: int) -> None:
    quote = us_stock(q, p, side=side, plan=plan, directed=directed, monthly_shares=shares)  # type: ignore[arg-type]
    assert quote.commission >= 0 and quote.amount >= quote.commission
    cap = (q * p * Decimal("0.01")).quantize(Decimal("0.0001"))
    assert quote.commission <= cap + Decimal("0.0001"), "1% cap"
    minimum = Decimal("1.00") if plan == "fixed" else Decimal("0.35")  # per order, unless the 1% cap is lower
    assert quote.commission >= min(minimum, cap) - Decimal("0.0001")
    if cap >= minimum:
        assert quote.commission >= minimum
    if plan == "fixed":
        rate = Decimal("0.0075") if directed else Decimal("0.005")
        assert quote.commission == min(max(q * rate, minimum), q * p * Decimal("0.01")).quantize(Decimal("0.0001"))


@given(
    q=st.integers(min_value=1, max_value=100_000_000),
    p=st.decimals(min_value=Decimal("0.5"), max_value=Decimal("2"), places=5),
)
def test_fx_minimum_holds(q: int, p: Decimal) -> None:
    assert idealpro_fx(q, p, usd_per_quote=1).amount >= Decimal("2.00")
