"""Market data replay: streams and snapshots inside the real bars, on the simulated clock."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ib_async import Forex, Stock
from support.waiting import round_trip

from sdk.gateway import OfflineGateway
from sdk.ticks import ASX_EQUITY


async def test_a_stream_updates_as_the_clock_moves_with_a_one_step_spread(
    gateway: OfflineGateway, connect: Any
) -> None:
    ib = await connect(gateway)
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    ticker = ib.reqMktData(bhp)
    await round_trip(ib)  # the subscription's first answers are in
    assert ticker.marketDataType == 1 and ticker.minTick == 0.01
    first = (ticker.bid, ticker.ask, ticker.last, ticker.volume)
    assert Decimal(str(ticker.ask)) - Decimal(str(ticker.bid)) == ASX_EQUITY.increment_at(Decimal(str(ticker.bid)))
    assert ASX_EQUITY.is_on_ladder(Decimal(str(ticker.last)))
    assert ticker.bidSize >= 100 and ticker.close > 0
    gateway.clock.advance(300)
    await round_trip(ib)  # the step's ticks are in
    assert (ticker.bid, ticker.ask, ticker.last, ticker.volume) != first
    assert ticker.volume > first[3]  # the session's volume grows
    ib.cancelMktData(bhp)
    await round_trip(ib)  # the cancel was read before the next step
    frozen = ticker.last
    gateway.clock.advance(300)
    await round_trip(ib)  # whatever that step sent has arrived
    assert ticker.last == frozen  # no ticks after the cancel


async def test_a_daily_only_instrument_streams_inside_that_days_real_range(
    gateway: OfflineGateway, connect: Any, catalog: Any
) -> None:
    ib = await connect(gateway)
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    day = catalog.bars("BHP/AUD", "1 day", datetime(2025, 3, 3, 23, tzinfo=UTC), datetime(2025, 3, 4, 1, tzinfo=UTC))
    low = ASX_EQUITY.round(Decimal(repr(float(day["low"].iloc[0]))), "nearest")
    high = ASX_EQUITY.round(Decimal(repr(float(day["high"].iloc[0]))), "nearest")
    ticker = ib.reqMktData(bhp)
    lasts: list[Decimal] = []
    gateway.clock.jump(datetime(2025, 3, 3, 23, 0, 1, tzinfo=UTC))  # the session's open
    for _ in range(72):
        gateway.clock.advance(300)
        await round_trip(ib)  # this step's ticks, not an older one's
        lasts.append(Decimal(str(ticker.last)))
    assert all(low <= p <= high for p in lasts), (low, high, min(lasts), max(lasts))
    assert min(lasts) == low and max(lasts) == high  # the path touches the real extremes
    assert Decimal(str(ticker.high)) == high and Decimal(str(ticker.low)) == low


async def test_snapshots_of_a_stock_and_of_fx(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    [bhp, aud] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"), Forex("AUDUSD"))
    stock, fx = await ib.reqTickersAsync(bhp, aud)
    assert stock.bid < stock.ask and stock.last > 0 and stock.volume > 0 and stock.close > 0
    assert 0.5 < fx.bid < fx.ask < 0.8
    assert round(fx.ask - fx.bid, 6) == 0.00005
    assert math.isnan(fx.last) and math.isnan(fx.volume)  # IDEALPRO publishes no trades


async def test_outside_the_session_the_quote_is_frozen_at_the_close(
    make_gateway: Any, connect: Any, catalog: Any
) -> None:
    gw = await make_gateway(start=datetime(2025, 3, 4, 8, 0, tzinfo=UTC))  # 19:00 Sydney
    ib = await connect(gw)
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    ticker = ib.reqMktData(bhp)
    await round_trip(ib)
    day = catalog.bars("BHP/AUD", "1 day", datetime(2025, 3, 3, 23, tzinfo=UTC), datetime(2025, 3, 4, 1, tzinfo=UTC))
    assert ticker.marketDataType == 2
    assert Decimal(str(ticker.last)) == ASX_EQUITY.round(Decimal(repr(float(day["close"].iloc[0]))), "nearest")
    gw.clock.advance(timedelta(hours=16).total_seconds())  # into the next session (10:00 Sydney)
    await round_trip(ib)
    assert ticker.marketDataType == 1


async def test_many_subscribers_of_one_instrument_get_the_same_ticks(gateway: OfflineGateway, connect: Any) -> None:
    # Both subscriptions are answered from one quote per instrument and step (replay.Replay._stream). The
    # second client's reqMktData is still unread when the clock steps, so its first answer (the full quote
    # at the new time) arrives after the first client's step ticks: wait for both connections to be
    # drained (round_trip) before comparing, never for a fixed time.
    ib = await connect(gateway)
    [spy] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
    gateway.clock.jump(datetime(2025, 3, 4, 15, 0, tzinfo=UTC))
    tickers = [ib.reqMktData(spy)]
    other = await connect(gateway, 2)
    tickers.append(other.reqMktData(spy))
    for _ in range(3):
        gateway.clock.advance(60)
        await round_trip(ib, other)
        first, second = ((t.last, t.bid, t.ask, t.volume) for t in tickers)
        assert first == second and not math.isnan(first[0])
