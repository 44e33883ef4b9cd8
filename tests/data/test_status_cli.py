"""`trader data status` (``sdk.cli.data_status``) through typer's CliRunner on a cache of real bars."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import typer
from support.status_cache import ms, write_month, write_plan
from typer.testing import CliRunner

from sdk.cli.data_status import register
from sdk.data import Catalog

pytestmark = pytest.mark.shared_data

runner = CliRunner()


def _data_app() -> typer.Typer:
    """``trader data`` as :func:`sdk.cli.data.register` builds it, with only ``status`` registered."""
    data_app = typer.Typer(name="data", no_args_is_help=True)
    data_app.callback()(lambda: None)
    register(data_app)
    return data_app


@pytest.fixture
def cache(tmp_path: Path, catalog: Catalog) -> Path:
    root = tmp_path / "ib-cache"
    march = catalog.bars("SPY/USD", "1 min", "2024-03-01T00:00Z", "2024-04-01T00:00Z")
    write_month(root, march, symbol="SPY/USD", bar_size="1 min", coverage=[[ms("2024-03-01"), ms("2024-04-01")]])
    write_plan(root, symbol="SPY/USD", bar_size="1 min", verify={"expected": 780, "present": 779, "missing": 1})
    write_plan(
        root, symbol="SPY/USD", bar_size="5 mins", pid=os.getpid(), host=socket.gethostname(), finished_at=None,
        chunks=[{"start": ms("2024-03-01"), "end": ms("2024-03-02"), "status": "failed", "bars": 0,
                 "error": "HMDS query returned no data", "attempts": 2}],
    )  # fmt: skip
    return root


def test_json_is_the_service_answer(cache: Path, catalog: Catalog) -> None:
    result = runner.invoke(_data_app(), ["status", "--cache", str(cache), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    march = catalog.bars("SPY/USD", "1 min", "2024-03-01T00:00Z", "2024-04-01T00:00Z")
    assert [(s["symbol"], s["bar_size"], s["rows"]) for s in body["series"]] == [("SPY/USD", "1min", len(march))]
    assert [(d["bar_size"], d["state"]) for d in body["downloads"]] == [("1 min", "finished"), ("5 mins", "running")]


def test_tables_show_series_downloads_and_chunk_errors(cache: Path, catalog: Catalog) -> None:
    result = runner.invoke(_data_app(), ["status", "--cache", str(cache)])
    assert result.exit_code == 0, result.output
    rows = len(catalog.bars("SPY/USD", "1 min", "2024-03-01T00:00Z", "2024-04-01T00:00Z"))
    row = next(line for line in result.output.splitlines() if "SPY/USD" in line and "TRADES" in line)
    assert f"{rows:,}" in row and "2024-03-01 14:30" in row and "2024-03-01..2024-04-01" in row
    assert "running (pid" in result.output and "0/1" in result.output
    assert "present 779, missing 1" in result.output
    assert (
        "SPY/USD 5 mins: chunk from 2024-03-01 00:00" in result.output
        and "HMDS query returned no data" in result.output
    )


def test_default_cache_is_the_setting_and_a_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_CACHE_DIR", str(tmp_path / "none-yet"))
    result = runner.invoke(_data_app(), ["status"])
    assert result.exit_code == 0, result.output
    assert f"cache {tmp_path / 'none-yet'}: empty" in result.output.replace("\n", "")
    (tmp_path / "afile").write_text("")
    result = runner.invoke(_data_app(), ["status", "--cache", str(tmp_path / "afile")])
    assert result.exit_code == 2 and "is a file, not a cache directory" in result.output
