"""The plan monitor and the health circuit on the offline gateway (real socket, real ASX data, paused clock)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from runner_helpers import wait_for

from runner.health import CircuitState, HealthCircuitManager
from sdk.errors import InvalidOrder, NetworkError
from sdk.ledger import open_ledger
from sdk.ledger import queries as q
from sdk.services import PlanRequest, Services, build_services
from sdk.services.data import DataFetchCoordinator
from sdk.services.monitor import PlanMonitor
from sdk.services.schedule import BarSchedule

#: 10:30 New York on a day with SPY's real 1-minute bars (Polygon file, 2024-02-20..2024-05-17).
NYSE_OPEN_2024 = datetime(2024, 3, 1, 15, 30, tzinfo=UTC)


def monitor_for(services: Services, gw: Any, market: str = "ASX") -> PlanMonitor:
    data = DataFetchCoordinator(services.trader, gw.clock.timestamp, quote_ttl=0)
    schedule = BarSchedule(market, "1d")
    return PlanMonitor(services.plans, services.execution, data, lambda s: schedule, gw.clock.timestamp)


async def bid_of(trader: Any, symbol: str = "BHP/AUD") -> Decimal:
    return Decimal(str((await trader.fetch_ticker(symbol))["bid"]))


@pytest.mark.parametrize(("level", "why"), [("stop", "stop"), ("target", "target")])
async def test_an_active_plan_exits_at_its_stop_or_target_as_an_ioc_marketable_limit(
    gateway: Any, make_trader: Any, sqlite_url: str, level: str, why: str
) -> None:
    trader = await make_trader(gateway)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="mon-1", shadow=True)
        monitor = monitor_for(services, gateway)
        bid = await bid_of(trader)
        stop, target = (bid + Decimal("0.05"), bid + 1) if level == "stop" else (bid - 1, bid - Decimal("0.05"))
        plan = await services.plans.create(
            PlanRequest(symbol="BHP/AUD", amount=200, stop=stop, target=target, origin="agent:test")
        )
        assert plan.status == "active" and plan.held == 200

        (after,) = await monitor.check()
        assert after.status == "closed" and after.held == 0 and after.exit_reason is not None
        assert after.exit_reason.startswith(f"{why} ")
        (exit_cid,) = after.exit_client_order_ids
        exit_order = q.orders_by_client_prefix(ledger, exit_cid)[0]
        assert (exit_order["side"], exit_order["type"], exit_order["time_in_force"]) == ("sell", "limit", "IOC")
        assert exit_order["plan_id"] == plan.plan_id and exit_order["status"] == "closed" and exit_order["shadow"]
        assert await services.venue.fetch_positions(["BHP/AUD"]) == []
        assert (q.open_plans(ledger, statuses={"closed"})[0]["info"] or {})["exit_reason"] == after.exit_reason
        assert await monitor.check() == [], "a closed plan is not exited twice"


async def test_no_exit_between_stop_and_target_nor_while_the_market_is_shut(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    trader = await make_trader(gateway)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="mon-2", shadow=True)
        monitor = monitor_for(services, gateway)
        bid = await bid_of(trader)
        plan = await services.plans.create(
            PlanRequest(symbol="BHP/AUD", amount=100, stop=bid - 1, target=bid + 1, origin="agent:test")
        )
        assert await monitor.check() == [] and services.plans.get(plan.plan_id).status == "active"
        gateway.clock.advance(7 * 3600)  # past the 16:00 close
        await services.plans.update(plan.plan_id, stop=bid * 2, target=bid * 3)  # would trigger if checked
        assert await monitor.check() == [], "no exit while ASX is shut"


async def test_a_partly_filled_exit_leaves_the_plan_active_until_all_of_it_is_out(
    make_gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    """SPY's real 1-minute bars bound what one minute can fill: at this participation a few shares at a time."""
    gw = await make_gateway(start=NYSE_OPEN_2024, participation=0.00005)
    trader = await make_trader(gw, execute_orders=True)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="mon-3", shadow=False)
        monitor = monitor_for(services, gw, market="NYSE")
        ask = Decimal(str((await trader.fetch_ticker("SPY/USD"))["ask"]))
        plan = await services.plans.create(
            PlanRequest(symbol="SPY/USD", amount=30, entry=ask + 1, stop=ask - 20, target=ask + 20, origin="agent:test")
        )
        minutes = 0
        while services.plans.get(plan.plan_id).filled < 30 and minutes < 30:  # the DAY entry fills minute by minute
            gw.clock.advance(60)
            minutes += 1
            await asyncio.sleep(0.05)
            await monitor.on_orders(await services.execution.refresh_open_orders())
        plan = services.plans.get(plan.plan_id)
        assert (plan.status, plan.filled) == ("active", Decimal(30)) and minutes > 1, "filled over several minutes"

        await services.plans.update(plan.plan_id, stop=ask + 50, target=ask + 60)  # the bid is now below the stop
        (first,) = await monitor.check()
        partly = None
        for _ in range(40):
            gw.clock.advance(60)
            await asyncio.sleep(0.05)
            await monitor.on_orders(await services.execution.refresh_open_orders())
            now = services.plans.get(plan.plan_id)
            if now.status == "active" and Decimal(0) < now.exited < 30:
                partly = partly or now
            if now.status == "closed":
                break
            await monitor.check()
        done = services.plans.get(plan.plan_id)
        assert partly is not None, "the exit filled in parts and the plan stayed active meanwhile"
        assert done.status == "closed" and done.exited == 30 and done.held == 0
        refs = [o["orderRef"] for o in gw.state()["orders"]]
        assert refs == [done.entry_client_order_id, *done.exit_client_order_ids], "no exit sent twice"
        sold = sum(e["shares"] for e in gw.state()["executions"] if e["orderRef"] in done.exit_client_order_ids)
        assert sold == 30 and first.exit_client_order_ids == done.exit_client_order_ids[:1]


async def test_a_pending_plan_expires_at_valid_until_and_its_entry_is_cancelled(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    trader = await make_trader(gateway)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="mon-4", shadow=True)
        monitor = monitor_for(services, gateway)
        low = (await bid_of(trader) * Decimal("0.9")).quantize(Decimal("0.01"))
        valid_until = int((gateway.clock.timestamp() + 60) * 1000)
        plan = await services.plans.create(
            PlanRequest(
                symbol="BHP/AUD",
                amount=100,
                entry=low,
                stop=low - 1,
                target=low + 5,
                origin="agent:test",
                valid_until=valid_until,
            )
        )
        assert plan.status == "pending"
        assert await monitor.check() == []
        gateway.clock.advance(120)
        (expired,) = await monitor.check()
        assert expired.status == "expired"
        assert q.orders_by_client_prefix(ledger, plan.entry_client_order_id)[0]["status"] == "canceled"


async def test_the_health_circuit_opens_on_a_drop_probes_and_closes_with_every_change_recorded(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    trader = await make_trader(gateway)
    with open_ledger(sqlite_url) as ledger:
        writer = ledger.writer()
        writer.start_session(venue="IB", base_currency="AUD", mode="shadow", run_id="health-1")
        circuit = HealthCircuitManager(trader, writer, session_id="health-1", cooldown=0.2, failure_threshold=2,
                                       clock=gateway.clock.timestamp)  # fmt: skip
        resynced: list[str] = []

        async def on_resynced(reason: str) -> None:
            resynced.append(reason)

        circuit.on_resynced.append(on_resynced)
        circuit.attach()
        assert not circuit.record_failure(InvalidOrder("a refused order is not a venue failure"))
        assert circuit.state == CircuitState.CLOSED

        gateway.drop_all_clients("test")
        await wait_for(lambda: circuit.state != CircuitState.CLOSED, what="the circuit to open")
        await wait_for(lambda: resynced == ["reconnect"], what="the venue to reconnect and resync")
        assert circuit.state == CircuitState.HALF_OPEN
        circuit.record_success()
        assert circuit.state == CircuitState.CLOSED

        assert circuit.record_failure(NetworkError("lost")) and circuit.state == CircuitState.CLOSED
        circuit.record_failure(NetworkError("lost again"))
        assert circuit.state == CircuitState.OPEN and not await circuit.allow(), "closed to steps while cooling down"
        await asyncio.sleep(0.25)  # the cooldown, in wall seconds
        assert await circuit.allow() and circuit.state == CircuitState.HALF_OPEN, "probed with maybe_reconnect"
        circuit.detach()
        await circuit.drain()
        events = reversed(q.recent_events(ledger, kinds=["circuit"]))
        changes = [(e["payload"]["from"], e["payload"]["to"]) for e in events]
        assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed"), ("closed", "open"),
                           ("open", "half_open")]  # fmt: skip
        kinds = {e["payload"]["kind"] for e in q.recent_events(ledger, kinds=["connectivity"])}
        assert {"disconnected", "reconnected", "resynced"} <= kinds
