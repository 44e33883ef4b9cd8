"""Several processes at once, and a writer killed with SIGKILL mid-stream (real processes, real files and server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sdk.ledger import open_ledger
from sdk.ledger import queries as q
from sdk.ledger.models import EventRow, OrderRow, TradeRow

WORKER = Path(__file__).with_name("_worker.py")
REPO = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{out}\n{err}"
    return out


@pytest.mark.slow
def test_one_writer_another_writer_and_readers_at_once_on_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    """The runner writes fills, the MCP server writes audit events, two dashboards read: nothing fails or is lost."""
    stop = tmp_path / "stop"
    readers = [spawn("reader", sqlite_url, str(stop)) for _ in range(2)]
    runner = spawn("fills", sqlite_url, "runner1", "100")
    mcp = spawn("events", sqlite_url, "mcp1", "100")
    try:
        runner_out = finish(runner)
        finish(mcp)
    finally:
        stop.touch()
    reports = [finish(r) for r in readers]
    assert runner_out.count("committed ") == 100
    for report in reports:
        reads, fills = int(report.split()[1]), int(report.split()[3])
        assert reads > 0 and 0 <= fills <= 100
    with open_ledger(sqlite_url) as ledger, ledger.read() as conn:
        assert conn.execute(select(func.count()).select_from(TradeRow)).scalar_one() == 100
        assert conn.execute(select(func.count()).select_from(OrderRow)).scalar_one() == 100
        assert conn.execute(select(func.count()).select_from(EventRow)).scalar_one() == 100
        assert {r["run_id"] for r in q.sessions(ledger)} == {"runner1", "mcp1"}


@pytest.mark.slow
def test_sigkill_mid_stream_loses_no_committed_row(ledger_url: str) -> None:
    writer = spawn("fills", ledger_url, "doomed", "0")
    committed: list[str] = []
    assert writer.stdout is not None
    deadline = time.monotonic() + 60
    while len(committed) < 40 and time.monotonic() < deadline:
        line = writer.stdout.readline()
        if not line:
            break
        committed.append(line.split()[1])
    assert len(committed) >= 40, f"the writer did not get going: {writer.stderr.read() if writer.stderr else ''}"
    writer.send_signal(signal.SIGKILL)  # mid-stream: it is writing the next order or fill right now
    rest, _ = writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    committed += [line.split()[1] for line in rest.splitlines() if line.startswith("committed ")]

    with open_ledger(ledger_url) as ledger:  # opens cleanly: migrated, not locked, consistent
        if ledger.dialect == "sqlite":
            with ledger.read() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        stored = q.known_trade_ids(ledger, "IB", "DU****321")
        assert set(committed) <= stored, f"lost: {sorted(set(committed) - stored)}"
        assert len(stored) - len(committed) <= 1  # at most the fill being written when it died
        # and the next run writes as usual
        after = ledger.writer()
        after.start_session(venue="IB", account="DU7654321", base_currency="AUD", mode="paper", run_id="next")
        after.record_trade(
            {
                "id": "next.E1",
                "symbol": "BHP/AUD",
                "side": "sell",
                "price": 45.2,
                "amount": 10,
                "timestamp": 1_763_700_000_000,
            }
        )
        assert "next.E1" in q.known_trade_ids(ledger, "IB", "DU****321")
