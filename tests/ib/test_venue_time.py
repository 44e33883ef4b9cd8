"""One clock: an IB trader made without a clock (as ``create_trader("IB")`` makes it) stamps everything on the
venue's time, here the offline gateway's simulated day, a year before the wall clock.

The gateway is paused at :data:`PAST`; the trader follows it through ``reqCurrentTime`` alone
(:class:`sdk.clock.VenueClock`), so every timestamp must sit at the gateway's time, within what a
clock fitted from whole-second readings may be off (a few seconds), never at the wall clock's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from ib_support import FAST_BACKOFF  # type: ignore[import-not-found]
from support.waiting import eventually

from sdk.clock import VenueClock
from sdk.settings import load_settings
from sdk.venues.ib.connection import ConnectivityEvent
from sdk.venues.ib.trader import IBTrader

#: Thursday 6 March 2025, 11:30 Sydney: a past day with the ASX open, inside the real data.
PAST = datetime(2025, 3, 6, 0, 30, tzinfo=UTC)
#: How far a venue clock fitted from whole-second readings of a paused gateway may be off, ms.
FIT = 60_000


@pytest.fixture
async def venue_trader() -> AsyncIterator[Callable[..., Any]]:
    """``await venue_trader(gw, client_id=1)``: an IBTrader on ``gw`` without a clock of its own (closed after)."""
    traders: list[IBTrader] = []

    async def make(gw: Any, *, client_id: int = 1, listener: Any = None) -> IBTrader:
        settings = load_settings(ib_host="127.0.0.1", ib_port=gw.port, ib_connect_timeout=3)
        trader = IBTrader(settings, client_id=client_id, backoff=FAST_BACKOFF, heartbeat_interval=0.5, quote_timeout=2)
        traders.append(trader)
        if listener is not None:
            trader.add_connectivity_listener(listener)
        await trader.connect()
        return trader

    yield make
    for trader in traders:
        await trader.close()


def on_venue_time(gw: Any, *stamps: int | float | None) -> None:
    """Each stamp (ms UTC) is the paused gateway's time, within :data:`FIT`; the wall clock is a year off."""
    venue = gw.clock.timestamp() * 1000
    for stamp in stamps:
        assert stamp is not None
        when, venue_when = (datetime.fromtimestamp(ms / 1000, UTC) for ms in (stamp, venue))
        assert abs(stamp - venue) <= FIT, f"{when} is not the venue's {venue_when}"


async def test_a_trader_without_a_clock_stamps_every_payload_on_the_venues_time(
    make_gateway: Any, venue_trader: Any
) -> None:
    gw = await make_gateway(start=PAST)
    events: list[ConnectivityEvent] = []
    trader = await venue_trader(gw, listener=events.append)

    on_venue_time(gw, await trader.fetch_time(), trader.clock.now() * 1000)
    ticker = await trader.fetch_ticker("BHP/AUD")
    book = await trader.fetch_order_book("BHP/AUD")
    on_venue_time(gw, ticker["timestamp"], book["timestamp"])
    assert ticker["datetime"] is not None and ticker["datetime"].startswith("2025-03-06")

    resting = await trader.create_order("BHP/AUD", "limit", "buy", 10, round(ticker["bid"] * 0.9, 2))
    (listed,) = await trader.fetch_open_orders("BHP/AUD")
    fetched = await trader.fetch_order(resting["id"])
    on_venue_time(gw, resting["timestamp"], listed["timestamp"], fetched["timestamp"], fetched["lastUpdateTimestamp"])

    taking = await trader.create_order("BHP/AUD", "limit", "buy", 10, round(ticker["ask"] * 1.01, 2))
    await eventually(lambda: len(trader.executions) == 1, what="the fill")
    (trade,) = await trader.fetch_my_trades("BHP/AUD")
    filled = await trader.fetch_order(taking["id"])
    on_venue_time(gw, taking["timestamp"], trade["timestamp"], filled["lastTradeTimestamp"])

    balance = await trader.fetch_balance()
    (position,) = await trader.fetch_positions()
    on_venue_time(gw, balance["timestamp"], position["timestamp"])
    on_venue_time(gw, *(event.at * 1000 for event in events))
    assert [e.kind for e in events][:1] == ["connected"]
    assert isinstance(trader.clock, VenueClock)


async def test_an_order_found_when_a_session_opens_is_stamped_on_the_venues_time(
    make_gateway: Any, venue_trader: Any
) -> None:
    """Reconciliation at connect adopts orders before the venue clock's own readings start: the session's
    first ``reqCurrentTime`` answer has already set it."""
    gw = await make_gateway(start=PAST)
    first = await venue_trader(gw, client_id=5)
    ticker = await first.fetch_ticker("BHP/AUD")
    resting = await first.create_order("BHP/AUD", "limit", "buy", 10, round(ticker["bid"] * 0.9, 2))
    await first.close()

    second = await venue_trader(gw, client_id=5)
    adopted = await second.fetch_order(resting["id"])
    assert adopted["clientOrderId"] == resting["clientOrderId"]
    on_venue_time(gw, adopted["timestamp"])
