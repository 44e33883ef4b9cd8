"""From a strategy's decision to an order: sizing, the market-hours gate, ids that make a retry harmless.

* **Ids.** An order's client order id is ``CLIENT_ORDER_PREFIX`` + 16 hex digits of
  ``sha256(run id | strategy | symbol | timeframe | bar time | n)``; a plan's id is built the same way.
  A runner restarted after a crash that decides on the same bar again asks for the same id, and the
  execution service answers the first result: never a second order.
* **Sizing.** A decision without an amount is sized to ``order_value`` in the base currency at the bar's
  close and the venue's FX rate, cut down to the instrument's size step.
* **Market-hours gate.** A decision made while the symbol's market is shut (a daily bar completes at
  the close) waits for the next moment the market is open (``deferred``). With ``at_close`` (a backtest's
  ``--fill at-close``) a decision made at the very close of its bar is sent then instead: the venue matches it in
  that session's closing auction (market-on-close).
* **Durable decisions** (:mod:`sdk.ledger.decisions`). Every decision is a row of the ledger's
  ``decisions`` table, its id derived like the client order id, its life written as it happens (with a
  ``runner.decision`` event): ``decided``, then ``deferred`` or ``sent``; a newer decision on the same symbol
  ``replaced`` one still waiting; the RiskManager ``rejected`` it; or its validity ended (``expired``).
  A decision is valid until the close of the ``DEFERRED_DECISION_SESSIONS``-th session ending after its
  bar's close (default 1: the first session after the bar); after that it is never sent. It is claimed
  (``sent``) by a conditional update before anything goes to the venue, so a replaced, rejected or expired
  decision can never be sent, and a resumed run reloads what waits from the table (never from memory or old
  events): after any sequence of kills and restarts, at most one order per decision, sized from the latest.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from runner.strategies.base import Decision, PlanProposal, Signal
from runner.telemetry import Telemetry, WakeStamp, telemetry_log
from sdk.base import OHLCV
from sdk.instruments import InstrumentSpec
from sdk.ledger import decisions as dl
from sdk.ledger import queries as q
from sdk.risk import OrderIntent
from sdk.services import Services
from sdk.services.execution import ExecutionResult
from sdk.services.monitor import PlanMonitor
from sdk.services.plans import Plan, PlanRequest, units
from sdk.services.schedule import BarSchedule
from sdk.symbols import parse_symbol

__all__ = ["DecisionExecutor", "Deferred"]

log = logging.getLogger(__name__)
EventSink = Callable[[str, dict[str, Any]], None]


@dataclass(slots=True)
class Deferred:
    """A decision waiting for its market to open (times in epoch seconds; ``valid_until`` None: no hours)."""

    symbol: str
    decision: Decision
    key: str
    bar_ts: int
    price: Decimal
    not_before: float
    decision_id: str = ""
    valid_until: float | None = None

    def body(self) -> dict[str, Any]:
        """The decision as JSON (the ``body`` column)."""
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
        return body

    @staticmethod
    def decision_from(body: Mapping[str, Any]) -> Decision:
        amount = Decimal(body["amount"]) if body.get("amount") is not None else None
        if body["kind"] == "plan":
            entry = Decimal(body["entry"]) if body.get("entry") is not None else None
            return PlanProposal(body["side"], Decimal(body["stop"]), Decimal(body["target"]), entry, amount,
                                body.get("reason", ""))  # fmt: skip
        return Signal(body["side"], amount, bool(body.get("is_exit")), body.get("reason", ""))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Deferred:
        """From a ``decisions`` row (:mod:`sdk.ledger.decisions`)."""
        valid = row.get("valid_until")
        return cls(
            row["symbol"], cls.decision_from(row["body"]), row["client_order_id"], int(row["bar_ts"]),
            Decimal(str(row["price"])), row["not_before"] / 1000, row["decision_id"],
            valid / 1000 if valid is not None else None,
        )  # fmt: skip


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
        at_close: bool = False,
    ) -> None:
        self.services = services
        self.at_close = at_close
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

    # --- decisions in the ledger ------------------------------------------------------------------
    def decision_id(self, symbol: str, bar_ts: int, index: int) -> str:
        """``dec-`` + the same 16 hex digits as the decision's client order id (deterministic across restarts)."""
        return f"dec-{self._digest(symbol, bar_ts, index)}"

    def valid_until(self, schedule: BarSchedule, bar_ts: int) -> float | None:
        """End of a decision's validity (epoch s): the close of the ``DEFERRED_DECISION_SESSIONS``-th session
        ending after the bar's close (:mod:`sdk.calendars`); None for a venue without market hours."""
        calendar = schedule.calendar
        if calendar is None:
            return None
        moment = datetime.fromtimestamp(schedule.bar_close(bar_ts), UTC)
        session = calendar.next_session(moment)  # the first session ending strictly after the bar's close
        for _ in range(self.services.settings.deferred_decision_sessions - 1):
            session = calendar.next_session(session.close)
        return session.close.timestamp()

    async def _move(self, item: Deferred, to: str, reason: str, *, client_order_id: str | None = None) -> bool:
        return await asyncio.to_thread(
            dl.transition, self.services.ledger, item.decision_id, to, at=int(self.clock() * 1000), reason=reason,
            client_order_id=client_order_id,
        )  # fmt: skip

    async def _expire(self, item: Deferred) -> None:
        assert item.valid_until is not None
        until = datetime.fromtimestamp(item.valid_until, UTC).isoformat(timespec="seconds")
        if await self._move(item, "expired", f"not sent by {until}, the end of its validity"):
            self.telemetry.counters.deferred_dropped += 1
            log.warning("a decision expired unsent", extra={"symbol": item.symbol, "decision_id": item.decision_id,
                                                            "valid_until": until})  # fmt: skip

    # --- acting -----------------------------------------------------------------------------------
    async def act(self, symbol: str, bar: OHLCV, index: int, decision: Decision) -> str:
        """Record ``decision`` taken at the close of ``bar``, then send it now or defer it to the market's open.

        A decision this run already recorded (the bar decided again after a crash) continues from its stored
        status and content: a final one (sent, replaced, rejected, expired) is not acted on again.
        """
        bar_ts, price = int(bar[0]), Decimal(str(bar[4]))
        key = (self.plan_id if isinstance(decision, PlanProposal) else self.client_order_id)(symbol, bar_ts, index)
        now = self.clock()
        schedule = self.schedule_of(symbol)
        valid_until = self.valid_until(schedule, bar_ts)
        item = Deferred(symbol, decision, key, bar_ts, price, schedule.next_open(now),
                        self.decision_id(symbol, bar_ts, index), valid_until)  # fmt: skip
        row = await asyncio.to_thread(
            dl.record_decision, self.services.ledger,
            {"decision_id": item.decision_id, "run_id": self.services.session_id, "strategy": self.strategy,
             "symbol": symbol, "timeframe": self.timeframe, "bar_ts": bar_ts, "seq": index,
             "kind": item.body()["kind"], "side": decision.side, "amount": decision.amount, "price": price,
             "not_before": int(item.not_before * 1000), "client_order_id": key, "body": item.body(),
             "reason": decision.reason or None,
             "valid_until": int(valid_until * 1000) if valid_until is not None else None},
            at=int(now * 1000),
        )  # fmt: skip
        await self._supersede(symbol, bar_ts, item.decision_id)
        if row["status"] not in dl.PENDING_STATUSES:
            return f"already {row['status']}"
        item = Deferred.from_row(row)
        item.key = key  # the order's (or plan's) id, even when an earlier claim routed it to a plan's exit
        self.deferred = [d for d in self.deferred if d.decision_id != item.decision_id]
        if item.valid_until is not None and now > item.valid_until:
            await self._expire(item)
            return "expired: decided after the end of its validity"
        if not schedule.is_open(now) and not (self.at_close and now == schedule.bar_close(bar_ts)):
            if row["status"] == "decided":
                await self._move(item, "deferred", "the market is shut: waits for the open")
                self.telemetry.counters.deferred += 1
            self.deferred.append(item)
            return f"deferred to the open ({decision.side})"
        return await self._send(item, ready_at=schedule.bar_close(bar_ts))

    async def _supersede(self, symbol: str, bar_ts: int, by: str) -> None:
        """A decision on a newer bar replaces what still waits from an older bar of the same symbol (in the ledger
        first, then in memory)."""
        replaced = await asyncio.to_thread(
            dl.replace_older, self.services.ledger, run_id=self.services.session_id, strategy=self.strategy,
            symbol=symbol, timeframe=self.timeframe, bar_ts=bar_ts, by=by, at=int(self.clock() * 1000),
        )  # fmt: skip
        for item in [d for d in self.deferred if d.symbol == symbol and d.bar_ts < bar_ts]:
            self.deferred.remove(item)
        for decision_id in replaced:
            self.telemetry.counters.deferred_dropped += 1
            log.warning("a waiting decision was replaced by a newer one before its market opened",
                        extra={"symbol": symbol, "decision_id": decision_id, "by": by})  # fmt: skip

    async def run_deferred(self) -> int:
        """Send the deferred decisions whose market is now open, expire those past their validity; returns how
        many were sent."""
        now, sent = self.clock(), 0
        for item in list(self.deferred):
            if item.valid_until is not None and now > item.valid_until:
                self.deferred.remove(item)
                await self._expire(item)
                continue
            if now < item.not_before:
                continue
            schedule = self.schedule_of(item.symbol)
            if not schedule.is_open(now):  # its open passed while no process ran: wait for the next one
                item.not_before = schedule.next_open(now)  # (a wake time in the past would spin the loop)
                continue
            self.deferred.remove(item)
            try:
                await self._send(item, ready_at=item.not_before)
            except Exception:
                self.telemetry.counters.step_errors += 1
                log.exception("deferred decision failed", extra={"symbol": item.symbol, "key": item.key})
            sent += 1
        return sent

    async def restore_deferred(self) -> int:
        """Reload what still waits from the ``decisions`` table (a resumed run); returns how many wait.

        Per symbol only the newest bar's pending decisions are kept (older ones become ``replaced``); one past its
        validity becomes ``expired``; one claimed (``sent``) whose order or plan never reached the ledger (the
        process died between the claim and the order's record, so nothing reached the venue) waits again.
        """
        svc = self.services
        now = self.clock()
        rows = await asyncio.to_thread(dl.decisions_of_run, svc.ledger, svc.session_id,
                                       statuses=dl.PENDING_STATUSES | {"sent"})  # fmt: skip
        pending: list[Deferred] = []
        for row in rows:
            item = Deferred.from_row(row)
            make_id = self.plan_id if isinstance(item.decision, PlanProposal) else self.client_order_id
            item.key = make_id(item.symbol, item.bar_ts, int(row["seq"]))
            if row["status"] == "sent":  # its client_order_id: the order, or the plan it entered or exited
                if await asyncio.to_thread(dl.has_order_or_plan, svc.ledger, row["client_order_id"]):
                    continue
                reason = "claimed, but no order reached the ledger: sent again"
                if not await self._move(item, "deferred", reason, client_order_id=item.key):
                    continue
            pending.append(item)
        newest: dict[str, int] = {}
        for item in pending:
            newest[item.symbol] = max(newest.get(item.symbol, item.bar_ts), item.bar_ts)
        self.deferred = []
        for item in pending:
            if item.bar_ts < newest[item.symbol]:
                await self._move(item, "replaced", "a newer decision on the same symbol waits (found at resume)")
                self.telemetry.counters.deferred_dropped += 1
            elif item.valid_until is not None and now > item.valid_until:
                await self._expire(item)
            else:
                self.deferred.append(item)
        return len(self.deferred)

    async def _send(self, item: Deferred, *, ready_at: float) -> str:
        """Claim ``item`` (``sent``, only while pending and valid), then execute it; a risk refusal makes it
        ``rejected``; a failure before any order reached the ledger makes it wait again (re-queued)."""
        decision, plan_exit = item.decision, None
        if isinstance(decision, Signal) and decision.is_exit:
            plan_exit = await self._plan_to_exit(item.symbol)
        route = plan_exit.plan_id if plan_exit is not None else None
        if not await self._move(item, "sent", f"sent as {route or item.key}", client_order_id=route):
            stored = await asyncio.to_thread(dl.get_decision, self.services.ledger, item.decision_id)
            status = stored["status"] if stored else "missing"
            if status in dl.PENDING_STATUSES and item.valid_until is not None:
                await self._expire(item)  # still pending: the claim failed on its validity
                return "expired: not sent by the end of its validity"
            log.warning("a decision was not sent: it is no longer pending and valid",
                        extra={"symbol": item.symbol, "decision_id": item.decision_id, "status": status})  # fmt: skip
            return f"not sent: {status}"
        try:
            outcome, refusal = await self._execute(
                item.symbol, decision, item.key, item.price, ready_at=ready_at, plan_exit=plan_exit
            )
        except Exception as exc:
            # no order reached the ledger (or a plan's exit failed: its retry re-sends the exit's recorded id), so
            # it may go again; an order that did reach the ledger is the execution service's and resync's to settle
            if route is not None or not await asyncio.to_thread(dl.has_order_or_plan, self.services.ledger, item.key):
                reason = f"not sent ({type(exc).__name__}): waits to be retried"
                if await self._move(item, "deferred", reason, client_order_id=item.key):
                    self.deferred.append(item)
            raise
        if refusal is not None:
            await self._move(item, "rejected", refusal)
        return outcome

    async def _plan_to_exit(self, symbol: str) -> Plan | None:
        """This strategy's active plan in ``symbol``, which a strategy's exit closes (through the plan, so the plan
        ends with the position). Order states are refreshed first when a plan of the strategy is still ``pending``:
        its entry may have filled since the monitor's last look (the position already shows the fill), and an exit
        sent beside the plan would leave it open on a flat position, read by the strategy as an entry on its way."""
        mine = [p for p in self.services.plans.list() if p.symbol == symbol and p.origin == self.origin]
        if any(p.status == "pending" for p in mine):
            await self.monitor.on_orders(await self.services.execution.refresh_open_orders())
        plans = self.services.plans.list(status="active")
        return next((p for p in plans if p.symbol == symbol and p.origin == self.origin), None)

    async def _execute(
        self, symbol: str, decision: Decision, key: str, price: Decimal, *, ready_at: float, plan_exit: Plan | None
    ) -> tuple[str, str | None]:
        """Execute a claimed decision: ``(outcome, refusal)``; ``refusal`` says why nothing was sent (or None).
        ``plan_exit``: the plan a strategy's exit closes (:meth:`_plan_to_exit`), None to send it as an order."""
        counters = self.telemetry.counters
        if plan_exit is not None:
            counters.plan_exits += 1
            after = await self.monitor.exit(plan_exit, f"strategy exit: {decision.reason}")
            self._latency(ready_at)
            self._emit("plan", {"plan": after.to_dict(), "why": decision.reason})
            return f"plan {after.plan_id} {after.status}", None
        sizing_price = decision.entry if isinstance(decision, PlanProposal) and decision.entry else price
        amount = decision.amount or await self.size(symbol, sizing_price)
        if amount is None or amount <= 0:
            log.warning("decision not sized: order value below the minimum size", extra={"symbol": symbol})
            return "skipped: order value below the instrument's minimum size", "below the instrument's minimum size"
        if isinstance(decision, PlanProposal):
            counters.plans_proposed += 1
            request = PlanRequest(symbol=symbol, side=decision.side, amount=amount, entry=decision.entry,
                                  stop=decision.stop, target=decision.target, origin=self.origin, plan_id=key,
                                  reason=decision.reason or None)  # fmt: skip
            plan = await self.services.plans.create(request)
            self._latency(ready_at)
            self._emit("plan", {"plan": plan.to_dict(), "why": decision.reason})
            refused = await self._plan_refusal(plan.plan_id, symbol) if plan.status == "rejected" else None
            return f"plan {plan.plan_id} {plan.status}", refused
        intent = OrderIntent(
            symbol=symbol, side=decision.side, type="market", amount=amount, is_exit=decision.is_exit,
            client_order_id=key, origin=self.origin,
        )  # fmt: skip
        result = await self.services.execution.submit(intent)
        self._latency(ready_at)
        self._count(result)
        self._emit("order", {"result": result.to_dict(), "why": decision.reason})
        status = result.order.get("status") if result.order else f"rejected ({result.reject_code})"
        refusal = None if result.approved else f"refused by the RiskManager ({result.reject_code})"
        return f"{decision.side} {amount} {status}", refusal

    async def _plan_refusal(self, plan_id: str, symbol: str) -> str:
        """Why a plan was rejected at its creation (the ``plans`` row's reason: the RiskManager's or the venue's)."""
        rows = await asyncio.to_thread(q.open_plans, self.services.ledger, symbol=symbol, statuses=("rejected",))
        why = next((r.get("reason") for r in rows if r["plan_id"] == plan_id), None)
        return f"plan {plan_id} rejected: {why or 'see its plan_status event'}"

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
