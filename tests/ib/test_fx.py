"""The FX cache: direct and inverted IDEALPRO pairs, staleness, bridges, and no silent 1.0."""

from __future__ import annotations

import pytest

from sdk.errors import BadSymbol, FxRateUnavailable
from sdk.venues.ib.clock import SimulatedClock
from sdk.venues.ib.clock import SteppableTime as PausedTime
from sdk.venues.ib.fx import FxCache


class Idealpro:
    """IDEALPRO's listing: each pair once, in market convention; counts the quotes asked for."""

    def __init__(self, prices: dict[str, float | None]) -> None:
        self.prices = prices
        self.asked: list[str] = []

    async def mid(self, symbol: str) -> float | None:
        self.asked.append(symbol)
        if symbol not in self.prices:
            raise BadSymbol(f"IB error 200: no security definition for {symbol}")
        return self.prices[symbol]


async def test_inverse_pair_is_used_and_remembered(paused_time: PausedTime) -> None:
    venue = Idealpro({"AUD/USD": 0.65})
    cache = FxCache(venue.mid, max_age=60, clock=SimulatedClock(paused_time))
    assert await cache.rate("USD", "AUD") == pytest.approx(1 / 0.65)
    assert await cache.rate("AUD", "USD") == pytest.approx(0.65)
    assert venue.asked == ["USD/AUD", "AUD/USD"], "one quote serves both directions while fresh"
    assert await cache.rate("AUD", "AUD") == 1.0


async def test_stale_quote_is_refreshed(paused_time: PausedTime) -> None:
    time = paused_time
    venue = Idealpro({"AUD/USD": 0.65})
    cache = FxCache(venue.mid, max_age=60, clock=SimulatedClock(time))
    await cache.rate("AUD", "USD")
    venue.prices["AUD/USD"] = 0.66
    time.advance(59)
    assert await cache.rate("AUD", "USD") == pytest.approx(0.65)
    time.advance(2)
    assert await cache.rate("AUD", "USD") == pytest.approx(0.66)
    assert venue.asked.count("AUD/USD") == 2


async def test_missing_quote_is_an_error_never_one(paused_time: PausedTime) -> None:
    venue = Idealpro({"AUD/USD": None})
    cache = FxCache(venue.mid, max_age=60, clock=SimulatedClock(paused_time))
    with pytest.raises(FxRateUnavailable, match="no FX quote to convert USD to AUD"):
        await cache.rate("USD", "AUD")
    with pytest.raises(BadSymbol, match="BTC"):
        await cache.rate("BTC", "AUD")


async def test_bridge_through_usd(paused_time: PausedTime) -> None:
    venue = Idealpro({"AUD/USD": 0.65, "EUR/USD": 1.10})
    cache = FxCache(venue.mid, max_age=60, clock=SimulatedClock(paused_time))
    assert await cache.rate("EUR", "AUD") == pytest.approx(1.10 / 0.65)
