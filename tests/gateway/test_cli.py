"""`trader gateway`: options checked with a clear message, and the command serving until interrupted."""

from __future__ import annotations

import logging
import os
import re
import signal
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
