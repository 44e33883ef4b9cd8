"""Plans: a strategy or an LLM agent proposes entry, stop, target and size; the runner executes them.

:class:`PlanService` stores a plan in the ledger (``plans``; every status change is also a
``plan_status`` event), sends its entry through the :class:`~sdk.services.execution.ExecutionService`
(so through the RiskManager, once per plan: the entry's client order id derives from the plan id),
and answers what it holds. The :class:`~sdk.services.monitor.PlanMonitor` watches the plans a service holds
and exits them at the stop or the target.

A plan's life: ``pending`` (entry working) -> ``active`` (entry filled, in part or in full; stop and
target live) -> ``closed`` (exited); or ``rejected`` (the RiskManager refused the entry),
``canceled`` (:meth:`PlanService.cancel`), ``expired`` (``valid_until`` passed before the entry filled).

Usage (the MCP server's ``propose_plan`` and the runner's strategies)::

    plan = await services.plans.create(PlanRequest(symbol="BHP/AUD", side="buy", amount=200, entry=None,
                                                   stop=42.10, target=47.50, origin="agent:claude-1"))
    plan.status, plan.filled, plan.entry_client_order_id
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import logging
import re
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sdk.ledger import Ledger, LedgerWriter
from sdk.ledger import queries as q
from sdk.ledger.rows import PLAN_STATUSES
from sdk.risk import OrderIntent
from sdk.services.execution import ExecutionResult, ExecutionService
from sdk.services.records import origin_fields
from sdk.symbols import parse_symbol

__all__ = ["Plan", "PlanRequest", "PlanService", "PlanStatus"]

log = logging.getLogger(__name__)

PlanStatus = Literal["pending", "active", "closed", "canceled", "expired", "rejected"]
_PLAN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_ORIGIN = re.compile(r"^(strategy|agent):[A-Za-z0-9_.:@/-]{1,64}$")
OPEN = frozenset({"pending", "active"})


class PlanRequest(BaseModel):
    """A proposed trade plan (frozen; unknown fields refused).

    Attributes:
        symbol: canonical ``BASE/QUOTE`` (``BHP/AUD``).
        side: ``buy`` (a long plan: stop below, target above) or ``sell`` (a short plan: the reverse).
        amount: base units (shares; FX base currency); positive.
        entry: limit price of the entry in the quote currency (a DAY order: it rests for the session); None
            enters now at the market (a marketable IOC limit where the venue takes no market orders).
        stop: exit price on the losing side, quote currency.
        target: exit price on the winning side, quote currency.
        origin: ``strategy:<name>`` or ``agent:<id>``.
        plan_id: the proposer's id (1-64 letters, digits, ``._:-``); a second create with it returns the
            first plan and sends nothing. None assigns one.
        valid_until: ms UTC after which a plan whose entry has not filled expires.
        reason: why (shown in the ledger and the dashboard).

    Raises:
        pydantic.ValidationError: a malformed field, or stop/target on the wrong side of the entry.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = Field(description="canonical BASE/QUOTE symbol, e.g. BHP/AUD")
    side: Literal["buy", "sell"] = "buy"
    amount: Decimal = Field(gt=0, description="base units (shares, FX base currency)")
    entry: Decimal | None = Field(None, gt=0, description="entry limit price in the quote currency; None: now")
    stop: Decimal = Field(gt=0, description="stop price in the quote currency")
    target: Decimal = Field(gt=0, description="target price in the quote currency")
    origin: str = Field(description="strategy:<name> or agent:<id>")
    plan_id: str | None = None
    valid_until: int | None = Field(None, description="ms UTC; an unfilled entry expires then")
    reason: str | None = Field(None, max_length=2000)

    @field_validator("symbol")
    @classmethod
    def _canonical(cls, value: str) -> str:
        parse_symbol(value)
        return value

    @field_validator("origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        if not _ORIGIN.match(value):
            raise ValueError(f"{value!r} is not a plan origin; use strategy:<name> or agent:<id>")
        return value

    @field_validator("plan_id")
    @classmethod
    def _plan_id(cls, value: str | None) -> str | None:
        if value is not None and not _PLAN_ID.fullmatch(value):
            raise ValueError(f"plan_id {value!r} must be 1-64 letters, digits or ._:- starting with a letter or digit")
        return value

    @model_validator(mode="after")
    def _sides(self) -> PlanRequest:
        low, high = (self.stop, self.target) if self.side == "buy" else (self.target, self.stop)
        word = "below" if self.side == "buy" else "above"
        if low >= high:
            raise ValueError(
                f"a {self.side} plan needs its stop {word} its target (stop {self.stop}, target {self.target})"
            )
        if self.entry is not None and not low < self.entry < high:
            raise ValueError(
                f"the entry {self.entry} must lie between the stop {self.stop} and the target {self.target}"
            )
        return self


@dataclass(frozen=True, slots=True)
class Plan:
    """A plan as the ledger holds it. Prices in the quote currency; amounts in base units.

    ``filled``: entry units filled; ``exited``: exit units filled (the position the plan still holds
    is ``filled - exited``); ``exit_client_order_ids``: every exit order sent, oldest first.
    """

    plan_id: str
    symbol: str
    side: Literal["buy", "sell"]
    amount: Decimal
    entry: Decimal | None
    stop: Decimal
    target: Decimal
    status: str
    origin: str
    entry_client_order_id: str
    filled: Decimal = Decimal(0)
    exited: Decimal = Decimal(0)
    exit_client_order_ids: tuple[str, ...] = ()
    exit_reason: str | None = None
    reason: str | None = None
    valid_until: int | None = None
    run_id: str | None = None
    created_at: int | None = None
    updated_at: int | None = None
    last: dict[str, Any] = field(default_factory=dict)

    @property
    def held(self) -> Decimal:
        """Base units the plan still holds (entry filled minus exits filled)."""
        return self.filled - self.exited

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def info(self) -> dict[str, Any]:
        """What the ledger's ``plans.info`` keeps beyond its columns."""
        return {
            "origin": self.origin,
            "entry_client_order_id": self.entry_client_order_id,
            "filled": str(self.filled),
            "exited": str(self.exited),
            "exit_client_order_ids": list(self.exit_client_order_ids),
            "exit_reason": self.exit_reason,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (decimals as strings)."""
        return {
            "plan_id": self.plan_id,
            "symbol": self.symbol,
            "side": self.side,
            "amount": str(self.amount),
            "entry": str(self.entry) if self.entry is not None else None,
            "stop": str(self.stop),
            "target": str(self.target),
            "status": self.status,
            "held": str(self.held),
            "reason": self.reason,
            "valid_until": self.valid_until,
            "run_id": self.run_id,
            **self.info(),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Plan:
        """From a ``plans`` row."""
        info = dict(row.get("info") or {})
        origin = info.get("origin") or (
            f"strategy:{row['strategy']}" if row.get("strategy") else f"agent:{row.get('agent') or 'unknown'}"
        )
        return cls(
            plan_id=row["plan_id"],
            symbol=row["symbol"],
            side=row["side"],
            amount=Decimal(str(row["amount"])) if row.get("amount") is not None else Decimal(0),
            entry=Decimal(str(row["entry"])) if row.get("entry") is not None else None,
            stop=Decimal(str(row["stop"])),
            target=Decimal(str(row["target"])),
            status=row["status"],
            origin=origin,
            entry_client_order_id=info.get("entry_client_order_id") or "",
            filled=Decimal(str(info.get("filled") or 0)),
            exited=Decimal(str(info.get("exited") or 0)),
            exit_client_order_ids=tuple(info.get("exit_client_order_ids") or ()),
            exit_reason=info.get("exit_reason"),
            reason=row.get("reason"),
            valid_until=row.get("valid_until"),
            run_id=row.get("run_id"),
            created_at=row.get("created_at"),
            updated_at=row.get("updated_at"),
        )


def units(value: Any) -> Decimal:
    """A venue's float amount as a Decimal, whole numbers without a fraction (``50.0`` -> ``50``)."""
    amount = Decimal(str(value))
    return amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount


def plan_order_id(prefix: str, plan_id: str, suffix: str) -> str:
    """The client order id of a plan's order: ``prefix`` + 12 hex of the plan id + ``-e`` / ``-x<n>``."""
    digest = hashlib.sha256(plan_id.encode()).hexdigest()[:12]
    return f"{prefix}{digest}-{suffix}"


class PlanService:
    """Creates, cancels and lists plans; the store the :class:`~sdk.services.monitor.PlanMonitor` watches.

    Args:
        execution: the execution service every plan order goes through.
        writer: the ledger writer (plans and their status events).
        ledger: the ledger (reads).
    """

    def __init__(self, execution: ExecutionService, writer: LedgerWriter, ledger: Ledger) -> None:
        self.execution = execution
        self.writer = writer
        self.ledger = ledger
        self.prefix = execution.settings.client_order_prefix
        self._plans: dict[str, Plan] = {}
        self._lock = asyncio.Lock()

    # --- reading ------------------------------------------------------------------------------
    def list(self, status: str | None = None) -> builtins.list[Plan]:
        """The plans this service holds (created here, or loaded by :meth:`load`), oldest first."""
        if status is not None and status not in PLAN_STATUSES:
            raise ValueError(f"status {status!r} is not a plan status; use one of {', '.join(sorted(PLAN_STATUSES))}")
        plans = sorted(self._plans.values(), key=lambda p: (p.created_at or 0, p.plan_id))
        return [p for p in plans if status is None or p.status == status]

    def get(self, plan_id: str) -> Plan:
        """One plan by id. Raises ``KeyError`` naming the known ids when there is none."""
        plan = self._plans.get(plan_id)
        if plan is None:
            known = ", ".join(sorted(self._plans)) or "none"
            raise KeyError(f"no plan {plan_id!r} in this service; known: {known}")
        return plan

    async def load(self, run_id: str | None = None) -> builtins.list[Plan]:
        """Hold the open plans of ``run_id`` (default: this service's session) from the ledger (a resumed run)."""
        rid = run_id or self.execution.session_id
        rows = await asyncio.to_thread(q.open_plans, self.ledger)
        loaded = [Plan.from_row(r) for r in rows if r.get("run_id") == rid]
        for plan in loaded:
            self._plans[plan.plan_id] = plan
            for cid in (plan.entry_client_order_id, *plan.exit_client_order_ids):
                if cid:
                    self.execution.track(cid, plan.plan_id)
        return loaded

    # --- writing ------------------------------------------------------------------------------
    async def create(self, plan: PlanRequest) -> Plan:
        """Store ``plan`` and send its entry through the execution service (once per plan id).

        Returns:
            The :class:`Plan`: ``rejected`` (the RiskManager's reason in ``reason``), ``active`` (the
            entry filled, ``filled`` units) or ``pending`` (the entry is working).

        Raises:
            The execution service's venue errors (the plan is then ``rejected`` with the error).
        """
        plan_id = plan.plan_id or f"plan-{uuid.uuid4().hex[:12]}"
        async with self._lock:
            if plan_id in self._plans:
                return self._plans[plan_id]
            stored = await asyncio.to_thread(self._ledger_plan, plan_id)
            if stored is not None:
                self._plans[plan_id] = stored
                return stored
            record = Plan(
                plan_id=plan_id, symbol=plan.symbol, side=plan.side, amount=plan.amount, entry=plan.entry,
                stop=plan.stop, target=plan.target, status="pending", origin=plan.origin,
                entry_client_order_id=plan_order_id(self.prefix, plan_id, "e"), reason=plan.reason,
                valid_until=plan.valid_until, run_id=self.execution.session_id,
                created_at=int(self.execution.clock() * 1000),
            )  # fmt: skip
            await self._store(record, reason=plan.reason or "plan proposed")
            self._plans[plan_id] = record
        intent = OrderIntent(
            symbol=plan.symbol, side=plan.side, type="market" if plan.entry is None else "limit", amount=plan.amount,
            price=plan.entry, tif=None if plan.entry is None else "DAY", client_order_id=record.entry_client_order_id,
            origin=plan.origin,
        )  # fmt: skip
        try:
            result = await self.execution.submit(intent, plan_id=plan_id)
        except Exception as exc:
            await self.update(plan_id, status="rejected", reason=f"entry refused by the venue: {exc}")
            raise
        return await self.on_entry(plan_id, result)

    async def on_entry(self, plan_id: str, result: ExecutionResult) -> Plan:
        """Move a plan on from its entry order's state (submit result or a refresh)."""
        plan = self.get(plan_id)
        if not result.approved:
            reason = str(result.risk_decision.get("reason") or result.reject_code)
            reason = f"entry rejected by risk ({result.reject_code}): {reason}"
            return await self.update(plan_id, status="rejected", reason=reason)
        order = result.order or {}
        filled = units(order.get("filled") or 0)
        status = str(order.get("status") or "open")
        if filled > 0:
            changes: dict[str, Any] = {"filled": filled}
            if plan.status == "pending":
                changes.update(status="active", reason=f"entry filled {filled} at {order.get('average')}")
            return await self.update(plan_id, **changes)
        if status in ("canceled", "expired", "rejected"):
            return await self.update(plan_id, status="canceled", reason=f"entry {status} with nothing filled")
        return plan

    async def cancel(self, plan_id: str) -> Plan:
        """Stop a plan: its open entry order is cancelled; a position it holds is kept (not flattened).

        Raises:
            KeyError: no such plan. ValueError: the plan is already finished.
        """
        plan = self.get(plan_id)
        if not plan.is_open:
            raise ValueError(f"plan {plan_id} is {plan.status}; only pending or active plans can be cancelled")
        if plan.status == "pending" and plan.entry_client_order_id in self.execution.open_client_order_ids:
            try:
                await self.execution.cancel(plan.entry_client_order_id)
            except Exception as exc:  # already done at the venue: the plan is cancelled all the same
                log.warning("entry cancel failed", extra={"plan_id": plan_id, "error": str(exc)})
        held = f"; {plan.held} {plan.symbol} still held" if plan.held else ""
        return await self.update(plan_id, status="canceled", reason=f"cancelled{held}")

    async def update(self, plan_id: str, *, reason: str | None = None, **changes: Any) -> Plan:
        """Apply ``changes`` (``status``, ``filled``, ``exited``, ``exit_client_order_ids``, ``exit_reason``)."""
        plan = replace(self.get(plan_id), **changes, updated_at=int(self.execution.clock() * 1000))
        self._plans[plan_id] = plan
        await self._store(plan, reason=reason)
        if "status" in changes:
            log.info("plan status", extra={"plan_id": plan_id, "status": plan.status, "reason": reason})
        return plan

    async def _store(self, plan: Plan, *, reason: str | None) -> None:
        who = origin_fields(plan.origin)
        row = {
            "plan_id": plan.plan_id, "symbol": plan.symbol, "side": plan.side, "entry": plan.entry,
            "stop": plan.stop, "target": plan.target, "amount": plan.amount, "status": plan.status,
            "reason": reason, "strategy": who["strategy"], "agent": who["agent"], "valid_until": plan.valid_until,
            "info": plan.info(), "run_id": plan.run_id,
        }  # fmt: skip
        await asyncio.to_thread(self.writer.upsert_plan, {k: v for k, v in row.items() if v is not None})

    def _ledger_plan(self, plan_id: str) -> Plan | None:
        rows = q.open_plans(self.ledger, statuses=PLAN_STATUSES)
        row = next((r for r in rows if r["plan_id"] == plan_id), None)
        return Plan.from_row(row) if row is not None else None
