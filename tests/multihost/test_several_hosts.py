"""Several hosts sharing one PostgreSQL ledger and one IB login (issue 14, "Several hosts").

Five network namespaces on one bridge stand for five machines, each with a hostname of its own:

* ``d``: the offline gateway (on its loopback, as always) and the database host. A forwarder
  (``forward.py``) serves PostgreSQL's Unix socket and the gateway's two ports on ``d``'s LAN address;
* ``a``: runner 1 (``BHP/AUD``); ``b``: runner 2 (``CBA/AUD``); ``c``: the MCP server (``trader mcp`` over
  stdio, trading enabled, real orders); ``e``: where a person types ``trader killswitch on|off``;
* on ``a``, ``b``, ``c`` and ``e`` a forwarder from ``127.0.0.1:4099`` to ``d``'s control port stands for the
  SSH tunnel a runner on another machine needs for ``--clock http://127.0.0.1:4099``.

Every program talks to ``d`` over TCP on the LAN (``DATABASE_URL=postgresql://postgres@<d>:5432/<db>``,
``IB_HOST=<d>``). The gateway is paused and the test moves its clock one 5-minute bar at a time, waiting after
each step until every runner has decided that bar (its ``runner.bar`` event), so "within one step" is exact
and nothing depends on how busy the machine is. The test reads the gateway's ``GET /state`` through a Unix
socket the forwarder on ``d`` also serves, and the ledger on this namespace's loopback.

What it shows: both runners and the MCP server trade together; once the kill switch is engaged from ``e`` no
process opens a position at the next step (the runners' entries are refused with ``kill_switch``, their exits
still go; the MCP server's ``place_order`` is refused naming the switch); released, runner 1 is SIGKILLed on
``a`` and the same command on ``b`` resumes its run under its lease; the same command on ``c`` while that one
runs is refused naming the holder, and a runner whose database cannot be reached refuses to start, saying
why. At the end no ``orderRef`` reached the gateway twice, every execution is in the ledger's fills exactly
once (by ``execId``) and the gateway counted no pacing violation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from multihost_lan import Lan
from multihost_processes import Fleet, HostProcess
from support.plugin import ASX_OPEN
from support.waiting import eventually

from sdk.ledger import Ledger, open_ledger
from sdk.ledger import queries as q
from sdk.ledger.leases import read

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.shared_data]

T = TypeVar("T")
HERE = Path(__file__).resolve().parent
FORWARD = str(HERE / "forward.py")
STRATEGIES = str(HERE.parent / "runner")  # runner_test_strategies: ``alternate`` buys when flat, sells when long
TRADER = str(Path(sys.executable).with_name("trader"))
TWS_PORT, CONTROL_PORT, PG_PORT = 4002, 4099, 5432
BAR = 300  # seconds: the runners' 5m timeframe
START = ASX_OPEN + timedelta(seconds=2)  # a bar boundary plus more than the runner's 1 s settle
LEASE_TTL = "6"  # seconds: a heartbeat every 2 s; a killed runner's run is free 6 s after its last one
RUNNER_1, RUNNER_2, MCP_SYMBOL = "BHP/AUD", "CBA/AUD", "NAB/AUD"
WAIT = 60.0  # wall seconds before a wait on another process gives up (only reached when failing)


class Control:
    """The gateway's control API, over the Unix socket the forwarder on the gateway's host serves."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    async def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        connector = aiohttp.UnixConnector(path=str(self.socket))
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=20)) as http:
            request = (
                http.get(f"http://gateway{path}") if body is None else http.post(f"http://gateway{path}", json=body)
            )
            async with request as answer:
                answer.raise_for_status()
                return await answer.json()

    async def now(self) -> float:
        return datetime.fromisoformat((await self.call("/clock"))["now"]).timestamp()


async def until(
    condition: Callable[[], T], what: str, *, alive: Iterable[HostProcess] = (), timeout: float = WAIT
) -> T:
    """``eventually(condition)``, failing at once (with its log) when a process in ``alive`` has exited."""
    watched = list(alive)

    def check() -> T:
        for proc in watched:
            if not proc.running:
                raise AssertionError(f"while waiting for {what}: {proc.describe()}")
        return condition()

    return await eventually(check, timeout, what=what)


def base_env(**settings: str) -> dict[str, str]:
    """This process's environment (trading settings already removed by the autouse fixture) plus ``settings``."""
    return {**os.environ, "LOG_LEVEL": "INFO", **settings}


async def start_gateway_host(fleet: Fleet, lan: Lan, control: Control, postgres: Path, data: Path) -> None:
    """Host d: the offline gateway (paused at :data:`START`, on its loopback) and the forwarder serving it and
    PostgreSQL on the LAN (and the control API on ``control.socket`` for the test); on a, b, c and e the tunnel
    to its control port. Returns once every forwarder listens and the gateway answers."""
    d = lan.hosts["d"]
    gateway = await fleet.start(d, "gateway", [
        TRADER, "gateway", "--data", str(data), "--port", str(TWS_PORT), "--control-port", str(CONTROL_PORT),
        "--start", START.isoformat(), "--speed", "0", "--cash", "AUD=1000000,USD=50000", "--state-file", "gateway.json",
    ], env=base_env())  # fmt: skip
    forwarders = [await fleet.start(d, "forward-d", [
        sys.executable, FORWARD, f"{d.address}:{PG_PORT}=unix:{postgres}",
        f"{d.address}:{TWS_PORT}=127.0.0.1:{TWS_PORT}", f"{d.address}:{CONTROL_PORT}=127.0.0.1:{CONTROL_PORT}",
        f"unix:{control.socket}=127.0.0.1:{CONTROL_PORT}",
    ], env=base_env())]  # fmt: skip
    for name in "abce":  # the tunnel ``ssh -L 4099:127.0.0.1:4099 d`` stands for: --clock takes loopback URLs only
        route = f"127.0.0.1:{CONTROL_PORT}={d.address}:{CONTROL_PORT}"
        forwarders.append(await fleet.start(lan.hosts[name], f"tunnel-{name}", [sys.executable, FORWARD, route],
                                            env=base_env()))  # fmt: skip
    for forwarder in forwarders:
        await until(lambda f=forwarder: "ready" in f.output, f"{forwarder.name} listening", alive=[forwarder])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:  # the gateway loads ../shared/data first
        with contextlib.suppress(aiohttp.ClientError):
            await control.now()
            return
        assert gateway.running and loop.time() < deadline, f"the gateway never answered: {gateway.describe()}"
        await asyncio.sleep(0.05)


def runner_argv(symbol: str) -> list[str]:
    return [
        sys.executable, "-m", "runner", "--symbols", symbol, "--strategy", "alternate", "--plugin",
        "runner_test_strategies", "--timeframe", "5m", "--clock", f"http://127.0.0.1:{CONTROL_PORT}", "--execute",
        "--monitor-interval", "30",
    ]  # fmt: skip


def decided(ledger: Ledger, symbol: str, bar_ts: int) -> bool:
    """Whether a runner has recorded its decisions on ``symbol``'s bar starting at ``bar_ts`` (ms)."""
    return any(
        e["payload"].get("symbol") == symbol and e["payload"].get("bar_ts") == bar_ts
        for e in q.recent_events(ledger, kinds=["runner.bar"], limit=200)
    )


async def step(control: Control, ledger: Ledger, runners: dict[str, HostProcess]) -> int:
    """Move the paused gateway one bar on; return once every runner in ``runners`` (by symbol) has decided the
    bar that closed. Returns that bar's start (ms)."""
    await control.call("/clock", {"advance_seconds": BAR})
    close = int(await control.now()) // BAR * BAR
    bar_ts = (close - BAR) * 1000
    for symbol, proc in runners.items():
        when = datetime.fromtimestamp(close, UTC).isoformat()
        await until(lambda s=symbol: decided(ledger, s, bar_ts), f"{symbol}'s bar closing {when}", alive=[proc])
    return bar_ts


def run_of(ledger: Ledger, symbol: str) -> str:
    """The run id of the runner run trading ``symbol`` (its ``runner.config`` event)."""
    runs = {
        e["run_id"]
        for e in q.recent_events(ledger, kinds=["runner.config"], limit=None)
        if e["payload"]["fingerprint"]["symbols"] == [symbol]
    }
    assert len(runs) == 1, f"{symbol} should be one run, found {runs}"
    return runs.pop()


def expired(ledger: Ledger, resource: str) -> bool:
    """Whether ``resource``'s lease exists and has expired on the database's clock."""
    lease = read(ledger, resource)
    return lease is not None and not lease.live


def kill_switch_refusals(ledger: Ledger, symbol: str) -> list[dict[str, Any]]:
    return [
        e["payload"]
        for e in q.recent_events(ledger, kinds=["risk_rejection"], limit=None)
        if e["payload"].get("code") == "kill_switch" and e["symbol"] == symbol
    ]


async def call_tool(client: Client, name: str, arguments: dict[str, Any]) -> tuple[bool, Any]:
    """``(ok, structured content or the error's text)`` of one MCP tool call."""
    result = await client.call_tool(name, arguments)
    text = " ".join(getattr(part, "text", "") for part in result.content)
    return (not result.is_error, result.structured_content if not result.is_error else text)


async def test_three_hosts_trade_together_obey_one_kill_switch_and_hand_a_run_over(
    lan: Lan, fleet: Fleet, sockets: Path, fresh_database: tuple[str, str], postgres_socket: Path, shared_data: Path
) -> None:
    a, b, c, d, e = (lan.hosts[name] for name in "abcde")
    database, local_url = fresh_database
    lan_url = f"postgresql://postgres@{d.address}:{PG_PORT}/{database}"
    control = Control(sockets / "control.sock")

    await start_gateway_host(fleet, lan, control, postgres_socket, shared_data)

    common = {
        "IB_HOST": d.address,
        "IB_PORT": str(TWS_PORT),
        "IB_CLIENT_ID": "1",
        "IB_CLIENT_ID_MAX": "9",
        "IB_CONNECT_TIMEOUT": "5",
        "IB_HEARTBEAT_INTERVAL": "2",
        "DATABASE_URL": lan_url,
        "LEASE_TTL": LEASE_TTL,
    }
    runner_env = base_env(**common, PYTHONPATH=STRATEGIES)

    async with contextlib.AsyncExitStack() as stack:
        ledger = stack.enter_context(open_ledger(local_url))
        # --- hosts a and b: the runners; host c: the MCP server (its own client id, real orders) -----------
        runner_1 = await fleet.start(a, "runner-1-on-a", runner_argv(RUNNER_1), env=runner_env)
        runner_2 = await fleet.start(b, "runner-2-on-b", runner_argv(RUNNER_2), env=runner_env)
        mcp_env = base_env(**common, MCP_TRADING_ENABLED="true", EXECUTE_ORDERS="true", MCP_IB_CLIENT_ID="90")
        server = StdioServerParameters(
            command="ip", args=c.command(TRADER, "mcp", "--transport", "stdio", "--clock",
                                         f"http://127.0.0.1:{CONTROL_PORT}")[1:],
            env=mcp_env, cwd=fleet.workdir(c),
        )  # fmt: skip
        mcp_log = stack.enter_context((fleet.directory / "mcp-on-c.log").open("w"))
        mcp = await stack.enter_async_context(Client(stdio_client(server, errlog=mcp_log)))
        for runner in (runner_1, runner_2):
            await until(lambda r=runner: "runner started" in r.output, f"{runner.name} started", alive=[runner])
        state = await control.call("/state")
        assert sorted(state["clients"]) == [1, 2, 90], f"two runners and the MCP server: {state['clients']}"
        ok, context = await call_tool(mcp, "get_trading_context", {})
        assert ok and context["mode"] == "paper" and context["kill_switch_engaged"] is False, context
        mcp_lease = read(ledger, "mcp:IB:DU****001")
        assert mcp_lease is not None and mcp_lease.live and mcp_lease.host == c.hostname, mcp_lease

        # --- they trade together ---------------------------------------------------------------------------
        both = {RUNNER_1: runner_1, RUNNER_2: runner_2}
        for _ in range(3):  # alternate: buy, sell, buy: both long now
            await step(control, ledger, both)
        ok, ticker = await call_tool(mcp, "get_ticker", {"symbol": MCP_SYMBOL})
        assert ok, ticker
        buy = {"symbol": MCP_SYMBOL, "side": "buy", "amount": 100, "type": "limit", "price": ticker["ask"]}
        ok, preview = await call_tool(mcp, "preview_order", buy)
        assert ok and preview["opening"], preview
        ok, placed = await call_tool(mcp, "place_order", {"token": preview["token"]})
        assert ok and placed["shadow"] is False, placed
        ok, pending = await call_tool(mcp, "preview_order", buy)  # a token for after the switch
        assert ok, pending
        state = await control.call("/state")
        held = {p["symbol"]: p["position"] for p in state["positions"]}
        for symbol in (RUNNER_1, RUNNER_2, MCP_SYMBOL):
            assert held.get(symbol, 0) > 0, f"{symbol} should be long before the switch: {held}"
        clients = {o["clientId"] for o in state["orders"]}
        assert clients == {1, 2, 90}, f"orders from both runners and the MCP server: {clients}"
        openings_before = {o["orderRef"] for o in state["orders"] if o["action"] == "BUY"}
        exits_before = {o["orderRef"] for o in state["orders"] if o["action"] == "SELL"}

        # --- host e: the kill switch; nothing opens from the next step on, exits still go ------------------
        switch_on = await fleet.start(e, "killswitch-on", [TRADER, "killswitch", "on", "--reason", "multihost drill"],
                                      env=base_env(DATABASE_URL=lan_url))  # fmt: skip
        assert await switch_on.wait() == 0, switch_on.describe()
        assert "kill switch engaged by " in switch_on.output and f"@{e.hostname}" in switch_on.output, (
            switch_on.describe()
        )
        ok, refused = await call_tool(mcp, "place_order", {"token": pending["token"]})
        assert not ok and "kill_switch" in refused and "kill switch is engaged" in refused, refused
        ok, refused = await call_tool(mcp, "preview_order", buy)
        assert not ok and "kill switch is engaged" in refused, refused
        for _ in range(3):  # the runners sell (exits still go), then want to buy again: refused
            await step(control, ledger, both)
            if all(kill_switch_refusals(ledger, symbol) for symbol in both):
                break
        state = await control.call("/state")
        openings_after = {o["orderRef"] for o in state["orders"] if o["action"] == "BUY"} - openings_before
        assert not openings_after, f"opening orders reached the gateway after the switch: {openings_after}"
        exits = [o for o in state["orders"] if o["action"] == "SELL" and o["orderRef"] not in exits_before]
        assert {o["symbol"] for o in exits} == {RUNNER_1, RUNNER_2}, (
            f"each runner's exit still went under the switch: {exits}"
        )
        for symbol in (RUNNER_1, RUNNER_2):
            refusals = kill_switch_refusals(ledger, symbol)
            assert refusals and refusals[0]["side"] == "buy", f"{symbol}: no entry refused by the switch"
            assert "multihost drill" in refusals[0]["reason"], refusals[0]
        assert kill_switch_refusals(ledger, MCP_SYMBOL), "the MCP server's refusals are in the ledger too"

        # --- released; runner 1 dies on a and its run is resumed on b, under its lease ----------------------
        switch_off = await fleet.start(e, "killswitch-off", [TRADER, "killswitch", "off"],
                                       env=base_env(DATABASE_URL=lan_url))  # fmt: skip
        assert await switch_off.wait() == 0, switch_off.describe()
        run_1 = run_of(ledger, RUNNER_1)
        dead = read(ledger, f"run:{run_1}")
        assert dead is not None and (dead.host, dead.pid) == (a.hostname, runner_1.pid), dead
        runner_1.signal(signal.SIGKILL)
        assert await runner_1.wait() == -signal.SIGKILL
        await step(control, ledger, {RUNNER_2: runner_2})  # a bar completes while runner 1 is down

        # meanwhile, on e: a database that cannot be reached is refused, saying why (nothing listens on 5433)
        nowhere = f"postgresql://postgres@{d.address}:{PG_PORT + 1}/{database}"
        lost = await fleet.start(e, "runner-without-database", runner_argv(RUNNER_1),
                                 env={**runner_env, "DATABASE_URL": nowhere})  # fmt: skip
        status = await fleet.start(e, "killswitch-status-without-database", [TRADER, "killswitch", "status"],
                                   env=base_env(DATABASE_URL=nowhere))  # fmt: skip
        for program in (lost, status):  # exit 2: the ledger cannot be opened, and the message says where and why
            assert await program.wait() == 2, program.describe()
            assert f"cannot open the ledger at postgresql+psycopg://postgres@{d.address}:{PG_PORT + 1}/" in (
                program.output
            ), program.describe()
        assert "runner started" not in lost.output

        await until(lambda: expired(ledger, f"run:{run_1}"), "the killed runner's lease to expire")
        runner_1b = await fleet.start(b, "runner-1-on-b", runner_argv(RUNNER_1), env=runner_env)  # the same command
        await until(lambda: "runner started" in runner_1b.output, "runner 1 started on b", alive=[runner_1b])
        lease = read(ledger, f"run:{run_1}")
        assert lease is not None and lease.live and (lease.host, lease.pid) == (b.hostname, runner_1b.pid), lease
        assert "resumed an interrupted run" in runner_1b.output, runner_1b.describe()

        # the same command on c while b holds the run: refused, naming the holder
        second = await fleet.start(c, "runner-1-again-on-c", runner_argv(RUNNER_1), env=runner_env)
        assert await second.wait() == 3, second.describe()
        assert f"refused: run:{run_1} is held by another process: host {b.hostname}, pid {runner_1b.pid}" in (
            second.output
        ), second.describe()
        assert runner_1b.running, runner_1b.describe()

        both = {RUNNER_1: runner_1b, RUNNER_2: runner_2}
        for _ in range(2):
            await step(control, ledger, both)
        for runner in (runner_1b, runner_2):
            runner.signal(signal.SIGTERM)
        for runner in (runner_1b, runner_2):
            assert await runner.wait() == 0, runner.describe()

    # --- the record: the gateway's and the ledger's agree; nothing twice; no pacing violation ----------------
    state = await control.call("/state")
    refs = Counter(o["orderRef"] for o in state["orders"])
    assert max(refs.values()) == 1, f"an order reached the gateway twice: {refs.most_common(3)}"
    assert state["pacing"]["violations"] == 0, state["pacing"]
    with open_ledger(local_url) as ledger:
        orders = q.orders_by_client_prefix(ledger, "trd-")
        trades = q.trades_with_commissions(ledger, limit=None)
        sessions = [s for s in q.sessions(ledger) if s["program"] == "runner"]
        (handover,) = q.recent_events(ledger, kinds=["runner.lease_taken"], limit=None)
        final = read(ledger, f"run:{run_1}")
        server_lease = read(ledger, "mcp:IB:DU****001")
    assert {o["client_order_id"] for o in orders if not o["shadow"]} == set(refs), "ledger orders == gateway orders"
    fills = Counter(t["trade_id"] for t in trades)
    assert fills and max(fills.values()) == 1, f"a fill is in the ledger twice: {fills.most_common(3)}"
    assert set(fills) == {x["execId"] for x in state["executions"]}, "every execution in the ledger, nothing else"
    assert sorted(s["run_id"] == run_1 for s in sessions) == [False, True], "runner 1's run was resumed, not new"
    assert {s["end_reason"] for s in sessions} == {"stopped by SIGTERM"}
    assert handover["run_id"] == run_1 and handover["payload"]["previous"]["host"] == a.hostname, handover
    assert final is not None and not final.live and final.host == b.hostname, "a clean stop released the lease"
    assert server_lease is not None and not server_lease.live, "the stopped MCP server released its lease"
    hosts = {o["holder"].split(":")[0] for o in orders if o["symbol"] == RUNNER_1}
    assert hosts == {a.hostname, b.hostname}, f"runner 1's orders were sent from a, then from b: {hosts}"
