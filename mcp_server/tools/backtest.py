"""``run_backtest``: a strategy over history on a simulated venue (``trader backtest``), as a tool. Nothing is traded.

The tool runs ``trader backtest ... --data MARKET_DATA_DIR --out BACKTEST_DIR`` as a child process (``python -m
sdk.cli``: the MCP server imports no other app), one at a time, bounded by ``timeout_s`` (the child is killed when
it runs longer), and answers from the run's ``summary.json`` and ``manifest.json``: its ids, its headline metrics
and the paths of its files. The child reads its settings as ``trader backtest`` would in the server's working
directory (the environment, then ``./.env``); its data and output directories are the server's.

It never places an order, on any venue: it needs no ``MCP_TRADING_ENABLED``. It writes one new run directory under
``BACKTEST_DIR`` per call, so it is not read-only in the MCP sense (``readOnlyHint`` false, nothing destroyed).
Bad input (an unknown strategy, a symbol the data does not hold, a window outside it ...) is a tool error quoting
``trader backtest``'s sentence, which says what to change.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from mcp_server.errors import ToolError
from mcp_server.schemas.backtest import BacktestMetricsOut, BacktestOut

if TYPE_CHECKING:
    from mcp_server.state import AppState

__all__ = ["DEFAULT_TIMEOUT_S", "MAX_TIMEOUT_S", "run_backtest"]

DEFAULT_TIMEOUT_S = 300.0
MAX_TIMEOUT_S = 1800.0
#: ``summary.json``'s format this tool reads (``runner.backtest.artifacts.FORMAT``).
SUMMARY_FORMAT = "trader-backtest/1"
_FILES = {"bars": "bars.parquet", "orders": "orders.parquet", "fills": "fills.parquet",
          "equity": "equity.parquet", "summary": "summary.json", "report": "report.html",
          "manifest": "manifest.json"}  # fmt: skip
_LOCK = "backtest_lock"


def _arguments(
    *,
    strategy: str,
    symbols: list[str],
    timeframe: str,
    start: str,
    end: str,
    params: dict[str, float],
    cash: dict[str, float],
    order_value: float | None,
    slippage_bps: float,
    fill_volume_share: float,
    fill: str,
    price_mode: str,
    risk_free_rate: float,
    data: Path,
    out: Path,
) -> list[str]:
    args = ["backtest", "--strategy", strategy, "--symbols", ",".join(symbols), "--timeframe", timeframe,
            "--start", start, "--end", end, "--slippage-bps", repr(float(slippage_bps)),
            "--fill-volume-share", repr(float(fill_volume_share)), "--fill", fill, "--price-mode", price_mode,
            "--risk-free-rate", repr(float(risk_free_rate)), "--data", os.path.abspath(data),
            "--out", os.path.abspath(out)]  # fmt: skip
    for key, value in sorted(params.items()):
        args += ["--param", f"{key}={float(value)!r}"]
    for currency, amount in sorted(cash.items()):
        args += ["--cash", f"{currency}={float(amount)!r}"]
    if order_value is not None:
        args += ["--order-value", repr(float(order_value))]
    return args


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _metrics(summary: dict[str, Any]) -> BacktestMetricsOut:
    m = summary["metrics"]
    return BacktestMetricsOut(
        base_currency=summary["configuration"]["base_currency"], initial_equity=m["initial_equity"],
        final_equity=m["final_equity"], net_pnl=m["net_pnl"], total_return=m["total_return"], cagr=m["cagr"],
        volatility=m["volatility"], sharpe=m["sharpe"], sortino=m["sortino"], max_drawdown=m["max_drawdown"],
        max_drawdown_duration_seconds=m["max_drawdown_duration_seconds"], calmar=m["calmar"], trades=m["trades"],
        hit_rate=m["hit_rate"], profit_factor=m["profit_factor"], exposure=m["exposure"], turnover=m["turnover"],
        total_commission=m["total_commission"], total_slippage=m["total_slippage"],
    )  # fmt: skip


def read_run(run_dir: Path) -> BacktestOut:
    """A finished run's answer, from its ``summary.json`` and ``manifest.json``.

    Raises:
        ToolError: the directory holds no finished run of a format this server reads.
    """
    try:
        summary = json.loads((run_dir / _FILES["summary"]).read_text(encoding="utf-8"))
        manifest = json.loads((run_dir / _FILES["manifest"]).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ToolError(f"{run_dir} holds no finished backtest ({exc}); run it again") from None
    if summary.get("format") != SUMMARY_FORMAT:
        raise ToolError(f"{run_dir}/summary.json is of format {summary.get('format')!r}, not {SUMMARY_FORMAT}")
    return BacktestOut(
        run_id=manifest["run_id"], run_dir=str(run_dir), engine_run_id=summary["engine_run_id"],
        configuration_hash=summary["configuration_hash"], data_hash=summary["data"]["hash"],
        price_mode=summary["price_mode"], orders=summary["run"]["orders"], fills=summary["run"]["fills"],
        metrics=_metrics(summary), warnings=list(summary.get("warnings") or []),
        artifacts={name: str(run_dir / file) for name, file in _FILES.items()},
        wall_seconds=manifest["wall_seconds"], engine_seconds=manifest["engine_seconds"],
    )  # fmt: skip


async def run_backtest(
    state: AppState,
    strategy: Annotated[str, Field(description="a registered strategy: ma_crossover, momentum, ...", max_length=64)],
    symbols: Annotated[
        list[str],
        Field(
            description="canonical BASE/QUOTE symbols the market data holds, e.g. ['BHP/AUD']",
            min_length=1,
            max_length=20,
        ),
    ],
    start: Annotated[str, Field(description="first date of the window, YYYY-MM-DD (UTC)")],
    end: Annotated[str, Field(description="last date of the window, YYYY-MM-DD, included")],
    timeframe: Annotated[
        Literal["1m", "2m", "3m", "5m", "10m", "15m", "30m", "1d"], Field(description="bar size decided on")
    ] = "1d",
    params: Annotated[
        dict[str, float] | None, Field(description="strategy parameters NAME -> number, e.g. {'fast': 5}")
    ] = None,
    cash: Annotated[
        dict[str, float] | None,
        Field(description="opening cash per currency, e.g. {'AUD': 1000000} (default 1,000,000 of the base currency)"),
    ] = None,
    order_value: Annotated[
        float | None, Field(description="notional of one sized order, in the base currency", gt=0)
    ] = None,
    slippage_bps: Annotated[float, Field(description="basis points every taker fill moves against it", ge=0)] = 0.0,
    fill_volume_share: Annotated[
        float, Field(description="share of each bar's volume the orders of one symbol may take", gt=0, le=1)
    ] = 1.0,
    fill: Annotated[
        Literal["next-open", "at-close"],
        Field(description="next-open: a decision fills at the next bar's open; at-close: in its bar's closing auction"),
    ] = "next-open",
    price_mode: Annotated[
        Literal["raw", "split_adjusted", "total_return"], Field(description="prices as traded or adjusted")
    ] = "raw",
    risk_free_rate: Annotated[float, Field(description="annual risk-free rate, a fraction (0.04 = 4%)", gt=-1)] = 0.0,
    timeout_s: Annotated[
        float, Field(description="wall seconds before the run is stopped", gt=0, le=MAX_TIMEOUT_S)
    ] = DEFAULT_TIMEOUT_S,
) -> BacktestOut:
    """Backtest a strategy on the market data's history through the runner's own decision path on a simulated venue
    (nothing is traded, on any venue). Answers the run's id, its metrics (base currency; returns as fractions) and the
    paths of its files (Parquet tables, summary.json, report.html). Runs one at a time; a long window of 1-minute bars
    takes minutes."""
    settings = state.settings
    args = _arguments(
        strategy=strategy, symbols=symbols, timeframe=timeframe, start=start, end=end, params=params or {},
        cash=cash or {}, order_value=order_value, slippage_bps=slippage_bps, fill_volume_share=fill_volume_share,
        fill=fill, price_mode=price_mode, risk_free_rate=risk_free_rate, data=settings.market_data_dir,
        out=settings.backtest_dir,
    )  # fmt: skip
    lock: asyncio.Lock = state.extras.setdefault(_LOCK, asyncio.Lock())
    async with lock:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sdk.cli", *args,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise ToolError(
                f"the backtest ran longer than {timeout_s:g} s and was stopped; give a shorter window, a coarser "
                "timeframe or a larger timeout_s"
            ) from None
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    if process.returncode == 2:
        raise ToolError(
            f"{_last_line(stderr) or 'trader backtest refused the input'}; fix the arguments and call again"
        )
    if process.returncode != 0:
        raise ToolError(f"the backtest failed (exit {process.returncode}): {_last_line(stderr) or 'no message'}")
    return await asyncio.to_thread(read_run, Path(_last_line(stdout)))
