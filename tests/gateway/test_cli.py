"""`trader gateway`: options checked with a clear message, and the command serving until interrupted."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from ib_async import IB
from typer.testing import CliRunner

from sdk.cli import app
from sdk.cli.gateway import build_config
from sdk.gateway import GatewayConfig, OfflineGateway


@pytest.fixture
def _root_handlers() -> Any:
    """`trader` installs a log handler on the CliRunner's stream; put the root logger back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("_root_handlers")
def test_bad_options_name_the_option_and_say_what_to_write() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["gateway", "--start", "2025-03-03T10:00:00", "--port", "0"])
    assert result.exit_code == 2 and "--start" in result.output and "offset" in result.output
    result = runner.invoke(app, ["gateway", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2 and "loopback" in result.output
    with pytest.raises(typer.BadParameter, match="cash 'AUD': write CURRENCY=AMOUNT"):
        build_config(cash="AUD")
    with pytest.raises(typer.BadParameter, match="unknown fault 'explode'"):
        build_config(faults="explode=1")
    config = build_config(start="2025-03-03T10:00:00+11:00", cash="AUD=500000,USD=1000", faults="delay_ms=5")
    assert str(config.cash["USD"]) == "1000" and config.start is not None and config.start.utcoffset() is not None


def test_the_command_serves_until_interrupted(tmp_path: Path) -> None:
    trader = Path(sys.executable).parent / "trader"
    state = tmp_path / "state.json"
    command = [str(trader), "gateway", "--port", "0", "--control-port", "0", "--speed", "0", "--state-file", str(state)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**os.environ, "LOG_LEVEL": "INFO"})
    assert process.stderr is not None
    lines: list[str] = []
    port = None
    deadline = time.monotonic() + 60
    while port is None and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"offline IB gateway on 127\.0\.0\.1:(\d+)", line)
        port = int(found[1]) if found else None
    try:
        assert port is not None, "".join(lines)
        assert any("SYNTHETIC" in line for line in lines)  # no --data: it says so plainly
        ib: Any = IB()
        ib.connect("127.0.0.1", port, clientId=1, timeout=10)
        assert ib.managedAccounts() == ["DU0000001"]
        ib.disconnect()
    finally:
        os.kill(process.pid, signal.SIGINT)
        process.wait(20)
    assert process.returncode == 0
    assert state.is_file()  # the account was written at the stop


def _plain(output: str) -> str:
    """The CLI's output without rich's box drawing and line wrapping."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


@pytest.mark.usefixtures("_root_handlers")
def test_a_missing_data_directory_is_named_as_such_not_as_a_listen_failure(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = tmp_path / "nonexistent"
    result = runner.invoke(app, ["gateway", "--data", str(missing), "--port", "0", "--control-port", "0"])
    assert result.exit_code == 2, result.output
    text = _plain(result.output)
    assert "--data" in text and f"{missing} does not exist" in text and "cannot listen" not in text
    a_file = tmp_path / "prices.csv"
    a_file.write_text("x\n")
    result = runner.invoke(app, ["gateway", "--data", str(a_file), "--port", "0", "--control-port", "0"])
    assert result.exit_code == 2 and f"{a_file} is not a directory" in _plain(result.output)


@pytest.mark.usefixtures("_root_handlers")
def test_a_state_file_missing_a_key_is_named_with_the_key_and_what_to_do(tmp_path: Path) -> None:
    state = tmp_path / "paper.json"
    state.write_text(json.dumps({"version": 1, "account": "DU0000001", "positions": [], "orders": []}))
    runner = CliRunner()
    result = runner.invoke(
        app, ["gateway", "--port", "0", "--control-port", "0", "--speed", "0", "--state-file", str(state)]
    )
    assert result.exit_code == 2, result.output
    text = _plain(result.output)
    assert "Traceback" not in text and "KeyError" not in text
    assert str(state) in text and "has no 'cash', 'executions'" in text and "fresh account" in text


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ([], "holds a JSON list"),
        ({"account": "DU0000001"}, "has no 'cash'"),
        (
            {"account": "DU0000001", "cash": {"AUD": "x"}, "positions": [], "orders": [], "executions": [],
             "max_order_ids": {}, "perm_seq": 1, "exec_seq": 0},
            "malformed value",
        ),
        (
            {"account": "DU0000001", "cash": {}, "positions": [{"symbol": "BHP/AUD"}], "orders": [], "executions": [],
             "max_order_ids": {}, "perm_seq": 1, "exec_seq": 0},
            "malformed value",
        ),
    ],
    ids=["list", "no-cash", "bad-decimal", "short-record"],
)  # fmt: skip
async def test_a_broken_state_file_stops_the_gateway_with_a_clear_message(
    tmp_path: Path, synthetic_catalog: Any, payload: Any, expected: str
) -> None:
    state = tmp_path / "paper.json"
    state.write_text(json.dumps(payload))
    gw = OfflineGateway(GatewayConfig(port=0, control_port=0, speed=0, state_file=state), catalog=synthetic_catalog)
    with pytest.raises(ValueError, match=expected) as info:
        await gw.start()
    assert str(state) in str(info.value) and "fresh account" in str(info.value)
    assert json.loads(state.read_text()) == payload  # left as it was, for the user to look at


@pytest.mark.usefixtures("_root_handlers")
def test_a_port_in_use_says_cannot_listen_and_names_the_option() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        result = CliRunner().invoke(app, ["gateway", "--port", str(port), "--control-port", "0", "--speed", "0"])
    finally:
        holder.close()
    assert result.exit_code == 1, result.output
    text = _plain(result.output)
    assert f"cannot listen on 127.0.0.1:{port}" in text and "another --port" in text
