"""Streamable HTTP behind the bearer token: refused without it, served with it (uvicorn on a port-0 socket)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_helpers import build_test_server, copy_ledger, server_settings, start_gateway

from mcp_server.transport import check_http_binding, http_server, is_loopback
from sdk.settings import SettingsError

TOKEN = "test-token-4f9c2a7e1b"


def test_loopback_addresses() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.10", "::", "example.com"))


def test_http_needs_a_token_and_never_binds_the_network_without_one() -> None:
    assert check_http_binding("0.0.0.0", TOKEN) == TOKEN
    with pytest.raises(SettingsError, match="not a loopback address and MCP_HTTP_TOKEN is not set"):
        check_http_binding("0.0.0.0", None)
    with pytest.raises(SettingsError, match=r"MCP_HTTP_TOKEN is not set.*e\.g\. MCP_HTTP_TOKEN="):
        check_http_binding("127.0.0.1", "")


@pytest.mark.shared_data
async def test_bearer_token_guards_every_request(catalog: Any, ledger_template: Path, tmp_path: Path) -> None:
    gw = await start_gateway(catalog, tmp_path / "gateway.json")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mcp"
    settings = server_settings(gw, copy_ledger(ledger_template, tmp_path / "ledger"), tmp_path)
    http = http_server(build_test_server(gw, settings), "127.0.0.1", port, TOKEN)
    serving = asyncio.create_task(http.serve(sockets=[sock]))
    try:
        while not http.started:
            await asyncio.sleep(0.02)
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        async with httpx.AsyncClient() as raw:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                answer = await raw.post(url, json=body, headers={"Accept": "application/json", **headers})
                assert answer.status_code == 401, headers
                assert answer.headers["www-authenticate"].startswith("Bearer")
        authorised = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"})
        async with Client(streamable_http_client(url, http_client=authorised)) as client:
            result = await client.call_tool("get_ticker", {"symbol": "BHP/AUD"})
            assert not result.is_error and result.structured_content is not None
            assert result.structured_content["price_currency"] == "AUD"
    finally:
        http.should_exit = True
        await serving
        await gw.stop()
