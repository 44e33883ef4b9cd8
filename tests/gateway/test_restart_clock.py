"""A gateway process restarted on its state file keeps its simulated clock (issue 12, Deliver 6).

Real ``trader gateway`` processes on the synthetic universe, paused: the first one's clock is moved on over
its control API and the process is stopped (SIGINT writes the state file). Started again on that file, with
no ``--start`` it resumes at the saved clock; with the first run's ``--start`` (earlier than the saved clock)
it refuses to start and says why and what to do, leaving the state file as it was; with a later ``--start``
it moves forward to it. A resting order placed in the first run is still there, at its own time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ib_async import IB, LimitOrder, Stock

T0 = datetime.fromisoformat("2025-03-04T11:00:00+11:00")
_TRADER = Path(sys.executable).parent / "trader"


class Gateway:
    """One ``trader gateway`` process: its ports from its first line, its control API over HTTP."""

    def __init__(self, state: Path, *args: str) -> None:
        command = [str(_TRADER), "gateway", "--port", "0", "--control-port", "0", "--speed", "0",
                   "--state-file", str(state), *args]  # fmt: skip
        env = {**os.environ, "LOG_LEVEL": "INFO"}
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self.port = self.control_port = 0
        assert self.process.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break  # it exited
            self.lines.append(line)
            found = re.search(r"offline IB gateway on 127\.0\.0\.1:(\d+), control API http://127\.0\.0\.1:(\d+)", line)
            if found:
                self.port, self.control_port = int(found[1]), int(found[2])
                return

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.control_port}{path}", data=data,
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def clock(self) -> datetime:
        return datetime.fromisoformat(self.control("/clock")["now"])

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def test_a_restarted_gateway_resumes_its_saved_clock_and_refuses_an_earlier_start(tmp_path: Path) -> None:
    state = tmp_path / "paper.json"
    first = Gateway(state, "--start", T0.isoformat())
    try:
        assert first.port, first.output
        assert first.clock() == T0
        ib = IB()
        ib.connect("127.0.0.1", first.port, clientId=3, timeout=10)
        [bhp] = ib.qualifyContracts(Stock("BHP", "ASX", "AUD"))
        ib.placeOrder(bhp, LimitOrder("BUY", 10, 1.0, tif="GTC", orderRef="trd-rests"))  # far under the market
        deadline = time.monotonic() + 10
        while not first.control("/state")["orders"] and time.monotonic() < deadline:
            ib.sleep(0.05)
        ib.disconnect()
        first.control("/clock", {"advance_seconds": 3 * 3600})
        saved = first.clock()
        assert saved == T0 + timedelta(hours=3)
    finally:
        assert first.stop() == 0, first.output
    before = state.read_text()

    earlier = Gateway(state, "--start", T0.isoformat())  # the first run's command line, again
    assert earlier.stop() == 2, earlier.output
    message = " ".join(earlier.output.split())
    assert f"--start {T0.isoformat()} is earlier than the clock saved in state file {state}" in message, message
    assert "Leave --start out to resume at" in message and "Traceback" not in message
    assert state.read_text() == before, "a refused start changed the state file"

    resumed = Gateway(state)
    try:
        assert resumed.port, resumed.output
        assert resumed.clock() == saved, "the restarted gateway did not resume at its saved clock"
        [order] = resumed.control("/state")["orders"]
        assert order["orderRef"] == "trd-rests" and order["status"] == "Submitted"
        resumed.control("/clock", {"advance_seconds": 600})
        later = resumed.clock()
    finally:
        assert resumed.stop() == 0, resumed.output

    forward = Gateway(state, "--start", (later + timedelta(days=1)).isoformat())
    try:
        assert forward.port, forward.output
        assert forward.clock() == later + timedelta(days=1), "a later --start moves the clock forward"
    finally:
        assert forward.stop() == 0, forward.output
