"""An exit lost before IB acknowledged it is sent once more with the same client order id (issue 12, situation 3).

The runner runs as a real process (``python -m runner``) against the offline gateway in this process; the
gateway's ``lose_next`` fault closes the connection that carries the next new order instead of placing it (an
order in flight when the link died). The runner reconnects, reads IB's open and completed orders in full, proves
the exit never arrived, and sends it again with the same ``orderRef`` after a fresh risk check: the gateway's
``GET /state`` holds that exit exactly once and the position is closed. On SQLite and on PostgreSQL.

In process (the execution service and an IBTrader on the gateway over a real socket): an exit lost twice is
re-sent exactly once and then recorded ``rejected`` with an ``order.lost`` event, never sent a third time; an
exit whose fate cannot be proven (the gateway refuses reconnections, so IB's order lists cannot be read)
stays "unknown" with an event and a WARNING and is not re-sent, until the reconcile proves it lost; a plan
monitor started afresh sends such an exit again with its own id once it is proven lost, never a second exit.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest
from test_runner_processes import RunnerProcess, control, start_runner, until_true

from sdk.ledger import open_ledger
from sdk.ledger import queries as q

__all__ = ["start_runner"]  # the process fixture, shared with test_runner_processes
pytestmark = pytest.mark.slow


async def _advance_until(gw: Any, runner: RunnerProcess, condition: Any, what: str, minutes: int = 120) -> None:
    """Move the gateway's clock a minute at a time until ``condition()`` holds (the runner's log on failure)."""
    loop = asyncio.get_running_loop()
    for _ in range(minutes):
        if condition():
            return
        if runner.proc.returncode is not None:
            pytest.fail(f"the runner exited while waiting for {what}; its log:\n{runner.output[-4000:]}")
        gw.clock.advance(60)
        settle = loop.time() + 0.5  # a moment for the runner to act on that minute
        while not condition() and loop.time() < settle:
            await asyncio.sleep(0.05)
    await until_true(condition, runner, what, timeout=20)


def _sells(gw: Any) -> list[dict[str, Any]]:
    return [o for o in gw.state()["orders"] if o["action"] == "SELL"]


def _cba(gw: Any) -> float:
    return sum(p["position"] for p in gw.state()["positions"] if p["symbol"].startswith("CBA"))


async def test_an_exit_lost_before_ib_acknowledged_it_is_sent_once_more_with_the_same_id_and_closes_the_position(
    make_gateway: Any, start_runner: Any, ledger_url: str
) -> None:
    gw = await make_gateway()  # paused: only the test moves its clock
    runner = await start_runner(gw, ledger_url, symbols="CBA/AUD")
    await until_true(lambda: "runner started" in runner.output, runner, "the runner's start")
    await _advance_until(gw, runner, lambda: _cba(gw) > 0, "the entry (a buy of CBA) filled at the gateway")
    assert not _sells(gw), "the strategy sold before the fault was set: the test proves nothing"
    held = _cba(gw)

    await control(gw, "/faults", {"spec": "lose_next=1"})  # the next new order (the exit) dies in flight
    await _advance_until(gw, runner, lambda: gw.faults.lose_left == 0, "the exit sent (and lost in flight)")
    with open_ledger(ledger_url) as ledger:
        rows = [o for o in q.orders_by_client_prefix(ledger, "trd-") if o["side"] == "sell"]
        assert len(rows) == 1, f"one exit decided and recorded before it was sent: {rows}"
        lost_id = rows[0]["client_order_id"]

        await _advance_until(gw, runner, lambda: bool(_sells(gw)), "an exit at the gateway after the reconnect")
        await _advance_until(gw, runner, lambda: _cba(gw) == 0, "the position closed")
        first_sell = _sells(gw)[0]
        assert first_sell["orderRef"] == lost_id, "the lost exit was not re-sent with its client order id"
        assert first_sell["totalQuantity"] == held and first_sell["filled"] == held, first_sell
        await until_true(
            lambda: any(e["payload"]["client_order_id"] == lost_id
                        for e in q.recent_events(ledger, kinds=["order.resent"], limit=None)),
            runner, "the order.resent event",
        )  # fmt: skip
        await until_true(
            lambda: any(o["client_order_id"] == lost_id and o["status"] == "closed"
                        for o in q.orders_by_client_prefix(ledger, "trd-")),
            runner, "the re-sent exit closed in the ledger",
        )  # fmt: skip
    runner.signal(signal.SIGTERM)
    assert await runner.wait() == 0, runner.output[-3000:]

    state = await control(gw, "/state")
    refs = [o["orderRef"] for o in state["orders"]]
    assert refs.count(lost_id) == 1, "the re-send reached the gateway more than once"
    assert len(refs) == len(set(refs)), f"an order reached the gateway twice: {refs}"
    with open_ledger(ledger_url) as ledger:
        resent = [e for e in q.recent_events(ledger, kinds=["order.resent"], limit=None)]
        trades = q.trades_with_commissions(ledger, limit=None)
    assert [e["payload"]["client_order_id"] for e in resent] == [lost_id], "one re-send, of the lost exit only"
    assert resent[0]["payload"]["exit"] is True
    assert {t["trade_id"] for t in trades} == {e["execId"] for e in state["executions"]}, "every fill in the ledger"
    assert "sending it once more" in runner.output or "sent once more" in runner.output


def _sell_exit(cid: str) -> Any:
    from sdk.risk import OrderIntent

    return OrderIntent(symbol="BHP/AUD", side="sell", type="market", amount=100, is_exit=True, client_order_id=cid,
                       origin="strategy:test")  # fmt: skip


async def _long_bhp(gateway: Any, execution: Any) -> None:
    from sdk.risk import OrderIntent

    entry = OrderIntent(symbol="BHP/AUD", side="buy", type="market", amount=100, client_order_id="trd-entry-1",
                        origin="strategy:test")  # fmt: skip
    result = await execution.submit(entry)
    assert result.order is not None and result.order["status"] == "closed", result.to_dict()


async def test_an_exit_lost_twice_is_rejected_loudly_after_one_resend_and_never_sent_a_third_time(
    gateway: Any, make_trader: Any, ledger_url: str
) -> None:
    from sdk.services import build_services

    trader = await make_trader(gateway, execute_orders=True)
    with open_ledger(ledger_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="lost-2", shadow=False)
        await _long_bhp(gateway, services.execution)
        gateway.set_faults("lose_next=2")  # the exit and its one re-send both die in flight
        result = await services.execution.submit(_sell_exit("trd-exit-1"))
        assert gateway.faults.lose_left == 0, "the exit was sent, and sent once more"
        assert result.order is not None and result.order["status"] == "rejected", result.to_dict()
        again = await services.execution.submit(_sell_exit("trd-exit-1"))  # a retry: answered, nothing sent
        assert again.replayed and again.order is not None and again.order["status"] == "rejected"
        (row,) = [o for o in q.orders_by_client_prefix(ledger, "trd-exit") if o["client_order_id"] == "trd-exit-1"]
        resent = q.recent_events(ledger, kinds=["order.resent"], limit=None)
        lost = q.recent_events(ledger, kinds=["order.lost"], limit=None)
    assert row["status"] == "rejected" and row["info"]["stage"] == "lost" and row["info"]["lost"] is True
    assert [e["payload"]["client_order_id"] for e in resent] == ["trd-exit-1"], "exactly one re-send"
    assert [e["payload"]["client_order_id"] for e in lost] == ["trd-exit-1"] and lost[0]["payload"]["exit"] is True
    assert [o["orderRef"] for o in gateway.state()["orders"]] == ["trd-entry-1"], "the lost exit never arrived"
    assert services.execution.stats.resent == 1 and services.execution.stats.lost == 1


async def test_an_exit_whose_fate_is_unknown_stays_unknown_loudly_until_proven_lost_then_is_sent_once_more(
    gateway: Any, make_trader: Any, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The exit dies in flight and the gateway refuses reconnections: IB's order lists cannot be read, so whether
    it arrived is unknown. It is not re-sent; the ledger says "unknown", an event and a WARNING say so. Once
    the gateway takes connections again, the reconcile proves it lost and a retry with its id sends it once."""
    from sdk.errors import ExchangeError, NetworkError
    from sdk.services import build_services

    trader = await make_trader(gateway, execute_orders=True)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="unknown-1", shadow=False)
        await _long_bhp(gateway, services.execution)
        gateway.set_faults("lose_next=1,refuse_next=100000")
        with pytest.raises(NetworkError):
            await services.execution.submit(_sell_exit("trd-exit-u"))
        (row,) = q.orders_by_client_prefix(ledger, "trd-exit-u")
        unknown = q.recent_events(ledger, kinds=["order.unknown"], limit=None)
        assert row["status"] == "open" and row["info"]["stage"] == "unknown", row
        assert [e["payload"]["client_order_id"] for e in unknown] == ["trd-exit-u"]
        assert any(r.levelname == "WARNING" and "fate unknown" in r.getMessage() for r in caplog.records)
        assert not q.recent_events(ledger, kinds=["order.resent"], limit=None), "an unknown order was re-sent"
        with pytest.raises(ExchangeError, match="unknown"):  # a retry while it is unknown: nothing sent, no guess
            await services.execution.submit(_sell_exit("trd-exit-u"))
        assert len(q.recent_events(ledger, kinds=["order.unknown"], limit=None)) == 1, "one event per unknown spell"
        assert [o["orderRef"] for o in gateway.state()["orders"]] == ["trd-entry-1"]

        gateway.set_faults("")  # connections are taken again: the reconcile reads both lists
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while not (trader.orders.find("trd-exit-u") or _nothing()).lost:
            assert loop.time() < deadline, "the reconcile never proved the exit lost"
            await asyncio.sleep(0.05)
        again = await services.execution.submit(_sell_exit("trd-exit-u"))
        resent = q.recent_events(ledger, kinds=["order.resent"], limit=None)
    assert again.order is not None and again.order["status"] == "closed", again.to_dict()
    assert [e["payload"]["client_order_id"] for e in resent] == ["trd-exit-u"]
    assert [o["orderRef"] for o in gateway.state()["orders"]] == ["trd-entry-1", "trd-exit-u"], "sent once only"
    assert not await trader.fetch_positions(["BHP/AUD"]), "the position closed"


def _nothing() -> Any:
    class _Pending:
        lost = False

    return _Pending()


async def test_a_plan_exit_of_unknown_fate_is_sent_again_with_its_id_by_a_restarted_monitor_once_proven_lost(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    """A plan's exit dies in flight while reconnections are refused (its fate unknown, recorded as such). A monitor
    started afresh (a restarted process) does not take that exit for a working one: once the gateway takes
    connections and the exit is proven lost, its next check sends the same exit id once and the plan closes."""
    from decimal import Decimal

    from sdk.services import PlanRequest, build_services
    from sdk.services.data import DataFetchCoordinator
    from sdk.services.monitor import PlanMonitor
    from sdk.services.schedule import BarSchedule

    trader = await make_trader(gateway, execute_orders=True)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="plan-lost", shadow=False)

        def monitor() -> PlanMonitor:
            data = DataFetchCoordinator(services.trader, gateway.clock.timestamp, quote_ttl=0)
            schedule = BarSchedule("ASX", "1d")
            return PlanMonitor(services.plans, services.execution, data, lambda s: schedule, gateway.clock.timestamp)

        bid = Decimal(str((await trader.fetch_ticker("BHP/AUD"))["bid"]))
        plan = await services.plans.create(
            PlanRequest(symbol="BHP/AUD", amount=100, stop=bid - 1, target=bid + 1, origin="agent:test")
        )
        assert plan.status == "active" and plan.held == 100, plan
        await services.plans.update(plan.plan_id, stop=bid + Decimal("0.05"))  # the bid is now under the stop
        gateway.set_faults("lose_next=1,refuse_next=100000")
        assert await monitor().check() == [], "the exit's fate is unknown: the plan did not change"
        (exit_id,) = services.plans.get(plan.plan_id).exit_client_order_ids
        (row,) = q.orders_by_client_prefix(ledger, exit_id)
        assert row["info"]["stage"] == "unknown" and row["status"] == "open", row

        restarted = monitor()
        await restarted.load()
        gateway.set_faults("")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while not (trader.orders.find(exit_id) or _nothing()).lost:
            assert loop.time() < deadline, "the reconcile never proved the exit lost"
            await asyncio.sleep(0.05)
        (after,) = await restarted.check()
    assert after.status == "closed" and after.exit_client_order_ids == (exit_id,), after.to_dict()
    assert [o["orderRef"] for o in gateway.state()["orders"]].count(exit_id) == 1
    assert not await trader.fetch_positions(["BHP/AUD"]), "the position closed"
