"""The MCP server's trading session holds the account's lease, and picks up at start what nobody watched.

* a second trading server on the same account and ledger is refused at start, naming the first (host, pid,
  client id) and since when; the first's lease is released when it stops;
* a resting order placed by a server that then stopped fills at the gateway while no process is connected:
  the next server on that ledger and account records the fill and the order's new status at start, once.

Each server is a fresh lifespan (venue connection, services, tokens) on the real gateway over a real socket.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from mcp_helpers import (
    FakeTime,
    Harness,
    build_test_server,
    copy_ledger,
    gateway_trader,
    server_settings,
    start_gateway,
)

from mcp_server.state import make_lifespan
from sdk.clock import SimulatedClock
from sdk.ledger import open_ledger
from sdk.ledger import queries as q
from sdk.ledger.leases import read
from sdk.services.lease import RunHeld

pytestmark = pytest.mark.shared_data
RESTING_BHP = {"symbol": "BHP/AUD", "side": "buy", "amount": 100, "type": "limit", "price": 37.40}


async def test_a_second_trading_server_on_one_account_is_refused_and_unwatched_fills_are_picked_up(
    catalog: Any, ledger_template: Path, tmp_path: Path
) -> None:
    gw = await start_gateway(catalog, tmp_path / "gateway.json")
    url = copy_ledger(ledger_template, tmp_path / "ledger")
    settings = server_settings(gw, url, tmp_path, mcp_trading_enabled=True, execute_orders=True)
    try:
        states: list[Any] = []
        first = await Harness(build_test_server(gw, settings, FakeTime(), states)).start()
        try:
            other = server_settings(
                gw, url, tmp_path, mcp_trading_enabled=True, execute_orders=True, mcp_ib_client_id=91
            )  # IB would refuse a second session on client id 90
            lifespan = make_lifespan(other, trader_factory=gateway_trader(gw), clock=SimulatedClock(gw.clock),
                                     watch_interval=0)  # fmt: skip
            with pytest.raises(RunHeld) as refused:
                async with lifespan(None):  # type: ignore[arg-type]
                    pass
            assert "mcp:IB:DU****001 is held by another process" in str(refused.value)
            pid, client_id = refused.value.lease.pid, settings.mcp_ib_client_id
            assert f"pid {pid}, client id {client_id}, since " in str(refused.value), str(refused.value)

            preview = await first.ok("preview_order", RESTING_BHP)
            placed = await first.ok("place_order", {"token": preview["token"]})
            ref = placed["client_order_id"]
            assert placed["order"]["status"] == "open"
        finally:
            await first.stop()
        with open_ledger(url) as ledger:
            lease = read(ledger, "mcp:IB:DU****001")
        assert lease is not None and not lease.live, "a stopped server released its lease"

        deadline = asyncio.get_running_loop().time() + 30
        while gw.state()["clients"]:  # the gateway notices the closed session
            assert asyncio.get_running_loop().time() < deadline, "the stopped server is still connected"
            await asyncio.sleep(0.05)
        for _ in range(12 * 6):  # nobody connected: the order fills at the gateway meanwhile
            gw.clock.advance(300)
            if gw.state()["executions"]:
                break
        (execution,) = gw.state()["executions"]
        assert execution["orderRef"] == ref
        with open_ledger(url) as ledger:
            assert q.trades_with_commissions(ledger, limit=None) == []

        second = await Harness(build_test_server(gw, settings, FakeTime(), states)).start()
        await second.stop()
        with open_ledger(url) as ledger:
            trades = q.trades_with_commissions(ledger, limit=None)
            (row,) = q.orders_by_client_prefix(ledger, "trd-")
        assert [t["trade_id"] for t in trades] == [execution["execId"]], "the unwatched fill, once"
        assert row["client_order_id"] == ref and row["status"] == "closed"
        assert [o["orderRef"] for o in gw.state()["orders"]] == [ref], "nothing was sent again"
    finally:
        await gw.stop()


async def test_a_trading_server_whose_lease_was_taken_sends_nothing(
    catalog: Any, ledger_template: Path, tmp_path: Path
) -> None:
    from sqlalchemy import update

    from sdk.ledger.models import LeaseRow

    gw = await start_gateway(catalog, tmp_path / "gateway.json")
    url = copy_ledger(ledger_template, tmp_path / "ledger")
    settings = server_settings(gw, url, tmp_path, mcp_trading_enabled=True, execute_orders=True)
    states: list[Any] = []
    server = await Harness(build_test_server(gw, settings, FakeTime(), states)).start()
    try:
        preview = await server.ok("preview_order", RESTING_BHP)
        with open_ledger(url) as ledger, ledger.write() as conn:  # another server took the account over
            conn.execute(update(LeaseRow).where(LeaseRow.resource == "mcp:IB:DU****001")
                         .values(holder="elsewhere:1:other", host="elsewhere", pid=1))  # fmt: skip
        assert await states[0].lease.renew_now() is None and states[0].lease.lost  # its next heartbeat
        refused = await server.error("place_order", {"token": preview["token"]})
        assert "no longer owns" in refused and "elsewhere" in refused, refused
        assert gw.state()["orders"] == [], "an order went out after the lease was lost"
    finally:
        await server.stop()
        await gw.stop()
