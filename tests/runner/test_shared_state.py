"""State several processes share through the ledger: the day's opening equity and the kill switch.

Each "process" here is its own service set (its own ledger session, tracker and execution service) on one
ledger and one offline gateway, as two runner processes would be.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sdk.ledger import open_ledger
from sdk.ledger import queries as q
from sdk.risk import OrderIntent
from sdk.services import build_services


def buy(amount: int = 200, cid: str = "trd-bhp-0001", **extra: Any) -> OrderIntent:
    return OrderIntent(
        symbol="BHP/AUD", side="buy", type="market", amount=amount, client_order_id=cid, origin="strategy:t", **extra
    )


async def test_a_process_started_at_noon_sees_the_mornings_loss_from_the_ledger(
    gateway: Any, make_trader: Any, ledger_url: str
) -> None:
    trader = await make_trader(gateway, execute_orders=True)
    with open_ledger(ledger_url) as ledger:
        morning = await build_services(trader.settings, trader, ledger, session_id="run-morning", shadow=False)
        opening = await morning.portfolio.record()  # the day's first snapshot, at the ASX open
        await morning.execution.submit(buy(cid="trd-open-1"))  # pays a commission: equity moves
        gateway.clock.advance(3 * 3600)  # "noon": the morning process is gone, a new one starts
        noon = await build_services(trader.settings, trader, ledger, session_id="run-noon", shadow=False)
        restarted = await noon.portfolio.pnl_today()
        assert restarted == await morning.portfolio.pnl_today(), "both measure from the ledger's opening equity"
        now = noon.portfolio.last
        assert now is not None and restarted == now.equity - opening.equity != 0
        # the restarted process recorded no second "open": the day has one first snapshot
        first = q.equity_curve(ledger)[0]
        assert (first["run_id"], first["timestamp"]) == ("run-morning", opening.timestamp)


async def test_the_first_tracker_of_the_day_records_the_opening_equity(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    trader = await make_trader(gateway)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="run-first", shadow=True)
        assert q.equity_curve(ledger) == []
        assert await services.portfolio.pnl_today() == Decimal(0)
        curve = q.equity_curve(ledger)
        assert [(r["run_id"], r["currency"]) for r in curve] == [("run-first", "AUD")]
