"""IBTrader figures on the offline gateway over the real data (``make bench``).

* ``ibtrader.order_latency_p99_ms``: from the moment the SDK observes a completed bar (ib_async
  processes the keepUpToDate update that starts the next bar) to the moment the gateway's broker
  has the order a strategy placed on that bar, p99 over 200 bars. Both ends run in this process,
  so one ``perf_counter`` times them; the path includes the watcher's queue, ``create_order``'s
  checks and the socket. Bars are 30 ms of wall time apart: ib_async throttles itself to 45
  messages a second (IB allows 50), and a faster loop measures that queue instead (every 45th
  order waits up to a second). Target < 50 ms.
* ``ibtrader.backfill_pacing_efficiency``: 60 days of 1-minute bars for SPY, BHP and CBA, fetched
  concurrently on the simulated clock. The gateway records every request it receives; IB's
  pacing-limited minimum time for that sequence (each request at the earliest moment IB's rules,
  as the gateway enforces them, allow) divided by the simulated time the backfill actually took.
  Target >= 0.95. ``ibtrader.backfill_pacing_violations``: 162s the gateway answered (target 0).
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sdk.clock import SimulatedClock
from sdk.settings import load_settings
from sdk.venues.ib.pacing import PacingBudget
from sdk.venues.ib.trader import IBTrader

DATA = Path(os.environ.get("SHARED_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
NYSE_OPEN_2024 = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
BACKFILL_END = datetime(2024, 5, 17, 20, 30, tzinfo=UTC)
BARS = 200


async def _gateway(catalog: Any, start: datetime) -> Any:
    from sdk.gateway import GatewayConfig, OfflineGateway

    config = GatewayConfig(port=0, control_port=None, speed=0, start=start, cash={"AUD": 1_000_000, "USD": 500_000})
    gw = OfflineGateway(config, catalog=catalog)
    await gw.start()
    return gw


async def _trader(gw: Any) -> IBTrader:
    clock = SimulatedClock(gw.clock)
    trader = IBTrader(
        load_settings(ib_port=gw.port, allowed_symbols="SPY/USD,BHP/AUD,CBA/AUD"),
        clock=clock,
        budget=PacingBudget(clock),
    )
    await trader.connect()
    return trader


async def order_latency(catalog: Any) -> list[float]:
    """Milliseconds from bar observed to order at the gateway, one per bar."""
    gw = await _gateway(catalog, NYSE_OPEN_2024)
    trader = await _trader(gw)
    observed: list[float] = []
    arrived: dict[str, float] = {}
    notifier_changed = gw.notifier.order_changed

    def at_gateway(order: Any) -> None:  # the broker tells its listener about each order it takes
        arrived.setdefault(order.order_ref, time.perf_counter())
        notifier_changed(order)

    gw.notifier.order_changed = at_gateway  # type: ignore[method-assign]

    def on_bar(bars: Any, has_new_bar: bool) -> None:
        if has_new_bar:
            observed.append(time.perf_counter())

    trader.connection.ib.barUpdateEvent += on_bar
    latencies: list[float] = []
    try:
        watch = trader.watch_ohlcv("SPY/USD", "1m")
        first = asyncio.ensure_future(anext(watch))
        await asyncio.sleep(0.05)
        for i in range(BARS + 1):
            observed.clear()
            gw.clock.advance(60)
            bar = await asyncio.wait_for(first if i == 0 else anext(watch), 5)
            ref = f"trd-bench-{i:05d}"
            price = round(bar[4] * 0.9, 2)  # far from the market: rests, never fills
            await trader.create_order("SPY/USD", "limit", "buy", 1, price, {"clientOrderId": ref})
            if i and observed and ref in arrived:  # the first bar warms the caches
                latencies.append((arrived[ref] - observed[0]) * 1000)
            await asyncio.sleep(0.03)
        await watch.aclose()
    finally:
        await trader.close()
        await gw.stop()
    return latencies


def _minimum_pacing_time(requests: list[tuple[Any, Any, str]]) -> float:
    """IB's pacing-limited minimum time for ``requests`` in order: each at the earliest moment the
    gateway's own rules (:class:`sdk.gateway.pacing.HistoricalPacer`) allow, found by trying the
    moments at which an earlier request leaves one of IB's windows."""
    from sdk.gateway.pacing import HistoricalPacer

    oracle = HistoricalPacer()
    sent: list[float] = []
    t = 0.0
    for series, identity, what in requests:
        candidates = sorted({t, *(s + w + 1e-6 for s in sent for w in (2.0, 15.0, 600.0) if s + w + 1e-6 > t)})
        for candidate in candidates:
            if oracle.check(candidate, series=series, identity=identity, what_to_show=what).allowed:
                t = candidate
                break
        else:
            raise RuntimeError("no moment satisfies IB's pacing rules; the oracle is inconsistent")
        sent.append(t)
    return sent[-1] - sent[0] if sent else 0.0


async def backfill(catalog: Any) -> tuple[float, int, int, float]:
    """(efficiency, violations, requests, wall seconds) of a 60-day 1-minute backfill of three symbols."""
    gw = await _gateway(catalog, BACKFILL_END)
    trader = await _trader(gw)
    seen: list[tuple[float, Any, Any, str]] = []
    check = gw.pacer.check

    def recording(now: float, *, series: Any, identity: Any, what_to_show: str) -> Any:
        seen.append((now, series, identity, what_to_show))
        return check(now, series=series, identity=identity, what_to_show=what_to_show)

    gw.pacer.check = recording  # type: ignore[method-assign]
    try:
        since = int((BACKFILL_END - timedelta(days=60)).timestamp() * 1000)
        started = time.perf_counter()
        await asyncio.gather(*(trader.fetch_ohlcv(s, "1m", since=since) for s in ("SPY/USD", "BHP/AUD", "CBA/AUD")))
        wall = time.perf_counter() - started
        violations = int(gw.pacer.violations)
    finally:
        await trader.close()
        await gw.stop()
    actual = seen[-1][0] - seen[0][0] if seen else 0.0
    minimum = _minimum_pacing_time([(s, i, w) for _, s, i, w in seen])
    efficiency = 1.0 if actual <= 0 else minimum / actual
    return efficiency, violations, len(seen), wall


async def figures() -> list[dict[str, Any]]:
    if not (DATA / "README.md").is_file():
        raise FileNotFoundError(f"real market data not found at {DATA}; set SHARED_DATA_DIR")
    logging.getLogger("ib_async").setLevel(logging.CRITICAL)
    from sdk.data import load_catalog

    catalog = await asyncio.to_thread(load_catalog, DATA)
    latencies = await order_latency(catalog)
    efficiency, violations, requests, wall = await backfill(catalog)
    p99 = statistics.quantiles(latencies, n=100, method="inclusive")[98]
    return [
        {"name": "ibtrader.order_latency_p99_ms", "value": round(p99, 3), "unit": "ms", "target": "< 50"},
        {
            "name": "ibtrader.order_latency_median_ms",
            "value": round(statistics.median(latencies), 3),
            "unit": "ms",
            "target": None,
        },
        {
            "name": "ibtrader.backfill_pacing_efficiency",
            "value": round(efficiency, 4),
            "unit": "ratio",
            "target": ">= 0.95",
        },
        {"name": "ibtrader.backfill_pacing_violations", "value": violations, "unit": "count", "target": "0"},
        {"name": "ibtrader.backfill_requests", "value": requests, "unit": "count", "target": None},
        {"name": "ibtrader.backfill_wall_s", "value": round(wall, 2), "unit": "s", "target": None},
    ]


if __name__ == "__main__":
    for figure in asyncio.run(figures()):
        print(figure)
