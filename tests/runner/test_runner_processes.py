"""The runner as a separate process (``python -m runner``, i.e. ``trader run``) against an offline gateway
in this process, following the gateway's simulated clock through its control API.

* killed with SIGKILL mid-run and started again: it resumes the same run and no order is sent twice;
* the gateway drops every connection mid-run: the runner reconnects, resyncs, and no order is sent twice
  and no fill is missing from the ledger;
* shadow mode: the gateway's own state proves nothing was sent; SIGTERM stops it with exit status 0 and
  the session ended in the ledger.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

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

    async def start(gw: Any, ledger_url: str, *args: str, execute: bool = True) -> RunnerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IB_", "DATABASE_", "EXECUTE_", "LOG_"))}
        env.update(
            IB_PORT=str(gw.port), IB_HOST="127.0.0.1", IB_CONNECT_TIMEOUT="5", IB_HEARTBEAT_INTERVAL="2",
            DATABASE_URL=ledger_url, LOG_LEVEL="INFO",
            PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
        )  # fmt: skip
        log = tmp_path / f"runner-{len(started)}.log"
        command = [
            sys.executable, "-m", "runner", "--symbols", "BHP/AUD,CBA/AUD", "--strategy", "alternate",
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
    gw = await make_gateway(speed=1200)
    first = await start_runner(gw, sqlite_url)
    before = await orders_at(gw, 2, first)
    first.signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL

    second = await start_runner(gw, sqlite_url)
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


async def test_a_gateway_drop_mid_run_reconnects_resyncs_and_loses_no_fill(
    make_gateway: Any, start_runner: Any, sqlite_url: str
) -> None:
    gw = await make_gateway(speed=1200)
    runner = await start_runner(gw, sqlite_url)
    await orders_at(gw, 2, runner)
    assert gw.drop_all_clients("test: gateway drop") >= 1
    count = len(gw.state()["orders"])
    await orders_at(gw, count + 2, runner)
    runner.signal(signal.SIGTERM)
    assert await runner.wait() == 0, runner.output[-3000:]

    assert_ledger_matches_gateway(sqlite_url, gw)
    with open_ledger(sqlite_url) as ledger:
        resyncs = [e["payload"]["reason"] for e in q.recent_events(ledger, kinds=["resync"], limit=None)]
        connectivity = [e["payload"]["kind"] for e in q.recent_events(ledger, kinds=["connectivity"], limit=None)]
        circuit = [(e["payload"]["from"], e["payload"]["to"]) for e in q.recent_events(ledger, kinds=["circuit"])]
    assert "reconnect" in resyncs and "start" in resyncs
    assert "disconnected" in connectivity and "resynced" in connectivity
    assert ("closed", "open") in circuit, "the health circuit opened while the venue was down"


async def test_shadow_mode_sends_nothing_to_the_gateway(make_gateway: Any, start_runner: Any, sqlite_url: str) -> None:
    gw = await make_gateway(speed=1200)
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
    state = gw.state()
    assert state["orders"] == [] and state["executions"] == [], "shadow mode sent an order to the gateway"
    assert all(o["shadow"] for o in orders) and all(t["shadow"] for t in trades)
    assert {t["commission_source"] for t in trades} == {"estimate"}
    assert session["mode"] == "shadow" and session["end_reason"] == "stopped by SIGTERM"
    assert telemetry[0]["payload"]["orders_shadow"] == len(orders) and telemetry[0]["payload"]["orders_sent"] == 0
    assert f"[run={session['run_id']}]" in runner.output and "run ended" in runner.output
