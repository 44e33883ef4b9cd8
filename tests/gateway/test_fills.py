"""The fill model shared by the offline gateway and the runner's shadow mode."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from sdk.sim.fills import MARKET_PROTECTION_PCT, MarketSlice, OrderSpec, match, protection_cap, quote_for
from sdk.ticks import ASX_EQUITY, US_EQUITY


def _slice(bid: str, ask: str, o: str, h: str, low: str, c: str, volume: str | None = "1000") -> MarketSlice:
    return MarketSlice(D(bid), D(ask), D(o), D(h), D(low), D(c), None if volume is None else D(volume))


def test_quotes_are_one_price_step_wide_on_the_ladder() -> None:
    assert quote_for(45.123, ASX_EQUITY) == quote_for(D("45.123"), ASX_EQUITY)
    q = quote_for(45.123, ASX_EQUITY)
    assert (q.bid, q.ask, q.last) == (D("45.12"), D("45.13"), D("45.12"))
    on_step = quote_for(1.995, ASX_EQUITY)  # half-cent band below 2.00
    assert (on_step.bid, on_step.ask) == (D("1.995"), D("2.00"))
    assert quote_for(0.5, US_EQUITY).ask - quote_for(0.5, US_EQUITY).bid == D("0.0001")


def test_a_market_order_takes_the_touch_up_to_the_volume_left() -> None:
    market = _slice("45.12", "45.13", "45.12", "45.20", "45.10", "45.15")
    buy = match(OrderSpec("BUY", "MKT", D(500)), market, volume_left=D(300), arrival=True)
    assert [(f.price, f.quantity, f.liquidity) for f in buy.fills] == [(D("45.13"), D(300), "taker")]
    sell = match(OrderSpec("SELL", "MKT", D(500)), market, volume_left=None, arrival=False)
    assert [(f.price, f.quantity) for f in sell.fills] == [(D("45.12"), D(500))]
    assert match(OrderSpec("BUY", "MKT", D(500)), market, volume_left=D(0), arrival=True).fills == ()


def test_a_protected_market_order_never_fills_beyond_its_cap() -> None:
    arrival = _slice("45.12", "45.13", "45.12", "45.12", "45.12", "45.12")
    cap = protection_cap("BUY", arrival, ASX_EQUITY)
    assert MARKET_PROTECTION_PCT == D("0.3") and cap == D("45.26")  # 45.13 x 1.003 = 45.265, rounded down
    assert protection_cap("SELL", arrival, ASX_EQUITY) == D("44.99")  # 45.12 x 0.997 = 44.985, rounded up
    order = OrderSpec("BUY", "MKT", D(500), limit_price=cap)
    within = _slice("45.20", "45.21", "45.20", "45.25", "45.18", "45.22")
    assert [(f.price, f.quantity) for f in match(order, within, volume_left=D(300), arrival=False).fills] == [
        (D("45.21"), D(300))
    ]
    # the market ran past the cap: only where the slice trades back down to it, at the cap, as a resting limit
    past = _slice("45.40", "45.41", "45.40", "45.45", "45.25", "45.30")
    fill = match(order, past, volume_left=D(200), arrival=False).fills[0]
    assert (fill.price, fill.quantity, fill.liquidity) == (D("45.26"), D(200), "maker")
    away = _slice("45.40", "45.41", "45.40", "45.50", "45.30", "45.45")
    assert match(order, away, volume_left=None, arrival=False).fills == ()
    unprotected = OrderSpec("BUY", "MKT", D(500))  # no cap: the touch, whatever it is
    assert match(unprotected, away, volume_left=None, arrival=False).fills[0].price == D("45.41")
    sell = OrderSpec("SELL", "MKT", D(100), limit_price=D("44.99"))
    fallen = _slice("44.90", "44.91", "44.92", "45.00", "44.85", "44.95")
    assert match(sell, fallen, volume_left=None, arrival=False).fills[0].price == D("44.99")


def test_a_marketable_limit_fills_at_the_touch_on_arrival_only() -> None:
    market = _slice("45.12", "45.13", "45.12", "45.20", "45.14", "45.15")
    order = OrderSpec("BUY", "LMT", D(100), limit_price=D("45.13"))
    assert match(order, market, volume_left=None, arrival=True).fills[0].price == D("45.13")
    # resting: the slice never traded at or below 45.13
    assert match(order, market, volume_left=None, arrival=False).fills == ()


def test_a_resting_limit_fills_at_its_limit_or_better_on_a_gap() -> None:
    through = _slice("45.00", "45.01", "45.05", "45.10", "44.90", "45.00")
    buy = OrderSpec("BUY", "LMT", D(100), limit_price=D("44.95"))
    fill = match(buy, through, volume_left=None, arrival=False).fills[0]
    assert (fill.price, fill.liquidity) == (D("44.95"), "maker")
    gap = _slice("44.80", "44.81", "44.80", "44.85", "44.70", "44.75")
    assert match(buy, gap, volume_left=None, arrival=False).fills[0].price == D("44.80")
    sell = OrderSpec("SELL", "LMT", D(100), limit_price=D("45.08"))
    assert match(sell, through, volume_left=None, arrival=False).fills[0].price == D("45.08")


def test_stops_trigger_and_fill_at_the_worse_of_stop_and_open_on_the_ladder() -> None:
    market = _slice("45.00", "45.01", "45.02", "45.30", "44.99", "45.25")
    stop = OrderSpec("BUY", "STP", D(100), stop_price=D("45.20"))
    decision = match(stop, market, volume_left=None, arrival=False, ladder=ASX_EQUITY)
    assert decision.triggered
    assert decision.fills[0].price == D("45.21")  # 45.20 plus half a 0.01 spread, rounded up
    untouched = match(OrderSpec("BUY", "STP", D(100), stop_price=D("46")), market, volume_left=None, arrival=False)
    assert untouched.fills == () and not untouched.triggered
    sell_stop = OrderSpec("SELL", "STP", D(100), stop_price=D("45.05"))
    gap_down = _slice("44.50", "44.51", "44.50", "44.60", "44.40", "44.45")
    assert match(sell_stop, gap_down, volume_left=None, arrival=False, ladder=ASX_EQUITY).fills[0].price == D("44.49")


def test_a_stop_limit_fills_within_its_limit_or_rests_as_a_limit() -> None:
    market = _slice("45.00", "45.01", "45.02", "45.30", "44.99", "45.25")
    within = OrderSpec("BUY", "STP LMT", D(100), limit_price=D("45.25"), stop_price=D("45.20"))
    assert match(within, market, volume_left=None, arrival=False).fills[0].price == D("45.20")
    gapped = _slice("45.40", "45.41", "45.40", "45.50", "45.35", "45.45")
    rests = match(within, gapped, volume_left=None, arrival=False)
    assert rests.triggered and rests.fills == ()
    later = _slice("45.20", "45.21", "45.30", "45.32", "45.22", "45.24")
    resting = OrderSpec("BUY", "STP LMT", D(100), limit_price=D("45.25"), stop_price=D("45.20"), triggered=True)
    assert match(resting, later, volume_left=None, arrival=False).fills[0].price == D("45.25")


def test_bad_orders_are_refused_with_a_reason() -> None:
    market = _slice("1", "1.01", "1", "1", "1", "1")
    with pytest.raises(ValueError, match="order type 'TRAIL'"):
        match(OrderSpec("BUY", "TRAIL", D(1)), market, volume_left=None, arrival=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a limit price"):
        match(OrderSpec("BUY", "LMT", D(1)), market, volume_left=None, arrival=True)
    with pytest.raises(ValueError, match="needs a stop"):
        match(OrderSpec("BUY", "STP", D(1)), market, volume_left=None, arrival=True)
