"""Plan and event writes of :class:`~sdk.ledger.writer.LedgerWriter`: plans and their status, audit events."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, CursorResult, insert, select, update

from sdk.ledger.errors import LedgerInputError
from sdk.ledger.models import EventRow, PlanRow
from sdk.ledger.rows import plan_values
from sdk.ledger.values import mask_payload, now_ms, optional_text, require_text, to_ms
from sdk.ledger.writer_base import WriterBase
from sdk.redaction import redact

__all__ = ["AuditWriter", "EventKind"]

_KIND = re.compile(r"[a-z][a-z0-9_.]{0,63}")


class EventKind(StrEnum):
    """Event kinds the programs share (any ``[a-z][a-z0-9_.]*`` kind is accepted)."""

    TOOL_CALL = "tool_call"  # MCP tool call audit: tool, arguments (masked), outcome, latency_ms
    RISK_REJECTION = "risk_rejection"  # the RiskManager refused an order: checks failed, values
    CONNECTIVITY = "connectivity"  # venue connection lost / restored (IB 1100, 1101, 1102)
    CIRCUIT = "circuit"  # a circuit breaker opened or closed (daily loss limit, kill switch)
    PLAN_STATUS = "plan_status"  # a plan changed status (written by upsert_plan)


class AuditWriter(WriterBase):
    """Plans (upserted by ``plan_id``, each status change also an event) and audit events."""

    def upsert_plan(self, plan: Mapping[str, Any], *, run_id: str | None = None) -> int:
        """Insert a plan or update the given fields of an existing one (keyed by ``plan_id``).

        A new plan needs ``plan_id``, ``symbol``, ``side`` and ``status``; an update needs only
        ``plan_id`` and what changed. Every status change (and the creation) is also written as
        an event of kind ``plan_status`` (``{"plan_id", "from", "to", "reason"}``).
        See :func:`sdk.ledger.rows.plan_values` for the keys.

        Returns:
            The ledger row id (``plans.id``).
        """
        values = plan_values(plan)
        context = self.session(values.get("run_id") or run_id)
        if context is not None:
            values.setdefault("run_id", context.run_id)
        plan_id = values["plan_id"]
        now = now_ms()
        with self._write(
            f"plan {plan_id}", "it names an unknown run, or another writer created it just now (retry)"
        ) as conn:
            stored = conn.execute(
                select(PlanRow.id, PlanRow.status, PlanRow.symbol).where(PlanRow.plan_id == plan_id)
            ).first()
            if stored is None:
                missing = [k for k in ("symbol", "side", "status") if k not in values]
                if missing:
                    raise LedgerInputError(f"plan {plan_id!r} is new and needs {', '.join(missing)}")
                row_id = _inserted_id(conn.execute(insert(PlanRow), {**values, "created_at": now, "updated_at": now}))
                before, symbol = None, values["symbol"]
            else:
                changes = {k: v for k, v in values.items() if k not in ("plan_id", "run_id")}
                conn.execute(update(PlanRow).where(PlanRow.id == stored.id).values(**changes, updated_at=now))
                row_id, before, symbol = int(stored.id), stored.status, values.get("symbol", stored.symbol)
            after = values.get("status", before)
            if after != before:
                payload = {"plan_id": plan_id, "from": before, "to": after, "reason": values.get("reason")}
                self._insert_event(
                    conn, EventKind.PLAN_STATUS, payload, symbol=symbol, run_id=values.get("run_id"), now=now
                )
        return row_id

    def set_plan_status(self, plan_id: str, status: str, *, reason: str | None = None) -> int:
        """Shorthand for ``upsert_plan({"plan_id": plan_id, "status": status, "reason": reason})``."""
        return self.upsert_plan({"plan_id": plan_id, "status": status, "reason": reason})

    def record_event(
        self,
        kind: str,
        payload: Mapping[str, Any] | None = None,
        *,
        message: str | None = None,
        symbol: str | None = None,
        source: str | None = None,
        timestamp: int | datetime | None = None,
        run_id: str | None = None,
    ) -> int:
        """Record an audit or telemetry event; ``payload`` is stored as JSON with secrets masked.

        Args:
            kind: an :class:`EventKind` or any ``[a-z][a-z0-9_.]*`` name.
            payload: what happened; keys naming secrets (token, api_key, password...) are masked,
                account numbers masked wherever they appear.
            message: one human sentence (masked too).
            source: the program (default: the run's ``program``).

        Returns:
            The ledger row id.
        """
        context = self.session(run_id)
        kind_text = str(kind)
        if not _KIND.fullmatch(kind_text):
            raise LedgerInputError(f"event kind {kind_text!r} must match [a-z][a-z0-9_.]*, e.g. 'tool_call'")
        with self._write(f"event {kind_text}") as conn:
            return self._insert_event(
                conn,
                kind_text,
                payload,
                message=message,
                symbol=symbol,
                source=source or (context.program if context else None),
                run_id=context.run_id if context else None,
                now=to_ms(timestamp, "timestamp") or now_ms(),
            )

    def record_tool_call(
        self,
        tool: str,
        arguments: Mapping[str, Any] | None,
        *,
        outcome: str,
        latency_ms: float,
        error: str | None = None,
        source: str | None = "mcp",
        run_id: str | None = None,
        timestamp: int | datetime | None = None,
    ) -> int:
        """Audit one MCP tool call: ``{"tool", "arguments" (masked), "outcome", "latency_ms", "error"}``.

        Args:
            outcome: ``ok``, ``error``, ``refused`` (kill switch, trading disabled), ...
            latency_ms: wall time of the call in milliseconds.
            timestamp: when the call came, on the venue's clock (ms UTC or an aware datetime; the MCP server
                passes its venue clock's time, so the call sits beside the orders it placed); default now.
        """
        payload = {
            "tool": require_text(tool, "tool", max_length=64),
            "arguments": arguments or {},
            "outcome": require_text(outcome, "outcome", max_length=32),
            "latency_ms": round(float(latency_ms), 3),
            "error": error,
        }
        return self.record_event(EventKind.TOOL_CALL, payload, source=source, run_id=run_id, timestamp=timestamp)

    def _insert_event(
        self,
        conn: Connection,
        kind: str,
        payload: Mapping[str, Any] | None,
        *,
        now: int,
        message: str | None = None,
        symbol: str | None = None,
        source: str | None = None,
        run_id: str | None = None,
    ) -> int:
        row = {
            "run_id": run_id,
            "timestamp": now,
            "kind": kind,
            "source": optional_text(source, "source", max_length=32),
            "symbol": optional_text(symbol, "symbol", max_length=32),
            "message": redact(message) if message else None,
            "payload": mask_payload(payload) if payload is not None else None,
        }
        return _inserted_id(conn.execute(insert(EventRow), row))


def _inserted_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "an insert of one row has a primary key"
    return int(key[0])
