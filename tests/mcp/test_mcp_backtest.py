"""``run_backtest`` through the SDK's in-memory client on a read-only server: it runs ``trader backtest`` in a child
process on real bars and answers the run's ids, metrics and files; bad input is a tool error that says what to fix;
nothing reaches the venue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp_helpers import Harness, build_test_server, copy_ledger, gateway_orders, server_settings, start_gateway

from mcp_server import BACKTEST_TOOLS, READ_TOOLS

pytestmark = pytest.mark.shared_data

BHP = {"strategy": "ma_crossover", "symbols": ["BHP/AUD"], "start": "2019-01-01", "end": "2019-12-31"}


async def test_run_backtest_answers_the_runs_ids_metrics_and_files(
    catalog: Any, ledger_template: Path, backtest_data: Path, tmp_path: Path
) -> None:
    gw = await start_gateway(catalog, tmp_path / "gateway.json")
    url = copy_ledger(ledger_template, tmp_path / "ledger")
    runs = tmp_path / "runs"
    settings = server_settings(gw, url, tmp_path, market_data_dir=backtest_data, backtest_dir=runs)
    harness = await Harness(build_test_server(gw, settings)).start()
    try:
        tools = await harness.tools()
        assert set(tools) == {*READ_TOOLS, *BACKTEST_TOOLS}, "registered without MCP_TRADING_ENABLED"
        hints = tools["run_backtest"].annotations
        assert (hints.read_only_hint, hints.destructive_hint, hints.open_world_hint) == (False, False, False)
        metrics_schema = tools["run_backtest"].output_schema["$defs"]["BacktestMetricsOut"]["properties"]
        assert "in base_currency" in metrics_schema["final_equity"]["description"]

        answer = await harness.ok("run_backtest", {**BHP, "params": {"fast": 5, "slow": 20}, "slippage_bps": 2})
        jsonschema.validate(answer, tools["run_backtest"].output_schema)
        run_dir = Path(answer["run_dir"])
        assert run_dir.parent == runs and run_dir.name == answer["run_id"]
        assert set(answer["artifacts"]) == {"bars", "orders", "fills", "equity", "summary", "report", "manifest"}
        assert all(Path(p).is_file() for p in answer["artifacts"].values())
        summary = json.loads((run_dir / "summary.json").read_text())
        assert answer["configuration_hash"] == summary["configuration_hash"]
        assert summary["configuration"]["params"] == {"fast": 5.0, "slow": 20.0}
        assert summary["configuration"]["slippage_bps"] == "2.0"
        metrics = answer["metrics"]
        assert metrics["base_currency"] == "AUD" and metrics["initial_equity"] == 1_000_000
        assert metrics["trades"] >= 1 and answer["orders"] >= 2 and answer["fills"] >= 2
        assert metrics["final_equity"] == summary["metrics"]["final_equity"]

        refused = await harness.error("run_backtest", {**BHP, "strategy": "nope"})
        assert "no strategy 'nope'" in refused and "fix the arguments" in refused
        assert [p.name for p in runs.iterdir()] == [answer["run_id"]], "a refused run writes nothing"
        assert gateway_orders(gw) == [], "a backtest sends nothing to the venue"
    finally:
        await harness.stop()
        await gw.stop()
