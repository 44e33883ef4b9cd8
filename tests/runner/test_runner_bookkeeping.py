"""Per-order bookkeeping stays flat over a long run (issue 12, Deliver 6).

Many orders go through the execution service to the offline gateway (real socket, real ASX data, a real
ledger) and finish: filled, their commission reports in. Counted, not timed: the execution service's
results, locks, open set and plan links, the IB order service's records and fills, ib_async's trades and
fills, and the gateway's working set hold no more than the retention windows allow, however many orders
went before. A dropped order's id is still never sent twice: a submit with it is answered from the ledger,
and a direct ``create_order`` with it is refused with a message that says what to do.
"""

from __future__ import annotations

from typing import Any

import pytest

import sdk.services.execution as execution_module
from sdk.errors import InvalidOrder
from sdk.ledger import open_ledger
from sdk.risk import OrderIntent
from sdk.services import build_services

ROUND_TRIPS = 15
KEEP = 4


def _intent(i: int) -> OrderIntent:
    side = "buy" if i % 2 == 0 else "sell"
    return OrderIntent(symbol="BHP/AUD", side=side, type="market", amount=100, is_exit=side == "sell",
                       client_order_id=f"trd-flat-{i:04d}", origin="strategy:test")  # fmt: skip


async def test_bookkeeping_of_finished_orders_is_dropped_and_their_ids_are_never_sent_twice(
    gateway: Any, make_trader: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution_module, "RETAIN_RESULTS", KEEP)
    trader = await make_trader(gateway, execute_orders=True)
    trader.orders.retain_finished = KEEP
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="flat-1", shadow=False)
        execution = services.execution
        for i in range(2 * ROUND_TRIPS):
            result = await execution.submit(_intent(i))
            assert result.order is not None and result.order["status"] == "closed", result.to_dict()
            gateway.clock.advance(5)
        for _ in range(50):  # the commission reports of the last orders (the gateway sends them at once)
            await execution.refresh_open_orders()
            if not execution.open_client_order_ids:
                break
            gateway.clock.advance(1)
        orders = len(gateway.state()["orders"])
        assert orders == 2 * ROUND_TRIPS and execution.stats.sent == orders

        assert execution.open_client_order_ids == frozenset()
        assert len(execution._results) <= KEEP and not execution._locks, "results and locks of finished orders"
        assert execution.held <= 2 * KEEP, execution.held
        assert trader.orders.held <= KEEP + 1, f"IB order records of finished orders: {trader.orders.held}"
        assert len(trader.orders.executions) <= KEEP + 1, "fills of dropped orders"
        wrapper = trader.orders.conn.ib.wrapper
        assert len(wrapper.trades) <= KEEP + 1 and len(wrapper.fills) <= KEEP + 1, "ib_async's trades and fills"
        assert not gateway.broker._live, "finished orders left the gateway's working set"
        assert len(gateway.broker.orders) == orders, "the account's history (GET /state, state file) is whole"

        first = _intent(0)
        again = await execution.submit(first)  # long dropped from memory: the ledger answers
        assert again.replayed and again.order is not None and again.order["status"] == "closed"
        with pytest.raises(InvalidOrder, match=r"already used for an order that finished.*Use a new clientOrderId"):
            await trader.create_order("BHP/AUD", "market", "buy", 100, params={"clientOrderId": "trd-flat-0000"})
        assert len(gateway.state()["orders"]) == orders, "a dropped order's id was sent again"
        assert await trader.fetch_order(f"trd-flat-{2 * ROUND_TRIPS - 1:04d}"), "the latest finished ones are kept"
