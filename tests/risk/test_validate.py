"""RiskManager.validate on real prices: limits in AUD at the day's real AUD/USD rate, exact to the cent,
shorts in gross exposure, tick rounding, market orders priced or refused, hours, liquidity, exits."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from risk_helpers import (
    AUDUSD,
    DAY,
    NEW_YORK,
    SYDNEY,
    RealPrices,
    approved,
    ib_stock,
    intent,
    manager,
    position,
    rejected,
)

from sdk.costs import FxRate, FxTable
from sdk.risk import OrderIntent, Quote, RejectCode

BHP, CBA, SPY = ib_stock("BHP/AUD"), ib_stock("CBA/AUD"), ib_stock("SPY/USD", "NYSE")
CENT = Decimal("0.01")


def test_aud_account_buying_us_stock_is_checked_in_aud_at_the_days_real_rate(
    real: RealPrices, make_context: Any
) -> None:
    quote = real.quote("SPY/USD")
    ctx = make_context(SPY, quote=quote)
    decision = approved(manager().validate(intent("SPY/USD", "buy", 20, quote.ask), ctx))
    audusd = real.close("AUD/USD")
    assert decision.notional == 20 * quote.ask  # type: ignore[operator]
    assert decision.notional_base == (20 * quote.ask / audusd).quantize(Decimal("0.0001"), ROUND_HALF_UP)  # type: ignore[operator]
    assert decision.fx.source == f"shared data AUD/USD close {DAY}" and decision.quote_currency == "USD"
    assert decision.cost.currency == "USD" and decision.cost.amount == Decimal("1.00")  # IB US fixed minimum
    assert decision.cost.amount_base is not None and decision.cost.amount_base > decision.cost.amount
    assert decision.to_dict()["base_currency"] == "AUD"


def test_one_cent_over_a_limit_is_refused_and_one_cent_under_passes(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("BHP/AUD")
    value = 600 * quote.bid  # type: ignore[operator]
    order = intent("BHP/AUD", "buy", 600, quote.bid)
    ctx = make_context(BHP, quote=quote)
    over = rejected(manager(max_order_value=value - CENT).validate(order, ctx), RejectCode.MAX_ORDER_VALUE)
    assert (over.limit, over.value, over.currency) == (value - CENT, value, "AUD")
    assert "split it or lower the amount" in over.reason
    assert approved(manager(max_order_value=value + CENT).validate(order, ctx)).notional_base == value
    assert approved(manager(max_order_value=value).validate(order, ctx)).notional_base == value  # at the limit

    # the same in AUD for a USD order, at the real AUD/USD rate
    spy = real.quote("SPY/USD")
    spy_order = intent("SPY/USD", "buy", 25, spy.ask)
    in_aud = approved(manager().validate(spy_order, make_context(SPY, quote=spy))).notional_base
    rejected(
        manager(max_order_value=in_aud - CENT).validate(spy_order, make_context(SPY, quote=spy)),
        RejectCode.MAX_ORDER_VALUE,
    )
    approved(manager(max_order_value=in_aud + CENT).validate(spy_order, make_context(SPY, quote=spy)))


def test_shorts_count_toward_gross_exposure(real: RealPrices, make_context: Any) -> None:
    bhp, cba = real.quote("BHP/AUD"), real.quote("CBA/AUD")
    long_bhp = position("BHP/AUD", 1_000, bhp.last, "AUD")
    short_cba = position("CBA/AUD", -300, cba.last, "AUD")
    gross = 1_000 * bhp.last + 300 * cba.last  # type: ignore[operator]
    net = 1_000 * bhp.last - 300 * cba.last  # type: ignore[operator]
    order = intent("BHP/AUD", "buy", 100, bhp.ask)
    after = gross + 100 * bhp.last  # type: ignore[operator]  # the position after, at its mark (not the limit)
    limit = (net + after) / 2  # above the net exposure, below the gross one
    ctx = make_context(BHP, quote=bhp, positions=[long_bhp, short_cba])
    refused = rejected(manager(max_total_exposure=limit).validate(order, ctx), RejectCode.MAX_TOTAL_EXPOSURE)
    assert refused.value == after.quantize(Decimal("0.0001")) and "longs plus shorts" in refused.reason
    assert approved(manager(max_total_exposure=after).validate(order, ctx)).exposure_after_base == after
    # covering part of the short lowers gross exposure: allowed even above the limit
    cover = approved(
        manager(max_total_exposure=limit).validate(
            intent("CBA/AUD", "buy", 100, cba.ask), make_context(CBA, quote=cba, positions=[long_bhp, short_cba])
        )
    )
    assert cover.opening is False and cover.position_after == -200


def test_an_off_tick_asx_price_is_rounded_never_sent_raw(real: RealPrices, make_context: Any) -> None:
    raw = real.close("BHP/AUD")  # a dividend-adjusted close with many decimals, off ASX's 0.01 step
    assert raw != raw.quantize(CENT)
    ctx = make_context(BHP, quote=real.quote("BHP/AUD"))
    buy = approved(manager().validate(intent("BHP/AUD", "buy", 100, raw), ctx))
    sell = approved(
        manager().validate(
            intent("BHP/AUD", "sell", 100, raw, reduce_only=False),
            make_context(BHP, quote=real.quote("BHP/AUD"), positions=[position("BHP/AUD", 100, raw, "AUD")]),
        )
    )
    assert buy.order.price == raw.quantize(CENT, rounding="ROUND_FLOOR") < raw
    assert sell.order.price == raw.quantize(CENT, rounding="ROUND_CEILING") > raw
    assert BHP.ladder.is_on_ladder(buy.order.price) and BHP.ladder.is_on_ladder(sell.order.price)  # type: ignore[arg-type]
    assert any("off the price step" in w and "never pays more" in w for w in buy.warnings)
    assert buy.order.create_order_args()["price"] == float(buy.order.price)  # type: ignore[arg-type]
    # below AUD 2.00 the ASX step is half a cent
    penny = approved(
        manager(min_trade_size=0).validate(
            intent("BHP/AUD", "buy", 1_000, "1.2345"),
            make_context(
                BHP,
                quote=Quote(
                    bid=Decimal("1.23"), ask=Decimal("1.235"), bid_size=Decimal(10**6), ask_size=Decimal(10**6)
                ),
            ),
        )
    )
    assert penny.order.price == Decimal("1.230")


def test_a_market_order_with_no_quote_is_refused_with_a_clear_reason(make_context: Any) -> None:
    for quote in (None, Quote()):
        refused = rejected(
            manager().validate(intent("SPY/USD", "buy", 10), make_context(SPY, quote=quote)), RejectCode.NO_QUOTE
        )
        assert "no ask and no last price for SPY/USD" in refused.reason and "cannot be priced" in refused.reason
        assert "send a limit order" in refused.reason
    one_sided = Quote(bid=Decimal("596.08"), bid_size=Decimal(100))
    rejected(manager().validate(intent("SPY/USD", "buy", 10), make_context(SPY, quote=one_sided)), RejectCode.NO_QUOTE)


def test_a_market_order_is_priced_from_the_far_side_plus_the_buffer(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("SPY/USD")
    decision = approved(
        manager(market_order_buffer_pct="0.5").validate(intent("SPY/USD", "buy", 10), make_context(SPY, quote=quote))
    )
    assert decision.order.type == "market" and decision.order.price is None
    assert decision.reference_price == quote.ask * Decimal("1.005")  # type: ignore[operator]
    last_only = Quote(last=quote.last)
    priced = approved(manager().validate(intent("SPY/USD", "buy", 10), make_context(SPY, quote=last_only)))
    assert priced.reference_price == quote.last * Decimal("1.005")  # type: ignore[operator]
    assert any("priced from the last trade" in w for w in priced.warnings)


def test_where_market_orders_are_not_taken_exits_become_marketable_limits(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("BHP/AUD")
    holding = position("BHP/AUD", 500, quote.last, "AUD")
    exit_ = intent("BHP/AUD", "sell", 500, is_exit=True, client_order_id="trd-exit-1")
    decision = approved(manager().validate(exit_, make_context(BHP, quote=quote, positions=[holding])))
    expected = BHP.ladder.round(quote.bid * Decimal("0.995"), "up")  # type: ignore[operator]
    assert (decision.order.type, decision.order.price, decision.order.tif) == ("limit", expected, "IOC")
    assert decision.order.price <= quote.bid and decision.order.reduce_only  # type: ignore[operator]
    assert decision.order.create_order_args()["params"] == {
        "clientOrderId": "trd-exit-1",
        "timeInForce": "IOC",
        "reduceOnly": True,
    }
    assert any("marketable limit" in w for w in decision.warnings)


def test_market_hours_from_exchange_calendars_and_fx_24_5(real: RealPrices, make_context: Any) -> None:
    saturday = datetime(2025, 6, 7, 12, 0, tzinfo=SYDNEY)
    closed = rejected(
        manager().validate(
            intent("BHP/AUD", "buy", 100, "37.20"), make_context(BHP, quote=real.quote("BHP/AUD"), now=saturday)
        ),
        RejectCode.MARKET_CLOSED,
    )
    assert "2025-06-10 10:00 AEST" in closed.reason  # Monday 9 June 2025 is the King's Birthday holiday
    before_open = datetime(2025, 6, 3, 9, 0, tzinfo=NEW_YORK)
    rejected(
        manager().validate(
            intent("SPY/USD", "buy", 10, "596.10"), make_context(SPY, quote=real.quote("SPY/USD"), now=before_open)
        ),
        RejectCode.MARKET_CLOSED,
    )
    fx_quote = Quote(bid=Decimal("0.6498"), ask=Decimal("0.64985"), bid_size=Decimal(10**6), ask_size=Decimal(10**6))
    sunday_noon, sunday_evening = datetime(2025, 6, 8, 12, tzinfo=NEW_YORK), datetime(2025, 6, 8, 18, tzinfo=NEW_YORK)
    order = intent("AUD/USD", "buy", 20_000, "0.64985")
    rejected(manager().validate(order, make_context(AUDUSD, quote=fx_quote, now=sunday_noon)), RejectCode.MARKET_CLOSED)
    fx_trade = approved(manager().validate(order, make_context(AUDUSD, quote=fx_quote, now=sunday_evening)))
    in_aud = (20_000 * Decimal("0.64985") / real.close("AUD/USD")).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    assert fx_trade.notional_base == in_aud and fx_trade.notional == Decimal("12997.00000")
    assert fx_trade.cost.currency == "USD" and fx_trade.cost.amount == Decimal("2.00")  # IDEALPRO minimum


def test_the_close_itself_takes_orders_for_the_closing_auction_only(real: RealPrices, make_context: Any) -> None:
    """Market-on-close: at the very millisecond a session closes, an ASX or NYSE order is for the closing auction (a
    backtest's --fill at-close sends there); a millisecond later the market is shut. FX has no auction."""
    close = datetime(2025, 6, 3, 16, 0, tzinfo=NEW_YORK)
    order = intent("SPY/USD", "buy", 10, "596.10")
    approved(manager().validate(order, make_context(SPY, quote=real.quote("SPY/USD"), now=close)))
    later = close + timedelta(milliseconds=1)
    rejected(
        manager().validate(order, make_context(SPY, quote=real.quote("SPY/USD"), now=later)), RejectCode.MARKET_CLOSED
    )
    asx_close = datetime(2025, 6, 3, 16, 0, tzinfo=SYDNEY)
    approved(manager().validate(intent("BHP/AUD", "buy", 100, "37.20"),
                                make_context(BHP, quote=real.quote("BHP/AUD"), now=asx_close)))  # fmt: skip
    fx_quote = Quote(bid=Decimal("0.6498"), ask=Decimal("0.64985"), bid_size=Decimal(10**6), ask_size=Decimal(10**6))
    friday_close = datetime(2025, 6, 6, 17, 0, tzinfo=NEW_YORK)  # IDEALPRO's week ends; no auction
    fx = intent("AUD/USD", "buy", 20_000, "0.64985")
    rejected(manager().validate(fx, make_context(AUDUSD, quote=fx_quote, now=friday_close)), RejectCode.MARKET_CLOSED)


def test_daily_loss_switch_stops_new_risk_but_lets_exits_through(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("BHP/AUD")
    holding = position("BHP/AUD", 400, quote.last, "AUD")
    ctx = make_context(BHP, quote=quote, positions=[holding], pnl_today=Decimal("-5000"))
    stop = rejected(manager().validate(intent("BHP/AUD", "buy", 100, quote.ask), ctx), RejectCode.DAILY_LOSS_LIMIT)
    assert (stop.limit, stop.value, stop.currency) == (Decimal(5000), Decimal(5000), "AUD")
    approved(manager().validate(intent("BHP/AUD", "sell", 400, quote.bid, is_exit=True), ctx))
    below = make_context(BHP, quote=quote, positions=[holding], pnl_today=Decimal("-4999.99"))
    approved(manager().validate(intent("BHP/AUD", "buy", 100, quote.ask), below))


def test_reduce_only_never_opens_or_flips(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("BHP/AUD")
    ctx = make_context(BHP, quote=quote, positions=[position("BHP/AUD", 100, quote.last, "AUD")])
    too_many = rejected(
        manager().validate(intent("BHP/AUD", "sell", 150, quote.bid, reduce_only=True), ctx), RejectCode.REDUCE_ONLY
    )
    assert "send at most 100" in too_many.reason
    wrong_side = rejected(
        manager().validate(intent("BHP/AUD", "buy", 50, quote.ask, reduce_only=True), ctx), RejectCode.REDUCE_ONLY
    )
    assert "send a sell" in wrong_side.reason
    flat = rejected(
        manager().validate(intent("BHP/AUD", "sell", 50, quote.bid, is_exit=True), make_context(BHP, quote=quote)),
        RejectCode.REDUCE_ONLY,
    )
    assert "no position to reduce" in flat.reason


def test_asx_minimum_marketable_parcel_on_a_first_purchase_only(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("BHP/AUD")
    few = 10  # about AUD 370 of BHP
    first = rejected(
        manager(min_trade_size=0).validate(intent("BHP/AUD", "buy", few, quote.ask), make_context(BHP, quote=quote)),
        RejectCode.MIN_PARCEL,
    )
    assert first.limit == Decimal(500) and first.currency == "AUD" and first.value == few * quote.ask  # type: ignore[operator]
    assert (
        f"buy at least {(Decimal(500) / quote.ask).to_integral_value(rounding='ROUND_CEILING')} shares" in first.reason
    )  # type: ignore[operator]
    top_up = make_context(BHP, quote=quote, positions=[position("BHP/AUD", 100, quote.last, "AUD")])
    approved(manager(min_trade_size=0).validate(intent("BHP/AUD", "buy", few, quote.ask), top_up))


def test_min_trade_size_per_symbol_cap_and_amount_step(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("BHP/AUD")
    ctx = make_context(BHP, quote=quote)
    small = rejected(
        manager(min_trade_size=1000).validate(intent("BHP/AUD", "buy", 20, quote.ask), ctx), RejectCode.MIN_TRADE_SIZE
    )
    assert small.value == 20 * quote.ask and small.limit == 1000  # type: ignore[operator]
    capped = manager(symbol_max_position_value='{"BHP/AUD": 20000}')
    holding = make_context(BHP, quote=quote, positions=[position("BHP/AUD", 400, quote.last, "AUD")])
    over_cap = rejected(
        capped.validate(intent("BHP/AUD", "buy", 200, quote.ask), holding), RejectCode.MAX_POSITION_VALUE
    )
    assert over_cap.limit == 20000 and "SYMBOL_MAX_POSITION_VALUE" in over_cap.reason
    cut = approved(manager().validate(intent("BHP/AUD", "buy", "100.7", quote.ask), ctx))
    assert cut.order.amount == 100 and any("cut to 100" in w for w in cut.warnings)


def test_spread_and_top_of_book_liquidity_for_orders_that_take(real: RealPrices, make_context: Any) -> None:
    close = real.close("SPY/USD").quantize(CENT)
    wide = Quote(bid=close - 5, ask=close + 5, bid_size=Decimal(1000), ask_size=Decimal(1000), last=close)
    spread = rejected(
        manager().validate(intent("SPY/USD", "buy", 10), make_context(SPY, quote=wide)), RejectCode.SPREAD_TOO_WIDE
    )
    assert spread.limit == Decimal("1.0") and spread.currency == "%"
    approved(
        manager().validate(intent("SPY/USD", "buy", 10, close - 6), make_context(SPY, quote=wide))
    )  # passive: no spread paid
    thin = Quote(bid=close - CENT, ask=close + CENT, bid_size=Decimal(1000), ask_size=Decimal(1), last=close)
    thin_book = rejected(
        manager().validate(intent("SPY/USD", "buy", 10), make_context(SPY, quote=thin)), RejectCode.THIN_BOOK
    )
    assert thin_book.limit == Decimal(1000) and thin_book.value == ((close + CENT) / real.close("AUD/USD")).quantize(
        Decimal("0.0001"), ROUND_HALF_UP
    )
    # closing into a thin book is allowed, with a warning
    ctx = make_context(SPY, quote=thin, positions=[position("SPY/USD", -10, close, "USD")])
    cover = approved(manager().validate(intent("SPY/USD", "buy", 10, is_exit=True), ctx))
    assert any("MIN_TOP_OF_BOOK_NOTIONAL" in w for w in cover.warnings)


def test_allow_lists_prefix_and_fx_availability(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("BHP/AUD")
    ctx = make_context(BHP, quote=quote)
    not_listed = rejected(
        manager(allowed_symbols="CBA/AUD").validate(intent("BHP/AUD", "buy", 100, quote.ask), ctx),
        RejectCode.SYMBOL_NOT_ALLOWED,
    )
    assert "ALLOWED_SYMBOLS=CBA/AUD,BHP/AUD" in not_listed.reason
    rejected(
        manager(allowed_instrument_types="etf,fx").validate(intent("BHP/AUD", "buy", 100, quote.ask), ctx),
        RejectCode.INSTRUMENT_TYPE_NOT_ALLOWED,
    )
    exit_ctx = make_context(BHP, quote=quote, positions=[position("BHP/AUD", 100, quote.last, "AUD")])
    allowed_exit = approved(
        manager(allowed_symbols="CBA/AUD").validate(intent("BHP/AUD", "sell", 100, quote.bid, is_exit=True), exit_ctx)
    )
    assert any("ALLOWED_SYMBOLS" in w for w in allowed_exit.warnings)
    bad_prefix = rejected(
        manager().validate(intent("BHP/AUD", "buy", 100, quote.ask, client_order_id="abc-1"), ctx),
        RejectCode.INVALID_ORDER,
    )
    assert "CLIENT_ORDER_PREFIX 'trd-'" in bad_prefix.reason
    no_usd = rejected(
        manager().validate(
            intent("SPY/USD", "buy", 10, "596.10"), make_context(SPY, quote=real.quote("SPY/USD"), fx=FxTable("AUD"))
        ),
        RejectCode.FX_UNAVAILABLE,
    )
    assert "no FX rate from USD to AUD" in no_usd.reason


def test_positions_without_a_mark_block_new_risk(real: RealPrices, make_context: Any) -> None:
    quote = real.quote("BHP/AUD")
    ctx = make_context(BHP, quote=quote, positions=[position("CBA/AUD", 100, None, "AUD")])
    unpriced = rejected(manager().validate(intent("BHP/AUD", "buy", 100, quote.ask), ctx), RejectCode.POSITION_UNPRICED)
    assert "CBA/AUD" in unpriced.reason
    foreign = make_context(
        BHP, quote=quote, positions=[position("AAPL/USD", 10, Decimal(200), "USD")], fx=FxTable("AUD")
    )
    rejected(manager().validate(intent("BHP/AUD", "buy", 100, quote.ask), foreign), RejectCode.FX_UNAVAILABLE)


def test_intent_and_context_must_agree(real: RealPrices, make_context: Any) -> None:
    usd_book = FxTable.of("USD", FxRate("AUD", "USD", Decimal("0.65"), "q"))
    rejected(
        manager().validate(intent("BHP/AUD", "buy", 100, "37.20"), make_context(BHP, fx=usd_book)),
        RejectCode.INVALID_ORDER,
    )
    rejected(manager().validate(intent("CBA/AUD", "buy", 100, "37.20"), make_context(BHP)), RejectCode.INVALID_ORDER)


def test_bad_intents_fail_at_construction_with_what_to_do() -> None:
    with pytest.raises(ValueError, match="did you mean 'BHP/AUD'"):
        intent("BHP.AX", "buy", 1, 1)
    with pytest.raises(ValueError, match="takes no price"):
        intent("BHP/AUD", "buy", 1, 1, type="market")
    with pytest.raises(ValueError, match="needs stop_price"):
        intent("BHP/AUD", "sell", 1, 1, type="stop_limit")
    with pytest.raises(ValueError, match="greater than 0"):
        intent("BHP/AUD", "buy", 0, 1)
    with pytest.raises(ValueError, match="is not an origin"):
        OrderIntent(symbol="BHP/AUD", side="buy", amount=1, price=1, origin="me")
