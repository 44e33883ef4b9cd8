"""Unmodified ib_async 2.x (server version 178) and ib_insync 0.9.86 (176) through every feature."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import ModuleType
from typing import Any

import ib_async
import ib_insync
import pytest

from sdk.gateway import OfflineGateway

from .conftest import eventually


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
