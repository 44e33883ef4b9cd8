"""A ticker is a quote whose bid and ask belong together: TWS sends bid, ask and last as separate messages, so a
bid alone is half a quote and never served as complete; an index has no bid or ask and its last is enough."""

from __future__ import annotations

import math
from typing import Any

import pytest
from ib_async import Index, Stock, Ticker
from ib_support import NYSE_OPEN_2024  # type: ignore[import-not-found]

from sdk.venues.ib.market_data import _has_quote, _missing_sides

NAN = math.nan


@pytest.mark.parametrize(
    ("contract", "prices", "complete", "missing"),
    [
        (Stock("BHP", "ASX", "AUD"), {"bid": 37.5}, False, ["ask"]),
        (Stock("BHP", "ASX", "AUD"), {"ask": 37.51, "last": 37.5}, False, ["bid"]),
        (Stock("BHP", "ASX", "AUD"), {"last": 37.5, "close": 37.4}, False, ["bid", "ask"]),
        (Stock("BHP", "ASX", "AUD"), {"bid": 37.5, "ask": 37.51}, True, []),
        (Stock("AAPL", "SMART", "USD"), {"bid": -1.0, "ask": 170.1}, False, ["bid"]),  # IB's -1: no bid
        (Index("VIX", "CBOE", "USD"), {"last": 14.2}, True, []),
        (Index("VIX", "CBOE", "USD"), {}, False, []),
    ],
)
def test_a_quote_is_complete_only_with_both_sides(
    contract: Any, prices: dict[str, float], complete: bool, missing: list[str]
) -> None:
    ticker = Ticker(contract=contract)
    for field, value in {"bid": NAN, "ask": NAN, "last": NAN, "close": NAN, **prices}.items():
        setattr(ticker, field, value)  # as ib_async's wrapper sets each tick when it arrives
    assert _has_quote(ticker) is complete and _missing_sides(ticker) == missing


async def test_fetch_ticker_serves_a_two_sided_quote_and_an_index_by_its_last(
    make_gateway: Any, make_trader: Any
) -> None:
    trader = await make_trader(await make_gateway(start=NYSE_OPEN_2024))
    spy = await trader.fetch_ticker("SPY/USD")
    assert spy["bid"] is not None and spy["ask"] is not None and spy["bid"] < spy["ask"]
    assert spy["info"]["missing"] == []
    vix = await trader.fetch_ticker("VIX/USD")
    assert vix["last"] is not None and vix["info"]["missing"] == []
