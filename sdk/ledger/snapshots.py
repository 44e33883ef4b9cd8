"""Snapshot writes of :class:`~sdk.ledger.writer.LedgerWriter`: positions, balances, equity, market data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, select

from sdk.ledger.errors import LedgerInputError
from sdk.ledger.models import BalanceRow, EquitySnapshotRow, MarketDataRow, PositionRow
from sdk.ledger.rows import balance_rows, iter_mappings, market_data_row, position_row
from sdk.ledger.upsert import coalesce_new, upsert_statement
from sdk.ledger.values import Number, mask_payload, now_ms, require_text, to_currency, to_decimal, to_ms
from sdk.ledger.writer_base import SessionContext, WriterBase

if TYPE_CHECKING:
    from sqlalchemy import Table

__all__ = ["SnapshotWriter"]

_EQUITY: Table = EquitySnapshotRow.__table__  # type: ignore[assignment]
_MARKET: Table = MarketDataRow.__table__  # type: ignore[assignment]
_EQUITY_MERGED = ("equity", "cash", "positions_value", "realized_pnl", "unrealized_pnl", "fx_rates")
_MARKET_MERGED = ("bid", "ask", "last", "bid_size", "ask_size", "volume")


class SnapshotWriter(WriterBase):
    """Whole snapshots keyed by time: a snapshot recorded twice is one snapshot.

    Positions, balances and equity belong to a run (default: the bound one) and take its venue,
    masked account and base currency; market data belongs to no run.
    """

    def record_positions(
        self,
        positions: Iterable[Mapping[str, Any]],
        *,
        timestamp: int | datetime | None = None,
        fx_rates: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> int:
        """Record a whole snapshot of the run's account positions (ccxt ``Position`` dicts) at one time.

        A symbol held in the previous snapshot and absent now gets a row with ``contracts = 0``
        (so an all-flat account is visible). Recording a snapshot at a ``timestamp`` already
        recorded replaces it. ``fx_rates``: quote currency -> base currency per unit, to store
        ``notional_in_base``; a missing rate leaves it None.

        Returns:
            The number of rows written.
        """
        context = self._run_context(run_id, "a positions snapshot")
        ts = to_ms(timestamp, "timestamp") or now_ms()
        rows = [
            position_row(p, base_currency=context.base_currency, fx_rates=fx_rates)
            for p in iter_mappings(positions, "positions")
        ]
        return self._snapshot(PositionRow, "symbol", rows, context, ts, _flat_position)

    def record_balances(
        self,
        balances: Mapping[str, Any],
        *,
        timestamp: int | datetime | None = None,
        fx_rates: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> int:
        """Record cash per currency (ccxt ``Balances``) as a whole snapshot, like :meth:`record_positions`.

        ``fx_rates``: currency -> base currency per unit, to store ``total_in_base``.

        Returns:
            The number of rows written.
        """
        context = self._run_context(run_id, "a balances snapshot")
        ts = to_ms(timestamp, "timestamp") or now_ms()
        rows = balance_rows(balances, base_currency=context.base_currency, fx_rates=fx_rates)
        return self._snapshot(BalanceRow, "currency", rows, context, ts, _zero_balance)

    def _snapshot(
        self,
        model: type[PositionRow] | type[BalanceRow],
        key: str,
        rows: list[dict[str, Any]],
        context: SessionContext,
        ts: int,
        vanished: Any,
    ) -> int:
        table: Table = model.__table__  # type: ignore[assignment]
        names = [r[key] for r in rows]
        if len(set(names)) != len(names):
            raise LedgerInputError(f"the snapshot lists a {key} twice: {sorted(names)}")
        venue, account = context.venue, context.account
        same = and_(table.c.venue == venue, table.c.account == account)
        with self._write(f"{table.name} snapshot") as conn:
            conn.execute(delete(table).where(same, table.c.timestamp == ts))
            previous = select(func.max(table.c.timestamp)).where(same, table.c.timestamp < ts).scalar_subquery()
            held = conn.execute(
                select(table).where(same, table.c.timestamp == previous, _nonzero(table, key))
            ).mappings()
            rows = rows + [vanished(dict(r), context) for r in held if r[key] not in names]
            common = {"run_id": context.run_id, "venue": venue, "account": account, "timestamp": ts}
            columns = [c.name for c in table.columns if c.name != "id"]
            if rows:
                conn.execute(table.insert(), [{c: {**r, **common}.get(c) for c in columns} for r in rows])
        return len(rows)

    def record_equity(
        self,
        equity: Number,
        *,
        currency: str | None = None,
        timestamp: int | datetime | None = None,
        cash: Number | None = None,
        positions_value: Number | None = None,
        realized_pnl: Number | None = None,
        unrealized_pnl: Number | None = None,
        fx_rates: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> int:
        """Record the account's equity in the run's base currency (one row per run and timestamp).

        Args:
            equity: net liquidation value in the base currency (AUD).
            currency: must be the run's base currency when given (convert first).
            cash, positions_value, realized_pnl, unrealized_pnl: parts, in the base currency.
            fx_rates: every rate used to get there (``{"USD": 1.52}``: AUD per USD), kept as JSON.

        Returns:
            The ledger row id.

        Raises:
            LedgerInputError: a currency other than the base currency, or a bad value.
        """
        context = self._run_context(run_id, "an equity snapshot")
        if currency is not None and currency != context.base_currency:
            raise LedgerInputError(
                f"equity is recorded in the run's base currency {context.base_currency}, not {currency}; "
                "convert it first (and pass the rates used as fx_rates)"
            )
        rates = {to_currency(k, "fx_rates key"): to_decimal(v, f"fx_rates[{k!r}]") for k, v in (fx_rates or {}).items()}
        row = {
            "run_id": context.run_id,
            "venue": context.venue,
            "account": context.account,
            "timestamp": to_ms(timestamp, "timestamp") or now_ms(),
            "currency": context.base_currency,
            "equity": to_decimal(equity, "equity", required=True),
            "cash": to_decimal(cash, "cash"),
            "positions_value": to_decimal(positions_value, "positions_value"),
            "realized_pnl": to_decimal(realized_pnl, "realized_pnl"),
            "unrealized_pnl": to_decimal(unrealized_pnl, "unrealized_pnl"),
            "fx_rates": mask_payload(rates) if rates else None,
        }
        with self._write("equity snapshot") as conn:
            stmt = upsert_statement(
                conn, _EQUITY, key=("run_id", "timestamp"), set_=lambda t, ex: coalesce_new(t, ex, _EQUITY_MERGED)
            )
            conn.execute(stmt, row)
            return int(
                conn.execute(
                    select(EquitySnapshotRow.id).where(
                        EquitySnapshotRow.run_id == context.run_id, EquitySnapshotRow.timestamp == row["timestamp"]
                    )
                ).scalar_one()
            )

    def record_market_data(
        self,
        data: Mapping[str, Any] | Iterable[Mapping[str, Any]],
        *,
        source: str,
        venue: str | None = None,
    ) -> int:
        """Record top of book and last trade: one :class:`sdk.base.MarketData`/ccxt ``Ticker`` or a list.

        One row per ``(venue, symbol, timestamp, source)``; the same tick twice is one row. Sizes
        are whole units (a fractional size is refused; pass None for it).

        Args:
            source: where the data came from (``ib``, ``offline-gateway``, ``ccxt``, ``replay``).

        Returns:
            The number of rows written.
        """
        _context, venue, _account = self._target(venue, None, None, "market data")
        src = require_text(source, "source", max_length=32)
        items = [data] if isinstance(data, Mapping) else list(data)
        now = now_ms()
        rows = [market_data_row(item, venue=venue, source=src, now=now) for item in items]
        if not rows:
            return 0
        with self._write("market data") as conn:
            stmt = upsert_statement(
                conn,
                _MARKET,
                key=("venue", "symbol", "timestamp", "source"),
                set_=lambda t, ex: coalesce_new(t, ex, _MARKET_MERGED),
            )
            conn.execute(stmt, rows)
        return len(rows)


def _nonzero(table: Table, key: str) -> Any:
    return table.c.contracts != 0 if key == "symbol" else table.c.total != 0


def _flat_position(stored: dict[str, Any], context: SessionContext) -> dict[str, Any]:
    return {
        "symbol": stored["symbol"],
        "quote_currency": stored["quote_currency"],
        "side": None,
        "contracts": 0,
        "base_currency": context.base_currency,
    }


def _zero_balance(stored: dict[str, Any], context: SessionContext) -> dict[str, Any]:
    return {"currency": stored["currency"], "free": 0, "used": 0, "total": 0, "base_currency": context.base_currency}
