"""A backtest's artifacts in ``OUT/<run_id>/``: Parquet tables, ``summary.json``, ``report.html``, ``manifest.json``.

====================  =======================================================================================
file                  what
====================  =======================================================================================
``bars.parquet``      the bars replayed, per symbol (warm-up included, ``warmup`` true): ``time`` (start) and
                      ``end`` (close), OHLC in ``currency`` (the quote currency) in the run's price mode, volume
``orders.parquet``    every order: placed ``time``, ids, symbol, side, type, time in force, ``amount``/``filled``/
                      ``remaining`` (base units), ``price``/``stop_price``/``average``/``cost`` in ``currency``,
                      status, ``fee`` in ``fee_currency``, ``reason`` it ended, ``last_update``
``fills.parquet``     every fill: ``time``, ids, symbol, side, ``amount``, ``price``/``cost``/``reference_price`` in
                      ``currency``, ``fee`` in ``fee_currency``, ``fx_rate`` (``base_currency`` per ``currency``),
                      ``value``/``fee_value``/``slippage`` in ``base_currency`` (:mod:`runner.backtest.record`)
``equity.parquet``    at each bar close (a daily run: each UTC day's last): ``equity``, ``cash``, ``positions_value``
                      and ``exposure:<symbol>`` (signed position value) in ``currency`` (the base currency)
``summary.json``      the configuration and its hash, the git SHA, the data's hash and files, the price mode with
                      the adjustments and the audit's warnings, the runner's counters and the metrics
``report.html``       :func:`sdk.backtest.write_report`: one self-contained page
``manifest.json``     what differs from run to run: the run id, when it started, wall and engine seconds
====================  =======================================================================================

**Deterministic**: times are UTC (``timestamp[ms, tz=UTC]``), each table has a fixed Arrow schema and no pandas
metadata, rows are in a fixed order (bars by symbol then time; orders and fills as placed and booked), JSON keys are
sorted: two runs of one configuration on the same data give byte-identical Parquet files, ``summary.json`` and
``report.html``. Only ``manifest.json`` differs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from runner.backtest.engine import BacktestResult
from runner.backtest.prepare import warmup_bars
from sdk.backtest import write_report
from sdk.ledger import git_sha

__all__ = ["ARTIFACTS", "FORMAT", "MANIFEST", "SUMMARY", "claim_run_dir", "write_artifacts", "write_manifest"]

#: ``summary.json``'s ``format``: readers (the MCP tool, the dashboard) check it.
FORMAT = "trader-backtest/1"
SUMMARY = "summary.json"
MANIFEST = "manifest.json"
REPORT = "report.html"
#: The deterministic artifacts, by name.
ARTIFACTS: dict[str, str] = {
    "bars": "bars.parquet", "orders": "orders.parquet", "fills": "fills.parquet", "equity": "equity.parquet",
    "summary": SUMMARY, "report": REPORT,
}  # fmt: skip
_MS = pa.timestamp("ms", tz="UTC")


def claim_run_dir(out: Path, run_id: str) -> Path:
    """Create ``out/run_id`` (``out`` and its parents as needed) and return it; never an existing one.

    Raises:
        FileExistsError: ``out/run_id`` exists (a previous run's directory is never written into).
    """
    out.mkdir(parents=True, exist_ok=True)
    run_dir = out / run_id
    run_dir.mkdir(exist_ok=False)
    return run_dir


def _iso(value: datetime | pd.Timestamp | None) -> str | None:
    if value is None:
        return None
    return pd.Timestamp(value).tz_convert("UTC").isoformat().replace("+00:00", "Z")


def _ms(values: Iterable[int | None]) -> pa.Array:
    return pa.array(list(values), type=pa.int64()).cast(_MS)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _write(table: pa.Table, path: Path) -> None:
    # no pandas metadata (the schema is the tables' own), a fixed compression: the same rows give the same bytes
    pq.write_table(table, path, compression="zstd", use_dictionary=False, write_statistics=True)


def _table(columns: Mapping[str, tuple[pa.DataType, Sequence[Any] | pa.Array]]) -> pa.Table:
    arrays, fields = [], []
    for name, (kind, values) in columns.items():
        arrays.append(values if isinstance(values, pa.Array) else pa.array(list(values), type=kind))
        fields.append(pa.field(name, kind))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def bars_table(result: BacktestResult) -> pa.Table:
    """The bars replayed (module docstring)."""
    start = pd.Timestamp(result.prepared.start_ms, unit="ms", tz="UTC")
    parts = []
    for symbol in result.prepared.config.symbols:
        frame = result.prepared.prices[symbol].bars
        series = result.series[symbol]
        n = len(frame)
        if len(series) != n:  # the venue read the prepared frame: the same bars, or the run was not this result's
            raise ValueError(f"{symbol}: {len(series)} bars replayed but {n} prepared")
        parts.append({
            "symbol": [symbol] * n, "time": frame.index.asi8 // 1_000_000, "end": np.asarray(series.end),
            **{c: frame[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close", "volume")},
            "currency": [result.prepared.quotes[symbol]] * n, "warmup": np.asarray(frame.index < start),
        })  # fmt: skip

    def joined(key: str) -> list[Any]:
        return [v for part in parts for v in list(part[key])]

    return _table({
        "symbol": (pa.string(), joined("symbol")), "time": (_MS, _ms(int(v) for v in joined("time"))),
        "end": (_MS, _ms(int(v) for v in joined("end"))),
        **{c: (pa.float64(), [float(v) for v in joined(c)]) for c in ("open", "high", "low", "close", "volume")},
        "currency": (pa.string(), joined("currency")), "warmup": (pa.bool_(), [bool(v) for v in joined("warmup")]),
    })  # fmt: skip


def orders_table(result: BacktestResult) -> pa.Table:
    """Every order (module docstring), as placed."""
    rows = result.orders
    info = [o.get("info") or {} for o in rows]
    fee = [o.get("fee") or {} for o in rows]
    return _table({
        "time": (_MS, _ms(int(o["timestamp"]) for o in rows)),
        "order_id": (pa.string(), [str(o["id"]) for o in rows]),
        "client_order_id": (pa.string(), [o.get("clientOrderId") for o in rows]),
        "symbol": (pa.string(), [o["symbol"] for o in rows]),
        "side": (pa.string(), [o["side"] for o in rows]),
        "type": (pa.string(), [o["type"] for o in rows]),
        "time_in_force": (pa.string(), [i.get("tif") or o.get("timeInForce") for o, i in zip(rows, info, strict=True)]),
        "amount": (pa.float64(), [_float(o["amount"]) for o in rows]),
        "filled": (pa.float64(), [_float(o.get("filled")) for o in rows]),
        "remaining": (pa.float64(), [_float(o.get("remaining")) for o in rows]),
        "price": (pa.float64(), [_float(o.get("price")) for o in rows]),
        "stop_price": (pa.float64(), [_float(o.get("triggerPrice") or o.get("stopPrice")) for o in rows]),
        "average": (pa.float64(), [_float(o.get("average")) for o in rows]),
        "cost": (pa.float64(), [_float(o.get("cost")) for o in rows]),
        "currency": (pa.string(), [result.prepared.quotes[o["symbol"]] for o in rows]),
        "status": (pa.string(), [o["status"] for o in rows]),
        "fee": (pa.float64(), [_float(f.get("cost")) for f in fee]),
        "fee_currency": (pa.string(), [f.get("currency") for f in fee]),
        "reason": (pa.string(), [i.get("reason") for i in info]),
        "last_update": (_MS, _ms(o.get("lastUpdateTimestamp") for o in rows)),
    })  # fmt: skip


def fills_table(result: BacktestResult) -> pa.Table:
    """Every fill with its costs (module docstring), as booked."""
    rows = result.fills
    base = result.prepared.config.base_currency
    return _table({
        "time": (_MS, _ms(f.timestamp for f in rows)),
        "fill_id": (pa.string(), [f.fill_id for f in rows]),
        "order_id": (pa.string(), [f.order_id for f in rows]),
        "client_order_id": (pa.string(), [f.client_order_id for f in rows]),
        "symbol": (pa.string(), [f.symbol for f in rows]),
        "side": (pa.string(), [f.side for f in rows]),
        "liquidity": (pa.string(), [f.liquidity for f in rows]),
        "amount": (pa.float64(), [float(f.amount) for f in rows]),
        "price": (pa.float64(), [float(f.price) for f in rows]),
        "cost": (pa.float64(), [float(f.price * f.amount) for f in rows]),
        "reference_price": (pa.float64(), [float(f.reference_price) for f in rows]),
        "currency": (pa.string(), [f.currency for f in rows]),
        "fee": (pa.float64(), [_float(f.fee) for f in rows]),
        "fee_currency": (pa.string(), [f.fee_currency for f in rows]),
        "fx_rate": (pa.float64(), [float(f.fx_rate) for f in rows]),
        "base_currency": (pa.string(), [base] * len(rows)),
        "value": (pa.float64(), [float(f.value_base) for f in rows]),
        "fee_value": (pa.float64(), [float(f.fee_base) for f in rows]),
        "slippage": (pa.float64(), [float(f.slippage_base) for f in rows]),
    })  # fmt: skip


def equity_table(result: BacktestResult) -> pa.Table:
    """Equity, cash, positions and exposure per bar close in the base currency (module docstring)."""
    frame = result.account
    n = len(frame)
    exposures = {c: (pa.float64(), frame[c].to_numpy(dtype="float64").tolist()) for c in frame.columns
                 if c.startswith("exposure:")}  # fmt: skip
    return _table({
        "time": (_MS, _ms(int(v) for v in frame.index.asi8 // 1_000_000)),
        "currency": (pa.string(), [result.prepared.config.base_currency] * n),
        "equity": (pa.float64(), frame["equity"].to_numpy(dtype="float64").tolist()),
        "cash": (pa.float64(), frame["cash"].to_numpy(dtype="float64").tolist()),
        "positions_value": (pa.float64(), (frame["equity"] - frame["cash"]).to_numpy(dtype="float64").tolist()),
        **exposures,
    })  # fmt: skip


def summary(result: BacktestResult) -> dict[str, Any]:
    """``summary.json`` (module docstring): deterministic for one configuration on one data."""
    prepared, config = result.prepared, result.prepared.config
    warm = warmup_bars(prepared)
    symbols = {}
    for symbol in config.symbols:
        bars = prepared.prices[symbol].bars
        symbols[symbol] = {
            "market": prepared.markets[symbol], "currency": prepared.quotes[symbol],
            "basis": prepared.prices[symbol].basis, "files": list(prepared.prices[symbol].files),
            "bars": len(bars), "warmup_bars": warm[symbol],
            "first_bar": _iso(bars.index[0]) if len(bars) else None,
            "last_bar": _iso(bars.index[-1]) if len(bars) else None,
        }  # fmt: skip
    return {
        "format": FORMAT,
        "configuration": config.to_dict(),
        "configuration_hash": config.hash(),
        "engine_run_id": result.engine_run_id,
        "git_sha": git_sha(),
        "data": {
            "dir": str(prepared.data_dir) if prepared.data_dir is not None else None,
            "hash": prepared.data_hash(),
            "hash_covers": "the bars replayed (times, OHLCV in the price mode) per symbol, the FX bars valuing them "
            "in the base currency, and the adjustments applied",
            "symbols": symbols,
            "fx_pairs": prepared.fx_pairs(),
            "event_files": list(prepared.event_files),
        },
        "price_mode": config.price_mode,
        "prices": {s: prepared.prices[s].to_dict() for s in config.symbols},
        "warnings": prepared.warnings(),
        "run": {
            "ended": result.reason,
            "counters": result.counters,
            "orders": len(result.orders),
            "fills": len(result.fills),
            "decisions": sum(len(d["decisions"]) for d in result.decisions),
            "open_at_end": [p.to_dict() for p in result.open_at_end],
        },
        "metrics": result.metrics.to_dict(),
        "artifacts": dict(ARTIFACTS),
    }


def _json(value: Any) -> str:
    def default(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            return str(obj)
        if isinstance(obj, datetime | pd.Timestamp):
            return _iso(obj)
        raise TypeError(f"{type(obj).__name__} is not JSON serializable")

    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False, default=default) + "\n"


def write_artifacts(result: BacktestResult, run_dir: Path) -> dict[str, Path]:
    """Write the deterministic artifacts (module docstring) into ``run_dir`` (claimed: :func:`claim_run_dir`).

    Returns:
        name -> path of each file written.
    """
    config = result.prepared.config
    paths = {name: run_dir / file for name, file in ARTIFACTS.items()}
    _write(bars_table(result), paths["bars"])
    _write(orders_table(result), paths["orders"])
    _write(fills_table(result), paths["fills"])
    _write(equity_table(result), paths["equity"])
    paths["summary"].write_text(_json(summary(result)), encoding="utf-8", newline="\n")
    start = pd.Timestamp(result.prepared.start_ms, unit="ms", tz="UTC")
    shown = {s: p.bars[p.bars.index >= start] for s, p in result.prepared.prices.items()}
    title = (
        f"Backtest: {config.strategy} on {', '.join(config.symbols)} ({config.timeframe}, {config.start}..{config.end})"
    )
    write_report(
        paths["report"], equity=result.equity, trades=result.closed, metrics=result.metrics, bars=shown,
        config={k: v for k, v in config.to_dict().items()}, title=title, currency=config.base_currency,
    )  # fmt: skip
    return paths


def write_manifest(
    run_dir: Path, *, run_id: str, result: BacktestResult, started_at: datetime, wall_seconds: float
) -> Path:
    """``manifest.json``: what differs between two runs of one configuration (module docstring)."""
    manifest = {
        "format": FORMAT,
        "run_id": run_id,
        "engine_run_id": result.engine_run_id,
        "configuration_hash": result.prepared.config.hash(),
        "started_at": _iso(started_at.astimezone(UTC)),
        "wall_seconds": round(wall_seconds, 3),
        "engine_seconds": round(result.engine_seconds, 3),
        "pid": os.getpid(),
        "artifacts": dict(ARTIFACTS),
    }
    path = run_dir / MANIFEST
    path.write_text(_json(manifest), encoding="utf-8", newline="\n")
    return path
