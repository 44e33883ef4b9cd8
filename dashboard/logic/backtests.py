"""The backtest runs under ``BACKTEST_DIR``, as the Backtests page lists them (pure: files in, frames out).

A run is a directory ``BACKTEST_DIR/<run id>/`` that ``trader backtest`` wrote: ``manifest.json`` (written last:
the run finished) and ``summary.json`` of format :data:`SUMMARY_FORMAT` (configuration, metrics in the base
currency), beside ``report.html`` and the Parquet tables. Anything else in the directory is skipped with the reason
(:attr:`BacktestListing.skipped`), never an error: a run still being written has no manifest yet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.logic import formatting as fmt

__all__ = ["SUMMARY_FORMAT", "BacktestListing", "BacktestRun", "list_runs", "runs_frame"]

#: ``summary.json``'s format this page reads (``runner.backtest.artifacts.FORMAT``).
SUMMARY_FORMAT = "trader-backtest/1"


@dataclass(frozen=True, slots=True)
class BacktestRun:
    """One finished run: its id and directory, ``manifest.json`` and ``summary.json`` as read."""

    run_id: str
    path: Path
    manifest: dict[str, Any]
    summary: dict[str, Any]

    @property
    def report(self) -> Path:
        return self.path / "report.html"

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.summary.get("configuration") or {})

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.summary.get("metrics") or {})

    @property
    def base_currency(self) -> str | None:
        return self.config.get("base_currency")

    @property
    def started_ms(self) -> int | None:
        started = self.manifest.get("started_at")
        try:
            return int(pd.Timestamp(started).timestamp() * 1000) if started else None
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class BacktestListing:
    """The runs found (newest first) and what was skipped (directory name -> why)."""

    directory: Path
    runs: list[BacktestRun] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _read(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} is not a JSON object")
    return data


def list_runs(directory: Path) -> BacktestListing:
    """The finished runs under ``directory`` (module docstring), newest first; a missing directory has none."""
    if not directory.is_dir():
        return BacktestListing(directory)
    runs: list[BacktestRun] = []
    skipped: dict[str, str] = {}
    for child in sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (child / "manifest.json").is_file():
            skipped[child.name] = "no manifest.json (not a finished backtest run)"
            continue
        try:
            manifest, summary = _read(child / "manifest.json"), _read(child / "summary.json")
        except (OSError, ValueError) as exc:
            skipped[child.name] = f"unreadable: {exc}"
            continue
        if summary.get("format") != SUMMARY_FORMAT:
            skipped[child.name] = f"summary.json of format {summary.get('format')!r}, not {SUMMARY_FORMAT}"
            continue
        runs.append(BacktestRun(str(manifest.get("run_id") or child.name), child, manifest, summary))
    runs.sort(key=lambda r: (r.started_ms or 0, r.run_id), reverse=True)
    return BacktestListing(directory, runs, skipped)


def _ratio(value: Any) -> str:
    number = fmt.to_decimal(value)
    return fmt.MISSING if number is None else f"{number:.2f}"


def runs_frame(runs: list[BacktestRun], tz: str) -> pd.DataFrame:
    """One row per run, formatted for people: money with its currency, returns in percent, times in ``tz``."""
    rows = []
    for run in runs:
        config, m, base = run.config, run.metrics, run.base_currency
        rows.append({
            "Run": run.run_id,
            "Started": fmt.timestamp(run.started_ms, tz, seconds=False),
            "Strategy": config.get("strategy", fmt.MISSING),
            "Symbols": ", ".join(config.get("symbols") or []),
            "Timeframe": config.get("timeframe", fmt.MISSING),
            "Window": f"{config.get('start', '?')} .. {config.get('end', '?')}",
            "Prices": run.summary.get("price_mode", fmt.MISSING),
            "Total return": fmt.pct(m.get("total_return")),
            "CAGR": fmt.pct(m.get("cagr")),
            "Sharpe": _ratio(m.get("sharpe")),
            "Max drawdown": fmt.pct(m.get("max_drawdown")),
            "Trades": m.get("trades", fmt.MISSING),
            "Final equity": fmt.money(m.get("final_equity"), base),
            "Commissions": fmt.money(m.get("total_commission"), base),
        })  # fmt: skip
    return pd.DataFrame(rows)
