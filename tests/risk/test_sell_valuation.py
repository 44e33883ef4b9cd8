"""Orders are valued conservatively on real prices (SPY and BHP of 2025-06-03, AUD/USD of that day): a sell
at the highest of its own prices, the bid, the last and the mark (never at a limit far under the market,
never below the bid for a market sell); positions after an order at their mark; a limit far through the
touch refused as ``price_off_market``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from risk_helpers import RealPrices, approved, ib_stock, intent, manager, position, rejected

from sdk.risk import Quote, RejectCode

SPY, BHP = ib_stock("SPY/USD", "NYSE"), ib_stock("BHP/AUD")
CENT, PLACES = Decimal("0.01"), Decimal("0.0001")


def aud(real: RealPrices, usd: Decimal) -> Decimal:
    return real.usd_to_aud().convert(usd).quantize(PLACES, rounding=ROUND_HALF_UP)


def test_a_short_sold_at_a_limit_far_under_the_bid_is_refused(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("SPY/USD")  # bid 596.08, last 596.09 on 2025-06-03
    assert quote.bid == Decimal("596.08")
    probe = intent("SPY/USD", "sell", 15_000, "1.00")  # was Approved at AUD 23,082.60, under MAX_ORDER_VALUE
    ctx = make_context(SPY, quote=quote)
    off = rejected(manager().validate(probe, ctx), RejectCode.PRICE_OFF_MARKET)
    assert (off.limit, off.currency) == (Decimal("10"), "%") and off.value is not None and off.value > 99
    assert "below the bid 596.08" in off.reason
    # without the band, the value limits see the short at the market: about AUD 13.8M, not 23 thousand
    wide = rejected(manager(max_price_off_market_pct=100).validate(probe, ctx), RejectCode.MAX_ORDER_VALUE)
    assert wide.value == aud(real, 15_000 * quote.last) and wide.value > Decimal("13_700_000")  # type: ignore[operator]
    # and the position it opens is valued at its mark, against MAX_POSITION_VALUE
    cap = rejected(
        manager(max_price_off_market_pct=100, max_order_value=10**9).validate(probe, ctx), RejectCode.MAX_POSITION_VALUE
    )
    assert cap.value == aud(real, 15_000 * quote.last)  # type: ignore[operator]


def test_a_market_sell_is_never_valued_below_the_bid(real: RealPrices, make_context: Any) -> None:
    spy = real.quote("SPY/USD")
    quote = Quote(bid=spy.bid, ask=spy.ask, bid_size=spy.bid_size, ask_size=spy.ask_size)  # no last: the bid rules
    ctx = make_context(SPY, quote=quote)
    sell = intent("SPY/USD", "sell", 40)
    at_bid = aud(real, 40 * quote.bid)  # type: ignore[operator]
    buffered = aud(real, 40 * quote.bid * Decimal("0.995"))  # type: ignore[operator]  # what it was valued at
    limit = (buffered + at_bid) / 2
    refused = rejected(manager(max_order_value=limit).validate(sell, ctx), RejectCode.MAX_ORDER_VALUE)
    assert refused.value == at_bid
    rejected(manager(max_order_value=at_bid - CENT).validate(sell, ctx), RejectCode.MAX_ORDER_VALUE)  # a cent over
    assert approved(manager(max_order_value=at_bid).validate(sell, ctx)).notional_base == at_bid  # at the limit
    passed = approved(manager(max_order_value=at_bid + CENT).validate(sell, ctx))  # a cent under
    assert passed.reference_price == quote.bid and passed.order.type == "market"
    # with a last above the bid, the last counts
    above = approved(manager(max_order_value=10**6).validate(sell, make_context(SPY, quote=spy)))
    assert above.reference_price == max(spy.bid, spy.last) == spy.last  # type: ignore[type-var]


def test_a_converted_market_sell_sends_the_buffered_limit_but_is_valued_at_the_market(
    real: RealPrices, make_context: Any
) -> None:
    quote = real.quote("BHP/AUD")
    decision = approved(manager().validate(intent("BHP/AUD", "sell", 500), make_context(BHP, quote=quote)))
    sent = BHP.ladder.round(quote.bid * Decimal("0.995"), "up")  # type: ignore[operator]
    assert decision.order.type == "limit" and decision.order.price == sent
    assert decision.reference_price == quote.last and decision.notional == 500 * quote.last  # type: ignore[operator]
    commission = max(500 * quote.last * Decimal("0.0008"), Decimal("6.00"))  # type: ignore[operator]
    assert decision.cost.amount == commission.quantize(PLACES)


def test_a_sell_limit_above_the_market_is_valued_at_its_limit_to_the_cent(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("SPY/USD")
    price = quote.ask + 2  # type: ignore[operator]  # a resting offer: takes at least its limit
    sell = intent("SPY/USD", "sell", 30, price)
    ctx = make_context(SPY, quote=quote)
    value = aud(real, 30 * price)
    assert approved(manager(max_order_value=value).validate(sell, ctx)).notional_base == value
    approved(manager(max_order_value=value + CENT).validate(sell, ctx))
    rejected(manager(max_order_value=value - CENT).validate(sell, ctx), RejectCode.MAX_ORDER_VALUE)


def test_a_sell_is_never_valued_below_the_positions_mark(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("SPY/USD")
    mark = quote.ask + 3  # type: ignore[operator]  # the venue's mark is above the book here
    ctx = make_context(SPY, quote=quote, positions=[position("SPY/USD", -50, mark, "USD")])
    more_short = approved(manager().validate(intent("SPY/USD", "sell", 10, quote.bid), ctx))
    assert more_short.reference_price == mark and more_short.position_after == -60
    assert more_short.exposure_after_base == aud(real, 60 * mark)


def test_positions_after_are_valued_at_their_mark_not_the_order_price(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("SPY/USD")
    price = quote.ask + 5  # type: ignore[operator]  # a buy through the ask pays at most its limit
    ctx = make_context(SPY, quote=quote, positions=[position("SPY/USD", 20, quote.last, "USD")])
    decision = approved(manager().validate(intent("SPY/USD", "buy", 10, price), ctx))
    assert decision.reference_price == price and decision.notional == 10 * price
    assert decision.exposure_after_base == aud(real, 30 * quote.last)  # type: ignore[operator]


def test_an_opening_sell_with_no_market_price_is_refused_but_an_exit_passes(make_context: Any) -> None:
    for empty in (None, Quote(ask=Decimal("596.10"), ask_size=Decimal(100))):
        refused = rejected(
            manager().validate(intent("SPY/USD", "sell", 10, "596.00"), make_context(SPY, quote=empty)),
            RejectCode.NO_QUOTE,
        )
        assert "no bid, last trade or mark for SPY/USD" in refused.reason
    exit_ctx = make_context(SPY, quote=None, positions=[position("SPY/USD", 10, None, "USD")])
    exit_ = approved(manager().validate(intent("SPY/USD", "sell", 10, "596.00", is_exit=True), exit_ctx))
    assert exit_.reference_price == Decimal("596.00") and any("no bid, last trade or mark" in w for w in exit_.warnings)


def test_price_off_market_band_to_the_cent(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("SPY/USD")  # bid 596.08, ask 596.10
    ctx = make_context(SPY, quote=quote)
    big = {"max_order_value": 10**7, "max_position_value": 10**7}
    # a sell: 10% under the bid is 536.472; 536.48 is inside, 536.47 a cent beyond
    approved(manager(**big).validate(intent("SPY/USD", "sell", 10, "536.48"), ctx))
    beyond = rejected(
        manager(**big).validate(intent("SPY/USD", "sell", 10, "536.47"), ctx), RejectCode.PRICE_OFF_MARKET
    )
    assert beyond.value == ((Decimal("596.08") - Decimal("536.47")) / Decimal("596.08") * 100).quantize(PLACES)
    # a buy: 10% over the ask is 655.71 exactly (at the band passes), 655.72 is beyond
    approved(manager(**big).validate(intent("SPY/USD", "buy", 10, "655.71"), ctx))
    over = rejected(manager(**big).validate(intent("SPY/USD", "buy", 10, "655.72"), ctx), RejectCode.PRICE_OFF_MARKET)
    assert "above the ask 596.10" in over.reason and "MAX_PRICE_OFF_MARKET_PCT" in over.reason
    # the band is a setting; passive limits far from the market are not "through" it
    approved(manager(max_price_off_market_pct="20", **big).validate(intent("SPY/USD", "buy", 10, "655.72"), ctx))
    approved(manager(**big).validate(intent("SPY/USD", "buy", 10, "400.00"), ctx))
    # an exit through the band only warns: it lowers risk
    held = make_context(SPY, quote=quote, positions=[position("SPY/USD", 10, quote.last, "USD")])
    exit_ = approved(manager().validate(intent("SPY/USD", "sell", 10, "500.00", is_exit=True), held))
    assert exit_.reference_price == quote.last and any("MAX_PRICE_OFF_MARKET_PCT" in w for w in exit_.warnings)


def test_a_buy_stop_below_the_market_is_valued_at_the_ask_plus_the_buffer(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("SPY/USD")
    stop = intent("SPY/USD", "buy", 10, type="stop", stop_price=quote.bid - 50)  # type: ignore[operator]
    decision = approved(manager().validate(stop, make_context(SPY, quote=quote)))
    assert decision.reference_price == quote.ask * Decimal("1.005")  # type: ignore[operator]
    sell_stop = intent("SPY/USD", "sell", 10, type="stop", stop_price=quote.bid - 50)  # type: ignore[operator]
    assert approved(manager().validate(sell_stop, make_context(SPY, quote=quote))).reference_price == quote.last
