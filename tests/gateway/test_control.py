"""The control API (GET /state, /clock; POST /clock, /faults), the scanner, and the synthetic universe."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from ib_async import MarketOrder, ScannerSubscription, Stock
from support.waiting import eventually

from sdk.gateway import OfflineGateway
from sdk.gateway.clock import SimClock

from .conftest import ASX_OPEN_2025


async def test_state_and_clock_over_http(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway, 4)
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    trade = ib.placeOrder(bhp, MarketOrder("BUY", 100, orderRef="trd-http"))
    await eventually(lambda: trade.orderStatus.status == "Filled")
    base = f"http://127.0.0.1:{gateway.control_port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/state") as resp:
            state = await resp.json()
        [order] = state["orders"]
        expected = {
            "clientId": 4, "orderRef": "trd-http", "symbol": "BHP/AUD", "action": "BUY", "totalQuantity": 100.0,
            "orderType": "MKT", "status": "Filled", "filled": 100.0,
        }  # fmt: skip
        assert {k: order[k] for k in expected} == expected
        assert order["permId"] == trade.order.permId and order["lmtPrice"] is None
        [execution] = state["executions"]
        assert (
            execution["side"] == "BOT" and execution["commission"] == 6.0 and execution["commissionCurrency"] == "AUD"
        )
        assert state["positions"][0]["position"] == 100.0 and state["cash"]["AUD"] < 1_000_000
        async with http.get(f"{base}/clock") as resp:
            assert await resp.json() == {"now": ASX_OPEN_2025.isoformat(), "speed": 0.0}
        async with http.post(f"{base}/clock", json={"advance_seconds": 90}) as resp:
            assert (await resp.json())["now"] == (ASX_OPEN_2025 + timedelta(seconds=90)).isoformat()
        async with http.post(f"{base}/clock", json={"to": "2025-03-05T11:00:00+11:00"}) as resp:
            assert (await resp.json())["now"] == "2025-03-05T00:00:00+00:00"
        async with http.post(f"{base}/clock", json={"advance_seconds": "soon"}) as resp:
            assert resp.status == 400 and "advance_seconds" in (await resp.json())["error"]
        async with http.post(f"{base}/clock", json={"to": "2025-03-05T11:00:00"}) as resp:
            assert resp.status == 400 and "offset" in (await resp.json())["error"]
    assert await ib.reqCurrentTimeAsync() == gateway.clock.now().replace(microsecond=0)


async def test_state_counts_every_order_received_even_those_refused(gateway: OfflineGateway, connect: Any) -> None:
    """``received`` counts requests as they arrive, so a test can prove a client sent no order at all."""
    base = f"http://127.0.0.1:{gateway.control_port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/state") as resp:
            assert (await resp.json())["received"].get("placeOrder", 0) == 0
        ib = await connect(gateway, 5)
        [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
        kept = ib.placeOrder(bhp, MarketOrder("BUY", 100))
        unknown = ib.placeOrder(Stock("NOPE", "ASX", "AUD"), MarketOrder("BUY", 1))  # 200: never an order
        await eventually(lambda: kept.orderStatus.status == "Filled" and unknown.orderStatus.status == "Cancelled")
        async with http.get(f"{base}/state") as resp:
            state = await resp.json()
    assert len(state["orders"]) == 1  # the refused one left no order behind ...
    assert state["received"]["placeOrder"] == 2  # ... but it was received
    assert state["received"]["startApi"] == 1 and state["received"]["reqContractDetails"] >= 1


async def test_scanners_rank_asx_and_us_stocks(make_gateway: Any, pinned_data: Path, connect: Any) -> None:
    from sdk.data import load_catalog

    # The rankings below are those of the pinned data set's universe (see ``pinned_data``).
    ib = await connect(await make_gateway(catalog_=load_catalog(pinned_data)))
    active = await ib.reqScannerDataAsync(
        ScannerSubscription(instrument="STK", locationCode="STK.AU.ASX", scanCode="MOST_ACTIVE")
    )
    symbols = [row.contractDetails.contract.symbol for row in active]
    assert len(symbols) >= 8 and set(symbols) <= {"BHP", "CBA", "CSL", "NAB", "WBC", "ANZ", "FMG", "WES", "RIO"}
    gainers = await ib.reqScannerDataAsync(
        ScannerSubscription(instrument="STK", locationCode="STK.AU.ASX", scanCode="TOP_PERC_GAIN")
    )
    losers = await ib.reqScannerDataAsync(
        ScannerSubscription(instrument="STK", locationCode="STK.AU.ASX", scanCode="TOP_PERC_LOSE")
    )
    tickers = await ib.reqTickersAsync(*[row.contractDetails.contract for row in gainers + losers])
    changes = [t.last / t.close - 1 for t in tickers]
    assert all(c > 0 for c in changes[: len(gainers)]) and all(c < 0 for c in changes[len(gainers) :])
    assert changes[: len(gainers)] == sorted(changes[: len(gainers)], reverse=True)
    us = await ib.reqScannerDataAsync(
        ScannerSubscription(instrument="STK", locationCode="STK.US.MAJOR", scanCode="MOST_ACTIVE", numberOfRows=2)
    )
    assert [row.contractDetails.contract.symbol for row in us] == ["SPY", "QQQ"]
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, msg, contract: codes.append(code)
    assert (
        list(
            await ib.reqScannerDataAsync(
                ScannerSubscription(instrument="STK", locationCode="STK.EU", scanCode="MOST_ACTIVE")
            )
        )
        == []
    )
    assert codes == [322]


async def test_without_data_the_synthetic_universe_is_served_and_said_so(
    make_gateway: Any, connect: Any, synthetic_catalog: Any, caplog: Any
) -> None:
    caplog.set_level("WARNING", logger="sdk.gateway")
    gw = await make_gateway(catalog_=synthetic_catalog, start=None)
    assert gw.state()["synthetic"] is True
    assert any("SYNTHETIC" in r.getMessage() and "NOT real prices" in r.getMessage() for r in caplog.records)
    ib = await connect(gw)
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    bars = await ib.reqHistoricalDataAsync(bhp, "", "1 D", "1 min", "TRADES", True)
    assert len(bars) > 100  # native synthetic minute bars


@pytest.mark.parametrize(
    "body",
    [
        '{"advance_seconds": NaN}',
        '{"advance_seconds": Infinity}',
        '{"advance_seconds": 1e300}',
        '{"speed": NaN}',
        '{"speed": Infinity}',
        '{"speed": -Infinity}',
        '{"speed": 1e300}',
        '{"speed": true}',
        '{"to": NaN}',
        '{"speed": 60, "advance_seconds": NaN}',
        '{"speed": 60, "to": "soon"}',
        '{"to": "2025-03-06T11:00:00+11:00", "advance_seconds": -5}',
    ],
)
async def test_post_clock_refuses_non_finite_values_and_applies_nothing_of_a_bad_body(
    gateway: OfflineGateway, body: str
) -> None:
    base = f"http://127.0.0.1:{gateway.control_port}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/clock", data=body, headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 400
            assert "send" in (await resp.json())["error"]
        async with http.get(f"{base}/clock") as resp:  # the clock is untouched and still answers
            assert resp.status == 200
            assert await resp.json() == {"now": ASX_OPEN_2025.isoformat(), "speed": 0.0}
        async with http.post(f"{base}/clock", json={"speed": 0, "advance_seconds": 60}) as resp:  # a good body
            assert (await resp.json())["now"] == (ASX_OPEN_2025 + timedelta(seconds=60)).isoformat()


def test_the_clock_itself_refuses_non_finite_steps_and_speeds() -> None:
    clock = SimClock(ASX_OPEN_2025, 0)
    for bad in (math.nan, math.inf, -math.inf, 1e300):
        with pytest.raises(ValueError):
            clock.set_speed(bad)
        with pytest.raises(ValueError):
            clock.advance(bad)
    with pytest.raises(ValueError):
        SimClock(ASX_OPEN_2025, math.nan)
    assert clock.now() == ASX_OPEN_2025 and clock.speed == 0
