"""Durable decisions, end to end: ``python -m runner`` processes killed with SIGKILL and restarted against the offline
gateway (paused; the test moves its clock), the outcome read from the gateway's control API (``GET /state``).

* issue 12, situation 2: a daily-bar decision made after the close waits for the next open; the runner is killed;
  the clock passes the next open and close; the restarted run decides the next bar, which replaces the waiting
  decision; killed again; restarted before the open: at the open the gateway receives ONE order, sized from the
  latest decision (it received two, 264 + 263 BHP);
* a decision the RiskManager rejected at the open does not come back when the run is resumed;
* a waiting decision older than its validity (``DEFERRED_DECISION_SESSIONS``) is never sent: a buy decided on
  4 March 2025 went out on 24 March after a restart; one still valid whose open passed while the runner was
  down goes at the next open.

The first three run on SQLite and PostgreSQL. In process, on the same gateway: a decision claimed but killed before
its order was recorded is sent once after restarts; a plan decision whose entry is refused is rejected for good.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest
import test_runner_processes as processes
from runner_helpers import wait_for

from runner.actions import DecisionExecutor
from runner.strategies import PlanProposal, Signal
from runner.telemetry import Telemetry
from sdk.calendars import get_calendar
from sdk.ledger import decisions as dl
from sdk.ledger import open_ledger
from sdk.ledger import queries as q
from sdk.services import build_services
from sdk.services.data import DataFetchCoordinator
from sdk.services.monitor import PlanMonitor
from sdk.services.schedule import BarSchedule

pytestmark = pytest.mark.slow

start_runner = processes.start_runner  # the fixture: one ``python -m runner`` child per call, killed at the end
RunnerProcess = processes.RunnerProcess
until_true = processes.until_true

ASX = get_calendar("ASX")
#: Tuesday 4 March 2025 (D), its ASX session 23:00-05:00 UTC; D+1 is 5 March, D+2 is 6 March.
D, D1 = datetime(2025, 3, 4, tzinfo=UTC), datetime(2025, 3, 5, tzinfo=UTC)  # IB's daily bar stamps
SESSION_D, SESSION_D1, SESSION_D2 = ASX.sessions(D, datetime(2025, 3, 6, 12, tzinfo=UTC))
ORDER_VALUE = Decimal(10_000)  # the runner's default: the smaller of MAX_ORDER_VALUE (25,000) and AUD 10,000
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
#: A restart after SIGKILL resumes the killed run once its lease expired: --take-over waits for that (LEASE_TTL 2 s).
DAILY = ("--timeframe", "1d", "--plugin", "decision_strategies", "--take-over")


@pytest.fixture(autouse=True)
def _short_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEASE_TTL", "2")


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def decisions(ledger_url: str) -> list[dict[str, Any]]:
    """Every decision of the (single) runner run, oldest bar first."""
    with open_ledger(ledger_url) as ledger:
        runs = [s["run_id"] for s in q.sessions(ledger) if s["program"] == "runner"]
        assert len(runs) <= 1, f"the restarts started new runs instead of resuming one: {runs}"
        return dl.decisions_of_run(ledger, runs[0]) if runs else []


def status_of(ledger_url: str, bar: datetime) -> str | None:
    return next((d["status"] for d in decisions(ledger_url) if d["bar_ts"] == ms(bar)), None)


def event_count(ledger_url: str, kind: str) -> int:
    with open_ledger(ledger_url) as ledger:
        return len(q.recent_events(ledger, kinds=[kind], limit=None))


async def kill(runner: RunnerProcess) -> None:
    runner.signal(signal.SIGKILL)
    assert await runner.wait() == -signal.SIGKILL


async def stop(runner: RunnerProcess) -> None:
    runner.signal(signal.SIGTERM)
    assert await runner.wait() == 0, runner.output[-3000:]


async def a_step_after(gw: Any, ledger_url: str, runner: RunnerProcess, to: datetime) -> None:
    """Move the gateway's clock to ``to`` (over an hour ahead) and wait until the runner has taken a whole step there:
    a step sends what waits for the open, then records the account summary (due every hour of the clock)."""
    before = event_count(ledger_url, "account_summary")
    gw.clock.jump(to)
    await until_true(lambda: event_count(ledger_url, "account_summary") > before, runner, f"a runner step at {to}")


async def decided_and_waiting(gw: Any, ledger_url: str, runner: RunnerProcess, bar: datetime) -> None:
    """Let ``bar``'s session close (the clock one minute past it) and wait until its decision waits for the open."""
    await until_true(lambda: "runner started" in runner.output, runner, "the runner's start")
    gw.clock.jump(ASX.next_session(bar).close + MINUTE)
    await until_true(lambda: status_of(ledger_url, bar) == "deferred", runner, f"the decision on {bar:%d %b} waits")


async def test_a_replaced_waiting_decision_is_not_sent_after_kills_and_restarts_only_the_latest_one_is(
    make_gateway: Any, start_runner: Any, ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFERRED_DECISION_SESSIONS", "2")  # D's decision still valid when D+1's replaces it
    gw = await make_gateway(start=SESSION_D.close - 10 * MINUTE)
    symbols = {"symbols": "BHP/AUD", "strategy": "alternate"}  # buys when flat: one buy decision per bar

    first = await start_runner(gw, ledger_url, *DAILY, **symbols)
    await decided_and_waiting(gw, ledger_url, first, D)
    await kill(first)

    gw.clock.jump(SESSION_D1.close + MINUTE)  # D+1's open and close pass while no runner runs
    second = await start_runner(gw, ledger_url, *DAILY, **symbols)
    await until_true(lambda: status_of(ledger_url, D1) == "deferred", second, "D+1's decision (caught up on) waits")
    await until_true(lambda: status_of(ledger_url, D) == "replaced", second, "D's decision replaced by D+1's")
    await kill(second)
    assert gw.state()["orders"] == [], "nothing was sent while the market was shut"

    # a minute on (the paused gateway would count the same history request twice in one instant as a pacing
    # violation), still long before D+2's open
    gw.clock.jump(SESSION_D1.close + 2 * MINUTE)
    third = await start_runner(gw, ledger_url, *DAILY, **symbols)
    await until_true(lambda: "runner started" in third.output, third, "the third runner's start")
    gw.clock.jump(SESSION_D2.open + MINUTE)
    await processes.orders_at(gw, 1, third)
    await until_true(lambda: status_of(ledger_url, D1) == "sent", third, "D+1's decision sent")
    with open_ledger(ledger_url) as ledger:
        await until_true(lambda: len(q.trades_with_commissions(ledger, limit=None)) == 1, third, "the fill")
    await stop(third)

    state = await processes.control(gw, "/state")
    rows = {d["bar_ts"]: d for d in decisions(ledger_url)}
    latest, replaced = rows[ms(D1)], rows[ms(D)]
    sizes = [(ORDER_VALUE / row["price"]).to_integral_value(rounding=ROUND_FLOOR) for row in (latest, replaced)]
    assert sizes[0] != sizes[1], "the two bars' closes size alike: the test could not tell them apart"
    assert len(state["orders"]) == 1, f"the gateway received {len(state['orders'])} orders: {state['orders']}"
    (order,) = state["orders"]
    assert order["orderRef"] == latest["client_order_id"] and order["action"] == "BUY"
    assert Decimal(str(order["totalQuantity"])) == sizes[0], "sized from the latest decision's close"
    assert (replaced["status"], latest["status"]) == ("replaced", "sent")
    processes.assert_ledger_matches_gateway(ledger_url, gw)


async def test_a_decision_the_risk_manager_rejected_at_the_open_does_not_come_back_at_a_resume(
    make_gateway: Any, start_runner: Any, ledger_url: str
) -> None:
    gw = await make_gateway(start=SESSION_D.close - 10 * MINUTE)
    too_big = {"symbols": "BHP/AUD", "strategy": "alternate"}  # 100,000 BHP: far above MAX_ORDER_VALUE

    first = await start_runner(gw, ledger_url, *DAILY, "--param", "units=100000", **too_big)
    await decided_and_waiting(gw, ledger_url, first, D)
    await a_step_after(gw, ledger_url, first, SESSION_D1.open + MINUTE)
    await until_true(lambda: status_of(ledger_url, D) == "rejected", first, "the rejection at the open")
    await kill(first)
    assert event_count(ledger_url, "risk_rejection") == 1

    second = await start_runner(gw, ledger_url, *DAILY, "--param", "units=100000", **too_big)
    await until_true(lambda: event_count(ledger_url, "runner.resumed") == 1, second, "the resume")
    await a_step_after(gw, ledger_url, second, SESSION_D1.open + 2 * HOUR)  # the market open, two hours on
    await stop(second)

    state = await processes.control(gw, "/state")
    assert state["orders"] == [] and not state["received"].get("placeOrder"), "the rejected decision was sent"
    assert event_count(ledger_url, "risk_rejection") == 1, "the rejected decision came back at the resume"
    assert [d["status"] for d in decisions(ledger_url)] == ["rejected"]
    with open_ledger(ledger_url) as ledger:
        changes = [(e["payload"]["from"], e["payload"]["to"]) for e in
                   reversed(q.recent_events(ledger, kinds=[dl.DECISION_EVENT], limit=None))]  # fmt: skip
    assert changes == [(None, "decided"), ("decided", "deferred"), ("deferred", "sent"), ("sent", "rejected")]


async def test_a_waiting_decision_past_its_validity_is_never_sent_after_a_restart_weeks_later(
    make_gateway: Any, start_runner: Any, ledger_url: str
) -> None:
    """The decision on 4 March waits for the open of 5 March, valid until its close (the default, one session);
    the runner is down until 24 March; restarted then, it never sends that decision."""
    gw = await make_gateway(start=SESSION_D.close - 10 * MINUTE)
    only_d = {"symbols": "BHP/AUD", "strategy": "buy_bar"}  # decides on bar D only, whatever is caught up on
    bar = ("--param", f"bar={ms(D)}")

    first = await start_runner(gw, ledger_url, *DAILY, *bar, **only_d)
    await decided_and_waiting(gw, ledger_url, first, D)
    await kill(first)

    march_24 = ASX.next_session(datetime(2025, 3, 24, tzinfo=UTC))
    gw.clock.jump(march_24.open - HOUR)  # an hour before the open of 24 March
    second = await start_runner(gw, ledger_url, *DAILY, *bar, **only_d)
    await until_true(lambda: status_of(ledger_url, D) == "expired", second, "the stale decision expired")
    await until_true(lambda: "runner started" in second.output, second, "the second runner's start")
    await a_step_after(gw, ledger_url, second, march_24.open + 2 * HOUR)  # two hours into 24 March's session
    await stop(second)

    state = await processes.control(gw, "/state")
    assert state["orders"] == [] and not state["received"].get("placeOrder"), "a three-week-old decision was sent"
    (row,) = decisions(ledger_url)
    assert row["status"] == "expired" and row["valid_until"] == ms(SESSION_D1.close)
    assert "end of its validity" in (row["reason"] or "")


async def test_a_waiting_decision_whose_open_passed_while_the_runner_was_down_goes_at_the_next_open_if_valid(
    make_gateway: Any, start_runner: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Valid for two sessions, D's decision missed D+1's open (the runner was down through it) and goes at D+2's:
    once. (Its wake time stayed at the open gone by, and the loop spun without yielding until the next open.)"""
    monkeypatch.setenv("DEFERRED_DECISION_SESSIONS", "2")
    gw = await make_gateway(start=SESSION_D.close - 10 * MINUTE)
    only_d = {"symbols": "BHP/AUD", "strategy": "buy_bar"}
    bar = ("--param", f"bar={ms(D)}")

    first = await start_runner(gw, sqlite_url, *DAILY, *bar, **only_d)
    await decided_and_waiting(gw, sqlite_url, first, D)
    await kill(first)

    gw.clock.jump(SESSION_D1.close + MINUTE)  # D+1's session came and went
    second = await start_runner(gw, sqlite_url, *DAILY, *bar, **only_d)
    await until_true(lambda: "runner started" in second.output, second, "the second runner's start")
    await a_step_after(gw, sqlite_url, second, SESSION_D2.open + 2 * HOUR)
    await processes.orders_at(gw, 1, second)
    await until_true(lambda: status_of(sqlite_url, D) == "sent", second, "D's decision sent")
    await stop(second)

    state = await processes.control(gw, "/state")
    (row,) = decisions(sqlite_url)
    assert [o["orderRef"] for o in state["orders"]] == [row["client_order_id"]], "one order, D's"
    assert row["valid_until"] == ms(SESSION_D2.close)


async def restarted_executor(gateway: Any, trader: Any, ledger: Any) -> DecisionExecutor:
    """What a restarted runner process builds for run ``run-k`` (services, plan monitor, executor), in process."""
    services = await build_services(
        trader.settings, trader, ledger, session_id="run-k", shadow=False, clock=gateway.clock.timestamp
    )
    spec = await trader.fetch_instrument("BHP/AUD")
    schedule = BarSchedule("ASX", "1d")
    data = DataFetchCoordinator(trader, gateway.clock.timestamp)
    monitor = PlanMonitor(services.plans, services.execution, data, lambda _: schedule, gateway.clock.timestamp)
    return DecisionExecutor(
        services, monitor, Telemetry(), strategy="alternate", timeframe="1d", order_value=ORDER_VALUE,
        schedule_of=lambda _: schedule, instrument_of=lambda _: spec,
    )  # fmt: skip


def record_buy_on_d_minus_one(gateway: Any, ledger: Any, executor: Any) -> tuple[str, str, int]:
    """A buy decision of run ``run-k`` on BHP's 3 March bar, recorded ``decided`` now on the gateway's clock:
    (decision id, client order id, now in ms)."""
    bar_ts, at = ms(datetime(2025, 3, 3, tzinfo=UTC)), int(gateway.clock.timestamp() * 1000)
    decision_id, key = executor.decision_id("BHP/AUD", bar_ts, 0), executor.client_order_id("BHP/AUD", bar_ts, 0)
    dl.record_decision(ledger, {
        "decision_id": decision_id, "run_id": "run-k", "strategy": "alternate", "symbol": "BHP/AUD",
        "timeframe": "1d", "bar_ts": bar_ts, "seq": 0, "kind": "signal", "side": "buy", "price": Decimal("40"),
        "not_before": at, "valid_until": ms(SESSION_D.close), "client_order_id": key,
        "body": {"kind": "signal", "side": "buy", "amount": None, "is_exit": False, "reason": "flat: buy"},
    }, at=at)  # fmt: skip
    return decision_id, key, at


async def test_a_decision_claimed_but_killed_before_its_order_was_recorded_is_sent_once_after_restarts(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    """The state a SIGKILL leaves between the claim (``sent``) and the order's ``submitting`` record: nothing reached
    the venue, so the restarted run sends it (same client order id, fresh risk check); a second restart does not."""
    trader = await make_trader(gateway, execute_orders=True)
    with open_ledger(sqlite_url) as ledger:
        first = await restarted_executor(gateway, trader, ledger)
        decision_id, key, at = record_buy_on_d_minus_one(gateway, ledger, first)
        assert dl.transition(ledger, decision_id, "sent", at=at)  # claimed; then SIGKILL

        second = await restarted_executor(gateway, trader, ledger)
        assert await second.restore_deferred() == 1 and await second.run_deferred() == 1
        assert second.deferred == []
        third = await restarted_executor(gateway, trader, ledger)
        assert await third.restore_deferred() == 0 and await third.run_deferred() == 0

        assert [(o["orderRef"], o["totalQuantity"]) for o in gateway.state()["orders"]] == [(key, 250.0)], (
            "one order, sized from the stored close: AUD 10,000 / 40 = 250 BHP"
        )
        row = dl.get_decision(ledger, decision_id)
    assert row is not None and row["status"] == "sent" and row["client_order_id"] == key


async def test_a_plan_decision_whose_entry_the_risk_manager_refuses_is_rejected_for_good(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    trader = await make_trader(gateway, execute_orders=True, max_order_value=1000)
    with open_ledger(sqlite_url) as ledger:
        executor = await restarted_executor(gateway, trader, ledger)
        bar = [ms(datetime(2025, 3, 3, tzinfo=UTC)), 40.0, 40.5, 39.5, 40.0, 1_000_000.0]
        proposal = PlanProposal("buy", stop=Decimal(20), target=Decimal(80), amount=Decimal(50))  # AUD 2,000 > 1,000
        outcome = await executor.act("BHP/AUD", bar, 0, proposal)
        (row,) = dl.decisions_of_run(ledger, "run-k")
        assert row["status"] == "rejected" and "max_order_value" in row["reason"], (outcome, row)
        restarted = await restarted_executor(gateway, trader, ledger)
        assert await restarted.restore_deferred() == 0
        assert await restarted.act("BHP/AUD", bar, 0, proposal) == "already rejected"
    assert gateway.state()["orders"] == []


async def test_a_send_that_fails_before_any_order_is_recorded_waits_and_goes_once_the_venue_is_back(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    """The venue is unreachable at the open (every connection dropped and refused): the claimed decision's send
    fails before an order is recorded, so it waits again (``deferred``, still queued) instead of being lost as
    ``sent``; once connections are allowed it goes, once."""
    trader = await make_trader(gateway, execute_orders=True)
    with open_ledger(sqlite_url) as ledger:
        executor = await restarted_executor(gateway, trader, ledger)
        decision_id, key, at = record_buy_on_d_minus_one(gateway, ledger, executor)
        assert dl.transition(ledger, decision_id, "deferred", at=at)
        assert await executor.restore_deferred() == 1

        gateway.set_faults("refuse_next=100000")
        gateway.drop_all_clients("test: outage at the open")
        await wait_for(lambda: not gateway.state()["clients"], what="the trader disconnected")
        await executor.run_deferred()
        row = dl.get_decision(ledger, decision_id)
        assert row is not None and row["status"] == "deferred" and "waits to be retried" in row["reason"], row
        assert [d.decision_id for d in executor.deferred] == [decision_id] and gateway.state()["orders"] == []

        gateway.set_faults("")
        await wait_for(lambda: bool(gateway.state()["clients"]), timeout=15, what="the trader reconnected")
        await trader.connection.ensure_ready(timeout=15)
        assert await executor.run_deferred() == 1
        assert [o["orderRef"] for o in gateway.state()["orders"]] == [key]
        assert dl.get_decision(ledger, decision_id)["status"] == "sent"  # type: ignore[index]


async def test_a_strategy_exit_closes_its_plan_when_the_entry_filled_since_the_monitor_last_looked(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    """The crash test's seed 20250304 found it: the plan's resting entry filled at the venue (the position shows it)
    while the plan still read ``pending`` (no monitor tick since); the strategy's exit went out as a plain sell beside
    the plan, which then read to the strategy as an entry on its way and kept it flat. The exit goes through the
    plan."""
    trader = await make_trader(gateway, execute_orders=True)
    with open_ledger(sqlite_url) as ledger:
        executor = await restarted_executor(gateway, trader, ledger)
        bar = [ms(datetime(2025, 3, 3, tzinfo=UTC)), 40.0, 40.5, 39.5, 40.0, 1_000_000.0]
        bid = Decimal(str((await trader.fetch_ticker("BHP/AUD"))["bid"]))
        entry = (bid - Decimal("0.05")).quantize(Decimal("0.01"))
        proposal = PlanProposal("buy", entry=entry, stop=(bid / 2).quantize(Decimal("0.01")),
                                target=(bid * 2).quantize(Decimal("0.01")), amount=Decimal(50))  # fmt: skip
        await executor.act("BHP/AUD", bar, 0, proposal)
        (plan,) = executor.services.plans.list()
        assert plan.status == "pending", "the entry rests under the market"

        def entry_filled() -> bool:
            return any(p["symbol"] == "BHP/AUD" and p["position"] == 50 for p in gateway.state()["positions"])

        for _ in range(240):  # the replayed session, a minute at a time, until it trades through the entry
            if entry_filled():
                break
            gateway.clock.advance(60)
        assert entry_filled(), f"the entry at {entry} never filled in the session"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not await _held(trader):  # the fill reaches the trader's positions (IB's position message)
            assert loop.time() < deadline, "the gateway's fill never reached the trader's positions"
            await asyncio.sleep(0.05)
        assert executor.services.plans.get(plan.plan_id).status == "pending", "no monitor tick has looked yet"

        await executor.act("BHP/AUD", bar, 1, Signal("sell", amount=Decimal(50), is_exit=True, reason="exit"))
        after = executor.services.plans.get(plan.plan_id)
        assert after.status == "closed" and len(after.exit_client_order_ids) == 1, after
        refs = [o["orderRef"] for o in gateway.state()["orders"]]
        assert refs[-1] == after.exit_client_order_ids[0], f"the exit went beside the plan: {refs}"
    assert not [p for p in gateway.state()["positions"] if p["symbol"] == "BHP/AUD" and p["position"]]


async def _held(trader: Any) -> bool:
    return any(p["symbol"] == "BHP/AUD" and p["contracts"] for p in await trader.fetch_positions(["BHP/AUD"]))
