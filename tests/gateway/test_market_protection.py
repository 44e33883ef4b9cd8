"""A market order on the offline gateway is protected as IB protects one: it never fills beyond a cap set at its
arrival (:func:`sdk.sim.fills.protection_cap`), however far the replayed market runs while its volume-bounded rest
waits; the rest keeps working and fills where the market trades back to the cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ib_async import MarketOrder, Stock
from support.waiting import eventually, round_trip

from sdk.instruments import market_order_cap
from sdk.sim.fills import MARKET_PROTECTION_PCT
from sdk.ticks import US_EQUITY

#: 2024-03-20 14:35 New York (the FOMC afternoon): SPY's real 1-minute bars close more than 0.5% higher from ten
#: to thirty minutes later.
SPY_RALLY = datetime(2024, 3, 20, 18, 35, tzinfo=UTC)


async def test_a_market_buy_never_fills_above_its_cap_while_the_market_runs_away(
    make_gateway: Any, connect: Any, catalog: Any
) -> None:
    gw = await make_gateway(start=SPY_RALLY, participation=0.0001)  # about 15 shares a minute
    ib = await connect(gw)
    [spy] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
    trade = ib.placeOrder(spy, MarketOrder("BUY", 1000))
    await eventually(lambda: len(trade.fills) == 1, what="the first minute's fill")
    arrival_ask = Decimal(str(trade.fills[0].execution.price))
    cap = market_order_cap("buy", arrival_ask, US_EQUITY, MARKET_PROTECTION_PCT)
    asks_above_cap = 0
    for _ in range(30):
        gw.clock.advance(60)
        await round_trip(ib)  # the minute's fills are in
        quote = gw.market.quote("SPY/USD", gw.clock.timestamp())
        asks_above_cap += quote is not None and Decimal(str(quote.ask)) > cap
    minutes = catalog.bars("SPY/USD", "1 min", SPY_RALLY, SPY_RALLY + timedelta(minutes=31))
    assert minutes["high"].max() > float(cap) * 1.002, "the replayed market never ran past the cap: proves nothing"
    assert asks_above_cap >= 5, f"the ask was above the cap {cap} in only {asks_above_cap} of 30 minutes"
    prices = [Decimal(str(f.execution.price)) for f in trade.fills]
    assert len(prices) > 5 and max(prices) <= cap, f"a fill above the cap {cap} (ask {arrival_ask} + 0.3%): {prices}"
    assert trade.orderStatus.status == "Submitted" and trade.orderStatus.remaining > 0  # the rest still works
