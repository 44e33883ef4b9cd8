"""The FX cache: direct and inverted IDEALPRO pairs, staleness, bridges, and no silent 1.0."""

from __future__ import annotations

import pytest

from sdk.clock import SimulatedClock
from sdk.clock import SteppableTime as PausedTime
from sdk.errors import BadSymbol, FxRateUnavailable
from sdk.venues.ib.fx import FxCache, FxMid


class Idealpro:
    """IDEALPRO's listing: each pair once, in market convention; counts the quotes asked for.

    A quote is stamped when it was last updated: ``updated`` per pair (default: now, a live quote).
    """

    def __init__(self, prices: dict[str, float | None], time: PausedTime | None = None) -> None:
        self.prices = prices
        self.time = time
        self.updated: dict[str, float] = {}
        self.asked: list[str] = []

    async def mid(self, symbol: str, max_age: float) -> FxMid | None:
        self.asked.append(symbol)
        if symbol not in self.prices:
            raise BadSymbol(f"IB error 200: no security definition for {symbol}")
        price = self.prices[symbol]
        if price is None:
            return None
        now = float(self.time.timestamp()) if self.time is not None else 0.0
        return FxMid(price, self.updated.get(symbol, now))


async def test_inverse_pair_is_used_and_remembered(paused_time: PausedTime) -> None:
    venue = Idealpro({"AUD/USD": 0.65}, paused_time)
    cache = FxCache(venue.mid, max_age=60, clock=SimulatedClock(paused_time))
    assert await cache.rate("USD", "AUD") == pytest.approx(1 / 0.65)
    assert await cache.rate("AUD", "USD") == pytest.approx(0.65)
    assert venue.asked == ["USD/AUD", "AUD/USD"], "one quote serves both directions while fresh"
    assert await cache.rate("AUD", "AUD") == 1.0


async def test_stale_quote_is_refreshed(paused_time: PausedTime) -> None:
    time = paused_time
    venue = Idealpro({"AUD/USD": 0.65}, time)
    cache = FxCache(venue.mid, max_age=60, clock=SimulatedClock(time))
    await cache.rate("AUD", "USD")
    venue.prices["AUD/USD"] = 0.66
    time.advance(59)
    assert await cache.rate("AUD", "USD") == pytest.approx(0.65)
    time.advance(2)
    assert await cache.rate("AUD", "USD") == pytest.approx(0.66)
    assert venue.asked.count("AUD/USD") == 2


async def test_missing_quote_is_an_error_never_one(paused_time: PausedTime) -> None:
    venue = Idealpro({"AUD/USD": None}, paused_time)
    cache = FxCache(venue.mid, max_age=60, clock=SimulatedClock(paused_time))
    with pytest.raises(FxRateUnavailable, match="no FX quote to convert USD to AUD"):
        await cache.rate("USD", "AUD")
    with pytest.raises(BadSymbol, match="BTC"):
        await cache.rate("BTC", "AUD")


async def test_bridge_through_usd(paused_time: PausedTime) -> None:
    venue = Idealpro({"AUD/USD": 0.65, "EUR/USD": 1.10}, paused_time)
    cache = FxCache(venue.mid, max_age=60, clock=SimulatedClock(paused_time))
    assert await cache.rate("EUR", "AUD") == pytest.approx(1.10 / 0.65)


async def test_a_rate_is_as_old_as_its_quote_and_an_old_quote_is_never_served(paused_time: PausedTime) -> None:
    time = paused_time
    venue = Idealpro({"AUD/USD": 0.65}, time)
    cache = FxCache(venue.mid, max_age=60, clock=SimulatedClock(time))
    venue.updated["AUD/USD"] = time.timestamp() - 50  # IB last moved this quote 50 s ago
    assert await cache.rate("AUD", "USD") == pytest.approx(0.65)
    assert cache.cached("AUD", "USD").at == time.timestamp() - 50, "stamped with the quote's own update time"
    time.advance(20)  # 70 s old now: past IB_FX_MAX_AGE, so asked again
    with pytest.raises(FxRateUnavailable, match="no FX quote to convert AUD to USD"):
        await cache.rate("AUD", "USD")
    assert venue.asked.count("AUD/USD") == 2, "the stale rate was not served from the cache either"
    venue.updated["AUD/USD"] = time.timestamp()
    assert await cache.rate("AUD", "USD") == pytest.approx(0.65)
