"""``get_data_status`` through the SDK's in-memory MCP client, on a server over the offline gateway, reading a
cache of real bars (``DATA_CACHE_DIR``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp_helpers import Harness, build_test_server, copy_ledger, server_settings, start_gateway
from support.status_cache import ms, write_month, write_plan

from mcp_server.tools.data_status import register
from sdk.data.status import data_status

pytestmark = pytest.mark.shared_data


async def test_get_data_status_lists_series_downloads_and_a_symbols_gaps(
    catalog: Any, ledger_template: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "ib-cache"
    march = catalog.bars("SPY/USD", "1 min", "2024-03-01T00:00Z", "2024-04-01T00:00Z")
    cov = [[ms("2024-03-01"), ms("2024-03-08")], [ms("2024-03-11"), ms("2024-04-01")]]
    write_month(cache, march, symbol="SPY/USD", bar_size="1 min", coverage=cov)
    write_plan(cache, symbol="SPY/USD", bar_size="1 min", verify={"expected": 10, "present": 10})
    gw = await start_gateway(catalog, tmp_path / "gateway.json")
    settings = server_settings(gw, copy_ledger(ledger_template, tmp_path / "ledger"), tmp_path, data_cache_dir=cache)
    server = build_test_server(gw, settings)
    register(server)
    harness = await Harness(server).start()
    try:
        tool = (await harness.tools())["get_data_status"]
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        out = await harness.ok("get_data_status")
        jsonschema.validate(out, tool.output_schema)
        expected = data_status(cache)
        assert out["cache_dir"] == str(cache) and out["exists"] is True and out["unreadable"] == []
        assert [(s["symbol"], s["rows"], s["coverage"]) for s in out["series"]] == [
            ("SPY/USD", len(march), expected["series"][0]["coverage"])
        ]
        assert [(d["state"], d["chunks_done"], d["chunks_total"]) for d in out["downloads"]] == [("finished", 2, 2)]
        assert out["ranges"] is None
        one = await harness.ok("get_data_status", {"symbol": "SPY-USD"})
        assert one["symbol"] == "SPY/USD"
        assert one["ranges"][0]["gaps"] == [[ms("2024-03-08"), ms("2024-03-11")]]
        error = await harness.error("get_data_status", {"symbol": "QQQ/USD"})
        assert "holds no bars of QQQ/USD; it holds: SPY/USD" in error and "without a symbol" in error
    finally:
        await harness.stop()
        await gw.stop()
