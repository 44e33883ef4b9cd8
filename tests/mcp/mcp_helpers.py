"""Helpers of the MCP server's tests (imported as ``mcp_helpers``; fixtures are in ``conftest.py``).

Gateways run paused (speed 0) at an ASX open; the server's venue clock is the gateway's simulated clock,
so market hours are those of the replayed day. Confirmation tokens expire on a :class:`FakeTime` the tests
move. A :class:`Harness` keeps one client session open in a task of its own, so a module can share a
server across tests (anyio's task groups must be left by the task that entered them).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CallToolResult

from sdk.clock import SimulatedClock
from sdk.settings import Settings, load_settings
from sdk.venues.ib.connection import Backoff
from sdk.venues.ib.pacing import PacingBudget
from sdk.venues.ib.trader import IBTrader

#: A Tuesday, 11:00 Sydney: ASX open, inside the real ASX, SPY daily and AUD/USD data.
ASX_OPEN = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)
ASX_OPEN_MS = int(ASX_OPEN.timestamp() * 1000)
ACCOUNT = "DU0000001"


class FakeTime:
    """A monotonic clock the tests move (confirmation tokens expire on it)."""

    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def copy_ledger(template: Path, directory: Path) -> str:
    """A fresh migrated ledger in ``directory``; returns its URL."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "trader.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


async def start_gateway(catalog: Any, state_file: Path, **overrides: Any) -> Any:
    """A started, paused gateway on free ports at :data:`ASX_OPEN` with a paper account."""
    from sdk.gateway import GatewayConfig, OfflineGateway

    options: dict[str, Any] = {
        "host": "127.0.0.1", "port": 0, "control_port": None, "speed": 0, "start": ASX_OPEN, "account": ACCOUNT,
        "base_currency": "AUD", "cash": {"AUD": 1_000_000, "USD": 100_000}, "state_file": state_file,
    }  # fmt: skip
    options.update(overrides)
    gw = OfflineGateway(GatewayConfig(**options), catalog=catalog)
    await gw.start()
    return gw


def server_settings(gw: Any, ledger_url: str, directory: Path, **overrides: Any) -> Settings:
    """Settings of a server on ``gw`` and ``ledger_url``; the kill switch is ``directory/KILL_SWITCH``."""
    values: dict[str, Any] = {
        "ib_host": "127.0.0.1", "ib_port": gw.port, "ib_connect_timeout": 3, "database_url": ledger_url,
        "kill_switch_file": directory / "KILL_SWITCH",
    }  # fmt: skip
    values.update(overrides)
    return load_settings(**values)


def gateway_trader(gw: Any, **options: Any) -> Callable[[Settings, Any], IBTrader]:
    """A trader factory for ``build_server``: IB on ``gw`` with its simulated clock (pacing waits cost no time);
    ``options`` override the IBTrader's timings."""

    def make(settings: Settings, _clock: Any) -> IBTrader:
        clock = SimulatedClock(gw.clock)
        timings: dict[str, Any] = {"heartbeat_interval": 1.0, "quote_timeout": 2.0, "ack_timeout": 3.0, **options}
        return IBTrader(
            settings,
            client_id=settings.mcp_ib_client_id,
            clock=clock,
            budget=PacingBudget(clock),
            backoff=Backoff(initial=0.05, maximum=0.3, jitter=0.05),
            **timings,
        )

    return make


def build_test_server(
    gw: Any,
    settings: Settings,
    token_time: FakeTime | None = None,
    states: list[Any] | None = None,
    **trader_options: Any,
) -> Any:
    """``build_server`` on the gateway with its simulated clock; the lifespan's state is appended to ``states``."""
    from mcp_server import build_server

    return build_server(
        settings,
        trader_factory=gateway_trader(gw, **trader_options),
        clock=SimulatedClock(gw.clock),
        token_clock=token_time,
        on_ready=states.append if states is not None else None,
        watch_interval=0,  # the plan watcher runs when a test ticks it
    )


@dataclass
class Harness:
    """One in-memory client session on a server, held open by a task of its own."""

    server: Any
    client: Any = None
    task: asyncio.Task[None] | None = None

    async def start(self) -> Harness:
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()

        async def run() -> None:
            try:
                async with Client(self.server) as client:
                    self.client = client
                    ready.set_result(None)
                    await self._stop.wait()
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                raise

        self.task = asyncio.create_task(run())
        await ready
        return self

    async def stop(self) -> None:
        self._stop.set()
        if self.task is not None:
            await self.task

    async def call(self, name: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        result: CallToolResult = await self.client.call_tool(name, arguments or {})
        return result

    async def ok(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call ``name``; fail the test on a tool error; the structured content."""
        result = await self.call(name, arguments)
        assert not result.is_error, f"{name}({arguments}) failed: {text_of(result)}"
        assert result.structured_content is not None
        return result.structured_content

    async def error(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """Call ``name``; fail the test unless it is a tool error; the error text."""
        result = await self.call(name, arguments)
        assert result.is_error, f"{name}({arguments}) should have failed: {text_of(result)}"
        return text_of(result)

    async def tools(self) -> dict[str, Any]:
        listed = await self.client.list_tools()
        return {tool.name: tool for tool in listed.tools}


def text_of(result: CallToolResult) -> str:
    """The text of a tool result's first content block."""
    return "".join(getattr(block, "text", "") for block in result.content)


def gateway_orders(gw: Any) -> list[dict[str, Any]]:
    """Every order the gateway's paper broker has received."""
    orders: list[dict[str, Any]] = gw.state()["orders"]
    return orders


class ThreadedServer:
    """A gateway (``start_gateway`` with ``gateway`` overrides), a trading-enabled paper server on it and its in-memory
    client, on an event loop in a thread of their own: a synchronous test (hypothesis) drives it with :meth:`run`."""

    def __init__(self, catalog: Any, template: Path, directory: Path, **gateway: Any) -> None:
        self.catalog, self.template, self.directory, self.gateway = catalog, template, directory, gateway
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="mcp-fuzz", daemon=True)
        self.tools: dict[str, Any] = {}
        self.calls = 0  # tool calls made through check(): each one must be audited

    def run(self, coroutine: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _start(self) -> None:
        self.gw = await start_gateway(self.catalog, self.directory / "gateway.json", **self.gateway)
        self.ledger_url = copy_ledger(self.template, self.directory / "ledger")
        settings_ = server_settings(self.gw, self.ledger_url, self.directory, mcp_trading_enabled=True,
                                    execute_orders=True)  # fmt: skip
        self.harness = await Harness(build_test_server(self.gw, settings_, FakeTime())).start()
        self.tools = await self.harness.tools()

    async def _stop(self) -> None:
        await self.harness.stop()
        await self.gw.stop()

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.run(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
