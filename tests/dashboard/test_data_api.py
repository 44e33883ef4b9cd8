"""The data API (``trader api``, :mod:`dashboard.api`): routes through the ASGI client (httpx), its OpenAPI
schema, its IB session against the offline gateway over a real socket, and one real ``trader api`` process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.status_cache import ms, write_month, write_plan
from typer.testing import CliRunner

from dashboard.api.app import build_app
from dashboard.api.models import DataStatusOut, RangesOut
from sdk.cli import app as trader_app
from sdk.data.status import data_status
from sdk.settings import load_settings

pytestmark = pytest.mark.shared_data


@pytest.fixture
def cache(tmp_path: Path, catalog: Any) -> Path:
    root = tmp_path / "ib-cache"
    march = catalog.bars("SPY/USD", "1 min", "2024-03-01T00:00Z", "2024-04-01T00:00Z")
    cov = [[ms("2024-03-01"), ms("2024-03-08")], [ms("2024-03-11"), ms("2024-04-01")]]
    write_month(root, march, symbol="SPY/USD", bar_size="1 min", coverage=cov)
    write_plan(root, symbol="SPY/USD", bar_size="1 min", verify={"expected": 10, "present": 10})
    return root


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


async def test_status_and_ranges(cache: Path) -> None:
    app = build_app(load_settings(), cache_dir=cache)
    async with _client(app) as client:
        status = await client.get("/data/status")
        assert status.status_code == 200
        assert status.json() == DataStatusOut.model_validate(data_status(cache)).model_dump(mode="json")
        assert status.json()["series"][0]["coverage"] == [[ms("2024-03-01"), ms("2024-03-08")],
                                                          [ms("2024-03-11"), ms("2024-04-01")]]  # fmt: skip
        for path in ("/data/ranges/SPY-USD", "/data/ranges/SPY%2FUSD", "/data/ranges/SPY/USD"):
            found = await client.get(path)
            assert found.status_code == 200, (path, found.text)
            body = RangesOut.model_validate(found.json())
            assert body.symbol == "SPY/USD"
            assert [(g.start, g.end) for g in body.series[0].gaps] == [("2024-03-08T00:00:00Z", "2024-03-11T00:00:00Z")]
        missing = await client.get("/data/ranges/QQQ-USD")
        assert missing.status_code == 404
        assert missing.json()["error"].endswith("it holds: SPY/USD. Download them with `trader data download`")
        bad = await client.get("/data/ranges/SPY")
        assert bad.status_code == 400 and "BASE/QUOTE or BASE-QUOTE" in bad.json()["error"]


async def test_openapi_describes_every_route_with_resolvable_models(cache: Path) -> None:
    async with _client(build_app(load_settings(), cache_dir=cache)) as client:
        schema = (await client.get("/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    assert set(schema["paths"]) == {"/data/status", "/data/ranges/{symbol}", "/data/ib/status", "/data/ib/test"}
    assert "post" in schema["paths"]["/data/ib/test"]
    components = schema["components"]["schemas"]
    assert {"DataStatusOut", "SeriesOut", "DownloadOut", "RangesOut", "IbStatusOut", "IbTestOut", "ErrorOut"} <= set(
        components
    )
    refs = set(re.findall(r'"\$ref": "#/components/schemas/(\w+)"', str(schema).replace("'", '"')))
    assert refs and refs <= set(components)
    assert "rows" in components["SeriesOut"]["required"]


async def test_ib_session_is_lazy_and_answers_the_gateways_time(gateway: Any, cache: Path) -> None:
    settings = load_settings(ib_host="127.0.0.1", ib_port=gateway.port, ib_client_id=21)
    app = build_app(settings, cache_dir=cache)
    try:
        async with _client(app) as client:
            before = (await client.get("/data/ib/status")).json()
            assert (before["connected"], before["attempted"], before["client_id"]) == (False, False, None)
            answer = await client.post("/data/ib/test")
            assert answer.status_code == 200, answer.text
            body = answer.json()
            gateway_ms = int(gateway.clock.now().timestamp()) * 1000  # paused: IB answers whole seconds
            assert body["ok"] and body["venue_time_ms"] == gateway_ms and body["error"] is None
            after = (await client.get("/data/ib/status")).json()
            assert after["connected"] and after["client_id"] == 21 and after["port"] == gateway.port
            assert after["simulated"] is True and after["last_fetch_ms"] and after["last_error"] is None
    finally:
        await app.state.ib.close()


async def test_ib_test_says_why_when_ib_is_unreachable(cache: Path) -> None:
    settings = load_settings(ib_host="127.0.0.1", ib_port=1, ib_connect_timeout=2)
    app = build_app(settings, cache_dir=cache)
    async with _client(app) as client:
        answer = await client.post("/data/ib/test")
        assert answer.status_code == 503 and answer.json()["ok"] is False
        assert "127.0.0.1:1" in answer.json()["error"] or "onnect" in answer.json()["error"]
        status = (await client.get("/data/ib/status")).json()
        assert status["connected"] is False and status["last_error"] == answer.json()["error"]


def test_a_remote_host_is_refused_without_allow_remote() -> None:
    # TEST-NET-1 (RFC 5737): never an address of this host, so even a broken check cannot listen off loopback
    result = CliRunner().invoke(trader_app, ["api", "--host", "192.0.2.1", "--port", "0"])
    assert result.exit_code == 2
    assert "not a loopback address" in result.output and "--allow-remote" in result.output


async def test_a_real_trader_api_process_answers_the_gateways_time(gateway: Any, cache: Path, tmp_path: Path) -> None:
    env = {**os.environ, "IB_HOST": "127.0.0.1", "IB_PORT": str(gateway.port), "IB_CLIENT_ID": "23",
           "LOG_LEVEL": "WARNING"}  # fmt: skip
    trader = Path(sys.executable).parent / "trader"
    proc = await asyncio.create_subprocess_exec(
        str(trader), "api", "--port", "0", "--cache", str(cache), env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        # the socket listens before the address is printed: the kernel holds the connection until uvicorn serves it
        async with httpx.AsyncClient(base_url=url.group(0), timeout=20) as client:
            answer = (await client.post("/data/ib/test")).json()
            assert answer["ok"], answer
            assert answer["venue_time_ms"] == int(gateway.clock.now().timestamp()) * 1000
            status = (await client.get("/data/status")).json()
            assert status["series"][0]["symbol"] == "SPY/USD"
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
    assert proc.returncode == 0, (await proc.stderr.read()).decode() if proc.stderr else ""
