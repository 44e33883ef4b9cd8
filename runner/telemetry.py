"""Observability of a run: counters, latencies, and the telemetry log.

Every log line already carries the run id (:mod:`sdk.logs`). The ``runner.telemetry`` logger adds one
line per bar decision and per order with the contract id (``conId``), the exchange and the commission
source (``estimate`` in shadow mode, ``ib_commission_report`` / ``pending`` on IB). Counters: bars,
decisions, orders proposed / approved / sent (or shadow-filled), rejections by code, deferred orders,
step errors, bars given up after their last try (``bars_failed``). Latencies in wall milliseconds:

* ``bar_lag_ms``: from the moment the clock passed a bar's close to the runner deciding on it;
* ``submit_latency_ms``: from the moment an order could go (the bar close, or the market open for an
  order decided while the market was shut) to the execution service's answer.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Counters", "Latency", "Telemetry", "WakeStamp", "telemetry_log"]

telemetry_log = logging.getLogger("runner.telemetry")


@dataclass(frozen=True, slots=True)
class WakeStamp:
    """When the loop woke: the clock's time, its speed then, and the wall clock (``time.perf_counter``)."""

    clock: float
    speed: float
    wall: float

    @classmethod
    def now(cls, clock: float, speed: float) -> WakeStamp:
        return cls(clock, speed, time.perf_counter())

    def wall_ms_since(self, moment: float) -> float | None:
        """Wall milliseconds since the clock passed ``moment`` (clock seconds): how late the loop woke for it,
        at the speed of that moment, plus the wall time spent since it woke. None while the clock is paused."""
        if self.speed <= 0:
            return None
        return max(0.0, self.clock - moment) / self.speed * 1000 + (time.perf_counter() - self.wall) * 1000


class Latency:
    """A bounded sample of latencies (wall ms) with count, p50, p95 and max."""

    def __init__(self, keep: int = 10_000) -> None:
        self.values: deque[float] = deque(maxlen=keep)
        self.count = 0
        self.max = 0.0

    def add(self, ms: float) -> None:
        if math.isfinite(ms):
            self.values.append(ms)
            self.count += 1
            self.max = max(self.max, ms)

    def percentile(self, pct: float) -> float | None:
        if not self.values:
            return None
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1)]

    def summary(self) -> dict[str, float | int | None]:
        p50, p95 = self.percentile(50), self.percentile(95)
        return {
            "count": self.count,
            "p50": round(p50, 2) if p50 is not None else None,
            "p95": round(p95, 2) if p95 is not None else None,
            "max": round(self.max, 2) if self.count else None,
        }


@dataclass(slots=True)
class Counters:
    """What a run did, for the summary and the ``runner.telemetry`` event."""

    bars: int = 0
    decisions: int = 0
    orders_proposed: int = 0
    orders_approved: int = 0
    orders_sent: int = 0
    orders_shadow: int = 0
    orders_replayed: int = 0
    plans_proposed: int = 0
    plan_exits: int = 0
    deferred: int = 0
    deferred_dropped: int = 0
    step_errors: int = 0
    bars_failed: int = 0
    rejections: dict[str, int] = field(default_factory=dict)


class Telemetry:
    """Counters and latencies of one run."""

    def __init__(self) -> None:
        self.counters = Counters()
        self.bar_lag = Latency()
        self.submit_latency = Latency()

    def rejected(self, code: str | None) -> None:
        key = code or "unknown"
        self.counters.rejections[key] = self.counters.rejections.get(key, 0) + 1

    def summary(self) -> dict[str, Any]:
        counters = self.counters
        return {
            "bars": counters.bars,
            "decisions": counters.decisions,
            "orders_proposed": counters.orders_proposed,
            "orders_approved": counters.orders_approved,
            "orders_sent": counters.orders_sent,
            "orders_shadow": counters.orders_shadow,
            "orders_replayed": counters.orders_replayed,
            "plans_proposed": counters.plans_proposed,
            "plan_exits": counters.plan_exits,
            "deferred": counters.deferred,
            "deferred_dropped": counters.deferred_dropped,
            "step_errors": counters.step_errors,
            "bars_failed": counters.bars_failed,
            "rejections": dict(counters.rejections),
            "bar_lag_ms": self.bar_lag.summary(),
            "submit_latency_ms": self.submit_latency.summary(),
        }
