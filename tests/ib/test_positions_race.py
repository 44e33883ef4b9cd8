"""reqPositions is a subscription: TWS pushes a fill's new position as another ``position`` message, and one that
lands while an answer is being collected is in that answer too. Found by the random crash test (issue 12): the
runner read 200 CBA while the gateway held 100 and its exit over-sold. The position is counted once."""

from __future__ import annotations

import asyncio
from typing import Any

from support.waiting import eventually

from sdk.venues.ib.trader import IBTrader


async def test_a_position_update_inside_a_positions_answer_is_counted_once(trader: IBTrader, gateway: Any) -> None:
    ask = (await trader.fetch_ticker("BHP/AUD"))["ask"]
    bought = await trader.create_order("BHP/AUD", "limit", "buy", 100, round(ask * 1.01, 2))
    await eventually(lambda: any(p["symbol"].startswith("BHP") for p in gateway.state()["positions"]), what="the fill")
    assert (await trader.fetch_order(bought["id"]))["filled"] == 100
    ib = trader.connection.ib
    (held,) = [p for p in ib.positions() if p.contract.symbol == "BHP"]
    send = ib.client.reqPositions

    def send_then_update() -> None:  # the update TWS pushes for the contract while that answer is collected
        send()
        ib.wrapper.position(held.account, held.contract, held.position, held.avgCost)

    ib.client.reqPositions = send_then_update  # type: ignore[method-assign]
    pending = asyncio.ensure_future(trader.fetch_positions(["BHP/AUD"]))
    positions = await pending
    assert [(p["symbol"], p["contracts"]) for p in positions] == [("BHP/AUD", 100.0)]
