"""Durable decisions: a strategy's decision and its life in the ``decisions`` table, written as it happens.

Statuses (:data:`DECISION_STATUSES`) and the only changes allowed (:data:`TRANSITIONS`)::

    decided  -> deferred | sent | replaced | rejected | expired
    deferred -> sent | replaced | rejected | expired
    sent     -> rejected   (the RiskManager refused it after the claim)
             -> deferred   (the send failed before any order reached the ledger: it may go again)
             -> expired    (as above, but its validity ended meanwhile)

``replaced``, ``rejected`` and ``expired`` are final: such a decision is never sent. Every change is one
conditional ``UPDATE ... WHERE status IN (...)`` (and, for ``sent``, ``AND valid_until >= now``), so a
decision another writer (or an earlier step) replaced, rejected or expired cannot be claimed for sending;
each change is written with a ``runner.decision`` event (``{"decision_id", "client_order_id", "symbol",
"bar_ts", "from", "to", "reason"}``) in the same transaction.

Times: ``bar_ts``, ``not_before``, ``valid_until`` and event timestamps are epoch milliseconds UTC on the
caller's clock (the runner's, which may be a replayed venue's); ``created_at``/``updated_at`` are when the
ledger wrote the row. Amounts in base units, ``price`` in the quote currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from sdk.ledger.errors import LedgerInputError
from sdk.ledger.models import DecisionRow, EventRow, OrderRow, PlanRow
from sdk.ledger.values import mask_payload, now_ms
from sdk.redaction import redact

if TYPE_CHECKING:
    from sdk.ledger.database import Ledger

__all__ = [
    "DECISION_EVENT",
    "DECISION_STATUSES",
    "FINAL_STATUSES",
    "PENDING_STATUSES",
    "TRANSITIONS",
    "decisions_of_run",
    "get_decision",
    "has_order_or_plan",
    "record_decision",
    "replace_older",
    "transition",
]

DECISION_EVENT = "runner.decision"
DECISION_STATUSES = ("decided", "deferred", "replaced", "rejected", "expired", "sent")
PENDING_STATUSES = frozenset({"decided", "deferred"})
FINAL_STATUSES = frozenset({"replaced", "rejected", "expired"})
#: to-status -> the statuses it may come from.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "deferred": frozenset({"decided", "sent"}),
    "sent": PENDING_STATUSES,
    "replaced": PENDING_STATUSES,
    "rejected": PENDING_STATUSES | {"sent"},
    "expired": PENDING_STATUSES | {"sent"},
}
_REQUIRED = ("decision_id", "run_id", "strategy", "symbol", "timeframe", "bar_ts", "seq", "kind", "side", "price",
             "not_before", "client_order_id", "body")  # fmt: skip


def record_decision(ledger: Ledger, values: Mapping[str, Any], *, at: int) -> dict[str, Any]:
    """Insert a decision with status ``decided`` unless its ``decision_id`` is already there.

    Args:
        values: the row's columns (see :class:`~sdk.ledger.models.DecisionRow`; ``status`` is ignored).
        at: the caller's clock, epoch ms (the event's timestamp).

    Returns:
        The stored row as a dict: the new one, or the one an earlier process wrote (its status tells what became
        of it; a runner deciding a bar again after a crash continues from there, never from scratch).

    Raises:
        LedgerInputError: a required column is missing (the message names it).
    """
    missing = [k for k in _REQUIRED if values.get(k) is None]
    if missing:
        raise LedgerInputError(f"a decision needs {', '.join(missing)}; got {sorted(values)}")
    decision_id = str(values["decision_id"])
    row = {k: v for k, v in values.items() if k in DecisionRow.__table__.c and k not in ("id", "status")}
    stamp = now_ms()
    try:
        with ledger.write() as conn:
            stored = _select(conn, decision_id)
            if stored is not None:
                return stored
            conn.execute(insert(DecisionRow), {**row, "status": "decided", "created_at": stamp, "updated_at": stamp})
            new = _select(conn, decision_id)
            assert new is not None
            _event(conn, new, None, "decided", values.get("reason"), at)
            return new
    except IntegrityError:  # another writer inserted it between our select and insert (PostgreSQL)
        found = get_decision(ledger, decision_id)
        if found is None:
            raise
        return found


def transition(
    ledger: Ledger,
    decision_id: str,
    to: str,
    *,
    at: int,
    reason: str | None = None,
    client_order_id: str | None = None,
) -> bool:
    """Move a decision to ``to`` if its status allows it (:data:`TRANSITIONS`); True when it moved.

    A move to ``sent`` also needs the decision still valid at ``at`` (``valid_until`` unset or ``>= at``).
    ``client_order_id`` replaces the stored one (an exit that became a plan's exit names the plan).

    Raises:
        LedgerInputError: ``to`` is not a status a decision can move to.
    """
    sources = TRANSITIONS.get(to)
    if sources is None:
        raise LedgerInputError(f"a decision cannot move to {to!r}; use one of {', '.join(sorted(TRANSITIONS))}")
    table = DecisionRow.__table__
    where = [table.c.decision_id == decision_id, table.c.status.in_(sorted(sources))]
    if to == "sent":
        where.append(or_(table.c.valid_until.is_(None), table.c.valid_until >= at))
    changes: dict[str, Any] = {"status": to, "reason": redact(reason) if reason else None, "updated_at": now_ms()}
    if client_order_id is not None:
        changes["client_order_id"] = client_order_id
    with ledger.write() as conn:
        before = _select(conn, decision_id)
        if before is None:
            return False
        moved = conn.execute(update(DecisionRow).where(and_(*where)).values(**changes)).rowcount == 1
        if moved:
            _event(conn, {**before, **changes}, before["status"], to, reason, at)
    return moved


def replace_older(
    ledger: Ledger, *, run_id: str, strategy: str, symbol: str, timeframe: str, bar_ts: int, by: str, at: int
) -> list[str]:
    """Mark every pending decision of the run on ``symbol`` from a bar older than ``bar_ts`` ``replaced``.

    Returns:
        The ids of the decisions replaced.
    """
    table = DecisionRow.__table__
    query = select(table.c.decision_id).where(
        table.c.run_id == run_id, table.c.strategy == strategy, table.c.symbol == symbol,
        table.c.timeframe == timeframe, table.c.bar_ts < bar_ts, table.c.status.in_(sorted(PENDING_STATUSES)),
    )  # fmt: skip
    with ledger.read() as conn:
        older = [str(r) for r in conn.execute(query).scalars()]
    reason = f"replaced by the newer decision {by}"
    return [d for d in older if transition(ledger, d, "replaced", at=at, reason=reason)]


def get_decision(ledger: Ledger, decision_id: str) -> dict[str, Any] | None:
    """The decision's row as a dict, or None."""
    with ledger.read() as conn:
        return _select(conn, decision_id)


def decisions_of_run(ledger: Ledger, run_id: str, *, statuses: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The run's decisions (of ``statuses``, default all), oldest bar first."""
    table = DecisionRow.__table__
    query = select(table).where(table.c.run_id == run_id)
    if statuses is not None:
        query = query.where(table.c.status.in_(sorted(statuses)))
    query = query.order_by(table.c.bar_ts, table.c.seq, table.c.id)
    with ledger.read() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def has_order_or_plan(ledger: Ledger, client_order_id: str) -> bool:
    """True when an order with this client order id, or a plan with this id, is in the ledger."""
    with ledger.read() as conn:
        order = conn.execute(select(OrderRow.id).where(OrderRow.client_order_id == client_order_id).limit(1)).first()
        if order is not None:
            return True
        return conn.execute(select(PlanRow.id).where(PlanRow.plan_id == client_order_id).limit(1)).first() is not None


def _select(conn: Connection, decision_id: str) -> dict[str, Any] | None:
    table = DecisionRow.__table__
    row = conn.execute(select(table).where(table.c.decision_id == decision_id)).mappings().first()
    return dict(row) if row is not None else None


def _event(
    conn: Connection, row: Mapping[str, Any], before: str | None, after: str, reason: str | None, at: int
) -> None:
    payload = {
        "decision_id": row["decision_id"], "client_order_id": row["client_order_id"], "symbol": row["symbol"],
        "timeframe": row["timeframe"], "bar_ts": row["bar_ts"], "side": row["side"], "amount": row.get("amount"),
        "from": before, "to": after, "reason": reason,
    }  # fmt: skip
    message = f"decision {row['decision_id']} on {row['symbol']}: {before or 'new'} -> {after}"
    conn.execute(
        insert(EventRow),
        {"run_id": row["run_id"], "timestamp": at, "kind": DECISION_EVENT, "source": "runner", "symbol": row["symbol"],
         "message": redact(message), "payload": mask_payload(payload)},
    )  # fmt: skip
