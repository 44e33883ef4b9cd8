"""Lease figures: how long a crashed run stays unowned before a restarted runner resumes it.

* ``runner.lease_takeover_seconds``: a ``python -m runner`` process (shadow, ma_crossover, BHP/AUD, 5m bars,
  ``LEASE_TTL=3``) on an in-process offline gateway and a SQLite ledger is killed with SIGKILL once it runs;
  a second one is started at once with ``--take-over``. The figure is the wall time from the SIGKILL to the
  second process's ``resumed an interrupted run`` (it waits for the dead holder's lease to expire on the
  database's clock; its own start-up overlaps the wait). Target: under the lease's TTL plus 2 s.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
TTL = 3.0
#: Tuesday 4 March 2025, 11:00 Sydney: the ASX is open in the real data.
ASX_OPEN = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)


def _read(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""


async def _wait_for_text(log: Path, text: str, proc: asyncio.subprocess.Process, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while text not in _read(log):
        if proc.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the runner never logged {text!r}:\n{_read(log)[-2000:]}")
        await asyncio.sleep(0.02)


async def _start(port: int, db: str, log: Path, *args: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IB_", "DATABASE_", "EXECUTE_", "LOG_"))}
    env.update(IB_PORT=str(port), IB_HOST="127.0.0.1", IB_CONNECT_TIMEOUT="5", DATABASE_URL=db, LOG_LEVEL="INFO",
               LEASE_TTL=str(TTL))  # fmt: skip
    command = [sys.executable, "-m", "runner", "--symbols", "BHP/AUD", "--strategy", "ma_crossover",
               "--timeframe", "5m", "--shadow", *args]  # fmt: skip
    with log.open("wb") as sink:
        return await asyncio.create_subprocess_exec(*command, stdout=sink, stderr=sink, env=env, cwd=log.parent)


async def _takeover(catalog: Any, folder: Path) -> float:
    from sdk.gateway import GatewayConfig, OfflineGateway
    from sdk.ledger import upgrade

    db = f"sqlite:///{folder}/lease.db"
    upgrade(db)
    gw = OfflineGateway(
        GatewayConfig(port=0, control_port=None, speed=60, start=ASX_OPEN, state_file=folder / "gw.json"),
        catalog=catalog,
    )
    await gw.start()
    procs: list[asyncio.subprocess.Process] = []
    try:
        first = await _start(gw.port, db, folder / "first.log")
        procs.append(first)
        await _wait_for_text(folder / "first.log", "runner started", first, 120)
        killed = time.monotonic()
        first.send_signal(signal.SIGKILL)
        await first.wait()
        second = await _start(gw.port, db, folder / "second.log", "--take-over")
        procs.append(second)
        await _wait_for_text(folder / "second.log", "resumed an interrupted run", second, TTL + 60)
        return time.monotonic() - killed
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await gw.stop()


async def figures() -> list[dict[str, Any]]:
    from sdk.data import load_catalog

    logging.getLogger("ib_async").setLevel(logging.CRITICAL)
    catalog = await asyncio.to_thread(load_catalog, DATA if (DATA / "README.md").is_file() else None)
    with tempfile.TemporaryDirectory() as folder:
        seconds = await _takeover(catalog, Path(folder))
    return [
        {"name": "runner.lease_takeover_seconds", "value": round(seconds, 2), "unit": "s",
         "target": f"< {TTL + 2:g} (LEASE_TTL {TTL:g} + 2)"},
    ]  # fmt: skip
