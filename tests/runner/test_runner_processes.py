"""The runner as a separate process (``python -m runner``, i.e. ``trader run``) against an offline gateway
in this process, following the gateway's simulated clock through its control API.

* killed with SIGKILL mid-run and started again: it resumes the same run and no order is sent twice;
* an order rests at the gateway, every connection is dropped and refused, and the order fills meanwhile:
  after the reconnect and resync the ledger holds that fill exactly once and the order was not sent again;
* shadow mode: the gateway's control API (HTTP) proves nothing was sent; SIGTERM stops it with exit status 0
  and the session ended in the ledger;
* ``trader run --exchange IB ... --until`` with no ``--clock`` follows the gateway's replayed clock and exits 0
  at ``--until`` on it, every daily bar before it decided on.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sdk.calendars import get_calendar
from sdk.ledger import open_ledger
from sdk.ledger import queries as q

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.slow


class RunnerProcess:
    """One ``python -m runner`` child, its log in a file."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc = proc
        self.log = log

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def wait(self, timeout: float = 30) -> int:
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            pytest.fail(f"the runner did not exit within {timeout} s; its log:\n{self.output[-4000:]}")

    def signal(self, sig: int) -> None:
        if self.proc.returncode is None:
            os.kill(self.proc.pid, sig)


@pytest.fixture
async def start_runner(tmp_path: Path) -> Any:
    started: list[RunnerProcess] = []

    async def start(
        gw: Any, ledger_url: str, *args: str, execute: bool = True, strategy: str = "alternate",
        symbols: str = "BHP/AUD,CBA/AUD", env: dict[str, str] | None = None,
    ) -> RunnerProcess:  # fmt: skip
        env = {**runner_env(gw, ledger_url), **(env or {})}
        log = tmp_path / f"runner-{len(started)}.log"
        command = [
            sys.executable, "-m", "runner", "--symbols", symbols, "--strategy", strategy,
            "--plugin", "runner_test_strategies", "--timeframe", "5m", "--clock", f"http://127.0.0.1:{gw.control_port}",
            "--execute" if execute else "--shadow", "--monitor-interval", "30", *args,
        ]  # fmt: skip
        with log.open("wb") as sink:
            proc = await asyncio.create_subprocess_exec(*command, stdout=sink, stderr=sink, env=env, cwd=tmp_path)
        runner = RunnerProcess(proc, log)
        started.append(runner)
        return runner

    yield start
    for runner in started:
        if runner.proc.returncode is None:
            runner.proc.kill()
            await runner.proc.wait()


def runner_env(gw: Any, ledger_url: str) -> dict[str, str]:
    """This process's environment without IB/ledger/mode settings, pointed at ``gw`` and ``ledger_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IB_", "DATABASE_", "EXECUTE_", "LOG_"))}
    env.update(
        IB_PORT=str(gw.port), IB_HOST="127.0.0.1", IB_CONNECT_TIMEOUT="5", IB_HEARTBEAT_INTERVAL="2",
        DATABASE_URL=ledger_url, LOG_LEVEL="INFO", PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
    )  # fmt: skip
    return env


async def orders_at(gw: Any, count: int, runner: RunnerProcess, timeout: float = 40) -> list[dict[str, Any]]:
    """Wait until the gateway holds ``count`` orders (the runner's log on failure)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(gw.state()["orders"]) < count:
        if runner.proc.returncode is not None or loop.time() > deadline:
            pytest.fail(
                f"{len(gw.state()['orders'])} of {count} orders reached the gateway; log:\n{runner.output[-4000:]}"
            )
        await asyncio.sleep(0.05)
    return list(gw.state()["orders"])


async def until_true(condition: Any, runner: RunnerProcess, what: str, timeout: float = 40) -> None:
    """Wait for ``condition()`` while the runner runs (its log on failure)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if runner.proc.returncode is not None or loop.time() > deadline:
            pytest.fail(f"gave up waiting for {what}; the runner's log:\n{runner.output[-4000:]}")
        await asyncio.sleep(0.05)


def assert_ledger_matches_gateway(ledger_url: str, gw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """No order twice, every gateway order and fill in the ledger (by orderRef and execId), nothing extra."""
    state = gw.state()
    refs = [o["orderRef"] for o in state["orders"]]
    assert len(refs) == len(set(refs)), f"an order was sent twice: {Counter(refs).most_common(3)}"
    with open_ledger(ledger_url) as ledger:
        orders = q.orders_by_client_prefix(ledger, "trd-")
        trades = q.trades_with_commissions(ledger, limit=None)
    assert {o["client_order_id"] for o in orders if not o["shadow"]} == set(refs)
    executions = {e["execId"] for e in state["executions"]}
    assert executions, "the gateway filled nothing: the test saw no trading"
    assert {t["trade_id"] for t in trades} == executions, "a fill is missing from the ledger (or one is extra)"
    return orders, trades


async def test_sigkill_mid_run_then_restart_resumes_without_a_duplicate_order(
    make_gateway: Any, start_runner: Any, sqlite_url: str
) -> None:
    gw = await make_gateway(speed=600)  # the replayed session outlasts the wait for the killed run's lease
    short_lease = {"LEASE_TTL": "3"}  # the killed run is resumed once its lease expired (--take-over waits for it)
    first = await start_runner(gw, sqlite_url, env=short_lease)
    before = await orders_at(gw, 2, first)
    first.signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL

    second = await start_runner(gw, sqlite_url, "--take-over", env=short_lease)
    await orders_at(gw, len(gw.state()["orders"]) + 2, second)
    second.signal(signal.SIGTERM)
    assert await second.wait() == 0, second.output[-3000:]

    orders, _ = assert_ledger_matches_gateway(sqlite_url, gw)
    with open_ledger(sqlite_url) as ledger:
        sessions = [s for s in q.sessions(ledger) if s["program"] == "runner"]
        bars = q.recent_events(ledger, kinds=["runner.bar"], limit=None)
        resumed = q.recent_events(ledger, kinds=["runner.resumed"], limit=None)
    assert len(sessions) == 1, "the restarted runner resumed the killed run instead of starting another"
    assert sessions[0]["end_reason"] == "stopped by SIGTERM" and resumed
    decided = Counter((e["payload"]["symbol"], e["payload"]["bar_ts"]) for e in bars)
    assert max(decided.values()) == 1, "a bar was decided on twice"
    assert len(orders) > len(before), "the resumed run traded on"
    assert "resumed an interrupted run" in second.output


async def test_a_fill_while_the_runner_is_disconnected_is_in_the_ledger_once_after_reconnect_and_resync(
    make_gateway: Any, start_runner: Any, sqlite_url: str
) -> None:
    """A DAY limit buy rests at the gateway; every connection is dropped and refused; the gateway's clock is moved
    on until the order fills there; then connections are allowed again. After the reconnect the ledger holds
    that fill exactly once (by execId) and the gateway holds the order once: resent nothing, lost nothing."""
    gw = await make_gateway()  # paused: only the test moves its clock
    runner = await start_runner(gw, sqlite_url, "--param", "below=0.5", strategy="rest_once", symbols="BHP/AUD")
    await until_true(lambda: "runner started" in runner.output, runner, "the runner's start")
    for _ in range(60):  # a minute at a time until the first bar's close is decided on and its entry sent
        if gw.state()["orders"]:
            break
        gw.clock.advance(60)
        await asyncio.sleep(0.3)
    (order,) = gw.state()["orders"]
    assert order["orderType"] == "LMT" and order["tif"] == "DAY" and order["filled"] == 0, order
    ref = order["orderRef"]
    with open_ledger(sqlite_url) as ledger:
        await until_true(lambda: any(o["client_order_id"] == ref for o in q.orders_by_client_prefix(ledger, "trd-")),
                         runner, "the entry order in the ledger")  # fmt: skip

        gw.set_faults("refuse_next=100000")
        assert gw.drop_all_clients("test: outage") >= 1
        await until_true(lambda: not gw.state()["clients"], runner, "the runner disconnected")
        for _ in range(12 * 6):  # up to six hours of the session, five minutes at a time
            gw.clock.advance(300)
            if gw.state()["executions"]:
                break
        executions = gw.state()["executions"]
        assert [e["orderRef"] for e in executions] == [ref], "the resting entry filled at the gateway meanwhile"
        assert not gw.state()["clients"] and q.trades_with_commissions(ledger, limit=None) == [], (
            "the runner saw the fill while it was disconnected: the test proves nothing"
        )

        gw.set_faults("")  # the gateway takes connections again
        exec_id = executions[0]["execId"]
        await until_true(lambda: any(t["trade_id"] == exec_id for t in q.trades_with_commissions(ledger, limit=None)),
                         runner, "the fill made while disconnected in the ledger", timeout=60)  # fmt: skip
        await until_true(lambda: any(e["payload"]["reason"] == "reconnect"
                                     for e in q.recent_events(ledger, kinds=["resync"], limit=None)),
                         runner, "the resync after the reconnect")  # fmt: skip
    runner.signal(signal.SIGTERM)
    assert await runner.wait() == 0, runner.output[-3000:]

    _, trades = assert_ledger_matches_gateway(sqlite_url, gw)
    assert [t["trade_id"] for t in trades] == [exec_id], "the fill is in the ledger exactly once"
    assert [o["orderRef"] for o in gw.state()["orders"]] == [ref], "the order was not sent again"
    with open_ledger(sqlite_url) as ledger:
        (row,) = [o for o in q.orders_by_client_prefix(ledger, "trd-") if o["client_order_id"] == ref]
        resyncs = [e["payload"] for e in q.recent_events(ledger, kinds=["resync"], limit=None)]
        connectivity = [e["payload"]["kind"] for e in q.recent_events(ledger, kinds=["connectivity"], limit=None)]
    assert row["status"] == "closed" and row["filled"] == order["totalQuantity"]
    reconnect = [r for r in resyncs if r["reason"] == "reconnect"]
    assert any(r["orders_updated"] or r["fills_added"] for r in reconnect), f"no resync found the fill: {resyncs}"
    assert "disconnected" in connectivity and "resynced" in connectivity


async def control(gw: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    """The gateway's control API over HTTP (``GET`` ``path``, or ``POST`` ``body``): its JSON answer."""
    import aiohttp

    url = f"http://127.0.0.1:{gw.control_port}{path}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        request = http.get(url) if body is None else http.post(url, json=body)
        async with request as answer:
            answer.raise_for_status()
            return await answer.json()


async def test_shadow_mode_sends_nothing_to_the_gateway(make_gateway: Any, start_runner: Any, sqlite_url: str) -> None:
    """Proved at the gateway's control API, over HTTP: not one placeOrder received (refused ones included), no
    order, execution or position, the cash untouched, and the ``reject_next`` fault never used."""
    gw = await make_gateway(speed=1200)
    await control(gw, "/faults", {"spec": "reject_next=1000"})
    before = await control(gw, "/state")
    runner = await start_runner(gw, sqlite_url, execute=False)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 40
    with open_ledger(sqlite_url) as ledger:
        while len(q.trades_with_commissions(ledger)) < 2:
            assert loop.time() < deadline and runner.proc.returncode is None, runner.output[-3000:]
            await asyncio.sleep(0.1)
        runner.signal(signal.SIGTERM)
        assert await runner.wait() == 0, "SIGTERM is a clean stop: exit status 0"
        trades = q.trades_with_commissions(ledger, limit=None)
        orders = q.orders_by_client_prefix(ledger, "trd-")
        (session,) = [s for s in q.sessions(ledger) if s["program"] == "runner"]
        telemetry = q.recent_events(ledger, kinds=["runner.telemetry"])
    state, faults = await control(gw, "/state"), await control(gw, "/faults")
    assert not {"placeOrder", "cancelOrder", "reqGlobalCancel"} & set(state["received"]), "shadow mode sent an order"
    assert state["received"].get("reqMktData", 0) > 0, "the runner read the gateway's real quotes"
    assert state["orders"] == [] and state["executions"] == [], "shadow mode sent an order to the gateway"
    assert state["positions"] == [] and state["cash"] == before["cash"], "the paper account moved"
    assert faults["reject_left"] == 1000, "a new order reached the gateway (it used up a reject_next)"
    ran = datetime.fromisoformat(state["clock"]) > datetime.fromisoformat(before["clock"])
    assert before["orders"] == [] and ran, "the replay ran while the runner traded"
    assert all(o["shadow"] for o in orders) and all(t["shadow"] for t in trades)
    assert {t["commission_source"] for t in trades} == {"estimate"}
    assert session["mode"] == "shadow" and session["end_reason"] == "stopped by SIGTERM"
    assert telemetry[0]["payload"]["orders_shadow"] == len(orders) and telemetry[0]["payload"]["orders_sent"] == 0
    assert f"[run={session['run_id']}]" in runner.output and "run ended" in runner.output


async def test_trader_run_on_ib_follows_the_venues_clock_by_default_and_exits_0_at_until(
    make_gateway: Any, sqlite_url: str, tmp_path: Path
) -> None:
    """The issue's command with no --clock: the gateway replays 1 December 2025 at ×20,000 and the run ends at
    --until on that clock, having decided every daily bar before it (on the wall clock it ended at once)."""
    asx = get_calendar("ASX")
    start, until = datetime(2025, 12, 1, tzinfo=UTC), datetime(2025, 12, 4, tzinfo=UTC)
    gw = await make_gateway(start=start)  # paused until the runner is connected
    script = Path(sys.executable).with_name("trader")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from sdk.cli import main; main()"]
    command += ["run", "--exchange", "IB", "--symbols", "BHP/AUD", "--strategy", "ma_crossover", "--timeframe", "1d",
                "--shadow", "--until", until.date().isoformat()]  # fmt: skip
    log = tmp_path / "trader-run.log"
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            *command, stdout=sink, stderr=sink, env=runner_env(gw, sqlite_url), cwd=tmp_path
        )
    run = RunnerProcess(proc, log)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not gw.state()["clients"]:
            assert proc.returncode is None and loop.time() < deadline, f"never connected:\n{run.output[-3000:]}"
            await asyncio.sleep(0.05)
        gw.clock.set_speed(20_000)
        code = await run.wait(timeout=120)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 0, run.output[-3000:]
    expected = [s.day for s in asx.sessions(start, until) if start < s.close <= until]
    assert len(expected) == 3 and f"ended: until reached; bars {len(expected)}," in run.output, run.output[-3000:]
    assert gw.clock.timestamp() >= until.timestamp(), "the run ended before the venue's clock reached --until"
    with open_ledger(sqlite_url) as ledger:
        (session,) = q.sessions(ledger)
        bars = q.recent_events(ledger, kinds=["runner.bar"], limit=None)
    decided = sorted(datetime.fromtimestamp(e["payload"]["bar_ts"] / 1000, UTC).date() for e in bars)
    assert decided == expected and session["end_reason"] == "until reached" and session["mode"] == "shadow"


async def test_market_entries_on_us_stocks_reach_the_gateway_and_fill_with_execute(
    make_gateway: Any, start_runner: Any, sqlite_url: str
) -> None:
    """The runner's entries are market orders; IB takes market orders on US stocks, so with ``--execute`` they
    reach the gateway as MKT and fill there, exactly as ``--shadow`` fills them (never refused by the SDK)."""
    gw = await make_gateway(speed=600, start=datetime(2024, 3, 1, 15, 0, tzinfo=UTC))  # 10:00 New York
    runner = await start_runner(gw, sqlite_url, "--param", "units=10", symbols="SPY/USD")
    await orders_at(gw, 2, runner, timeout=60)
    runner.signal(signal.SIGTERM)
    assert await runner.wait() == 0, runner.output[-3000:]
    state = gw.state()
    assert {o["orderType"] for o in state["orders"]} == {"MKT"}, state["orders"]
    assert "venue refused" not in runner.output, runner.output[-3000:]
    orders, trades = assert_ledger_matches_gateway(sqlite_url, gw)
    assert {o["type"] for o in orders} == {"market"} and len(trades) >= 2


async def test_a_commission_reported_after_the_last_step_is_in_the_ledger_when_the_run_stops(
    make_gateway: Any, start_runner: Any, sqlite_url: str
) -> None:
    """A resting entry fills at the gateway, whose commission report follows a second later (a fault); the run is
    stopped without another step. The fee is in the ledger, not pending: the runner's last act reads the venue."""
    gw = await make_gateway(faults="commission_delay_ms=1000")  # paused: only the test moves its clock
    runner = await start_runner(gw, sqlite_url, "--param", "below=0.5", strategy="rest_once", symbols="BHP/AUD")
    await until_true(lambda: "runner started" in runner.output, runner, "the runner's start")
    for _ in range(60):  # a minute at a time until the first bar's close is decided on and its entry sent
        if gw.state()["orders"]:
            break
        gw.clock.advance(60)
        await asyncio.sleep(0.3)
    assert len(gw.state()["orders"]) == 1, "the entry was sent"
    for _ in range(12 * 6):  # up to six hours of the session, five minutes at a time, until it fills
        gw.clock.advance(300)
        if gw.state()["executions"]:
            break
    (execution,) = gw.state()["executions"]
    await until_true(lambda: gw.state()["executions"][0]["commission"] is not None, runner,
                     "the gateway's commission report")  # fmt: skip
    runner.signal(signal.SIGTERM)
    assert await runner.wait() == 0, runner.output[-3000:]
    _, trades = assert_ledger_matches_gateway(sqlite_url, gw)
    assert [(t["trade_id"], t["fee_cost"] is not None) for t in trades] == [(execution["execId"], True)], trades
