"""Unmodified ib_async 2.x (server version 178) and ib_insync 0.9.86 (176) through every feature."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import ModuleType
from typing import Any

import ib_async
import ib_insync
import pytest
from support.waiting import eventually

from sdk.gateway import OfflineGateway


@pytest.mark.parametrize(("library", "version"), [(ib_async, 178), (ib_insync, 176)], ids=["ib_async", "ib_insync"])
async def test_the_whole_tour(make_gateway: Any, library: ModuleType, version: int) -> None:
    gw: OfflineGateway = await make_gateway(commission_plan="fixed", cash={"AUD": 1_000_000, "USD": 100_000})
    lib: Any = library
    ib = lib.IB()
    ib.RaiseRequestErrors = False
    await ib.connectAsync("127.0.0.1", gw.port, clientId=11, timeout=5)
    try:
        assert ib.client.serverVersion() == version and ib.managedAccounts() == ["DU0000001"]
        # instruments
        [bhp, aud] = await ib.qualifyContractsAsync(lib.Stock("BHP", "ASX", "AUD"), lib.Forex("AUDUSD"))
        [details] = await ib.reqContractDetailsAsync(bhp)
        assert details.marketRuleIds == "1001,1001" and len(await ib.reqMarketRuleAsync(1001)) == 3
        # market data: snapshot, stream
        [snap] = await ib.reqTickersAsync(bhp)
        assert snap.bid < snap.ask and snap.volume > 0
        stream = ib.reqMktData(aud)
        gw.clock.advance(30)
        await eventually(lambda: stream.bid > 0 and stream.ask > stream.bid)
        # history, head timestamp, keepUpToDate
        daily = await ib.reqHistoricalDataAsync(bhp, "", "1 M", "1 day", "TRADES", True)
        assert len(daily) > 15
        live = await ib.reqHistoricalDataAsync(aud, "", "3600 S", "1 min", "MIDPOINT", False, keepUpToDate=True)
        before = len(live)
        gw.clock.advance(120)
        await eventually(lambda: len(live) >= before + 2)
        assert (await ib.reqHeadTimeStampAsync(bhp, "TRADES", True, 1)).year == 2017
        # scanner and clock
        rows = await ib.reqScannerDataAsync(
            lib.ScannerSubscription(instrument="STK", locationCode="STK.AU.ASX", scanCode="MOST_ACTIVE")
        )
        assert len(rows) >= 5
        assert await ib.reqCurrentTimeAsync() == gw.clock.now().replace(microsecond=0)
        # orders
        market = ib.placeOrder(bhp, lib.MarketOrder("BUY", 100, orderRef="tour-mkt"))
        limit = ib.placeOrder(bhp, lib.LimitOrder("BUY", 100, round(snap.bid - 1, 2), orderRef="tour-lmt"))
        stop = ib.placeOrder(bhp, lib.StopOrder("SELL", 100, round(snap.bid - 2, 2)))
        fx = ib.placeOrder(aud, lib.LimitOrder("BUY", 25_000, round(stream.ask + 0.001, 4), tif="IOC"))
        await eventually(lambda: market.orderStatus.status == "Filled" and fx.orderStatus.status == "Filled")
        await eventually(lambda: bool(market.fills) and market.fills[0].commissionReport.commission == 6.0)
        assert market.fills[0].execution.orderRef == "tour-mkt"
        limit.order.lmtPrice = round(snap.bid - 0.5, 2)
        ib.placeOrder(bhp, limit.order)
        await eventually(lambda: [o["lmtPrice"] for o in gw.state()["orders"] if o["orderRef"] == "tour-lmt"]
                         == [round(snap.bid - 0.5, 2)])  # fmt: skip
        ib.cancelOrder(stop.order)
        await eventually(lambda: stop.orderStatus.status == "Cancelled")
        assert [t.order.orderRef for t in await ib.reqOpenOrdersAsync()] == ["tour-lmt"]
        assert len(await ib.reqCompletedOrdersAsync(False)) == 3
        assert len(await ib.reqExecutionsAsync()) == 2
        # account
        await eventually(lambda: {p.contract.symbol for p in ib.positions()} == {"BHP", "AUD"})
        summary = {v.tag: v.value for v in await ib.accountSummaryAsync()}
        assert float(summary["NetLiquidation"]) > 1_000_000
        gw.clock.advance(timedelta(hours=6).total_seconds())  # past the ASX close: the DAY limit expires
        await eventually(lambda: limit.orderStatus.status == "Cancelled")
    finally:
        ib.disconnect()
        await asyncio.sleep(0.01)


LIBRARIES = pytest.mark.parametrize(
    ("library", "version"), [(ib_async, 178), (ib_insync, 176)], ids=["ib_async", "ib_insync"]
)


async def _client(lib: Any, gw: OfflineGateway, client_id: int, codes: list[int] | None = None) -> Any:
    ib = lib.IB()
    ib.RaiseRequestErrors = False
    if codes is not None:
        ib.errorEvent += lambda req_id, code, msg, contract: codes.append(code)
    await ib.connectAsync("127.0.0.1", gw.port, clientId=client_id, timeout=5)
    return ib


@LIBRARIES
async def test_stop_limit_gtc_all_open_orders_and_global_cancel(
    make_gateway: Any, library: ModuleType, version: int
) -> None:
    gw: OfflineGateway = await make_gateway()
    lib: Any = library
    ib, other = await _client(lib, gw, 21), await _client(lib, gw, 22)
    try:
        assert ib.client.serverVersion() == version
        [bhp] = await ib.qualifyContractsAsync(lib.Stock("BHP", "ASX", "AUD"))
        [snap] = await ib.reqTickersAsync(bhp)
        stop, limit = round(snap.bid - 2, 2), round(snap.bid - 2.1, 2)
        stop_limit = ib.placeOrder(bhp, lib.StopLimitOrder("SELL", 100, limit, stop, orderRef="stp-lmt"))
        gtc = ib.placeOrder(bhp, lib.LimitOrder("BUY", 100, round(snap.bid - 1, 2), tif="GTC", orderRef="gtc"))
        theirs = other.placeOrder(bhp, lib.LimitOrder("BUY", 10, round(snap.bid - 3, 2), orderRef="theirs"))
        trades = (stop_limit, gtc, theirs)
        await eventually(lambda: all(t.orderStatus.status == "Submitted" for t in trades))
        by_ref = {o["orderRef"]: o for o in gw.state()["orders"]}
        assert (by_ref["stp-lmt"]["orderType"], by_ref["stp-lmt"]["auxPrice"], by_ref["stp-lmt"]["lmtPrice"]) == (
            "STP LMT", stop, limit,
        )  # fmt: skip
        assert by_ref["gtc"]["tif"] == "GTC" and by_ref["stp-lmt"]["tif"] == "DAY"
        every = await ib.reqAllOpenOrdersAsync()
        assert sorted(t.order.orderRef for t in every) == ["gtc", "stp-lmt", "theirs"]
        assert {t.order.orderType for t in every if t.order.orderRef == "stp-lmt"} == {"STP LMT"}
        mine = await ib.reqOpenOrdersAsync()
        assert sorted(t.order.orderRef for t in mine) == ["gtc", "stp-lmt"]
        gw.clock.advance(timedelta(hours=6).total_seconds())  # past the ASX close: DAY expires, GTC stays
        await eventually(lambda: stop_limit.orderStatus.status == "Cancelled")
        assert gtc.orderStatus.status == "Submitted"
        ib.reqGlobalCancel()  # every client's orders
        await eventually(lambda: gtc.orderStatus.status == theirs.orderStatus.status == "Cancelled")
        assert [o["status"] for o in gw.state()["orders"]] == ["Cancelled"] * 3
    finally:
        ib.disconnect()
        other.disconnect()
        await asyncio.sleep(0.01)


@LIBRARIES
async def test_errors_110_201_and_326(make_gateway: Any, library: ModuleType, version: int) -> None:
    gw: OfflineGateway = await make_gateway()
    lib: Any = library
    codes: list[int] = []
    ib = await _client(lib, gw, 31, codes)
    try:
        [bhp] = await ib.qualifyContractsAsync(lib.Stock("BHP", "ASX", "AUD"))
        ib.placeOrder(bhp, lib.LimitOrder("BUY", 100, 37.005))  # ASX steps are 1 cent from 2.00
        await eventually(lambda: 110 in codes)
        too_big = ib.placeOrder(bhp, lib.MarketOrder("BUY", 200_000))  # 7.5M AUD against 1M of equity
        await eventually(lambda: too_big.orderStatus.status == "Cancelled")
        assert [c for c in codes if c < 2000] == [110, 201]  # (2104, 2106, 2158: the farm notices)
        assert "INITIAL MARGIN" in too_big.log[-1].message
        assert gw.state()["orders"] == []  # neither was accepted
        clash_codes: list[int] = []
        clash = lib.IB()
        clash.errorEvent += lambda req_id, code, msg, contract: clash_codes.append(code)
        with pytest.raises((ConnectionError, TimeoutError, asyncio.TimeoutError)):
            await clash.connectAsync("127.0.0.1", gw.port, clientId=31, timeout=1)
        assert 326 in clash_codes and ib.isConnected()
        clash.disconnect()
    finally:
        ib.disconnect()
        await asyncio.sleep(0.01)


@LIBRARIES
async def test_positions_and_account_updates(make_gateway: Any, library: ModuleType, version: int) -> None:
    gw: OfflineGateway = await make_gateway()
    lib: Any = library
    ib = await _client(lib, gw, 41)
    try:
        values = {(v.tag, v.currency): v.value for v in ib.accountValues()}  # subscribed at connect
        assert values[("NetLiquidation", "AUD")] == "1000000.00" and ib.portfolio() == []
        assert await ib.reqPositionsAsync() == []
        [bhp] = await ib.qualifyContractsAsync(lib.Stock("BHP", "ASX", "AUD"))
        trade = ib.placeOrder(bhp, lib.MarketOrder("BUY", 100))
        await eventually(lambda: trade.orderStatus.status == "Filled" and bool(trade.fills))
        # reqPositions subscribed: the change is pushed (let it arrive, so it is not taken for an answer)
        await eventually(lambda: [(p.contract.symbol, p.position) for p in ib.positions()] == [("BHP", 100.0)])
        positions = await ib.reqPositionsAsync()
        assert [(p.contract.symbol, p.position, p.avgCost) for p in positions] == [
            ("BHP", 100.0, trade.fills[0].execution.price)
        ]
        # the account subscription is pushed again after the fill: portfolio and cash values
        await eventually(lambda: [(i.contract.symbol, i.position) for i in ib.portfolio()] == [("BHP", 100.0)])
        cost = 100 * trade.fills[0].execution.price

        def cash() -> float:
            return float({(v.tag, v.currency): v.value for v in ib.accountValues()}[("CashBalance", "AUD")])

        await eventually(lambda: cash() < 1_000_000 - cost)  # the price and the commission were paid
    finally:
        ib.disconnect()
        await asyncio.sleep(0.01)


@LIBRARIES
async def test_news_providers_and_depth_exchanges_are_answered_with_empty_lists(
    make_gateway: Any, library: ModuleType, version: int
) -> None:
    gw: OfflineGateway = await make_gateway()
    ib = await _client(library, gw, 51)
    try:
        # these requests carry no request id, so only their answer can end them (the outer limit turns
        # a hang into a failure; it is no speed check)
        assert await asyncio.wait_for(ib.reqNewsProvidersAsync(), 10) == []
        assert await asyncio.wait_for(ib.reqMktDepthExchangesAsync(), 10) == []
        assert await ib.reqCurrentTimeAsync() == gw.clock.now().replace(microsecond=0)  # still served
    finally:
        ib.disconnect()
        await asyncio.sleep(0.01)
