"""The simulation core's matching rules on real bars (``../shared/data``): order types, times in force, volume
share, sessions, the opening and closing auctions.

BHP/AUD daily bars (Yahoo, ASX price steps of 0.01 above 2.00), March 2025 (UTC; an ASX session is 23:00-05:00):

==========  ==========  ==========  ==========  ==========
session     open        high        low         close
==========  ==========  ==========  ==========  ==========
2025-03-04  37.580810   37.983460   37.350722   37.849243
2025-03-05  37.916350   38.328589   37.858831   37.906765
2025-03-06  41.087031   41.238661   38.122896   38.377243
2025-03-07  38.504420   38.827245   38.044635   38.132679
==========  ==========  ==========  ==========  ==========

SPY/USD 1-minute bars (Polygon, with pre- and post-market), 4 and 5 March 2024; the NYSE session is 14:30-21:00 UTC.
"""

from __future__ import annotations

from typing import Any

import pytest
from sim_support import D, Driver, ms  # type: ignore[import-not-found]

from sdk.errors import InvalidOrder
from sdk.sim.fills import quote_for
from sdk.sim.matching import FillConfig
from sdk.ticks import ASX_EQUITY

pytestmark = pytest.mark.shared_data

BHP_WINDOW = ("2025-03-01T00:00", "2025-03-15T00:00")
SPY_WINDOW = ("2024-03-04T00:00", "2024-03-06T00:00")
AFTER_MAR4_CLOSE = ms("2025-03-04T06:00")  # 17:00 Sydney: the ASX is shut until 10:00 on the 5th


@pytest.fixture(scope="module")
def bhp(catalog: Any) -> Any:
    def make(**kwargs: Any) -> Driver:
        return Driver(catalog, {"BHP/AUD": ("1D", True)}, window=BHP_WINDOW, **kwargs)

    return make


@pytest.fixture(scope="module")
def spy(catalog: Any) -> Any:
    def make(size: str = "1min", rth: bool = True, **kwargs: Any) -> Driver:
        return Driver(catalog, {"SPY/USD": (size, rth)}, window=SPY_WINDOW, **kwargs)

    return make


def fills(order: Any) -> list[tuple[Any, ...]]:
    return [(e.price, e.amount, e.liquidity, e.timestamp) for e in order.fills]


# --- order types ------------------------------------------------------------------------------------------
def test_a_market_order_placed_after_the_close_fills_at_the_next_bars_opening_ask(bhp: Any) -> None:
    sim = bhp()
    order = sim.place("BHP/AUD", "market", "buy", 100, at=AFTER_MAR4_CLOSE)
    assert sim.run(ms("2025-03-05T06:00")) and order.status == "closed"
    # the 5th opened at 37.916350: bid 37.91, ask 37.92 (one ASX price step); the buyer takes the ask
    assert quote_for(D("37.91635"), ASX_EQUITY).ask == D("37.92")
    assert fills(order) == [(D("37.92"), D(100), "taker", ms("2025-03-04T23:00"))]


def test_a_resting_limit_fills_at_its_limit_as_maker_and_at_the_open_through_a_gap(bhp: Any) -> None:
    sim = bhp()
    buy = sim.place("BHP/AUD", "limit", "buy", 100, "37.87", at=AFTER_MAR4_CLOSE)  # below the 5th's ask 37.92
    sell = sim.place("BHP/AUD", "limit", "sell", 100, "39.00", at=AFTER_MAR4_CLOSE)  # above the 5th's high
    sim.run(ms("2025-03-05T06:00"))
    # the 5th traded down to 37.858831: the buy fills at its limit, adding liquidity
    assert fills(buy) == [(D("37.87"), D(100), "maker", ms("2025-03-04T23:00"))]
    assert sell.status == "open" and sell.filled == 0
    sim.run(ms("2025-03-06T06:00"))
    # the 6th opened at 41.087031, through the 39.00 limit: the gap gives the seller the open
    assert fills(sell) == [(D("41.087031011262354"), D(100), "maker", ms("2025-03-05T23:00"))]


def test_a_stop_triggers_where_the_bar_reaches_it_and_fills_at_the_worse_of_stop_and_open(bhp: Any) -> None:
    sim = bhp()
    stop = sim.place("BHP/AUD", "stop", "buy", 100, stop_price=D("38.50"), at=AFTER_MAR4_CLOSE)
    stop_limit = sim.place("BHP/AUD", "stop_limit", "buy", 100, "39.00", stop_price=D("38.50"), at=AFTER_MAR4_CLOSE)
    sim.run(ms("2025-03-05T06:00"))
    assert not stop.triggered and not stop_limit.triggered, "the 5th's high 38.33 stayed under the stop"
    sim.run(ms("2025-03-06T06:00"))
    # the 6th opened at 41.087031, above the stop: a market fill at the open plus half the one-step spread, on
    # the ladder against the buyer: 41.087031 + 0.005 = 41.092031 -> 41.10
    assert fills(stop) == [(D("41.10"), D(100), "taker", ms("2025-03-05T23:00"))]
    # the stop-limit's trigger price (the open, 41.087031) is beyond its 39.00 limit: it rests as a limit
    assert stop_limit.triggered and stop_limit.filled == 0 and stop_limit.status == "open"
    sim.run(ms("2025-03-07T06:00"))
    # the 7th opened at 38.504420, under the limit: it fills at the open (a gap in its favour), as maker
    opened = D(repr(sim.bar("BHP/AUD", "2025-03-06T23:00")["open"]))
    assert D("38.5044") < opened < D("38.5045")
    assert fills(stop_limit) == [(opened, D(100), "maker", ms("2025-03-06T23:00"))]


# --- times in force and the volume share ------------------------------------------------------------------
def test_ioc_fills_what_the_volume_share_allows_and_cancels_the_rest(spy: Any) -> None:
    sim = spy(config=FillConfig(fill_volume_share=D("0.001")))
    at = ms("2024-03-04T14:31")  # the 14:31 bar: open 512.20, volume 212,126 -> 212.126 shares for this account
    ioc = sim.place("SPY/USD", "market", "buy", 500, at=at, time_in_force="IOC")
    late = sim.place("SPY/USD", "market", "buy", 100, at=at, time_in_force="IOC")
    sim.run(ms("2024-03-04T14:40"))
    assert fills(ioc) == [(D("512.21"), D(212), "taker", at)], "whole shares, at the ask one cent over the open"
    assert (ioc.status, ioc.reason) == ("canceled", "IOC order not filled on arrival")
    assert late.filled == 0 and late.status == "canceled", "the first order took the bar's share; none was left"


def test_fok_fills_whole_on_arrival_or_not_at_all(spy: Any) -> None:
    sim = spy(config=FillConfig(fill_volume_share=D("0.001")))
    at = ms("2024-03-04T14:31")
    killed = sim.place("SPY/USD", "market", "buy", 213, at=at, time_in_force="FOK")  # one share over the 212
    whole = sim.place("SPY/USD", "market", "buy", 212, at=at, time_in_force="FOK")
    sim.run(ms("2024-03-04T14:40"))
    assert killed.fills == [] and (killed.status, killed.reason) == ("canceled", "FOK order not filled on arrival")
    assert fills(whole) == [(D("512.21"), D(212), "taker", at)] and whole.status == "closed"


def test_a_large_order_fills_partially_bar_by_bar_within_the_volume_share(spy: Any, catalog: Any) -> None:
    share = D("0.001")
    sim = spy(config=FillConfig(fill_volume_share=share))
    order = sim.place("SPY/USD", "limit", "buy", 1000, "513.00", at=ms("2024-03-04T14:31"))
    sim.run(ms("2024-03-04T14:40"))
    volumes = [sim.bar("SPY/USD", f"2024-03-04T14:{m}")["volume"] for m in (31, 32, 33, 34)]
    assert volumes == [212126.0, 216552.0, 361787.0, 187937.0]
    # 0.1% of each bar, in whole shares: 212, 216, 361, then the 211 left (the 14:34 bar allows 187)
    assert [e.amount for e in order.fills] == [D(212), D(216), D(361), D(187), D(24)]
    assert order.status == "closed" and order.filled == 1000
    assert [e.timestamp for e in order.fills] == [ms(f"2024-03-04T14:{m}") for m in (31, 32, 33, 34, 35)]


# --- sessions -----------------------------------------------------------------------------------------------
def test_nothing_fills_outside_the_session_and_the_first_bar_inside_is_the_arrival(spy: Any) -> None:
    sim = spy(rth=False)  # the pre-market bars are fed too
    premarket = ms("2024-03-05T09:00")  # 04:00 New York
    order = sim.place("SPY/USD", "market", "buy", 100, at=premarket)
    ioc = sim.place("SPY/USD", "limit", "buy", 100, "515.00", at=premarket, time_in_force="IOC")
    assert (ioc.status, ioc.reason) == ("canceled", "IOC order outside market hours")
    sim.run(ms("2024-03-05T14:30"))  # every pre-market minute, none inside the session
    assert order.fills == [] and order.status == "open"
    sim.run(ms("2024-03-05T14:31"))
    # the 09:30 New York bar opened at 510.24: the buyer takes 510.25
    assert fills(order) == [(D("510.25"), D(100), "taker", ms("2024-03-05T14:30"))]


def test_a_day_order_expires_at_its_sessions_close_where_gtc_lives_on(bhp: Any) -> None:
    sim = bhp()
    day = sim.place("BHP/AUD", "limit", "sell", 100, "39.00", at=AFTER_MAR4_CLOSE, time_in_force="DAY")
    gtc = sim.place("BHP/AUD", "limit", "sell", 100, "39.00", at=AFTER_MAR4_CLOSE, time_in_force="GTC")
    # placed while the ASX was shut: its session is the next one, the 5th, closing 16:00 Sydney (05:00 UTC)
    assert day.expires_at == ms("2025-03-05T05:00")
    sim.run(ms("2025-03-06T06:00"))
    assert (day.status, day.reason, day.last_update) == ("expired", "DAY order: its session closed", day.expires_at)
    assert day.fills == [] and gtc.status == "closed", "the 6th gapped through 39.00: only the GTC order was there"


def test_a_day_order_placed_inside_a_session_expires_at_that_close_on_five_minute_bars(spy: Any) -> None:
    sim = spy(size="5min")
    day = sim.place("SPY/USD", "limit", "buy", 100, "500.00", at=ms("2024-03-04T15:00"), time_in_force="DAY")
    sim.run(ms("2024-03-04T20:55"))
    assert day.status == "open"
    sim.run(ms("2024-03-04T21:05"))
    assert (day.status, day.last_update) == ("expired", ms("2024-03-04T21:00")), "16:00 New York"


# --- auctions -----------------------------------------------------------------------------------------------
def test_opg_fills_at_the_opening_auction_price_the_sessions_first_bar_open(bhp: Any, spy: Any) -> None:
    sim = bhp()
    moo = sim.place("BHP/AUD", "market", "buy", 100, at=AFTER_MAR4_CLOSE, time_in_force="OPG")
    loo = sim.place("BHP/AUD", "limit", "buy", 100, "37.90", at=AFTER_MAR4_CLOSE, time_in_force="OPG")
    during = sim.place("BHP/AUD", "market", "buy", 100, at=ms("2025-03-05T01:00"), time_in_force="OPG")
    assert moo.opens_at == ms("2025-03-04T23:00") and during.opens_at == ms("2025-03-05T23:00")
    sim.run(ms("2025-03-06T06:00"))
    assert fills(moo) == [(D("37.91635031584101"), D(100), "taker", ms("2025-03-04T23:00"))]
    assert loo.fills == [] and (loo.status, loo.reason) == ("canceled", "OPG order: not filled in its opening auction")
    # placed while the 5th's session ran: its auction is the 6th's opening
    assert fills(during) == [(D("41.087031011262354"), D(100), "taker", ms("2025-03-05T23:00"))]

    minutes = spy(rth=False)
    early = minutes.place("SPY/USD", "market", "buy", 100, at=ms("2024-03-05T09:00"), time_in_force="OPG")
    minutes.run(ms("2024-03-05T15:00"))
    assert fills(early) == [(D("510.24"), D(100), "taker", ms("2024-03-05T14:30"))], "the 09:30 bar's open"


def test_opg_is_refused_where_the_market_has_no_opening_auction(catalog: Any) -> None:
    sim = Driver(catalog, {"AUD/USD": ("1D", True)}, window=BHP_WINDOW)
    with pytest.raises(InvalidOrder, match="no opening auction"):
        sim.place("AUD/USD", "market", "buy", 25_000, at=AFTER_MAR4_CLOSE, time_in_force="OPG")
    assert sim.broker.engine.orders == {}


def test_a_market_order_at_a_sessions_close_can_fill_in_the_closing_auction(bhp: Any) -> None:
    sim = bhp()
    sim.run(ms("2025-03-04T05:00"))
    close = ms("2025-03-04T05:00")  # the 4th's session closes: its bar closed at 37.849243
    moc = sim.place("BHP/AUD", "market", "buy", 100, at=close)
    sim.broker.close_auction("BHP/AUD", sim.bar("BHP/AUD", "2025-03-03T23:00")["close"], None, close)
    assert fills(moc) == [(D("37.8492431640625"), D(100), "taker", close)]


def test_orders_a_venue_refuses_are_refused_before_anything_is_booked(bhp: Any) -> None:
    sim = bhp()
    for kwargs, why in (
        ({"type": "limit", "price": "37.905"}, "not a multiple of 0.01"),
        ({"type": "limit", "price": None}, "needs a price"),
        ({"type": "stop", "price": None}, "stopPrice"),
        ({"type": "limit", "price": "37.90", "time_in_force": "GTD"}, "time in force 'GTD' is not simulated"),
        ({"type": "trailing", "price": None}, "order type 'trailing' is not simulated"),
    ):
        order_type, price = kwargs.pop("type"), kwargs.pop("price")
        with pytest.raises(InvalidOrder, match=why):
            sim.place("BHP/AUD", order_type, "buy", 100, price, at=AFTER_MAR4_CLOSE, **kwargs)
    with pytest.raises(InvalidOrder, match="whole number"):
        sim.broker.place(sim.instruments["BHP/AUD"], "market", "buy", D("10.5"), at=AFTER_MAR4_CLOSE, marks={})
    assert sim.broker.engine.orders == {}
