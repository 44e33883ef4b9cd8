"""Faults on demand, and the state file that keeps the account across a gateway restart."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from ib_async import IB, LimitOrder, MarketOrder, Stock
from support.waiting import eventually, round_trip

from sdk.gateway import GatewayConfig, OfflineGateway

from .conftest import ASX_OPEN_2025


async def test_refuse_next_refuses_connections_then_lets_them_in(gateway: OfflineGateway, connect: Any) -> None:
    gateway.set_faults("refuse_next=1")
    refused = IB()
    with pytest.raises((ConnectionError, TimeoutError, asyncio.TimeoutError, OSError)):
        await refused.connectAsync("127.0.0.1", gateway.port, clientId=1, timeout=0.5)
    ib = await connect(gateway)
    assert ib.isConnected() and gateway.faults.refuse_left == 0


async def test_drop_every_and_drop_at_close_client_connections(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    gateway.set_faults("drop_every=0.2")
    await eventually(lambda: not ib.isConnected())
    gateway.set_faults("")
    again = await connect(gateway, 2)
    drop_at = (ASX_OPEN_2025 + timedelta(minutes=1)).isoformat()
    gateway.set_faults(f"drop_at={drop_at}")
    gateway.clock.advance(59)
    await round_trip(again)  # answered: the step before drop_at left the connection open
    assert again.isConnected()
    gateway.clock.advance(2)  # simulated time passes drop_at
    await eventually(lambda: not again.isConnected())


async def test_delay_ms_holds_every_answer(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    gateway.set_faults("delay_ms=150")
    started = time.perf_counter()
    await ib.reqCurrentTimeAsync()
    assert time.perf_counter() - started >= 0.15


async def test_farm_flap_loses_market_data_until_it_is_renewed(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, msg, contract: codes.append(code)
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    ticker = ib.reqMktData(bhp)
    await round_trip(ib)  # the stream is open
    gateway.set_faults("farm_flap=0.2,farm_flap_restore=1101")
    await eventually(lambda: 1101 in codes)
    assert codes[codes.index(1101) - 1] == 1100
    gateway.set_faults("")
    before = ticker.last
    gateway.clock.advance(600)
    await round_trip(ib)  # whatever that step sent has arrived
    assert ticker.last == before  # "data lost": the stream is gone
    ib.cancelMktData(bhp)
    renewed = ib.reqMktData(bhp)
    gateway.clock.advance(600)
    await eventually(lambda: renewed.last != before)


async def test_faults_over_the_control_api(gateway: OfflineGateway) -> None:
    base = f"http://127.0.0.1:{gateway.control_port}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/faults", json={"spec": "reject_next=2,delay_ms=5"}) as resp:
            assert resp.status == 200
            assert (await resp.json())["spec"] == {"reject_next": 2, "delay_ms": 5}
        async with http.post(f"{base}/faults", json={"explode": 1}) as resp:
            assert resp.status == 400 and "unknown fault 'explode'" in (await resp.json())["error"]
        async with http.get(f"{base}/faults") as resp:
            assert (await resp.json())["reject_left"] == 2  # the bad spec changed nothing
        async with http.post(f"{base}/faults", json={}) as resp:
            assert (await resp.json())["spec"] == {}


async def test_the_state_file_keeps_the_account_across_a_restart(catalog: Any, tmp_path: Path) -> None:
    state_file = tmp_path / "paper.json"
    config = GatewayConfig(port=0, control_port=None, speed=0, start=ASX_OPEN_2025, state_file=state_file)
    gw = OfflineGateway(config, catalog=catalog)
    await gw.start()
    ib = IB()
    await ib.connectAsync("127.0.0.1", gw.port, clientId=5, timeout=5)
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    filled = ib.placeOrder(bhp, MarketOrder("BUY", 100, orderRef="trd-keep"))
    resting = ib.placeOrder(bhp, LimitOrder("BUY", 100, 20.0, tif="GTC", orderRef="trd-rest"))
    await eventually(lambda: filled.orderStatus.status == "Filled" and resting.orderStatus.status == "Submitted")
    before = gw.state()
    port = gw.port
    await gw.restart()  # nightly restart, in process, same port
    assert gw.port == port and gw.state()["orders"] == before["orders"]
    await gw.stop()
    ib.disconnect()

    fresh = OfflineGateway(config.model_copy(update={"port": port}), catalog=catalog)  # a new process, same file
    await fresh.start()
    try:
        after = fresh.state()
        for key in ("orders", "executions", "positions", "cash"):
            assert after[key] == before[key], key
        ib = IB()
        await ib.connectAsync("127.0.0.1", fresh.port, clientId=5, timeout=5)
        [open_trade] = ib.openTrades()
        assert open_trade.order.permId == resting.order.permId and open_trade.order.orderRef == "trd-rest"
        fills = await ib.reqExecutionsAsync()
        assert [f.execution.orderRef for f in fills] == ["trd-keep"]
        assert ib.client._reqIdSeq > resting.order.orderId  # order ids continue
        ib.disconnect()
    finally:
        await fresh.stop()
