"""Offline gateway figures.

* ``gateway.hist_1y_1min_seconds``: one year of 1-minute bars for one symbol (SPY/USD of the seeded
  synthetic universe, which has native minute bars for every session of 2024), asked for the way a
  backfill asks IB (one ``1 D`` request per session, pacing off), all answered. The client is a raw
  socket that only frames the answers, so the figure is the gateway's; ``..._ib_async_seconds`` is
  the same backfill through ib_async, decoding included.
* ``gateway.stream_500_lag_p99_ms``: 500 ``reqMktData`` streams (500 S&P 500 stocks of the real IB
  daily export, April 2019, NYSE hours) on a gateway process at speed 1 with one price sample per
  simulated second: the p99 of the delay between the wall time a sample was due (the simulated time
  in its ``lastTimestamp`` tick, mapped through ``GET /clock``) and its arrival at the client.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import struct
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data"))


def _frame(fields: list[Any]) -> bytes:
    from sdk.gateway.protocol import encode_frame

    return encode_frame(fields)


async def _raw_connect(port: int, client_id: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    versions = b"v157..178"
    writer.write(b"API\0" + struct.pack(">I", len(versions)) + versions)
    await _read(reader)
    writer.write(_frame([71, 2, client_id, ""]))
    return reader, writer


async def _read(reader: asyncio.StreamReader) -> list[str]:
    (length,) = struct.unpack(">I", await reader.readexactly(4))
    return (await reader.readexactly(length)).decode().split("\0")[:-1]


def _contract(con_id: int) -> list[Any]:
    return [con_id, "", "", "", 0.0, "", "", "SMART", "", "", "", ""]


async def _hist_year() -> list[dict[str, Any]]:
    from ib_async import IB, Contract

    from sdk.calendars import get_calendar
    from sdk.data import load_catalog
    from sdk.gateway import GatewayConfig, OfflineGateway

    catalog = load_catalog(None, seed=1, synthetic_start=date(2024, 1, 2), synthetic_end=date(2024, 12, 31))
    start = datetime(2025, 1, 2, tzinfo=UTC)
    config = GatewayConfig(port=0, control_port=None, speed=0, start=start, pacing=False)
    sessions = get_calendar("NYSE").sessions(datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 12, 31, 23, tzinfo=UTC))
    ends = [s.close.strftime("%Y%m%d %H:%M:%S UTC") for s in sessions]
    async with OfflineGateway(config, catalog=catalog) as gw:
        spy = gw.instruments.get("SPY/USD")
        assert spy is not None
        catalog.bars("SPY/USD", "1 min", datetime(2024, 1, 2, tzinfo=UTC), start)  # data loaded before timing
        reader, writer = await _raw_connect(gw.port, 1)
        started = time.perf_counter()
        for i, end in enumerate(ends):
            writer.write(_frame([20, 1000 + i, *_contract(spy.con_id), 0, end, "1 min", "1 D", 1, "TRADES", 2, 0, ""]))
        bars = answered = 0
        while answered < len(ends):
            fields = await _read(reader)
            if fields[0] == "17":
                answered += 1
                bars += int(fields[4])
            elif fields[0] == "4" and int(fields[2]) >= 1000:
                raise RuntimeError(f"historical request failed: {fields}")
        raw_seconds = time.perf_counter() - started
        writer.close()

        ib = IB()
        await ib.connectAsync("127.0.0.1", gw.port, clientId=2)
        ib.client.MaxRequests = 0  # no client-side throttle: the gateway is what is measured
        contract = Contract(conId=spy.con_id, exchange="SMART")
        started = time.perf_counter()
        results = await asyncio.gather(
            *[ib.reqHistoricalDataAsync(contract, end, "1 D", "1 min", "TRADES", True, 2) for end in ends]
        )
        ib_seconds = time.perf_counter() - started
        ib.disconnect()
    assert sum(len(r) for r in results) == bars, "ib_async and the raw client saw different bars"
    return [
        {"name": "gateway.hist_1y_1min_seconds", "value": round(raw_seconds, 3), "unit": "s", "target": "< 1",
         "detail": f"{bars} bars in {len(ends)} requests"},
        {"name": "gateway.hist_1y_1min_ib_async_seconds", "value": round(ib_seconds, 3), "unit": "s", "target": None},
    ]  # fmt: skip


def _start_gateway_process() -> tuple[subprocess.Popen[str], int, int]:
    trader = str(Path(sys.executable).parent / "trader")
    command = [
        trader, "gateway", "--data", str(DATA), "--port", "0", "--control-port", "0",
        "--start", "2019-04-02T14:00:00+00:00", "--speed", "1", "--no-pacing",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    for line in process.stderr:
        found = re.search(r"offline IB gateway on [\d.]+:(\d+), control API http://[\d.]+:(\d+)", line)
        if found:
            return process, int(found[1]), int(found[2])
        if time.monotonic() > deadline:
            break
    process.kill()
    raise RuntimeError("the gateway process did not start")


async def _stream_lag(port: int, control_port: int, con_ids: list[int], seconds: float) -> list[float]:
    reader, writer = await _raw_connect(port, 3)
    for i, con_id in enumerate(con_ids):
        writer.write(_frame([1, 11, 2000 + i, *_contract(con_id), 0, "", 0, 0, ""]))
    seen: set[str] = set()
    warmup_until = time.monotonic() + 90
    while len(seen) < len(con_ids) and time.monotonic() < warmup_until:  # every stream's first ticks
        fields = await _read(reader)
        if fields[0] in ("1", "2", "46"):
            seen.add(fields[2])
    for _ in range(3):  # and a few seconds of streaming, so the measured ones are steady-state
        await _drain(reader, 1.0)
    async with aiohttp.ClientSession() as http:
        sent = time.monotonic()
        async with http.get(f"http://127.0.0.1:{control_port}/clock") as resp:
            clock = await resp.json()
        mono = (sent + time.monotonic()) / 2
    sim_anchor = datetime.fromisoformat(clock["now"]).timestamp()
    from sdk.gateway.protocol import split_frames

    lags: list[float] = []
    end = time.monotonic() + seconds
    buffer = b""
    while time.monotonic() < end:
        buffer += await reader.read(1 << 20)
        arrived = time.monotonic()
        messages, buffer = split_frames(buffer)
        for fields in messages:
            if fields[0] == "46" and fields[3] == "45":
                due = mono + (int(fields[4]) - sim_anchor) / clock["speed"]
                lags.append((arrived - due) * 1000)
    writer.close()
    return lags


async def _drain(reader: asyncio.StreamReader, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await _read(reader)


def _stream_figures() -> list[dict[str, Any]]:
    from sdk.data import load_catalog

    catalog = load_catalog(DATA)
    from sdk.gateway.instruments import con_id_for

    symbols = [
        s for s, i in catalog.instruments.items()
        if i.daily_only and i.market == "NYSE" and i.sec_type == "STK" and i.first <= datetime(2019, 4, 2, tzinfo=UTC)
        and i.last >= datetime(2019, 4, 3, tzinfo=UTC)
    ][:500]  # fmt: skip
    process, port, control_port = _start_gateway_process()
    try:
        lags = asyncio.run(_stream_lag(port, control_port, [con_id_for(s) for s in symbols], 15.0))
    finally:
        process.terminate()
        process.wait(10)
    lags.sort()
    p99 = lags[int(len(lags) * 0.99) - 1] if lags else float("nan")
    return [
        {"name": "gateway.stream_500_lag_p99_ms", "value": round(p99, 2), "unit": "ms", "target": "< 50",
         "detail": f"{len(symbols)} streams, {len(lags)} ticks, median {statistics.median(lags):.2f} ms"},
    ]  # fmt: skip


def figures() -> list[dict[str, Any]]:
    out = asyncio.run(_hist_year())
    if (DATA / "README.md").is_file():
        out += _stream_figures()
    return out


if __name__ == "__main__":
    for figure in figures():
        print(figure)
