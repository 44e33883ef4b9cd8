"""The one module that writes the ledger: :class:`LedgerWriter`, idempotent upserts in short transactions.

Each call is one transaction, committed before it returns (a killed process loses nothing it was
told was written). Replays are harmless: the same venue order update twice is one row
(unique ``client_order_id``, else ``(venue, account, order_id)``), a fill replayed after a
reconnect is one row (unique ``(venue, account, trade_id)``), the same snapshot twice is one
snapshot. An update never erases what the ledger knows with a None, and a stale order update
(``open`` after ``closed``, less filled than stored) leaves the row as it was.

Usage (the runner)::

    writer = open_ledger(settings.database_url).writer()
    writer.start_session(venue="IB", account=settings.ib_account_id, base_currency="AUD", mode="paper")
    writer.record_order(order, shadow=False, risk_decision=decision, strategy="sma_cross")
    writer.record_trade(fill)                                  # fee None: pending
    writer.complete_trade_fee("0000e0d5.6571.01", 6.0, "AUD")  # IB commission report
    writer.end_session(reason="stopped by user")

The methods block (SQLite and psycopg are synchronous); from async code call them with
``await asyncio.to_thread(writer.record_order, order, ...)``. Every method raises
:class:`~sdk.ledger.errors.LedgerInputError` on bad input (nothing written) and
:class:`~sdk.ledger.errors.LedgerError` when the database refuses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, insert, not_, or_, select, update
from sqlalchemy.exc import IntegrityError

from sdk.ledger.audit import AuditWriter, EventKind
from sdk.ledger.errors import LedgerInputError
from sdk.ledger.models import OrderRow, SessionRow, TradeRow
from sdk.ledger.rows import TERMINAL_ORDER_STATUSES, fee_in_base, iter_mappings, order_row, trade_row
from sdk.ledger.snapshots import SnapshotWriter
from sdk.ledger.upsert import Excluded, coalesce_new, keep_stored, upsert_statement
from sdk.ledger.values import (
    Number,
    mask_payload,
    masked_account,
    now_ms,
    optional_text,
    require_text,
    to_currency,
    to_decimal,
    to_ms,
)
from sdk.ledger.writer_base import SessionContext
from sdk.logs import get_run_id

if TYPE_CHECKING:
    from sqlalchemy import Table

__all__ = ["MODES", "EventKind", "LedgerWriter", "SessionContext"]

#: Session modes: real orders on a live or a paper account, or shadow (real data, simulated fills).
MODES = frozenset({"live", "paper", "shadow"})
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")

_ORDERS: Table = OrderRow.__table__  # type: ignore[assignment]
_TRADES: Table = TradeRow.__table__  # type: ignore[assignment]

_ORDER_MERGED = (
    "order_id", "type", "time_in_force", "price", "trigger_price", "average", "amount", "filled",
    "remaining", "cost", "fee_cost", "fee_currency", "reduce_only", "post_only", "last_trade_timestamp",
    "last_update_timestamp", "info", "risk_decision", "strategy", "agent", "plan_id", "commission_source",
)  # fmt: skip
_TRADE_MERGED = (
    "order_id", "client_order_id", "type", "taker_or_maker", "cost", "fee_cost", "fee_currency", "fee_rate",
    "base_currency", "commission_source", "info",
)  # fmt: skip


def _order_set(table: Table, excluded: Excluded) -> dict[str, Any]:
    return {
        **coalesce_new(table, excluded, _ORDER_MERGED),
        **keep_stored(table, excluded, ("run_id",)),
        "status": excluded.status,
        "updated_at": excluded.updated_at,
    }


def _order_not_stale(table: Table, excluded: Excluded) -> Any:
    """An update applies unless it would reopen a finished order or un-fill a filled amount."""
    reopens = and_(table.c.status.in_(sorted(TERMINAL_ORDER_STATUSES)), excluded.status == "open")
    unfills = func.coalesce(excluded.filled, table.c.filled, 0) < func.coalesce(table.c.filled, 0)
    return and_(not_(reopens), not_(unfills))


def _trade_set(table: Table, excluded: Excluded) -> dict[str, Any]:
    same_fee = or_(
        excluded.fee_cost.is_(None),
        and_(excluded.fee_cost == table.c.fee_cost, excluded.fee_currency == table.c.fee_currency),
    )
    return {
        **coalesce_new(table, excluded, _TRADE_MERGED),
        **keep_stored(table, excluded, ("run_id",)),
        # a conversion stays only while it converts the fee now stored
        "fx_rate": func.coalesce(excluded.fx_rate, case((same_fee, table.c.fx_rate), else_=None)),
        "fee_in_base": func.coalesce(excluded.fee_in_base, case((same_fee, table.c.fee_in_base), else_=None)),
        "updated_at": excluded.updated_at,
    }


class LedgerWriter(SnapshotWriter, AuditWriter):
    """Writes to one :class:`~sdk.ledger.database.Ledger`; thread-safe; bound to a run after :meth:`start_session`.

    Rows default their ``run_id``, ``venue``, ``account`` (masked) and base currency to the bound
    run's; pass them explicitly to record for another venue or run. Snapshots:
    :class:`~sdk.ledger.snapshots.SnapshotWriter`; plans and events: :class:`~sdk.ledger.audit.AuditWriter`.
    """

    # --- sessions ----------------------------------------------------------------------------
    def start_session(
        self,
        *,
        venue: str,
        base_currency: str,
        mode: str,
        account: str | None = None,
        program: str | None = None,
        run_id: str | None = None,
        config_hash: str | None = None,
        git_sha: str | None = None,
        started_at: int | datetime | None = None,
    ) -> str:
        """Record the start of a run and bind this writer to it.

        Args:
            venue: ``"IB"`` or a ccxt exchange id.
            base_currency: the account's base currency (``IB_BASE_CURRENCY``): equity and every
                ``*_in_base`` value of this run is in it.
            mode: ``live``, ``paper`` or ``shadow``; in shadow mode orders and fills default to
                ``shadow=True``.
            account: the account number; stored masked (``DU****567``).
            program: ``runner``, ``mcp``, ...
            run_id: default: this process's run id (:func:`sdk.logs.get_run_id`, the id on every
                log line). Each run needs a fresh one; earlier runs are kept.
            config_hash: :func:`sdk.ledger.provenance.config_hash` of the settings.
            git_sha: :func:`sdk.ledger.provenance.git_sha`.
            started_at: ms UTC or an aware datetime; default now.

        Returns:
            The run id.

        Raises:
            LedgerInputError: a bad value, or a run id already in the ledger.
        """
        rid = run_id or get_run_id()
        if not _RUN_ID.fullmatch(rid):
            raise LedgerInputError(f"run_id {rid!r} must be 1-32 letters, digits, '-' or '_'")
        context = SessionContext(
            run_id=rid,
            venue=require_text(venue, "venue", max_length=32),
            account=masked_account(account),
            base_currency=to_currency(base_currency, "base_currency", required=True) or "",
            mode=require_text(mode, "mode", max_length=8, choices=MODES),
            program=optional_text(program, "program", max_length=32),
        )
        row = {
            "run_id": rid,
            "program": context.program,
            "venue": context.venue,
            "account": context.account,
            "base_currency": context.base_currency,
            "mode": context.mode,
            "started_at": to_ms(started_at, "started_at") or now_ms(),
            "config_hash": optional_text(config_hash, "config_hash", max_length=64),
            "git_sha": optional_text(git_sha, "git_sha", max_length=40),
        }
        try:
            with self.ledger.write() as conn:
                conn.execute(insert(SessionRow), row)
        except IntegrityError:
            raise LedgerInputError(
                f"run_id {rid!r} is already in the ledger; each run needs a fresh id "
                "(sdk.logs.new_run_id(), or leave run_id unset in a new process)"
            ) from None
        with self._lock:
            self._contexts[rid] = context
            self._run_id = rid
        return rid

    def end_session(
        self, run_id: str | None = None, *, reason: str | None = None, ended_at: int | datetime | None = None
    ) -> None:
        """Record the end of a run (default: the bound one) and why.

        Raises:
            LedgerInputError: no such run.
        """
        rid = run_id or self._run_id
        if rid is None:
            raise LedgerInputError("end_session needs a run: start_session first or pass run_id")
        values = {"ended_at": to_ms(ended_at, "ended_at") or now_ms(), "end_reason": reason}
        with self.ledger.write() as conn:
            result = conn.execute(update(SessionRow).where(SessionRow.run_id == rid).values(**values))
        if result.rowcount == 0:
            raise LedgerInputError(f"run {rid!r} is not in the ledger; nothing to end")

    # --- orders and fills -------------------------------------------------------------------
    def record_order(
        self,
        order: Mapping[str, Any],
        *,
        venue: str | None = None,
        account: str | None = None,
        shadow: bool | None = None,
        risk_decision: Mapping[str, Any] | None = None,
        strategy: str | None = None,
        agent: str | None = None,
        plan_id: str | None = None,
        commission_source: str | None = None,
        run_id: str | None = None,
    ) -> int:
        """Insert or update an order from a ccxt ``Order`` dict; the same update twice is one row.

        Args:
            order: ccxt ``Order``: ``clientOrderId`` and/or ``id``, ``symbol`` (canonical),
                ``side``, ``status`` required; prices in the symbol's quote currency, amounts in
                base units, times in ms UTC. ``info`` is stored with secrets and accounts masked.
            shadow: simulated, never sent (default: the run is in shadow mode). Fixed at insert.
            risk_decision: the RiskManager's decision (JSON; masked).
            strategy, agent: who originated the order. plan_id: the plan it executes (must exist).
            commission_source: where its commission comes from (``ib_commission_report``,
                ``ccxt``, ``estimate``, ...).

        The writer's :attr:`sender` (lease holder, IB ``clientId``) is stored as ``holder``/``client_id`` when the
        row is first written (the "submitting" row of an order this process sends) and kept afterwards.

        Returns:
            The ledger row id (``orders.id``).

        Raises:
            LedgerInputError: a malformed order, an unknown plan or run, or a venue order id
                already recorded under another client order id.
        """
        context, venue, account = self._target(venue, account, run_id, "an order")
        now = now_ms()
        row = order_row(order, venue=venue, account=account, now=now)
        row.update(
            run_id=context.run_id if context else None,
            shadow=self._shadow(shadow, context),
            risk_decision=mask_payload(risk_decision) if risk_decision is not None else None,
            strategy=optional_text(strategy, "strategy", max_length=64),
            agent=optional_text(agent, "agent", max_length=64),
            plan_id=optional_text(plan_id, "plan_id", max_length=64),
            commission_source=optional_text(commission_source, "commission_source", max_length=32),
            holder=self.sender[0] if self.sender else None,  # kept from the first write (not in the merge)
            client_id=self.sender[1] if self.sender else None,
        )
        cid, oid = row["client_order_id"], row["order_id"]
        label = cid or f"{venue} order {oid}"
        conflict = "it names an unknown plan or run, or its venue id is already recorded under another client order id"
        with self._write(f"order {label}", conflict) as conn:
            if cid is not None and oid is not None:
                # first seen by venue id alone (no client id in that update): adopt it now
                conn.execute(
                    update(OrderRow)
                    .where(OrderRow.venue == venue, OrderRow.account == account, OrderRow.order_id == oid)
                    .where(OrderRow.client_order_id.is_(None))
                    .values(client_order_id=cid)
                )
            key = ("client_order_id",) if cid is not None else ("venue", "account", "order_id")
            stmt = upsert_statement(conn, _ORDERS, key=key, set_=_order_set, where=_order_not_stale)
            conn.execute(stmt, row)
            where = (
                OrderRow.client_order_id == cid
                if cid is not None
                else and_(OrderRow.venue == venue, OrderRow.account == account, OrderRow.order_id == oid)
            )
            return int(conn.execute(select(OrderRow.id).where(where)).scalar_one())

    def record_trade(
        self,
        trade: Mapping[str, Any],
        *,
        venue: str | None = None,
        account: str | None = None,
        client_order_id: str | None = None,
        shadow: bool | None = None,
        fx_rate: Number | None = None,
        commission_source: str | None = None,
        run_id: str | None = None,
    ) -> int:
        """Insert or update one fill from a ccxt ``Trade`` dict; a fill replayed after a reconnect is one row.

        Args:
            trade: ccxt ``Trade``: ``id`` (the venue's execution id, IB ``execId``), ``symbol``,
                ``side``, ``price`` (quote currency), ``amount`` (base units), ``timestamp`` (ms)
                required; ``order`` the venue order id; ``takerOrMaker`` the liquidity; ``fee``
                ``{"cost", "currency"}`` or None while pending (never 0.0).
            client_order_id: our id of its order (IB ``orderRef``), when ``trade`` lacks
                ``clientOrderId``.
            fx_rate: units of the run's base currency per unit of the fee currency, used to
                store ``fee_in_base``; not needed when the fee is in the base currency. Without
                it ``fee_in_base`` stays None (pending), never guessed.

        Returns:
            The ledger row id (``trades.id``).
        """
        rows = self._trade_rows(
            [trade if client_order_id is None else {**trade, "clientOrderId": client_order_id}],
            venue=venue,
            account=account,
            shadow=shadow,
            fx_rate_of=lambda _currency: fx_rate,
            commission_source=commission_source,
            run_id=run_id,
        )
        row = rows[0]
        with self._write(f"trade {row['trade_id']}") as conn:
            conn.execute(upsert_statement(conn, _TRADES, key=("venue", "account", "trade_id"), set_=_trade_set), row)
            return int(
                conn.execute(
                    select(TradeRow.id).where(
                        TradeRow.venue == row["venue"],
                        TradeRow.account == row["account"],
                        TradeRow.trade_id == row["trade_id"],
                    )
                ).scalar_one()
            )

    def record_trades(
        self,
        trades: Iterable[Mapping[str, Any]],
        *,
        venue: str | None = None,
        account: str | None = None,
        shadow: bool | None = None,
        fx_rates: Mapping[str, Any] | None = None,
        commission_source: str | None = None,
        run_id: str | None = None,
    ) -> int:
        """Upsert many fills in one transaction (resync after a reconnect, imports); all or nothing.

        Like :meth:`record_trade`; ``fx_rates`` maps a fee currency to units of the base currency
        per unit (``{"USD": 1.52}``); each trade may carry its own ``clientOrderId``.

        Returns:
            How many fills were given (each is one row, new or updated).
        """
        rates = {k: to_decimal(v, f"fx_rates[{k!r}]") for k, v in (fx_rates or {}).items()}
        rows = self._trade_rows(
            list(iter_mappings(trades, "trades")),
            venue=venue,
            account=account,
            shadow=shadow,
            fx_rate_of=rates.get,
            commission_source=commission_source,
            run_id=run_id,
        )
        if not rows:
            return 0
        with self._write(f"{len(rows)} trades") as conn:
            conn.execute(upsert_statement(conn, _TRADES, key=("venue", "account", "trade_id"), set_=_trade_set), rows)
        return len(rows)

    def _trade_rows(
        self,
        trades: list[Mapping[str, Any]],
        *,
        venue: str | None,
        account: str | None,
        shadow: bool | None,
        fx_rate_of: Any,
        commission_source: str | None,
        run_id: str | None,
    ) -> list[dict[str, Any]]:
        context, venue, account = self._target(venue, account, run_id, "a trade")
        now = now_ms()
        base = context.base_currency if context else None
        common = {
            "run_id": context.run_id if context else None,
            "shadow": self._shadow(shadow, context),
            "commission_source": optional_text(commission_source, "commission_source", max_length=32),
        }
        rows = []
        for trade in trades:
            fee = trade.get("fee") if isinstance(trade, Mapping) else None
            currency = fee.get("currency") if isinstance(fee, Mapping) else None
            rate = to_decimal(fx_rate_of(currency), "fx_rate") if currency else None
            row = trade_row(trade, venue=venue, account=account, base_currency=base, fx_rate=rate, now=now)
            row.update(common)
            rows.append(row)
        return rows

    def complete_trade_fee(
        self,
        trade_id: str,
        fee_cost: Number,
        fee_currency: str,
        *,
        venue: str | None = None,
        account: str | None = None,
        fee_rate: Number | None = None,
        fx_rate: Number | None = None,
        commission_source: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Complete a pending fee (IB's commission report, keyed by the execution id): an update of the same row.

        Args:
            trade_id: the venue's execution id (``trades.trade_id``).
            fee_cost: the commission, in ``fee_currency``.
            fx_rate: units of the fill's base currency per unit of ``fee_currency`` (not needed
                when they are the same); without it ``fee_in_base`` stays pending.

        Raises:
            LedgerInputError: no such fill (record the trade first), or a bad value.
        """
        context, venue, account = self._target(venue, account, run_id, "a fee")
        cost = to_decimal(fee_cost, "fee_cost", required=True)
        currency = to_currency(fee_currency, "fee_currency", required=True)
        rate = to_decimal(fx_rate, "fx_rate")
        where = and_(TradeRow.venue == venue, TradeRow.account == account, TradeRow.trade_id == str(trade_id))
        with self._write(f"fee of trade {trade_id}") as conn:
            stored = conn.execute(select(TradeRow.base_currency).where(where)).first()
            if stored is None:
                raise LedgerInputError(
                    f"no trade {trade_id!r} of {venue} {account or '(no account)'} in the ledger; "
                    "record_trade it first (its fee may be None: pending)"
                )
            base = stored.base_currency or (context.base_currency if context else None)
            used_rate, in_base = fee_in_base(cost, currency, base, rate)
            values: dict[str, Any] = {
                "fee_cost": cost,
                "fee_currency": currency,
                "base_currency": base,
                "fx_rate": used_rate,
                "fee_in_base": in_base,
                "updated_at": now_ms(),
            }
            if fee_rate is not None:
                values["fee_rate"] = to_decimal(fee_rate, "fee_rate")
            if commission_source is not None:
                values["commission_source"] = require_text(commission_source, "commission_source", max_length=32)
            conn.execute(update(TradeRow).where(where).values(**values))
