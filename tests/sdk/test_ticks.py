"""Price ladders: ASX price steps, US penny/sub-penny, IDEALPRO; safe-direction rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdk.ticks import ASX_EQUITY, FX_IDEALPRO, MARKET_RULES, US_EQUITY, PriceLadder, ladder_for, safe_direction


@pytest.mark.parametrize(
    ("price", "increment"),
    [("0.05", "0.001"), ("0.099", "0.001"), ("0.10", "0.005"), ("1.995", "0.005"), ("2.00", "0.01"), ("45.10", "0.01")],
)
def test_asx_price_steps(price: str, increment: str) -> None:
    assert ASX_EQUITY.increment_at(price) == Decimal(increment)


@pytest.mark.parametrize(
    ("price", "on"),
    [("45.10", True), ("45.105", False), ("1.995", True), ("1.997", False), ("0.093", True), ("2.005", False)],
)
def test_asx_on_ladder(price: str, on: bool) -> None:
    assert ASX_EQUITY.is_on_ladder(price) is on


def test_rounding_directions_on_asx() -> None:
    assert ASX_EQUITY.round("45.107", "down") == Decimal("45.10")
    assert ASX_EQUITY.round("45.101", "up") == Decimal("45.11")
    assert ASX_EQUITY.round("1.9993", "up") == Decimal("2.00"), "crossing into the coarser band"
    assert ASX_EQUITY.round("1.9993", "down") == Decimal("1.995")
    assert ASX_EQUITY.round(45.105, "nearest") == Decimal("45.10")  # banker's rounding of a half step


def test_safe_direction_never_worsens_the_limit() -> None:
    assert ASX_EQUITY.round("45.107", safe_direction("buy")) <= Decimal("45.107")
    assert ASX_EQUITY.round("45.107", safe_direction("sell")) >= Decimal("45.107")


def test_us_and_fx() -> None:
    assert US_EQUITY.is_on_ladder("25.01") and not US_EQUITY.is_on_ladder("25.015")
    assert US_EQUITY.is_on_ladder("0.2501")
    assert FX_IDEALPRO.round("0.652137", "nearest") == Decimal("0.65215")
    assert ladder_for("CASH", "JPY").increment_at(150) == Decimal("0.005")
    assert ladder_for("STK", "AUD") is ASX_EQUITY and ladder_for("STK", "USD") is US_EQUITY
    with pytest.raises(ValueError, match="reqMarketRule"):
        ladder_for("STK", "EUR")


def test_market_rules_are_addressable_by_id() -> None:
    for rule_id, ladder in MARKET_RULES.items():
        assert ladder.market_rule_id == rule_id


def test_ladder_from_ib_price_increments() -> None:
    ladder = PriceLadder.from_increments([(0.0, 0.001), (0.1, 0.005), (2.0, 0.01)])
    assert ladder.bands == ASX_EQUITY.bands
    with pytest.raises(ValueError, match="band from 0"):
        PriceLadder.from_increments([(1.0, 0.01)])


prices = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100000"), places=6)


@given(price=prices, ladder=st.sampled_from([ASX_EQUITY, US_EQUITY, FX_IDEALPRO]))
def test_every_rounding_lands_on_the_ladder_on_the_right_side(price: Decimal, ladder: PriceLadder) -> None:
    down, up = ladder.round(price, "down"), ladder.round(price, "up")
    assert ladder.is_on_ladder(up) and up >= price
    if down > 0 and price >= ladder.bands[0][1]:
        assert ladder.is_on_ladder(down) and down <= price
    assert ladder.is_on_ladder(ladder.round(price, "nearest"))
