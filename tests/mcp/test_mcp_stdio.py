"""``trader mcp --transport stdio`` as a real subprocess, against the offline gateway in this process.

The subprocess reads its settings from the environment (``IB_PORT`` of the gateway, a migrated temp
SQLite ledger), follows the venue's clock (the gateway's replayed ASX morning), talks JSON-RPC on
stdout and logs on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_helpers import copy_ledger, gateway_orders, start_gateway, text_of

from mcp_server import BACKTEST_TOOLS, READ_TOOLS, WRITE_TOOLS
from sdk.ledger import open_ledger
from sdk.ledger import queries as q

pytestmark = pytest.mark.shared_data

TRADER = str(Path(sys.executable).with_name("trader"))
READ_CALLS: dict[str, dict[str, Any]] = {
    "get_trading_context": {},
    "get_market_data": {"symbol": "BHP/AUD"},
    "get_ticker": {"symbol": "BHP/AUD"},
    "get_ohlcv": {"symbol": "BHP/AUD", "limit": 50},
    "get_order_book": {"symbol": "BHP/AUD"},
    "get_balance": {},
    "get_equity": {},
    "get_positions": {},
    "get_open_orders": {},
    "get_trades": {},
    "get_plans": {},
    "estimate_costs": {"symbol": "CBA/AUD", "side": "sell", "amount": 10},
}


@pytest.fixture
async def gateway(catalog: Any, tmp_path: Path) -> AsyncIterator[Any]:
    gw = await start_gateway(catalog, tmp_path / "gateway.json")
    yield gw
    await gw.stop()


def server_process(gw: Any, ledger_url: str, directory: Path, **env: str) -> tuple[Any, Path]:
    """A stdio transport starting ``trader mcp`` with only these variables; its stderr goes to a file."""
    variables = {
        "PATH": os.environ.get("PATH", ""), "IB_PORT": str(gw.port), "IB_HOST": "127.0.0.1",
        "DATABASE_URL": ledger_url, "KILL_SWITCH_FILE": str(directory / "KILL_SWITCH"), "LOG_LEVEL": "INFO",
        **env,
    }  # fmt: skip
    params = StdioServerParameters(command=TRADER, args=["mcp", "--transport", "stdio"], env=variables, cwd=directory)
    log = directory / "stderr.log"
    return stdio_client(params, errlog=log.open("w")), log


async def test_every_tool_over_stdio(gateway: Any, ledger_template: Path, tmp_path: Path) -> None:
    url = copy_ledger(ledger_template, tmp_path / "ledger")
    transport, log = server_process(gateway, url, tmp_path, MCP_TRADING_ENABLED="true")
    async with Client(transport) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == set(READ_TOOLS) | set(WRITE_TOOLS) | set(BACKTEST_TOOLS)
        for name, arguments in READ_CALLS.items():
            result = await client.call_tool(name, arguments)
            assert not result.is_error, f"{name}: {text_of(result)}"
            jsonschema.validate(result.structured_content, tools[name].output_schema)
        context = (await client.call_tool("get_trading_context", {})).structured_content
        assert context is not None and context["mode"] == "shadow"
        assert context["now_utc"].startswith("2025-03-04T00:0")  # the venue's clock: the replayed morning
        assert {m["market"]: m["open_now"] for m in context["markets"]}["ASX"] is True

        async def ok(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
            result = await client.call_tool(name, arguments)
            assert not result.is_error, f"{name}: {text_of(result)}"
            jsonschema.validate(result.structured_content, tools[name].output_schema)
            assert result.structured_content is not None
            return result.structured_content

        buy = {"symbol": "BHP/AUD", "side": "buy", "amount": 200, "type": "limit", "price": 37.69}
        token = json.loads(text_of(await client.call_tool("preview_order", buy)))["token"]
        placed = await ok("place_order", {"token": token})
        assert placed["shadow"] is True and placed["order"]["filled"] == 200
        again = await client.call_tool("place_order", {"token": token})
        assert again.is_error and "already used" in text_of(again)
        resting = await ok("preview_order", {**buy, "price": 36.5})
        cid = (await ok("place_order", {"token": resting["token"]}))["client_order_id"]
        assert (await ok("cancel_order", {"order_id": cid}))["order"]["status"] == "canceled"
        plan = await ok("create_plan", {"symbol": "BHP/AUD", "side": "buy", "amount": 100, "entry": 36.8,
                                        "stop": 36.0, "target": 39.0})  # fmt: skip
        assert (await ok("cancel_plan", {"plan_id": plan["plan"]["plan_id"]}))["plan"]["status"] == "canceled"
        positions = await ok("get_positions", {})
        assert [(p["symbol"], p["amount"]) for p in positions["positions"]] == [("BHP/AUD", 200)]
    assert gateway_orders(gateway) == []  # shadow mode: nothing reached the venue
    stderr = log.read_text()
    assert "MCP server ready" in stderr and "mcp_server.state" in stderr  # logs on stderr, stdout kept for JSON-RPC
    with open_ledger(url) as ledger:
        calls = q.recent_events(ledger, kinds=["tool_call"], limit=None)
        sessions = q.sessions(ledger)
        orders = q.orders_by_client_prefix(ledger, "trd-")
    assert {c["payload"]["tool"] for c in calls} == set(READ_CALLS) | set(WRITE_TOOLS)
    assert [(s["program"], s["mode"], s["end_reason"]) for s in sessions] == [("mcp", "shadow", "stopped")]
    assert sorted((o["status"], float(o["filled"])) for o in orders if o["shadow"]) == [
        ("canceled", 0.0),
        ("canceled", 0.0),
        ("closed", 200.0),
    ]
