"""OPG orders (market-on-open, limit-on-open) at the offline gateway, through ib_async over a real socket.

The rule is the simulation core's (``docs/sim.md``, "Times in force"): an OPG order trades in the opening auction of
the session after it was placed, at that session's first price, and what the auction does not fill is cancelled.
IB accepts OPG on the ASX and NYSE/Nasdaq; IDEALPRO FX runs no auction and refuses it. The market is the real BHP
data of ``../shared/data`` (a daily bar per session, replayed inside its range).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ib_async import Forex, LimitOrder, MarketOrder, Stock
from support.waiting import eventually, round_trip

from sdk.gateway import OfflineGateway

from .conftest import ASX_OPEN_2025

#: The next ASX open after :data:`ASX_OPEN_2025` (Tuesday 11:00 Sydney): Wednesday 2025-03-05 10:00 Sydney.
NEXT_OPEN = datetime(2025, 3, 4, 23, 0, tzinfo=UTC)
#: The replay keeps prices to the ladder's finest decimals (0.001 on the ASX), so the auction's price is the
#: day's real open within one ASX price step.
ONE_STEP = 0.01


def _errors(ib: Any) -> list[tuple[int, str]]:
    errors: list[tuple[int, str]] = []
    ib.errorEvent += lambda req_id, code, msg, contract: errors.append((code, msg))
    return errors


def _opening_price(catalog: Any) -> float:
    return float(catalog.bars("BHP/AUD", "1 day", NEXT_OPEN, NEXT_OPEN + timedelta(hours=7)).iloc[0]["open"])


async def test_opg_orders_wait_for_the_next_opening_auction_and_trade_only_there(
    gateway: OfflineGateway, connect: Any, catalog: Any
) -> None:
    ib = await connect(gateway)
    errors = _errors(ib)
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    opening = _opening_price(catalog)
    moo = ib.placeOrder(bhp, MarketOrder("BUY", 100, tif="OPG", orderRef="trd-moo"))
    loo_in = ib.placeOrder(bhp, LimitOrder("BUY", 100, round(opening + 2, 2), tif="OPG", orderRef="trd-loo-in"))
    loo_out = ib.placeOrder(bhp, LimitOrder("BUY", 100, round(opening - 3, 2), tif="OPG", orderRef="trd-loo-out"))
    trades = (moo, loo_in, loo_out)
    await eventually(lambda: all(t.orderStatus.status == "PreSubmitted" for t in trades), what="OPG orders held")
    gateway.clock.advance(5 * 3600 - 60)  # the rest of today's session (to 15:59 Sydney): no auction for them
    await round_trip(ib)
    assert [t.orderStatus.status for t in trades] == ["PreSubmitted"] * 3 and not any(t.fills for t in trades)
    gateway.clock.advance((NEXT_OPEN - ASX_OPEN_2025).total_seconds() - (5 * 3600 - 60) + 3600)  # to 11:00 next day
    await eventually(
        lambda: (
            moo.orderStatus.status == loo_in.orderStatus.status == "Filled"
            and loo_out.orderStatus.status == "Cancelled"
        ),
        what="the opening auction's fills and the unfilled limit-on-open cancelled",
    )
    for trade in (moo, loo_in):
        [fill] = trade.fills
        assert fill.execution.time == NEXT_OPEN, "filled in the opening auction, not later in the session"
        assert abs(fill.execution.price - opening) < ONE_STEP, (fill.execution.price, opening)
    assert moo.fills[0].execution.price == loo_in.fills[0].execution.price, "one auction, one price"
    assert loo_out.fills == [] and [code for code, _ in errors] == [202] and "OPG" in errors[0][1], errors
    await eventually(lambda: moo.fills[0].commissionReport.commission == 6.0, what="IB's ASX minimum charged")
    assert gateway.broker.engine.orders == {}, "the core's book keeps no finished order (the records do)"


async def test_opg_is_refused_for_fx_which_runs_no_opening_auction(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    errors = _errors(ib)
    [aud] = await ib.qualifyContractsAsync(Forex("AUDUSD"))
    trade = ib.placeOrder(aud, MarketOrder("BUY", 25_000, tif="OPG"))
    await eventually(lambda: trade.orderStatus.status == "Cancelled", what="the FX OPG order refused")
    [(code, message)] = errors
    assert code == 201 and "OPG" in message and "IDEALPRO" in message, message
    assert gateway.state()["orders"] == [], "nothing was accepted"
    day = ib.placeOrder(aud, MarketOrder("BUY", 25_000, tif="DAY"))  # the same order as a DAY order trades
    await eventually(lambda: day.orderStatus.status == "Filled", what="the FX DAY order filled")


async def test_an_opg_order_waits_for_its_auction_across_a_restart(
    make_gateway: Any, connect: Any, catalog: Any, tmp_path: Path
) -> None:
    state_file = tmp_path / "paper.json"
    first = await make_gateway(state_file=state_file)
    ib = await connect(first)
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    moo = ib.placeOrder(bhp, MarketOrder("BUY", 100, tif="OPG", orderRef="trd-moo-kept"))
    await eventually(lambda: moo.orderStatus.status == "PreSubmitted", what="the OPG order held")
    ib.disconnect()
    await first.stop()
    resumed = await make_gateway(state_file=state_file)  # a new process on the same state file
    resumed.clock.advance((NEXT_OPEN - ASX_OPEN_2025).total_seconds() + 60)
    [order] = resumed.state()["orders"]
    assert order["status"] == "Filled" and order["orderRef"] == "trd-moo-kept"
    [execution] = resumed.state()["executions"]
    assert abs(execution["price"] - _opening_price(catalog)) < ONE_STEP
