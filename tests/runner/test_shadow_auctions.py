"""Shadow mode follows the simulation core's times in force on the offline gateway (issue 20): an ``OPG`` order trades
in the next opening auction, at the first minute's open, where the shadow venue used to leave it open; ``OPG`` is
refused where the market has no opening auction (IDEALPRO FX); ``FOK`` is all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sdk.costs import CostTracker
from sdk.errors import InvalidOrder
from sdk.services.shadow import ShadowBook, ShadowVenue


async def shadow_over(trader: Any) -> ShadowVenue:
    return ShadowVenue(
        trader, await ShadowBook.from_venue(trader), CostTracker(trader.settings), clock=trader.clock.now
    )


def ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


async def test_a_shadow_opg_order_fills_at_the_opening_auction_the_sessions_first_minute_open(
    gateway: Any, make_trader: Any
) -> None:
    trader = await make_trader(gateway)
    shadow = await shadow_over(trader)
    # the gateway starts at 00:00 UTC on Tuesday 4 March 2025: the NYSE opens at 14:30 UTC
    placed = await shadow.create_order("SPY/USD", "market", "buy", 10, None, {"clientOrderId": "trd-opg-1",
                                                                              "timeInForce": "OPG"})  # fmt: skip
    assert placed["status"] == "open" and placed["timeInForce"] is None and placed["info"]["tif"] == "OPG"
    gateway.clock.advance(14.5 * 3600 + 5 * 60)  # 14:35 UTC: five minutes into the session
    order = await shadow.fetch_order("trd-opg-1")
    opening = datetime(2025, 3, 4, 14, 30, tzinfo=UTC)
    (first, *_) = await trader.fetch_ohlcv("SPY/USD", "1m", since=ms(opening), limit=1)
    assert first[0] == ms(opening)
    assert order["status"] == "closed" and order["filled"] == 10
    assert (order["average"], order["trades"][0]["timestamp"]) == (first[1], ms(opening))


async def test_shadow_refuses_opg_where_the_market_has_no_opening_auction(gateway: Any, make_trader: Any) -> None:
    trader = await make_trader(gateway)
    shadow = await shadow_over(trader)
    with pytest.raises(InvalidOrder, match="no opening auction"):
        await shadow.create_order("AUD/USD", "market", "buy", 20_000, None, {"clientOrderId": "trd-opg-fx",
                                                                             "timeInForce": "OPG"})  # fmt: skip
    assert shadow.book.orders == {}


async def test_a_shadow_fok_order_fills_whole_or_is_cancelled_with_nothing_filled(
    gateway: Any, make_trader: Any
) -> None:
    trader = await make_trader(gateway)
    shadow = await shadow_over(trader)
    ticker = await trader.fetch_ticker("BHP/AUD")
    below = round(ticker["bid"] * 0.9, 2)
    killed = await shadow.create_order("BHP/AUD", "limit", "buy", 100, below, {"clientOrderId": "trd-fok-1",
                                                                              "timeInForce": "FOK"})  # fmt: skip
    assert (killed["status"], killed["filled"], killed["info"]["reason"]) == (
        "canceled",
        0.0,
        "FOK order not filled on arrival",
    )
    through = round(ticker["ask"] * 1.01, 2)
    whole = await shadow.create_order("BHP/AUD", "limit", "buy", 100, through, {"clientOrderId": "trd-fok-2",
                                                                               "timeInForce": "FOK"})  # fmt: skip
    assert (whole["status"], whole["filled"], whole["average"]) == ("closed", 100.0, ticker["ask"])
