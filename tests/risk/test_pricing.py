"""Pricing properties: every price sent is on the ladder, never worse than asked, and a converted market
order stays marketable."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from risk_helpers import ib_stock

from sdk.risk import OrderIntent, Quote
from sdk.risk.pricing import price_order, round_amount

BHP = ib_stock("BHP/AUD")
prices = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("500"), places=6)
sides = st.sampled_from(["buy", "sell"])


@settings(max_examples=200, deadline=None)
@given(price=prices, side=sides)
def test_limit_prices_land_on_the_ladder_in_the_safe_direction(price: Decimal, side: str) -> None:
    intent = OrderIntent(symbol="BHP/AUD", side=side, amount=100, price=price, origin="strategy:prop")  # type: ignore[arg-type]
    priced = price_order(intent, BHP, None, Decimal("0.5"))
    assert priced.price is not None and BHP.ladder.is_on_ladder(priced.price)
    if side == "buy":
        assert priced.price <= price or priced.price == BHP.ladder.bands[0][1]  # never more, unless below one tick
    else:
        assert priced.price >= price
    assert abs(priced.price - price) < BHP.ladder.increment_at(max(priced.price, price)) * 2


@settings(max_examples=200, deadline=None)
@given(mid=st.decimals(min_value=Decimal("0.05"), max_value=Decimal("400"), places=3), side=sides,
       buffer=st.decimals(min_value=Decimal(0), max_value=Decimal(5), places=2))  # fmt: skip
def test_a_converted_market_order_stays_marketable(mid: Decimal, side: str, buffer: Decimal) -> None:
    bid = BHP.ladder.round(mid, "down")
    ask = BHP.ladder.round(bid + BHP.ladder.increment_at(bid), "up")
    quote = Quote(bid=bid, ask=ask, bid_size=Decimal(1000), ask_size=Decimal(1000))
    intent = OrderIntent(symbol="BHP/AUD", side=side, type="market", amount=100, origin="strategy:prop")  # type: ignore[arg-type]
    priced = price_order(intent, BHP, quote, buffer)
    assert priced.type == "limit" and priced.tif == "IOC" and priced.price is not None
    assert BHP.ladder.is_on_ladder(priced.price)
    if side == "buy":
        assert ask <= priced.price <= ask * (1 + buffer / 100)
    else:
        assert bid * (1 - buffer / 100) <= priced.price <= bid


@given(amount=st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1000000"), places=8),
       step=st.sampled_from([Decimal(1), Decimal("0.01"), Decimal("1e-8"), Decimal(25)]))  # fmt: skip
def test_amounts_are_cut_never_raised(amount: Decimal, step: Decimal) -> None:
    cut = round_amount(amount, step)
    assert 0 <= amount - cut < step and cut % step == 0


@settings(max_examples=200, deadline=None)
@given(mid=st.decimals(min_value=Decimal("0.05"), max_value=Decimal("400"), places=3),
       kind=st.sampled_from(["limit", "market", "stop", "stop_limit"]),
       offset=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("0.99"), places=2),
       through=st.booleans(), buffer=st.decimals(min_value=Decimal(0), max_value=Decimal(5), places=2),
       last=st.one_of(st.none(), st.decimals(min_value=Decimal("0.05"), max_value=Decimal(400), places=3)))  # fmt: skip
def test_a_sell_is_never_valued_below_the_market_and_a_buy_limit_at_its_limit(
    mid: Decimal, kind: str, offset: Decimal, through: bool, buffer: Decimal, last: Decimal | None
) -> None:
    bid = BHP.ladder.round(mid, "down")
    ask = BHP.ladder.round(bid + BHP.ladder.increment_at(bid), "up")
    quote = Quote(bid=bid, ask=ask, bid_size=Decimal(1000), ask_size=Decimal(1000), last=last)
    price = bid * (1 - offset) if through else ask * (1 + offset)  # a sell far through, or resting above
    fields = {
        "limit": {"price": price},
        "market": {},
        "stop": {"stop_price": price},
        "stop_limit": {"price": price, "stop_price": price},
    }[kind]
    sell = OrderIntent(symbol="BHP/AUD", side="sell", type=kind, amount=100, origin="strategy:prop", **fields)  # type: ignore[arg-type]
    priced = price_order(sell, BHP, quote, buffer)
    assert priced.reference >= bid and (last is None or priced.reference >= last)
    assert priced.market == max(p for p in (bid, last) if p is not None)
    for own in (priced.price, priced.stop_price):
        assert own is None or priced.reference >= own
    if kind == "limit":
        buy = OrderIntent(symbol="BHP/AUD", side="buy", amount=100, price=price, origin="strategy:prop")
        bought = price_order(buy, BHP, quote, buffer)
        assert bought.reference == bought.price and bought.market is None  # the most it pays
