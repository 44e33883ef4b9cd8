"""From a strategy's decision to an order: sizing, the market-hours gate, ids that make a retry harmless.

* **Ids.** An order's client order id is ``CLIENT_ORDER_PREFIX`` + 16 hex digits of
  ``sha256(run id | strategy | symbol | timeframe | bar time | n)``; a plan's id is built the same way.
  A runner restarted after a crash that decides on the same bar again asks for the same id, and the
  execution service answers the first result: never a second order.
* **Sizing.** A decision without an amount is sized to ``order_value`` in the base currency at the bar's
  close and the venue's FX rate, cut down to the instrument's size step.
* **Market-hours gate.** A decision made while the symbol's market is shut (a daily bar completes at
  the close) waits for the next moment the market is open, and is written as a ``runner.deferred`` event
  (so a restarted run still sends it). A newer decision on the same symbol replaces one still waiting
  (logged and counted as dropped; only a replay far faster than real time can sleep through a session).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from runner.monitor import PlanMonitor
from runner.schedule import BarSchedule
from runner.services import Services
from runner.services.execution import ExecutionResult
from runner.services.plans import PlanRequest, units
from runner.strategies.base import Decision, PlanProposal, Signal
from runner.telemetry import Telemetry, WakeStamp, telemetry_log
from sdk.base import OHLCV
from sdk.instruments import InstrumentSpec
from sdk.ledger import queries as q
from sdk.risk import OrderIntent
from sdk.symbols import parse_symbol

__all__ = ["DecisionExecutor", "Deferred"]

log = logging.getLogger(__name__)
EventSink = Callable[[str, dict[str, Any]], None]


@dataclass(slots=True)
class Deferred:
    """A decision waiting for its market to open (times in epoch seconds)."""

    symbol: str
    decision: Decision
    key: str
    bar_ts: int
    price: Decimal
    not_before: float

    def to_payload(self) -> dict[str, Any]:
        d = self.decision
        body: dict[str, Any] = {
            "kind": "plan" if isinstance(d, PlanProposal) else "signal",
            "side": d.side,
            "amount": str(d.amount) if d.amount is not None else None,
            "reason": d.reason,
        }
        if isinstance(d, PlanProposal):
            body.update(stop=str(d.stop), target=str(d.target), entry=str(d.entry) if d.entry is not None else None)
        else:
            body["is_exit"] = d.is_exit
        return {"symbol": self.symbol, "key": self.key, "bar_ts": self.bar_ts, "price": str(self.price),
                "not_before": self.not_before, "decision": body}  # fmt: skip

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Deferred:
        body = payload["decision"]
        amount = Decimal(body["amount"]) if body.get("amount") is not None else None
        decision: Decision
        if body["kind"] == "plan":
            entry = Decimal(body["entry"]) if body.get("entry") is not None else None
            decision = PlanProposal(body["side"], Decimal(body["stop"]), Decimal(body["target"]), entry, amount,
                                    body.get("reason", ""))  # fmt: skip
        else:
            decision = Signal(body["side"], amount, bool(body.get("is_exit")), body.get("reason", ""))
        return cls(payload["symbol"], decision, payload["key"], int(payload["bar_ts"]), Decimal(payload["price"]),
                   float(payload["not_before"]))  # fmt: skip


class DecisionExecutor:
    """Turns decisions into orders and plans through the shared services (see the module docstring)."""

    def __init__(
        self,
        services: Services,
        monitor: PlanMonitor,
        telemetry: Telemetry,
        *,
        strategy: str,
        timeframe: str,
        order_value: Decimal,
        schedule_of: Callable[[str], BarSchedule],
        instrument_of: Callable[[str], InstrumentSpec],
        on_event: EventSink | None = None,
    ) -> None:
        self.services = services
        self.monitor = monitor
        self.telemetry = telemetry
        self.strategy = strategy
        self.timeframe = timeframe
        self.order_value = order_value
        self.schedule_of = schedule_of
        self.instrument_of = instrument_of
        #: When the loop last woke (set by the runner each tick): the reference for latencies.
        self.wake: WakeStamp | None = None
        self.on_event = on_event
        self.deferred: list[Deferred] = []
        self.origin = f"strategy:{strategy}"

    @property
    def clock(self) -> Callable[[], float]:
        return self.services.execution.clock

    # --- ids --------------------------------------------------------------------------------------
    def _digest(self, symbol: str, bar_ts: int, index: int) -> str:
        key = f"{self.services.session_id}|{self.strategy}|{symbol}|{self.timeframe}|{bar_ts}|{index}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def client_order_id(self, symbol: str, bar_ts: int, index: int) -> str:
        return f"{self.services.settings.client_order_prefix}{self._digest(symbol, bar_ts, index)}"

    def plan_id(self, symbol: str, bar_ts: int, index: int) -> str:
        base = parse_symbol(symbol).base.replace(".", "_")
        return f"{self.strategy[:20]}-{base}-{self._digest(symbol, bar_ts, index)}"

    # --- sizing -----------------------------------------------------------------------------------
    async def size(self, symbol: str, price: Decimal) -> Decimal | None:
        """Base units worth ``order_value`` (base currency) at ``price``, on the size step; None below the minimum."""
        spec = self.instrument_of(symbol)
        base = self.services.settings.base_currency
        rate = Decimal(str(await self.services.trader.fetch_fx_rate(spec.quote, base)))
        raw = self.order_value / (price * rate)
        step = spec.size_increment if spec.size_increment > 0 else Decimal(1)
        amount = units((raw / step).to_integral_value(rounding=ROUND_FLOOR) * step)
        return amount if amount >= spec.min_size and amount > 0 else None

    # --- acting -----------------------------------------------------------------------------------
    async def act(self, symbol: str, bar: OHLCV, index: int, decision: Decision) -> str:
        """Execute ``decision`` taken at the close of ``bar`` now, or defer it to the market's open."""
        bar_ts, price = int(bar[0]), Decimal(str(bar[4]))
        key = (self.plan_id if isinstance(decision, PlanProposal) else self.client_order_id)(symbol, bar_ts, index)
        self._supersede(symbol, bar_ts)
        now = self.clock()
        schedule = self.schedule_of(symbol)
        if not schedule.is_open(now):
            opens = schedule.next_open(now)
            item = Deferred(symbol, decision, key, bar_ts, price, opens)
            self.deferred.append(item)
            self.telemetry.counters.deferred += 1
            await asyncio.to_thread(
                self.services.writer.record_event, "runner.deferred", item.to_payload(), symbol=symbol,
                message=f"{decision.side} {symbol} waits for the market to open", source="runner",
                timestamp=int(now * 1000), run_id=self.services.session_id,
            )  # fmt: skip
            return f"deferred to the open ({decision.side})"
        bar_close = schedule.bar_close(bar_ts)
        return await self._execute(symbol, decision, key, price, ready_at=bar_close)

    def _supersede(self, symbol: str, bar_ts: int) -> None:
        """A decision on a newer bar replaces what still waits from an older bar of the same symbol."""
        for item in [d for d in self.deferred if d.symbol == symbol and d.bar_ts < bar_ts]:
            self.deferred.remove(item)
            self.telemetry.counters.deferred_dropped += 1
            log.warning(
                "a deferred decision never found its market open before the next one replaced it",
                extra={"symbol": symbol, "key": item.key},
            )

    async def run_deferred(self) -> int:
        """Send the deferred decisions whose market is now open; returns how many went."""
        now, sent = self.clock(), 0
        for item in list(self.deferred):
            if now < item.not_before:
                continue
            schedule = self.schedule_of(item.symbol)
            if not schedule.is_open(now):
                continue
            self.deferred.remove(item)
            try:
                await self._execute(item.symbol, item.decision, item.key, item.price, ready_at=item.not_before)
            except Exception:
                self.telemetry.counters.step_errors += 1
                log.exception("deferred decision failed", extra={"symbol": item.symbol, "key": item.key})
            sent += 1
        return sent

    async def restore_deferred(self) -> int:
        """Re-queue the ``runner.deferred`` decisions of this run that never went out (a resumed run)."""
        svc = self.services
        events = await asyncio.to_thread(
            q.recent_events, svc.ledger, kinds=["runner.deferred"], run_id=svc.session_id, limit=1000
        )
        restored = 0
        for event in reversed(events):
            item = Deferred.from_payload(event["payload"])
            if isinstance(item.decision, PlanProposal):
                done = any(p.plan_id == item.key for p in svc.plans.list()) or await asyncio.to_thread(
                    _plan_exists, svc, item.key
                )
            else:
                done = bool(await asyncio.to_thread(q.orders_by_client_prefix, svc.ledger, item.key))
            if not done and all(d.key != item.key for d in self.deferred):
                self.deferred.append(item)
                restored += 1
        return restored

    async def _execute(self, symbol: str, decision: Decision, key: str, price: Decimal, *, ready_at: float) -> str:
        counters = self.telemetry.counters
        if isinstance(decision, Signal) and decision.is_exit:
            plans = self.services.plans.list(status="active")
            plan = next((p for p in plans if p.symbol == symbol and p.origin == self.origin), None)
            if plan is not None:
                counters.plan_exits += 1
                after = await self.monitor.exit(plan, f"strategy exit: {decision.reason}")
                self._latency(ready_at)
                self._emit("plan", {"plan": after.to_dict(), "why": decision.reason})
                return f"plan {after.plan_id} {after.status}"
        sizing_price = decision.entry if isinstance(decision, PlanProposal) and decision.entry else price
        amount = decision.amount or await self.size(symbol, sizing_price)
        if amount is None or amount <= 0:
            log.warning("decision not sized: order value below the minimum size", extra={"symbol": symbol})
            return "skipped: order value below the instrument's minimum size"
        if isinstance(decision, PlanProposal):
            counters.plans_proposed += 1
            request = PlanRequest(symbol=symbol, side=decision.side, amount=amount, entry=decision.entry,
                                  stop=decision.stop, target=decision.target, origin=self.origin, plan_id=key,
                                  reason=decision.reason or None)  # fmt: skip
            plan = await self.services.plans.create(request)
            self._latency(ready_at)
            self._emit("plan", {"plan": plan.to_dict(), "why": decision.reason})
            return f"plan {plan.plan_id} {plan.status}"
        intent = OrderIntent(
            symbol=symbol, side=decision.side, type="market", amount=amount, is_exit=decision.is_exit,
            client_order_id=key, origin=self.origin,
        )  # fmt: skip
        result = await self.services.execution.submit(intent)
        self._latency(ready_at)
        self._count(result)
        self._emit("order", {"result": result.to_dict(), "why": decision.reason})
        status = result.order.get("status") if result.order else f"rejected ({result.reject_code})"
        return f"{decision.side} {amount} {status}"

    def _count(self, result: ExecutionResult) -> None:
        counters = self.telemetry.counters
        if result.replayed:
            counters.orders_replayed += 1
            return
        counters.orders_proposed += 1
        if not result.approved:
            self.telemetry.rejected(result.reject_code)
            return
        counters.orders_approved += 1
        if result.shadow:
            counters.orders_shadow += 1
        else:
            counters.orders_sent += 1
        order = result.order or {}
        info = order.get("info") or {}
        spec = self.instrument_of(str(order.get("symbol")))
        telemetry_log.info(
            "order",
            extra={"orderRef": result.client_order_id, "symbol": order.get("symbol"), "status": order.get("status"),
                   "conId": spec.con_id, "exchange": spec.exchange, "shadow": result.shadow,
                   "commissionSource": info.get("commissionSource") or ("estimate" if result.shadow else "pending")},
        )  # fmt: skip

    def _latency(self, ready_at: float) -> None:
        lag = self.wake.wall_ms_since(ready_at) if self.wake is not None else None
        if lag is not None:
            self.telemetry.submit_latency.add(lag)

    def _emit(self, kind: str, payload: dict[str, Any]) -> None:
        if self.on_event is not None:
            try:
                self.on_event(kind, payload)
            except Exception:
                log.exception("event observer failed")


def _plan_exists(services: Services, plan_id: str) -> bool:
    from sdk.ledger.rows import PLAN_STATUSES

    return any(r["plan_id"] == plan_id for r in q.open_plans(services.ledger, statuses=PLAN_STATUSES))
