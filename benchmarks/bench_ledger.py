"""Ledger figures on both engines: bulk fill inserts and the dashboard's queries.

* ``ledger.insert_100k_fills_seconds.<engine>``: 100,000 ccxt fills through
  ``LedgerWriter.record_trades`` (validation, masking, upsert) in transactions of 5,000.
* ``ledger.dashboard_query_p95_ms.<engine>``: p95 latency of one dashboard query, over 30 rounds
  of each of: the equity curve (30 days of minute snapshots, hourly points), the latest positions
  (30 days of 5-minute snapshots of 10 symbols), and one day's orders (of 20,000 over 30 days),
  with the 100,000 fills in the database. Target < 100 ms.

SQLite runs on a file in a temporary directory; PostgreSQL on a fresh database on the server at
``TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``), dropped afterwards.
The PostgreSQL figures are left out (with a note) when the server is not reachable.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert

from sdk.ledger import Ledger, open_ledger, upgrade
from sdk.ledger import queries as q
from sdk.ledger.models import EquitySnapshotRow, OrderRow, PositionRow

POSTGRES_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
FILLS = 100_000
BATCH = 5_000
DAYS = 30
START = 1_760_000_000_000  # 2025-10-09T08:53:20Z
MINUTE = 60_000
SYMBOLS = ["BHP/AUD", "CBA/AUD", "CSL/AUD", "NAB/AUD", "WBC/AUD", "ANZ/AUD", "FMG/AUD", "WES/AUD", "RIO/AUD", "SPY/USD"]
ROUNDS = 30


@contextmanager
def _sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        yield f"sqlite:///{tmp}/trader.db"


@contextmanager
def _postgres() -> Iterator[str]:
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_SERVER_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_SERVER_URL.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(POSTGRES_SERVER_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fills(run: str) -> Iterator[dict[str, Any]]:
    for i in range(FILLS):
        pending = i % 4 == 0
        yield {
            "id": f"{run}.{i:08d}.01",
            "order": str(1_000_000 + i // 5),
            "clientOrderId": f"trd-{i // 5:07d}",
            "symbol": SYMBOLS[i % len(SYMBOLS)],
            "side": "buy" if i % 2 else "sell",
            "type": "limit",
            "takerOrMaker": "maker" if i % 3 else "taker",
            "price": 40.0 + (i % 1000) / 100,
            "amount": float(10 + i % 90),
            "cost": None,
            "timestamp": START + i * (DAYS * 1440 * MINUTE // FILLS),
            "fee": None if pending else {"cost": 6.0, "currency": "AUD"},
        }


def _insert_fills(ledger: Ledger) -> float:
    writer = ledger.writer()
    writer.start_session(venue="IB", account="DU1234567", base_currency="AUD", mode="paper", run_id="bench")
    fills = list(_fills("bench"))
    began = time.perf_counter()
    for start in range(0, FILLS, BATCH):
        writer.record_trades(fills[start : start + BATCH])
    return time.perf_counter() - began


def _dashboard_data(ledger: Ledger) -> None:
    """30 days of minute equity, 5-minute position snapshots and 20,000 orders, inserted in bulk."""
    base = {"run_id": "bench", "venue": "IB", "account": "DU****567"}
    equity = [
        {**base, "timestamp": START + m * MINUTE, "currency": "AUD", "equity": 100_000 + m % 977, "cash": 10_000}
        for m in range(DAYS * 1440)
    ]
    positions = [
        {**base, "timestamp": START + m * MINUTE, "symbol": s, "quote_currency": s[-3:], "side": "long",
         "contracts": 100 + m % 50, "notional": 4500.0, "base_currency": "AUD"}
        for m in range(0, DAYS * 1440, 5)
        for s in SYMBOLS
    ]  # fmt: skip
    orders = [
        {**base, "order_id": str(1_000_000 + i), "client_order_id": f"trd-{i:07d}", "symbol": SYMBOLS[i % 10],
         "quote_currency": SYMBOLS[i % 10][-3:], "type": "limit", "side": "buy", "status": "closed",
         "price": 45.0, "amount": 50, "filled": 50, "remaining": 0, "timestamp": START + i * 129_600,
         "shadow": False, "created_at": START, "updated_at": START}
        for i in range(20_000)
    ]  # fmt: skip
    with ledger.write() as conn:
        for model, rows in ((EquitySnapshotRow, equity), (PositionRow, positions), (OrderRow, orders)):
            for start in range(0, len(rows), 10_000):
                conn.execute(insert(model), rows[start : start + 10_000])
    if ledger.dialect == "postgresql":
        with ledger.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with ledger.write() as conn:
            conn.exec_driver_sql("ANALYZE")


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def _query_latencies(ledger: Ledger) -> dict[str, list[float]]:
    day = datetime.fromtimestamp((START + 15 * 1440 * MINUTE) / 1000, UTC).date()
    queries: dict[str, Callable[[], Any]] = {
        "equity_curve": lambda: q.equity_curve(ledger, since=START, bucket_ms=60 * MINUTE),
        "latest_positions": lambda: q.latest_positions(ledger),
        "orders_for_day": lambda: q.orders_for_day(ledger, day, tz="Australia/Sydney"),
    }
    samples: dict[str, list[float]] = {name: [] for name in queries}
    for name, run in queries.items():
        assert run(), f"{name} returned nothing: the benchmark data is wrong"
    for _ in range(ROUNDS):
        for name, run in queries.items():
            began = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - began) * 1000)
    return samples


def _engine_figures(engine: str, url: str) -> list[dict[str, Any]]:
    upgrade(url)
    with open_ledger(url) as ledger:
        seconds = _insert_fills(ledger)
        _dashboard_data(ledger)
        samples = _query_latencies(ledger)
    every = [s for values in samples.values() for s in values]
    figures = [
        {"name": f"ledger.insert_100k_fills_seconds.{engine}", "value": round(seconds, 2), "unit": "s", "target": None},
        {"name": f"ledger.dashboard_query_p95_ms.{engine}", "value": round(_p95(every), 2), "unit": "ms",
         "target": "< 100"},
    ]  # fmt: skip
    figures += [
        {"name": f"ledger.query_p95_ms.{name}.{engine}", "value": round(_p95(values), 2), "unit": "ms",
         "target": "< 100"}
        for name, values in samples.items()
    ]  # fmt: skip
    return figures


def figures() -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with _sqlite() as url:
        results += _engine_figures("sqlite", url)
    try:
        database = _postgres()
        url = database.__enter__()
    except Exception as exc:  # the server is optional on a developer's machine
        print(f"   (PostgreSQL figures skipped: {exc})")
        return results
    try:
        results += _engine_figures("postgres", url)
    finally:
        database.__exit__(None, None, None)
    return results


if __name__ == "__main__":
    for figure in figures():
        print(figure)
