"""One owner per run, with real processes (``python -m runner``) on the offline gateway, on SQLite and PostgreSQL.

* issue 12, situation 1: the same ``trader run ... --execute`` started again while the first still trades
  (``IB_CLIENT_ID_MAX`` leaving it another client id) is refused at start, naming the holder (host, pid,
  client id) and since when; the gateway's ``GET /state`` shows every client order id sent once;
* a run killed with SIGKILL is resumed by ``--take-over`` only once its lease expired on the database's clock,
  without a duplicate order; orders record the holder and client id that sent them;
* late fills: an order that filled while no process watched (its runner SIGKILLed) is picked up at start by
  the next process on that ledger and account, under another client id and in another run;
* another live holder's "submitting" order is neither re-sent nor reported lost; a runner whose lease was
  taken over stops; ``--take-over`` against a live runner waits, then is refused.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from typing import Any

import pytest
from test_runner_processes import (  # the runner-process helpers of the runner's process tests
    assert_ledger_matches_gateway,
    control,
    orders_at,
    start_runner,
    until_true,
)

from sdk.ledger import open_ledger
from sdk.ledger import queries as q
from sdk.ledger.leases import read

pytestmark = pytest.mark.slow
__all__ = ["start_runner"]  # the fixture, imported for these tests
SPARE_CLIENT_IDS = {"IB_CLIENT_ID": "1", "IB_CLIENT_ID_MAX": "5"}  # a second process would get client id 2


@pytest.mark.parametrize("clock", ["control", "venue"])
async def test_a_second_process_for_a_live_run_is_refused_naming_the_holder(
    make_gateway: Any, start_runner: Any, ledger_url: str, clock: str
) -> None:
    """``clock``: the gateway's control API, or ``--clock venue`` (trader run's default on IB: the second process
    connects to the venue, under client id 2, before it learns the run is held)."""
    gw = await make_gateway(speed=1200)
    args = ("--clock", "venue") if clock == "venue" else ()
    env = {**SPARE_CLIENT_IDS, "LEASE_TTL": "6"}  # a heartbeat every 2 s
    first = await start_runner(gw, ledger_url, *args, env=env)
    await orders_at(gw, 2, first, timeout=60)
    with open_ledger(ledger_url) as ledger:
        (session,) = [s for s in q.sessions(ledger) if s["program"] == "runner"]
    run_id = session["run_id"]

    second = await start_runner(gw, ledger_url, *args, env=env)
    assert await second.wait(timeout=60) == 3, second.output[-3000:]
    refusal = second.output
    assert f"refused: run:{run_id} is held by another process" in refusal
    assert f"pid {first.proc.pid}, client id 1, since 20" in refusal, refusal
    assert "resumed an interrupted run" not in refusal
    assert first.proc.returncode is None, "the first runner trades on"

    with open_ledger(ledger_url) as ledger:  # the first still holds its run: its heartbeat goes on
        before = read(ledger, f"run:{run_id}")
        assert before is not None and before.pid == first.proc.pid
        await until_true(lambda: read(ledger, f"run:{run_id}").heartbeat_at > before.heartbeat_at,  # type: ignore[union-attr]
                         first, "the first runner's next heartbeat")  # fmt: skip
    first.signal(signal.SIGTERM)
    assert await first.wait() == 0, first.output[-3000:]

    state = await control(gw, "/state")  # the gateway's own record, over HTTP
    refs = Counter(o["orderRef"] for o in state["orders"])
    assert refs and max(refs.values()) == 1, f"a client order id reached the gateway twice: {refs.most_common(3)}"
    assert {o["clientId"] for o in state["orders"]} == {1}, "only the holder's client id sent orders"
    orders, _ = assert_ledger_matches_gateway(ledger_url, gw)
    with open_ledger(ledger_url) as ledger:
        sessions = [s for s in q.sessions(ledger) if s["program"] == "runner"]
        lease = read(ledger, f"run:{run_id}")
    assert [s["run_id"] for s in sessions] == [run_id] and sessions[0]["end_reason"] == "stopped by SIGTERM"
    assert {(o["client_id"], o["holder"].split(":")[1]) for o in orders} == {(1, str(first.proc.pid))}
    assert lease is not None and not lease.live, "a clean stop releases the lease"


async def test_a_killed_run_is_taken_over_only_after_its_lease_expired(
    make_gateway: Any, start_runner: Any, ledger_url: str
) -> None:
    gw = await make_gateway(speed=600)  # the session outlasts the lease's expiry and the restart
    short = {**SPARE_CLIENT_IDS, "LEASE_TTL": "3"}
    first = await start_runner(gw, ledger_url, env=short)
    await orders_at(gw, 2, first)
    first.signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    with open_ledger(ledger_url) as ledger:
        (session,) = q.sessions(ledger)
        dead = read(ledger, f"run:{session['run_id']}")
    assert dead is not None and dead.pid == first.proc.pid

    second = await start_runner(gw, ledger_url, "--take-over", env=short)
    await orders_at(gw, len(gw.state()["orders"]) + 2, second)
    second.signal(signal.SIGTERM)
    assert await second.wait() == 0, second.output[-3000:]

    orders, _ = assert_ledger_matches_gateway(ledger_url, gw)
    with open_ledger(ledger_url) as ledger:
        sessions = q.sessions(ledger)
        resumed = q.recent_events(ledger, kinds=["runner.resumed"], limit=None)
        taken = read(ledger, f"run:{session['run_id']}")
        (handover,) = q.recent_events(ledger, kinds=["runner.lease_taken"], limit=None)
    assert [s["run_id"] for s in sessions] == [session["run_id"]] and resumed, "the killed run itself was resumed"
    assert taken is not None and taken.pid == second.proc.pid
    assert taken.acquired_at >= dead.expires_at, "the lease was taken before the killed holder's lease expired"
    assert handover["payload"]["previous"]["pid"] == first.proc.pid, "the take-over is in the ledger, naming the dead"
    assert {o["holder"].split(":")[1] for o in orders} == {str(first.proc.pid), str(second.proc.pid)}


async def test_a_fill_nobody_watched_is_picked_up_at_start_by_the_next_process(
    make_gateway: Any, start_runner: Any, ledger_url: str
) -> None:
    """A DAY limit buy rests at the gateway; its runner is SIGKILLed; the order fills while no process is
    connected. A new run on the same ledger and account (another client id) records that fill and the
    order's new status at start, once, and sends nothing again."""
    gw = await make_gateway()  # paused: the test moves the clock
    first = await start_runner(gw, ledger_url, "--param", "below=0.5", strategy="rest_once", symbols="BHP/AUD")
    await until_true(lambda: "runner started" in first.output, first, "the runner's start")
    for _ in range(60):
        if gw.state()["orders"]:
            break
        gw.clock.advance(60)
        await asyncio.sleep(0.3)
    (order,) = gw.state()["orders"]
    ref = order["orderRef"]
    with open_ledger(ledger_url) as ledger:
        await until_true(lambda: any(o["client_order_id"] == ref for o in q.orders_by_client_prefix(ledger, "trd-")),
                         first, "the entry order in the ledger")  # fmt: skip
    first.signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while gw.state()["clients"]:
        assert loop.time() < deadline, "the gateway never noticed the killed runner"
        await asyncio.sleep(0.05)
    for _ in range(12 * 6):
        gw.clock.advance(300)
        if gw.state()["executions"]:
            break
    (execution,) = gw.state()["executions"]
    assert execution["orderRef"] == ref
    with open_ledger(ledger_url) as ledger:
        assert q.trades_with_commissions(ledger, limit=None) == [], "nobody watched: the ledger lacks the fill"

    env = {"IB_CLIENT_ID": "7"}
    second = await start_runner(gw, ledger_url, "--new-run", strategy="rest_once", symbols="BHP/AUD", env=env)
    with open_ledger(ledger_url) as ledger:
        await until_true(lambda: any(t["trade_id"] == execution["execId"]
                                     for t in q.trades_with_commissions(ledger, limit=None)),
                         second, "the unwatched fill in the ledger")  # fmt: skip
        await until_true(lambda: any(e["payload"]["reason"] == "start"
                                     for e in q.recent_events(ledger, kinds=["resync"], limit=None)),
                         second, "the start resync")  # fmt: skip
    second.signal(signal.SIGTERM)
    assert await second.wait() == 0, second.output[-3000:]

    _, trades = assert_ledger_matches_gateway(ledger_url, gw)
    assert [t["trade_id"] for t in trades] == [execution["execId"]]
    assert [o["orderRef"] for o in gw.state()["orders"]] == [ref], "nothing was sent again"
    with open_ledger(ledger_url) as ledger:
        (row,) = [o for o in q.orders_by_client_prefix(ledger, "trd-") if o["client_order_id"] == ref]
        sessions = q.sessions(ledger)
    assert row["status"] == "closed" and row["filled"] == order["totalQuantity"]
    assert len(sessions) == 2, "the next process was another run"


async def test_another_live_holders_submitting_order_is_never_treated_as_lost(
    gateway: Any, make_trader: Any, ledger_url: str
) -> None:
    """Another process (its lease live) recorded an order as "submitting" that this client cannot see yet:
    neither a submit with its id nor a resync takes it for lost, nothing is sent; once that holder's lease is
    gone, the same id is sent once."""
    from sdk.errors import ExchangeError
    from sdk.ledger.leases import Holder, acquire, release
    from sdk.risk import OrderIntent
    from sdk.services import build_services
    from sdk.services.resync import ResyncService

    trader = await make_trader(gateway, execute_orders=True)
    other, mine = Holder("desk-2", 4242, "other"), Holder.this_process()
    intent = OrderIntent(symbol="BHP/AUD", side="buy", type="market", amount=100, client_order_id="trd-inflight-1",
                         origin="strategy:test")  # fmt: skip
    with open_ledger(ledger_url) as ledger:
        acquire(ledger, "run:run-other", other, ttl=600, client_id=2)
        writer = ledger.writer()
        writer.start_session(venue="IB", account="DU0000001", base_currency="AUD", mode="paper", run_id="run-other")
        writer.sender = (other.id, 2)
        writer.record_order(
            {"clientOrderId": "trd-inflight-1", "symbol": "BHP/AUD", "side": "buy", "type": "market", "amount": 100,
             "status": "open", "info": {"stage": "submitting"}},
            shadow=False,
        )  # fmt: skip
        services = await build_services(trader.settings, trader, ledger, session_id="run-mine", shadow=False)
        services.writer.sender = (mine.id, 1)

        with pytest.raises(ExchangeError, match=r"being sent by another live process \(desk-2, pid 4242"):
            await services.execution.submit(intent)
        report = await ResyncService(services).run("start")
        assert report.orders_elsewhere == ["trd-inflight-1"] and report.orders_unknown == []
        assert gateway.state()["orders"] == [], "another process's in-flight order was sent again"

        assert release(ledger, "run:run-other", other)  # that process stopped: the order is provably ours to send
        result = await services.execution.submit(intent)
        assert result.order is not None and result.order["status"] == "closed"
        assert [o["orderRef"] for o in gateway.state()["orders"]] == ["trd-inflight-1"]


async def test_a_runner_that_lost_its_lease_stops_trading(
    make_gateway: Any, start_runner: Any, ledger_url: str
) -> None:
    """Another process took the run's lease (as after a stall longer than LEASE_TTL): the runner's next heartbeat
    finds it is no longer the holder and stops, saying why."""
    from sqlalchemy import update

    from sdk.ledger.models import LeaseRow

    gw = await make_gateway(speed=600)
    runner = await start_runner(gw, ledger_url, env={"LEASE_TTL": "3"})
    await orders_at(gw, 1, runner)
    with open_ledger(ledger_url) as ledger:
        (session,) = q.sessions(ledger)
        with ledger.write() as conn:
            conn.execute(update(LeaseRow).where(LeaseRow.resource == f"run:{session['run_id']}")
                         .values(holder="elsewhere:1:thief", host="elsewhere", pid=1))  # fmt: skip
    assert await runner.wait(timeout=60) == 3, "a lost lease is not a clean end: " + runner.output[-3000:]
    assert "lease lost: the lease of run:" in runner.output and "held by host elsewhere, pid 1" in runner.output
    with open_ledger(ledger_url) as ledger:
        (ended,) = q.sessions(ledger)
    assert ended["end_reason"].startswith("stopped by lease lost")


async def test_take_over_waits_but_never_displaces_a_live_runner(
    make_gateway: Any, start_runner: Any, ledger_url: str
) -> None:
    gw = await make_gateway(speed=600)
    env = {**SPARE_CLIENT_IDS, "LEASE_TTL": "2"}  # --take-over waits at most what is left plus 2 x 2 s
    first = await start_runner(gw, ledger_url, env=env)
    await orders_at(gw, 2, first, timeout=60)
    second = await start_runner(gw, ledger_url, "--take-over", env=env)
    assert await second.wait(timeout=60) == 3, second.output[-3000:]
    assert "is still held after waiting" in second.output and f"pid {first.proc.pid}" in second.output
    assert "resumed an interrupted run" not in second.output
    assert first.proc.returncode is None
    first.signal(signal.SIGTERM)
    assert await first.wait() == 0, first.output[-3000:]
    assert_ledger_matches_gateway(ledger_url, gw)
