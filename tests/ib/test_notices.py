"""IB's expected answers in a normal session (202 after our own cancel, depth not available, an FX pair asked
the other way round) are logged at INFO/DEBUG with their meaning, never as ib_async ERROR lines."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from sdk.venues.ib.notices import meaning_of
from sdk.venues.ib.trader import IBTrader


@pytest.mark.parametrize(
    ("code", "text", "level"),
    [
        (202, "Order Canceled - reason:", logging.INFO),
        (202, "Order Canceled - reason:, contract: Contract(secType='STK')", logging.INFO),
        (200, "No security definition has been found for the request, contract: Forex('USDAUD', secType='CASH')",
         logging.DEBUG),
        (322, "Error processing request.-'bN' : cause - REQ_MKT_DEPTH is not simulated by the offline gateway",
         logging.INFO),
        (10092, "Deep market data is not supported for this combination of security type/exchange", logging.INFO),
    ],
)  # fmt: skip
def test_expected_answers_have_a_meaning_and_a_lower_level(code: int, text: str, level: int) -> None:
    found = meaning_of(code, text)
    assert found is not None and found[0] == level and found[1]


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (202, "Order Canceled - reason:The order was canceled at the close"),  # IB cancelled it itself
        (200, "No security definition has been found for the request, contract: Stock('NOPE', secType='STK')"),
        (201, "Order rejected - reason:Insufficient margin"),
        (162, "Historical Market Data Service error message:API historical data query cancelled: 1"),
    ],
)
def test_real_problems_keep_their_level(code: int, text: str) -> None:
    assert meaning_of(code, text) is None


async def test_a_session_with_a_cancel_and_a_book_logs_no_ib_error(
    trader: IBTrader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ib_async")
    ticker = await trader.fetch_ticker("BHP/AUD")
    order = await trader.create_order("BHP/AUD", "limit", "buy", 100, round(ticker["bid"] * 0.95, 2))
    await trader.cancel_order(order["id"])
    book = await trader.fetch_order_book("BHP/AUD")  # depth is not simulated: the top of book
    assert book["bids"] and book["asks"]
    ib_records: list[Any] = [r for r in caplog.records if r.name.startswith("ib_async")]
    assert not [r.getMessage() for r in ib_records if r.levelno >= logging.ERROR]
    lowered = [r.getMessage() for r in ib_records if "reqId" in r.getMessage()]
    assert any("202" in m and "IB confirms the cancel" in m for m in lowered), lowered
    assert any("322" in m and "top of book" in m for m in lowered), lowered
