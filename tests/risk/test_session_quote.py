"""An order priced at a session's start is priced from the session's first quote, not the pre-open's
(:func:`sdk.risk.builder.session_quote`): the parity test of a backtest and a shadow run found shadow orders at the
ASX open priced from the quote frozen since the close before. Here a venue whose quote updates on its third read,
the real BHP close of the day before and the real open of the day (``../shared/data``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from ccxt.base.types import Ticker
from risk_helpers import SYDNEY, RealPrices
from test_builder import QuoteVenue

from sdk.risk import builder
from sdk.risk.builder import build_risk_context
from sdk.settings import load_settings

OPEN = datetime(2025, 6, 3, 10, 0, tzinfo=SYDNEY)  # the ASX opens 10:00 Sydney (sdk.calendars)


class OpeningVenue(QuoteVenue):
    """Quotes yesterday's close, stamped before the open, until ``fresh_after`` reads; then today's open."""

    def __init__(self, real: RealPrices, fresh_after: int | None) -> None:
        super().__init__(load_settings(), {"BHP/AUD": real.quote("BHP/AUD", "2025-06-02")}, [])
        self.today = real.quote("BHP/AUD", "2025-06-03")
        self.fresh_after = fresh_after

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> Ticker:
        self.ticker_calls += 1
        fresh = self.fresh_after is not None and self.ticker_calls > self.fresh_after
        q = self.today if fresh else self.quotes[symbol]
        stamp = OPEN + timedelta(seconds=1) if fresh else OPEN - timedelta(hours=17)  # the close before: 16:00
        return {"symbol": symbol, "timestamp": int(stamp.timestamp() * 1000), "bid": float(q.bid),
                "ask": float(q.ask), "last": float(q.last), "bidVolume": float(q.bid_size),
                "askVolume": float(q.ask_size), "baseVolume": None}  # type: ignore[typeddict-item]  # fmt: skip


async def context(venue: OpeningVenue, now: datetime) -> Any:
    return await build_risk_context(venue, "BHP/AUD", pnl_today=Decimal(0), now=now)


async def test_at_the_open_the_pre_open_quote_waits_for_the_sessions_first(real: RealPrices) -> None:
    venue = OpeningVenue(real, fresh_after=2)
    ctx = await context(venue, OPEN + timedelta(seconds=1))
    assert ctx.quote.last == venue.today.last != venue.quotes["BHP/AUD"].last
    assert venue.ticker_calls == 3, "read again until updated since the open"


async def test_outside_a_session_or_with_a_fresh_quote_nothing_waits(real: RealPrices) -> None:
    shut = OpeningVenue(real, fresh_after=2)
    ctx = await context(shut, OPEN - timedelta(minutes=5))  # pre-open: the market is shut, the quote is what it is
    assert ctx.quote.last == shut.quotes["BHP/AUD"].last and shut.ticker_calls == 1
    fresh = OpeningVenue(real, fresh_after=0)
    ctx = await context(fresh, OPEN + timedelta(minutes=5))
    assert ctx.quote.last == fresh.today.last and fresh.ticker_calls == 1


async def test_a_market_that_quotes_nothing_new_keeps_its_quote_after_the_deadline_and_says_so(
    real: RealPrices, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(builder, "FRESH_QUOTE_WAIT", 0.2)
    venue = OpeningVenue(real, fresh_after=None)
    with caplog.at_level(logging.WARNING, logger="sdk.risk.builder"):
        ctx = await context(venue, OPEN + timedelta(seconds=1))
    assert ctx.quote.last == venue.quotes["BHP/AUD"].last and venue.ticker_calls > 1
    assert "no quote since the session opened" in caplog.text
