"""Resync after a reconnect on the offline gateway: no order declared lost without proof, and one
failing step (a bar series IB will not renew, order lists that do not arrive) neither stops the
reconnect nor the other steps; it degrades health and is retried until it succeeds.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from ccxt.test.exchange.base.test_ohlcv import test_ohlcv as check_ohlcv
from ib_async import IB
from ib_support import NYSE_OPEN_2024  # type: ignore[import-not-found]
from support.waiting import eventually, round_trip

from sdk.errors import RequestTimeout
from sdk.venues.ib.connection import Backoff, ConnectivityEvent, Health
from sdk.venues.ib.trader import IBTrader

#: Retries one second apart: room for the test to act between two reconnect attempts.
SLOW_BACKOFF = Backoff(initial=1.0, maximum=1.0, jitter=0.0)


def kinds(events: list[ConnectivityEvent]) -> list[str]:
    return [e.kind for e in events if e.kind != "health"]


def subscribed(trader: IBTrader) -> bool:
    """Every bar series has its keepUpToDate subscription (IB answered the request)."""
    series = list(trader.bars._series.values())
    return bool(series) and all(s.bars is not None for s in series)


async def test_an_order_is_never_declared_lost_unless_both_order_lists_arrived(
    make_gateway: Any, make_trader: Any
) -> None:
    gw = await make_gateway()
    trader: IBTrader = await make_trader(
        gw, client_id=1, client_id_max=2, ack_timeout=1.0, heartbeat_interval=30, backoff=SLOW_BACKOFF
    )
    events: list[ConnectivityEvent] = []
    trader.add_connectivity_listener(events.append)
    price = round((await trader.fetch_ticker("BHP/AUD"))["bid"] - 1, 2)
    params = {"clientOrderId": "trd-unknown-0001"}
    gw.set_faults("delay_ms=400")  # IB gets the order; its acknowledgement is still on the way
    placing = asyncio.ensure_future(trader.create_order("BHP/AUD", "limit", "buy", 100, price, params))
    await eventually(lambda: len(gw.state()["orders"]) == 1, what="the order at the gateway")

    stalled: list[ConnectivityEvent] = []

    def stall_answers(event: ConnectivityEvent) -> None:
        # The new session is up; from now on IB's answers are held: the reconcile cannot read
        # IB's open and completed orders in time.
        if event.kind == "reconnected" and not stalled:
            stalled.append(event)
            gw.set_faults("delay_ms=10000")

    trader.add_connectivity_listener(stall_answers)
    # The first reconnect attempt is refused and, before the next, another client takes id 1: the
    # session comes back as client 2, whose own open orders (ib_async's start-up sync) do not hold
    # client 1's order. Only reqAllOpenOrders would show it.
    gw.set_faults("refuse_next=1")
    gw.drop_all_clients("drop mid-order")
    await eventually(lambda: gw.faults.refuse_left == 0, what="the refused attempt")
    other = IB()
    await other.connectAsync("127.0.0.1", gw.port, clientId=1, timeout=5)
    try:
        with pytest.raises(RequestTimeout):
            await placing
        await eventually(lambda: "resync_failed" in kinds(events), timeout=10, what="the resync to fail")
        assert trader.client_id == 2 and trader.connection.is_ready, "the session is up, as client 2"
        assert "orders" in trader.connection.failed_steps and trader.health is Health.DEGRADED
        record = trader.orders.find("trd-unknown-0001")
        assert record is not None and not record.lost and record.unknown, "no proof, so not lost"
        order = await trader.fetch_order("trd-unknown-0001")
        assert order["status"] == "open" and order["info"]["reconcile"].startswith("unknown")
        with pytest.raises(RequestTimeout, match=r"unknown .*and it is not sent again"):
            await trader.create_order("BHP/AUD", "limit", "buy", 100, price, params)
        assert len(gw.state()["orders"]) == 1, "the retry sent nothing"
    finally:
        other.disconnect()
    gw.set_faults("")
    gw.drop_all_clients("end the stall")  # held answers are discarded with the session
    await eventually(
        lambda: "resynced" in kinds(events) and trader.health is Health.HEALTHY,
        timeout=10,
        what="a complete reconcile",
    )
    assert not trader.connection.failed_steps
    again = await trader.create_order("BHP/AUD", "limit", "buy", 100, price, params)
    (held,) = gw.state()["orders"]
    assert again["id"] == str(held["permId"]) and again["status"] == "open", "found by orderRef"
    assert "reconcile" not in again["info"]


async def test_a_bar_series_ib_will_not_renew_does_not_stop_the_resync(
    make_gateway: Any, make_trader: Any, ccxt_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sdk.venues.ib")
    gw = await make_gateway(start=NYSE_OPEN_2024)
    trader: IBTrader = await make_trader(gw, heartbeat_interval=30)
    events: list[ConnectivityEvent] = []
    trader.add_connectivity_listener(events.append)
    seen: list[list[float]] = []

    async def watch() -> None:
        async for bar in trader.watch_ohlcv("SPY/USD", "1m"):
            seen.append(bar)

    watcher = asyncio.ensure_future(watch())
    await eventually(lambda: subscribed(trader), what="the bar series")
    for _ in range(2):
        gw.clock.advance(60)
        await round_trip(trader.connection.ib)  # the step's bar is in before the next step
    await eventually(lambda: len(seen) >= 2, what="two bars")
    # Another client on the account has IB's ten-minute budget booked for the next quarter hour:
    # every attempt of the renewal gets 162 until then, even after the budget's escalating holds.
    booked = gw.clock.timestamp() + 700
    for i in range(60):
        gw.pacer.check(booked, series=("other", i), identity=("other", i), what_to_show="TRADES")
    caplog.clear()
    gw.drop_all_clients("drop during live bars")
    await eventually(lambda: "resync_failed" in kinds(events), timeout=15, what="the bar series renewal to fail")
    assert "disconnected" not in kinds(events)[1:], "the reconnect did not give up"
    assert trader.connection.is_ready and trader.health is Health.DEGRADED
    assert list(trader.connection.failed_steps) == ["bar series"]
    assert "RateLimitExceeded" in trader.connection.failed_steps["bar series"]
    messages = [r.getMessage() for r in caplog.records]
    assert messages.index("resync step failed") < messages.index("orders reconciled"), "orders still reconciled"
    degraded = [e for e in events if e.kind == "health" and e.health is Health.DEGRADED]
    assert degraded and "bar series" in degraded[-1].detail
    # The step is retried; once the booked window has passed, the series comes back.
    await eventually(
        lambda: "resynced" in kinds(events) and trader.health is Health.HEALTHY, timeout=15, what="the retry"
    )
    assert trader.budget.stats.violations >= 4
    before = len(seen)
    gw.clock.advance(120)
    await eventually(lambda: len(seen) >= before + 2, what="live bars after the retried renewal")
    watcher.cancel()
    stamps = [int(b[0]) for b in seen]
    assert stamps == list(range(stamps[0], stamps[0] + 60_000 * len(stamps), 60_000)), "each minute once, in order"
    now = int(gw.clock.timestamp() * 1000)
    for bar in seen:
        check_ohlcv(ccxt_for(trader), {}, "watchOHLCV", bar, "SPY/USD", now)


async def test_live_bars_retry_a_pacing_violation(make_gateway: Any, make_trader: Any, ccxt_for: Any) -> None:
    gw = await make_gateway(start=NYSE_OPEN_2024)
    trader: IBTrader = await make_trader(gw)
    now = gw.clock.timestamp()
    for i in range(60):  # another client on the account spent IB's ten-minute budget just now
        gw.pacer.check(now, series=("other", i), identity=("other", i), what_to_show="TRADES")
    bars = trader.watch_ohlcv("SPY/USD", "1m")
    first = asyncio.ensure_future(anext(bars))
    await eventually(lambda: subscribed(trader), what="the series, after the holds")
    assert trader.budget.stats.violations == 3, "162 recorded: held 2 s, then 15 s, then 10 minutes"
    assert gw.clock.timestamp() - now >= 600
    gw.clock.advance(60)
    bar = await asyncio.wait_for(first, 5)
    check_ohlcv(ccxt_for(trader), {}, "watchOHLCV", bar, "SPY/USD", int(gw.clock.timestamp() * 1000))
    await bars.aclose()
