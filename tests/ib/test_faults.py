"""Faults on the offline gateway: drops, a restart with its state file, a drop mid-order, 1101, live bars.

Each scenario checks the promise the issue makes: no duplicate order, no lost fill, every stream
back after the reconnect, and bars delivered once each, in order.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ccxt.test.exchange.base.test_ohlcv import test_ohlcv as check_ohlcv
from ib_support import NYSE_OPEN_2024  # type: ignore[import-not-found]
from support.waiting import eventually, round_trip

from sdk.errors import NetworkError, RequestTimeout
from sdk.venues.ib.connection import ConnectivityEvent, Health
from sdk.venues.ib.trader import IBTrader


def kinds(events: list[ConnectivityEvent]) -> list[str]:
    return [e.kind for e in events if e.kind != "health"]


async def ready_again(trader: IBTrader, events: list[ConnectivityEvent], count: int = 1) -> None:
    await eventually(
        lambda: kinds(events).count("resynced") >= count and trader.connection.is_ready,
        timeout=10,
        what="the session to reconnect and resync",
    )


async def test_drop_reconnects_resubscribes_and_reconciles(gateway: Any, trader: IBTrader) -> None:
    events: list[ConnectivityEvent] = []
    trader.add_connectivity_listener(events.append)
    before = await trader.fetch_ticker("BHP/AUD")
    gateway.drop_all_clients("test")
    await ready_again(trader, events)
    assert kinds(events)[:2] == ["disconnected", "reconnecting"]
    assert kinds(events)[-2:] == ["reconnected", "resynced"]
    assert trader.health is Health.HEALTHY and trader.connection.reconnects == 1 and trader.client_id == 1
    gateway.clock.advance(300)
    await eventually(
        lambda: trader.market._streams["BHP/AUD"].updated_ms != before["timestamp"], what="the resubscribed stream"
    )
    after = await trader.fetch_ticker("BHP/AUD")
    assert after["timestamp"] >= before["timestamp"] + 300_000


async def test_drop_mid_order_sends_it_once(make_gateway: Any, make_trader: Any) -> None:
    gw = await make_gateway()
    trader = await make_trader(gw, ack_timeout=8)
    events: list[ConnectivityEvent] = []
    trader.add_connectivity_listener(events.append)
    ticker = await trader.fetch_ticker("BHP/AUD")
    price = round(ticker["bid"] - 1, 2)
    gw.set_faults("delay_ms=400")  # IB got the order; its acknowledgement is still on the way
    placing = asyncio.ensure_future(
        trader.create_order("BHP/AUD", "limit", "buy", 100, price, {"clientOrderId": "trd-midorder-1"})
    )
    await eventually(lambda: len(gw.state()["orders"]) == 1, what="the order at the gateway")
    gw.drop_all_clients("drop mid-order")
    await eventually(lambda: "disconnected" in kinds(events), what="the drop")
    gw.set_faults("")
    assert not placing.done() and not trader.orders.find("trd-midorder-1").acknowledged
    order = await placing
    assert order["status"] == "open" and order["clientOrderId"] == "trd-midorder-1"
    assert order["id"] == str(gw.state()["orders"][0]["permId"]), "found by orderRef after the reconnect"
    again = await trader.create_order("BHP/AUD", "limit", "buy", 100, price, {"clientOrderId": "trd-midorder-1"})
    assert again["id"] == order["id"] and len(gw.state()["orders"]) == 1, "no duplicate order"
    await ready_again(trader, events)
    assert [o["id"] for o in await trader.fetch_open_orders()] == [order["id"]]
    assert len(gw.state()["orders"]) == 1


async def test_an_order_ib_never_kept_is_lost_and_may_be_sent_again(make_gateway: Any, make_trader: Any) -> None:
    gw = await make_gateway(state_file=None)  # a restart forgets everything: as if the order never arrived
    trader = await make_trader(gw, ack_timeout=8)
    ticker = await trader.fetch_ticker("BHP/AUD")
    price = round(ticker["bid"] - 1, 2)
    gw.set_faults("delay_ms=400")
    params = {"clientOrderId": "trd-lost-0001"}
    placing = asyncio.ensure_future(trader.create_order("BHP/AUD", "limit", "buy", 100, price, params))
    await eventually(lambda: len(gw.state()["orders"]) == 1, what="the order at the gateway")
    await gw.restart()
    gw.set_faults("")
    with pytest.raises(NetworkError, match="never reached IB"):
        await placing
    lost = await trader.fetch_order("trd-lost-0001")
    assert (lost["status"], lost["info"]["status"]) == ("rejected", "Lost")
    assert gw.state()["orders"] == []
    resent = await trader.create_order("BHP/AUD", "limit", "buy", 100, price, params)
    assert resent["status"] == "open" and len(gw.state()["orders"]) == 1


async def test_restart_with_state_file_keeps_orders_and_fills_without_duplicates(
    gateway: Any, trader: IBTrader
) -> None:
    events: list[ConnectivityEvent] = []
    trader.add_connectivity_listener(events.append)
    ticker = await trader.fetch_ticker("BHP/AUD")
    filled = await trader.create_order("BHP/AUD", "limit", "buy", 100, round(ticker["ask"] + 0.05, 2))
    resting = await trader.create_order("BHP/AUD", "limit", "buy", 100, round(ticker["bid"] - 1, 2))
    await eventually(lambda: not trader.executions.pending() and len(trader.executions) == 1, what="fill and fee")
    trades_before = await trader.fetch_my_trades()
    await gateway.restart()  # the nightly restart: same port, account reloaded from the state file
    await ready_again(trader, events)
    assert [o["permId"] for o in gateway.state()["orders"]] == [int(filled["id"]), int(resting["id"])]
    open_orders = await trader.fetch_open_orders()
    assert [o["id"] for o in open_orders] == [resting["id"]] and open_orders[0]["status"] == "open"
    assert (await trader.fetch_order(filled["id"]))["status"] == "closed"
    assert await trader.fetch_my_trades() == trades_before, "the same fills, once each, fee kept"
    assert len(trader.orders.records()) == 2, "no order adopted twice"


async def test_fill_during_an_outage_is_not_lost(gateway: Any, trader: IBTrader) -> None:
    events: list[ConnectivityEvent] = []
    trader.add_connectivity_listener(events.append)
    ticker = await trader.fetch_ticker("BHP/AUD")
    order = await trader.create_order("BHP/AUD", "limit", "buy", 100, ticker["bid"])
    gateway.set_faults("refuse_next=1000")
    gateway.drop_all_clients("outage")
    await eventually(lambda: "reconnecting" in kinds(events), what="reconnect attempts")
    for _ in range(60):  # the market trades through the resting order while we are away
        gateway.clock.advance(60)
        if any(o["status"] == "Filled" for o in gateway.state()["orders"]):
            break
    assert gateway.state()["orders"][0]["status"] == "Filled"
    assert len(trader.executions) == 0
    gateway.set_faults("")
    assert await trader.maybe_reconnect(), "the health circuit's hook brings the session back"
    assert trader.connection.is_ready
    await eventually(lambda: not trader.executions.pending(), what="the commission report")
    (trade,) = await trader.fetch_my_trades()
    assert trade["order"] == order["id"] and trade["fee"] is not None
    reconciled = await trader.fetch_order(order["id"])
    assert reconciled["status"] == "closed" and reconciled["filled"] == 100


async def test_1101_resubscribes_market_data_and_bars(make_gateway: Any, make_trader: Any, ccxt_for: Any) -> None:
    gw = await make_gateway(start=NYSE_OPEN_2024)
    trader = await make_trader(gw)
    events: list[ConnectivityEvent] = []
    trader.add_connectivity_listener(events.append)
    bars = trader.watch_ohlcv("SPY/USD", "1m")
    first = asyncio.ensure_future(anext(bars))
    await eventually(lambda: trader.bars.series() == [("SPY/USD", "1m")], what="the bar series")
    await trader.fetch_ticker("SPY/USD")
    gw.set_faults("farm_flap=0.2,farm_flap_restore=1101")
    await eventually(lambda: "data_lost" in kinds(events), what="IB 1101")
    gw.set_faults("")
    health = [e.health for e in events if e.kind == "health"]
    assert Health.DEGRADED in health, "1100 degraded the session"
    await eventually(lambda: trader.health is Health.HEALTHY, what="health restored")
    stamp = trader.market._streams["SPY/USD"].updated_ms
    gw.clock.advance(120)
    await eventually(lambda: trader.market._streams["SPY/USD"].updated_ms != stamp, what="the renewed stream")
    bar = await asyncio.wait_for(first, 5)
    second = await asyncio.wait_for(anext(bars), 5)
    assert second[0] == bar[0] + 60_000, "bars keep coming after 1101, in order, none repeated"
    for row in (bar, second):
        check_ohlcv(ccxt_for(trader), {}, "watchOHLCV", row, "SPY/USD", int(gw.clock.timestamp() * 1000))
    await bars.aclose()


async def test_watch_ohlcv_survives_a_drop_without_losing_or_repeating_bars(
    make_gateway: Any, make_trader: Any, ccxt_for: Any
) -> None:
    gw = await make_gateway(start=NYSE_OPEN_2024)
    trader = await make_trader(gw)
    events: list[ConnectivityEvent] = []
    trader.add_connectivity_listener(events.append)
    seen: list[list[float]] = []

    async def watch() -> None:
        async for bar in trader.watch_ohlcv("SPY/USD", "1m"):
            seen.append(bar)

    watcher = asyncio.ensure_future(watch())
    await eventually(lambda: trader.bars.series() == [("SPY/USD", "1m")], what="the bar series")
    for _ in range(3):
        gw.clock.advance(60)
        await round_trip(trader.connection.ib)  # the step's bar is in before the next step
    await eventually(lambda: len(seen) >= 3, what="three bars")
    gw.set_faults("refuse_next=3")
    gw.drop_all_clients("drop during live bars")
    await eventually(lambda: "disconnected" in kinds(events), what="the drop")
    gw.clock.advance(5 * 60)  # five bars complete while we are away
    await ready_again(trader, events)
    gw.clock.advance(120)
    await eventually(lambda: len(seen) >= 10, what="the missed bars and the live ones")
    watcher.cancel()
    stamps = [int(b[0]) for b in seen]
    assert stamps == list(range(stamps[0], stamps[0] + 60_000 * len(stamps), 60_000)), "each minute once, in order"
    expected = gw.market.catalog.bars("SPY/USD", "1min", rth_only=False)
    closes = {int(t.timestamp() * 1000): c for t, c in zip(expected.index, expected["close"], strict=True)}
    assert all(b[4] == pytest.approx(closes[int(b[0])], abs=0.005 + 1e-9) for b in seen)
    now = int(gw.clock.timestamp() * 1000)
    for bar in seen:
        check_ohlcv(ccxt_for(trader), {}, "watchOHLCV", bar, "SPY/USD", now)


async def test_a_silent_socket_is_dropped_by_the_heartbeat_and_reconnected(make_gateway: Any, make_trader: Any) -> None:
    gw = await make_gateway()
    trader = await make_trader(gw, heartbeat_interval=0.2)
    events: list[ConnectivityEvent] = []
    trader.add_connectivity_listener(events.append)
    gw.set_faults("delay_ms=3000")  # the gateway still reads, but every answer is held: a silent socket
    await eventually(lambda: "disconnected" in kinds(events), timeout=5, what="the heartbeat to give up")
    assert any(e.kind == "health" and e.health is Health.DEGRADED and "heartbeat" in e.detail for e in events)
    gw.set_faults("")
    await ready_again(trader, events)
    assert trader.health is Health.HEALTHY


async def test_an_order_not_acknowledged_in_time_times_out_and_a_retry_sends_nothing(
    make_gateway: Any, make_trader: Any
) -> None:
    gw = await make_gateway()
    trader = await make_trader(gw, ack_timeout=0.3)
    ticker = await trader.fetch_ticker("BHP/AUD")
    price = round(ticker["bid"] - 1, 2)
    params = {"clientOrderId": "trd-slow-ack-01"}
    gw.set_faults("delay_ms=800")
    with pytest.raises(RequestTimeout, match=r"may be live.*same clientOrderId"):
        await trader.create_order("BHP/AUD", "limit", "buy", 100, price, params)
    assert len(gw.state()["orders"]) == 1, "IB has it; only its answer is late"
    gw.set_faults("")
    await eventually(lambda: trader.orders.find("trd-slow-ack-01").acknowledged, what="the late acknowledgement")
    order = await trader.create_order("BHP/AUD", "limit", "buy", 100, price, params)
    assert order["status"] == "open" and order["id"] == str(gw.state()["orders"][0]["permId"])
    assert len(gw.state()["orders"]) == 1
