"""``trader data download`` figures (issue 15), real processes against the offline gateway with its pacing on.

* ``data.download_1y_1min_seconds``: one ``trader data download SPY/USD --bar-size "1 min"`` process for 2024 (regular
  hours) from start to exit, interpreter start included. The gateway serves its real SPY minutes where
  ``../shared/data`` holds them (20 February - 17 May 2024) and minutes built on the real daily bars elsewhere (its
  replayed path, ``docs/gateway.md``): the same requests, pacing and bytes as real minutes. Target < 30 s.
* ``data.download_resume_overhead``: a quarter of SPY minutes downloaded by a process SIGKILLed 5 times (each once
  it has recorded more windows), then run to its end; the requests the gateway answered beyond those of an
  uninterrupted download of the same quarter on a gateway of its own. Target 0 (a window in flight at a kill is
  asked again: at most one a kill).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data"))
NOW = datetime(2025, 1, 6, 14, tzinfo=UTC)  # the gateway's time: after the year downloaded
KILLS = 5


def _command(port: int, cache: Path, start: str, end: str) -> list[str]:
    return [sys.executable, "-c", "from sdk.cli import main; main()", "--env-file", "/nonexistent.env", "data",
            "download", "SPY/USD", "--bar-size", "1 min", "--start", start, "--end", end,
            "--cache", str(cache)]  # fmt: skip


def _env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IB_", "LOG_"))}
    env.update(IB_HOST="127.0.0.1", IB_PORT=str(port), IB_CONNECT_TIMEOUT="10", ACTIVE_EXCHANGE="IB",
               LOG_LEVEL="WARNING")  # fmt: skip
    return env


async def _gateway(catalog: Any) -> Any:
    from sdk.gateway import GatewayConfig, OfflineGateway

    gw = OfflineGateway(
        GatewayConfig(host="127.0.0.1", port=0, control_port=None, speed=1, start=NOW, account="DU0000001",
                      cash={"AUD": 1_000_000, "USD": 100_000}),
        catalog=catalog,
    )  # fmt: skip
    await gw.start()
    return gw


def _done(cache: Path) -> int:
    try:
        (path,) = (cache / ".downloads").glob("*.json")
        return sum(c["status"] == "done" for c in json.loads(path.read_text())["chunks"])
    except (ValueError, OSError):
        return 0


async def _year(catalog: Any, tmp: Path) -> dict[str, Any]:
    gw = await _gateway(catalog)
    try:
        began = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *_command(gw.port, tmp / "year", "2024-01-01", "2024-12-31"), env=_env(gw.port),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await proc.communicate()
        seconds = time.perf_counter() - began
        pacing = gw.pacer.state()
    finally:
        await gw.stop()
    summary = out.decode().strip().splitlines()[0] if out else f"exit {proc.returncode}"
    return {
        "name": "data.download_1y_1min_seconds",
        "value": round(seconds, 2),
        "unit": "s",
        "target": "< 30",
        "detail": f"one `trader data download` process, SPY/USD 1 min 2024 regular hours, offline gateway pacing on "
        f"(requests {pacing['requests']}, violations {pacing['violations']}); {summary}; exit {proc.returncode}",
    }


async def _resume(catalog: Any, tmp: Path) -> dict[str, Any]:
    quarter = ("2024-07-01", "2024-09-30")
    whole_gw = await _gateway(catalog)
    try:
        proc = await asyncio.create_subprocess_exec(*_command(whole_gw.port, tmp / "whole", *quarter),
                                                    env=_env(whole_gw.port), stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.DEVNULL)  # fmt: skip
        await proc.wait()
        baseline = int(whole_gw.pacer.state()["requests"])
    finally:
        await whole_gw.stop()
    gw = await _gateway(catalog)
    cache, kills = tmp / "killed", 0
    try:
        while True:
            proc = await asyncio.create_subprocess_exec(*_command(gw.port, cache, *quarter), env=_env(gw.port),
                                                        stdout=asyncio.subprocess.DEVNULL,
                                                        stderr=asyncio.subprocess.DEVNULL)  # fmt: skip
            if kills < KILLS:
                target, deadline = _done(cache) + 4, time.monotonic() + 120
                while _done(cache) < target and proc.returncode is None:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the download recorded no window in 120 s (kill {kills + 1})")
                    await asyncio.sleep(0.005)
                if proc.returncode is None:
                    proc.send_signal(signal.SIGKILL)
                    kills += 1
                await proc.wait()
                continue
            await proc.wait()
            break
        interrupted = int(gw.pacer.state()["requests"])
    finally:
        await gw.stop()
    return {
        "name": "data.download_resume_overhead",
        "value": interrupted - baseline,
        "unit": "requests",
        "target": "0",
        "detail": f"SPY/USD 1 min {quarter[0]}..{quarter[1]}: {kills} SIGKILLs then a run to the end, "
        f"{interrupted} requests at the gateway vs {baseline} for an uninterrupted download (a request in flight "
        "at a kill is answered by the gateway and lost with the process: asked again)",
    }


async def figures() -> list[dict[str, Any]]:
    if not (SHARED_DATA / "README.md").is_file():
        return []
    from sdk.data import load_catalog

    catalog = load_catalog(SHARED_DATA)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        return [await _year(catalog, tmp), await _resume(catalog, tmp)]


if __name__ == "__main__":
    for figure in asyncio.run(figures()):
        print(figure)
