"""MCP server figures over stdio: ``trader mcp`` as a subprocess on the offline gateway over the real data.

The gateway runs in this process (paused at an ASX morning); the server is a real ``trader mcp
--transport stdio`` subprocess with a temporary SQLite ledger, following the venue's clock. Every
call goes through JSON-RPC on the pipes, the tool, and the audit write to the ledger (one SQLite
commit, ``synchronous=FULL``, per call).

* ``mcp.get_ticker_p99_ms``: p99 wall time of ``get_ticker`` over 300 calls (BHP/AUD, CBA/AUD,
  AUD/USD, SPY/USD in turn, after one warm-up call each). Target < 50 ms.
* ``mcp.get_ohlcv_500_p99_ms``: p99 wall time of ``get_ohlcv`` for 500 one-minute bars over 100
  calls on five symbols in turn; the first call of each symbol asks IB (cold: history requests,
  paced), later ones are answered from the server's cache of completed bars until a new bar
  completes. ``mcp.get_ohlcv_500_cold_ms`` is the slowest cold call, ``..._p50_ms`` the median.
  Target p99 < 500 ms.
* ``mcp.ohlcv_500_bytes_ratio``: bytes of the text ``get_ohlcv`` returns for 500 bars (what an
  agent's context receives: compact JSON, columns, offsets, units) divided by the bytes of ccxt's
  list-of-lists JSON of the same bars (``json.dumps(rows, separators=(",", ":"))``, the compact form).
  Smaller is better; target < 0.8.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DATA = Path(os.environ.get("SHARED_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
ASX_OPEN = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)
TICKER_SYMBOLS = ["BHP/AUD", "CBA/AUD", "AUD/USD", "SPY/USD"]
OHLCV_SYMBOLS = ["BHP/AUD", "CBA/AUD", "CSL/AUD", "NAB/AUD", "AUD/USD"]
TICKER_CALLS = 300
OHLCV_CALLS = 100


def p99(samples: list[float]) -> float:
    """Nearest-rank 99th percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def _text(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def _call(client: Any, name: str, arguments: dict[str, Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await client.call_tool(name, arguments)
    elapsed = (time.perf_counter() - started) * 1000
    if result.is_error:
        raise RuntimeError(f"{name}({arguments}) failed: {_text(result)}")
    return elapsed, result


def _ccxt_bytes(columns: dict[str, Any]) -> int:
    """Bytes of ccxt's compact list-of-lists JSON for the bars ``get_ohlcv`` answered (volumes as ccxt's floats)."""
    rows = [
        [columns["t0_ms"] + offset * 1000, o, h, low, c, float(v)]
        for offset, o, h, low, c, v in zip(
            columns["t_offset_s"], columns["o"], columns["h"], columns["l"], columns["c"], columns["v"], strict=True
        )
    ]
    return len(json.dumps(rows, separators=(",", ":")).encode())


async def figures() -> list[dict[str, Any]]:
    if not (DATA / "README.md").is_file():
        raise FileNotFoundError(f"real market data not found at {DATA}; set SHARED_DATA_DIR")
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    from sdk.data import load_catalog
    from sdk.gateway import GatewayConfig, OfflineGateway
    from sdk.ledger import upgrade

    logging.getLogger("ib_async").setLevel(logging.CRITICAL)
    catalog = await asyncio.to_thread(load_catalog, DATA)
    config = GatewayConfig(port=0, control_port=None, speed=0, start=ASX_OPEN, cash={"AUD": 1_000_000, "USD": 100_000})
    gw = OfflineGateway(config, catalog=catalog)
    await gw.start()
    ticker_ms: list[float] = []
    ohlcv_ms: list[float] = []
    cold_ms: list[float] = []
    ratio = 0.0
    try:
        with tempfile.TemporaryDirectory(prefix="bench-mcp-") as tmp:
            url = f"sqlite:///{tmp}/trader.db"
            await asyncio.to_thread(upgrade, url)
            env = {
                "PATH": os.environ.get("PATH", ""), "IB_PORT": str(gw.port), "DATABASE_URL": url,
                "KILL_SWITCH_FILE": f"{tmp}/KILL_SWITCH", "LOG_LEVEL": "WARNING",
            }  # fmt: skip
            trader = str(Path(sys.executable).with_name("trader"))
            params = StdioServerParameters(command=trader, args=["mcp", "--transport", "stdio"], env=env, cwd=tmp)
            async with Client(stdio_client(params)) as client:  # its stderr (warnings) goes to ours
                for symbol in TICKER_SYMBOLS:
                    await _call(client, "get_ticker", {"symbol": symbol})
                for i in range(TICKER_CALLS):
                    elapsed, _ = await _call(client, "get_ticker", {"symbol": TICKER_SYMBOLS[i % 4]})
                    ticker_ms.append(elapsed)
                seen: set[str] = set()
                for i in range(OHLCV_CALLS):
                    symbol = OHLCV_SYMBOLS[i % len(OHLCV_SYMBOLS)]
                    elapsed, result = await _call(
                        client, "get_ohlcv", {"symbol": symbol, "timeframe": "1m", "limit": 500}
                    )
                    ohlcv_ms.append(elapsed)
                    if symbol not in seen:
                        seen.add(symbol)
                        cold_ms.append(elapsed)
                    if i == 0:
                        columns = result.structured_content
                        if columns["count"] != 500:
                            raise RuntimeError(f"get_ohlcv answered {columns['count']} bars, not 500")
                        ratio = len(_text(result).encode()) / _ccxt_bytes(columns)
    finally:
        await gw.stop()
    return [
        {"name": "mcp.get_ticker_p99_ms", "value": round(p99(ticker_ms), 2), "unit": "ms", "target": "< 50"},
        {"name": "mcp.get_ticker_p50_ms", "value": round(statistics.median(ticker_ms), 2), "unit": "ms",
         "target": None},
        {"name": "mcp.get_ohlcv_500_p99_ms", "value": round(p99(ohlcv_ms), 2), "unit": "ms", "target": "< 500"},
        {"name": "mcp.get_ohlcv_500_p50_ms", "value": round(statistics.median(ohlcv_ms), 2), "unit": "ms",
         "target": None},
        {"name": "mcp.get_ohlcv_500_cold_ms", "value": round(max(cold_ms), 2), "unit": "ms", "target": None},
        {"name": "mcp.ohlcv_500_bytes_ratio", "value": round(ratio, 3), "unit": "ratio", "target": "< 0.8"},
    ]  # fmt: skip
