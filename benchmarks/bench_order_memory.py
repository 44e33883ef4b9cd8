"""Runner memory over a long run of orders: ``runner.memory_per_1000_orders_mb`` (target: flat, < 1 MB).

The execution service (execute mode, SQLite ledger) sends alternating buys and sells of BHP/AUD through an
IBTrader to an in-process offline gateway paused at an ASX open; the gateway's clock moves five seconds
after each order, so every order is worked to its end (filled, or its IOC remainder cancelled) and its
commission report arrives. The Python heap is traced with ``tracemalloc`` from the first order
(allocations made by the gateway itself left out: it is the venue, not the runner) and measured after a
warm-up of 600 orders (every bounded cache full by then) and again after 1,200 more; the figure is the
growth per 1,000 orders in MB. ``runner.live_order_records``
is what the runner still holds per order at the end (the execution service's results, locks and open
set, the IB order records): flat means it does not grow with the number of orders.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import tempfile
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
WARMUP, MEASURED = 600, 1_200


def _heap_mb() -> float:
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, "*/sdk/gateway/*", all_frames=True), tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    return sum(stat.size for stat in snapshot.statistics("filename")) / 1e6


def live_records(services: Any, trader: Any) -> int:
    """Per-order entries the runner and the IB trader still hold (execution service and IB order service)."""
    return int(services.execution.held) + int(trader.orders.held)


async def _long_run(catalog: Any, db: str) -> list[dict[str, Any]]:
    from sdk.clock import SimulatedClock
    from sdk.gateway import GatewayConfig, OfflineGateway
    from sdk.ledger import open_ledger, upgrade
    from sdk.risk import OrderIntent
    from sdk.services import build_services
    from sdk.settings import load_settings
    from sdk.venues.ib.pacing import PacingBudget
    from sdk.venues.ib.trader import IBTrader

    start = datetime(2025, 3, 4, 0, 0, tzinfo=UTC) if not catalog.synthetic else None
    gw = OfflineGateway(GatewayConfig(port=0, control_port=None, speed=0, start=start), catalog=catalog)
    await gw.start()
    heap: list[float] = []
    try:
        # the round trips lose the spread and commissions: a daily loss limit no bench run reaches
        settings = load_settings(ib_port=gw.port, database_url=db, daily_loss_limit=10_000_000)
        upgrade(db)
        clock = SimulatedClock(gw.clock)
        trader = IBTrader(settings, clock=clock, budget=PacingBudget(clock))
        await trader.connect()
        with open_ledger(db) as ledger:
            services = await build_services(settings, trader, ledger, session_id="bench-memory", shadow=False)
            tracemalloc.start(8)  # from the first order: what the warm-up allocated and still holds counts
            for i in range(WARMUP + MEASURED):
                if i == WARMUP:
                    heap.append(_heap_mb())
                side = "buy" if i % 2 == 0 else "sell"
                intent = OrderIntent(symbol="BHP/AUD", side=side, type="market", amount=100, is_exit=side == "sell",
                                     client_order_id=f"trd-mem{i:06d}", origin="strategy:bench")  # fmt: skip
                await services.execution.submit(intent)
                gw.clock.advance(5)
                await asyncio.sleep(0)
                await services.execution.refresh_open_orders()
            await asyncio.sleep(0.2)  # the last commission reports
            await services.execution.refresh_open_orders()
            heap.append(_heap_mb())
            tracemalloc.stop()
            records = live_records(services, trader)
            stats = services.execution.stats
            if stats.sent != WARMUP + MEASURED:
                raise RuntimeError(f"only {stats.sent} of {WARMUP + MEASURED} orders were sent: {stats}")
        await trader.close()
    finally:
        await gw.stop()
    per_1000 = (heap[1] - heap[0]) / (MEASURED / 1000)
    return [
        {"name": "runner.memory_per_1000_orders_mb", "value": round(per_1000, 3), "unit": "MB", "target": "< 1"},
        {"name": "runner.live_order_records", "value": records, "unit": "entries",
         "target": f"flat (not growing with the {WARMUP + MEASURED} orders)"},
    ]  # fmt: skip


async def figures() -> list[dict[str, Any]]:
    from sdk.data import load_catalog

    logging.getLogger("ib_async").setLevel(logging.CRITICAL)
    catalog = await asyncio.to_thread(load_catalog, DATA if (DATA / "README.md").is_file() else None)
    with tempfile.TemporaryDirectory() as folder:
        return await _long_run(catalog, f"sqlite:///{folder}/memory.db")
