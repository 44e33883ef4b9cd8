"""What ``trader backtest`` does, in order (the typer command in :mod:`runner.cli.backtest` only parses options):

1. parse the options into a :class:`~runner.backtest.config.BacktestConfig` (with the settings in it);
2. check, before anything runs: the strategy and its parameters, that the run's directory does not exist, the data
   (:func:`runner.backtest.prepare.prepare`: symbols, timeframe, window, price bases, price mode);
3. claim ``OUT/<run id>/`` (created here, never reused), run the engine (:func:`runner.backtest.engine.run_backtest`),
   write the artifacts and the manifest (:mod:`runner.backtest.artifacts`);
4. say what happened (the metrics), and return the run directory (the command prints it last).

A run that fails after its directory was claimed removes the directory, so a run directory always holds a complete
run (``manifest.json`` is written last).
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from runner.backtest.artifacts import claim_run_dir, write_artifacts, write_manifest
from runner.backtest.config import (
    BacktestConfig,
    BacktestInputError,
    new_backtest_id,
    parse_cash,
    parse_date,
    parse_decimal,
    parse_price_mode,
    parse_symbols,
)
from runner.backtest.engine import BacktestResult, run_backtest
from runner.backtest.prepare import build_strategy, prepare
from sdk.settings import Settings

__all__ = ["BacktestFailed", "BacktestRequest", "parse_params", "run_command"]

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
#: Loggers that write a line per bar or per order at INFO; quieted to WARNING during a run unless LOG_LEVEL=DEBUG.
_CHATTY = ("runner", "sdk.services", "sdk.data", "alembic")


class BacktestFailed(RuntimeError):
    """The run started and failed (``trader backtest`` exits 1); its directory was removed."""


@dataclass(frozen=True)
class BacktestRequest:
    """``trader backtest``'s options as given (strings; parsed by :func:`build_config`)."""

    strategy: str
    symbols: str
    timeframe: str
    start: str
    end: str
    params: list[str] = field(default_factory=list)
    data: Path | None = None
    cash: list[str] = field(default_factory=list)
    order_value: str | None = None
    slippage_bps: str = "0"
    fill_volume_share: str = "1"
    fill: str = "next-open"
    price_mode: str = "raw"
    risk_free_rate: float = 0.0
    out: Path | None = None
    run_id: str | None = None
    plugins: list[str] = field(default_factory=list)


def parse_params(values: list[str]) -> dict[str, float]:
    """``--param fast=5`` (repeatable) -> ``{"fast": 5.0}``.

    Raises:
        BacktestInputError: an item not ``NAME=NUMBER``.
    """
    params: dict[str, float] = {}
    for item in values:
        key, eq, value = item.partition("=")
        try:
            if not eq or not key.strip():
                raise ValueError
            params[key.strip()] = float(value)
        except ValueError:
            raise BacktestInputError(f"--param {item!r}: write NAME=NUMBER, e.g. --param fast=5") from None
    return params


def build_config(settings: Settings, request: BacktestRequest) -> BacktestConfig:
    """The configuration of ``request`` with ``settings``' part in it.

    Raises:
        BacktestInputError: an option that does not parse or is out of range (the message says which and how).
    """
    fill = request.fill.strip().lower()
    if fill not in ("next-open", "at-close"):
        raise BacktestInputError(f"--fill {request.fill!r}: use next-open or at-close")
    config = BacktestConfig(
        strategy=request.strategy, symbols=parse_symbols(request.symbols), timeframe=request.timeframe,
        start=parse_date(request.start, "--start"), end=parse_date(request.end, "--end"),
        params=parse_params(request.params), cash=parse_cash(request.cash),
        order_value=parse_decimal(request.order_value, "--order-value") if request.order_value is not None else None,
        slippage_bps=parse_decimal(request.slippage_bps, "--slippage-bps"),
        fill_volume_share=parse_decimal(request.fill_volume_share, "--fill-volume-share"),
        fill="at-close" if fill == "at-close" else "next-open", price_mode=parse_price_mode(request.price_mode),
        risk_free_rate=request.risk_free_rate, plugins=tuple(request.plugins),
    )  # fmt: skip
    return config.with_settings(settings)


@contextmanager
def _quiet(settings: Settings) -> Iterator[None]:
    """The per-bar INFO lines of the runner's path would bury the result: WARNING during a run (unless DEBUG)."""
    if settings.log_level == "DEBUG":
        yield
        return
    loggers = [logging.getLogger(name) for name in _CHATTY]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _describe(result: BacktestResult) -> list[str]:
    metrics, config = result.metrics, result.prepared.config
    base = config.base_currency

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.2f}%"

    def num(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    lines = [
        f"backtest {config.strategy} on {', '.join(config.symbols)} {config.timeframe} {config.start}..{config.end} "
        f"({config.price_mode} prices, fill {config.fill}): {result.counters.get('bars')} bars, "
        f"{len(result.orders)} orders, {len(result.fills)} fills, {metrics.trades} trades",
        f"equity {metrics.initial_equity:,.2f} -> {metrics.final_equity:,.2f} {base}: total return "
        f"{pct(metrics.total_return)}, CAGR {pct(metrics.cagr)}, Sharpe {num(metrics.sharpe)}, max drawdown "
        f"{pct(metrics.max_drawdown)}, hit rate {pct(metrics.hit_rate)}, "
        f"commissions {metrics.total_commission:,.2f} {base}",
    ]
    if result.open_at_end:
        held = ", ".join(f"{p.symbol} {p.amount:g}" for p in result.open_at_end)
        lines.append(f"still open at the end (closed at the last close for the metrics only): {held}")
    rejected = result.counters.get("rejections") or {}
    if rejected:
        lines.append("refused by the RiskManager: " + ", ".join(f"{k} {v}" for k, v in sorted(rejected.items())))
    if result.counters.get("step_errors"):
        lines.append(f"WARNING: {result.counters['step_errors']} step errors in the runner (see the log above)")
    lines += [f"warning: {w}" for w in result.prepared.warnings()]
    return lines


def run_command(settings: Settings, request: BacktestRequest, echo: Callable[[str], None]) -> Path:
    """Run ``request`` (module docstring) and return the run's directory.

    Raises:
        BacktestInputError: bad options or input, found before anything ran (nothing was written).
        BacktestFailed: the run failed; its directory was removed.
    """
    began, started_at = time.perf_counter(), datetime.now(UTC)
    config = build_config(settings, request)
    build_strategy(config)  # an unknown strategy or parameter fails before the data is read
    run_id = request.run_id or new_backtest_id(started_at)
    if not _RUN_ID.fullmatch(run_id):
        raise BacktestInputError(
            f"--run-id {run_id!r} is not a directory name; use letters, digits, '.', '_' and '-' (e.g. bhp-ma-2021)"
        )
    out = request.out if request.out is not None else settings.backtest_dir
    if (out / run_id).exists():
        raise BacktestInputError(
            f"{out / run_id} exists: a backtest never writes into a previous run's directory; give another --run-id "
            "or --out, or leave --run-id unset for a fresh one"
        )
    data = request.data if request.data is not None else settings.market_data_dir
    from sdk.data import load_catalog

    with _quiet(settings):
        try:
            catalog = load_catalog(data)
        except FileNotFoundError as exc:
            raise BacktestInputError(f"--data: {exc}") from None
        prepared = prepare(config, catalog)
        try:
            run_dir = claim_run_dir(out, run_id)
        except FileExistsError:
            raise BacktestInputError(f"{out / run_id} exists (another run took the name); run again") from None
        try:
            result = asyncio.run(run_backtest(prepared, settings))
            write_artifacts(result, run_dir)
            write_manifest(run_dir, run_id=run_id, result=result, started_at=started_at,
                           wall_seconds=time.perf_counter() - began)  # fmt: skip
        except Exception as exc:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise BacktestFailed(f"the run failed: {type(exc).__name__}: {exc}") from exc
    for line in _describe(result):
        echo(line)
    return run_dir
