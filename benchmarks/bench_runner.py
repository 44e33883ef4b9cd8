"""Runner figures: keeping up with a replay at ×200,000, and the cost of one shadow order.

* ``runner.daily_bars_x200000_*``: the StrategyRunner (ma_crossover, shadow, BHP/AUD, CBA/AUD, CSL/AUD,
  AUD/USD, daily bars) against an in-process offline gateway whose clock runs freely at ×200,000 (an
  ASX trading day in 0.43 s of wall time) over the last 20 sessions of ``../shared/data`` (the synthetic
  universe without it). ``lag_ms_p95``/``max``: wall milliseconds from a bar's close on the simulated
  clock to the runner's decision on it; ``skipped_bars``: bars completed in the window that the runner
  never decided on, and ``duplicated_bars``: extra decisions on a bar already decided on (both from the
  ledger's ``runner.bar`` events, each (symbol, session day) counted on its own, so a duplicate cannot
  hide a skipped bar; both must be 0); ``wall_s_per_day``: wall seconds per simulated calendar day.
* ``runner.shadow_submit_ms_p50``: one ``ExecutionService.submit`` in shadow mode (fresh risk facts,
  RiskManager, the gateway's fill model at the live quote, the ledger written), SQLite ledger.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Hashable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SYMBOLS = ("BHP/AUD", "CBA/AUD", "CSL/AUD", "AUD/USD")


def bar_tally(expected: set[Hashable], decided: Iterable[Hashable]) -> tuple[int, int]:
    """``(skipped, duplicated)``: expected bars never decided on, and decisions beyond the first on a bar.

    Counted apart, so a bar decided on twice cannot hide a skipped one (``expected - decided`` would).
    """
    counts = Counter(decided)
    return len(expected - set(counts)), sum(n - 1 for n in counts.values())


async def _daily_at_200000(catalog: Any, db: str) -> list[dict[str, Any]]:
    from runner.config import RunnerConfig
    from runner.runner import StrategyRunner
    from sdk.calendars import get_calendar
    from sdk.clock import SimulatedClock
    from sdk.gateway import GatewayConfig, OfflineGateway
    from sdk.ledger import open_ledger, upgrade
    from sdk.ledger import queries as q
    from sdk.services.clock import SimClockFollower
    from sdk.settings import load_settings
    from sdk.venues.ib.pacing import PacingBudget
    from sdk.venues.ib.trader import IBTrader

    asx, fx = get_calendar("ASX"), get_calendar("FX")
    info = catalog.instruments["BHP/AUD"]
    sessions = [
        s for s in asx.sessions(info.last - timedelta(days=60), info.last + timedelta(days=1)) if s.open <= info.last
    ]
    first, last = sessions[-20], sessions[-1]
    until = last.close + timedelta(minutes=5)
    gw = OfflineGateway(GatewayConfig(port=0, control_port=None, speed=0, start=first.open), catalog=catalog)
    await gw.start()
    try:
        settings = load_settings(ib_port=gw.port, database_url=db)
        upgrade(db)
        clock = SimulatedClock(gw.clock)
        trader = IBTrader(settings, clock=clock, budget=PacingBudget(clock))
        await trader.connect()
        config = RunnerConfig(symbols=SYMBOLS, timeframe="1d", until=until.timestamp(), resume=False)
        started: list[float] = []

        def on_event(kind: str, payload: dict[str, Any]) -> None:
            if kind == "started":
                gw.clock.set_speed(200_000)
                started.append(time.perf_counter())

        with open_ledger(db) as ledger:
            runner = StrategyRunner(settings, config, clock=SimClockFollower(gw.clock), trader=trader, ledger=ledger,
                                    on_event=on_event)  # fmt: skip
            result = await runner.run()
            bars = q.recent_events(ledger, kinds=["runner.bar"], run_id=result.run_id, limit=None)
        wall = time.perf_counter() - started[0]
        await trader.close()
    finally:
        await gw.stop()
    window = (first.open, until)
    expected = {  # (symbol, session day) of every daily bar that completed in the window
        (symbol, s.day)
        for symbol in SYMBOLS
        for s in (fx if symbol == "AUD/USD" else asx).sessions(*window)
        if first.open < s.close <= until
    }
    skipped, duplicated = bar_tally(
        expected,
        ((e["payload"]["symbol"], datetime.fromtimestamp(e["payload"]["bar_ts"] / 1000, UTC).date()) for e in bars),
    )
    lag = result.telemetry["bar_lag_ms"]
    days = (until - first.open).total_seconds() / 86_400
    return [
        {"name": "runner.daily_bars_x200000_lag_ms_p95", "value": lag["p95"], "unit": "ms", "target": "< 430 (a day)"},
        {"name": "runner.daily_bars_x200000_lag_ms_max", "value": lag["max"], "unit": "ms", "target": None},
        {"name": "runner.daily_bars_x200000_skipped_bars", "value": skipped, "unit": "bars",
         "target": "0"},
        {"name": "runner.daily_bars_x200000_duplicated_bars", "value": duplicated,
         "unit": "bars", "target": "0"},
        {"name": "runner.daily_bars_x200000_wall_s_per_day", "value": round(wall / days, 3), "unit": "s",
         "target": "~0.43"},
    ]  # fmt: skip


async def _shadow_submit(catalog: Any, db: str) -> list[dict[str, Any]]:
    from datetime import UTC, datetime

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
    try:
        settings = load_settings(ib_port=gw.port, database_url=db)
        upgrade(db)
        clock = SimulatedClock(gw.clock)
        trader = IBTrader(settings, clock=clock, budget=PacingBudget(clock))
        await trader.connect()
        with open_ledger(db) as ledger:
            services = await build_services(settings, trader, ledger, session_id="bench-shadow", shadow=True)
            timings = []
            for i in range(41):
                side = "buy" if i % 2 == 0 else "sell"
                intent = OrderIntent(symbol="BHP/AUD", side=side, type="market", amount=100, is_exit=side == "sell",
                                     client_order_id=f"trd-bench-{i}", origin="strategy:bench")  # fmt: skip
                began = time.perf_counter()
                await services.execution.submit(intent)
                timings.append((time.perf_counter() - began) * 1000)
        await trader.close()
    finally:
        await gw.stop()
    return [{"name": "runner.shadow_submit_ms_p50", "value": round(statistics.median(timings[1:]), 2), "unit": "ms",
             "target": "< 50"}]  # fmt: skip


async def figures() -> list[dict[str, Any]]:
    from sdk.data import load_catalog

    logging.getLogger("ib_async").setLevel(logging.CRITICAL)
    catalog = await asyncio.to_thread(load_catalog, DATA if (DATA / "README.md").is_file() else None)
    with tempfile.TemporaryDirectory() as folder:
        rows = await _daily_at_200000(catalog, f"sqlite:///{folder}/replay.db")
        rows += await _shadow_submit(catalog, f"sqlite:///{folder}/submit.db")
    return rows
