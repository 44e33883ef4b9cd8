"""One ``INSERT ... ON CONFLICT DO UPDATE`` for both engines (SQLite >= 3.24 and PostgreSQL share the syntax).

The conflict target is a unique constraint of the table; the update merges the incoming row into
the stored one column by column (:func:`coalesce_new`: a value the update lacks never erases one the
ledger has), so the same venue update applied twice leaves one identical row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import ColumnClause

__all__ = ["Excluded", "coalesce_new", "keep_stored", "upsert_statement"]

#: ``stmt.excluded``: the row that was proposed for insertion, by column name.
Excluded = Any
SetClause = Callable[[Table, Excluded], Mapping[str, Any]]
WhereClause = Callable[[Table, Excluded], ColumnElement[bool]]


def coalesce_new(table: Table, excluded: Excluded, names: Sequence[str]) -> dict[str, ColumnElement[Any]]:
    """``name = COALESCE(excluded.name, stored.name)`` for each name: new values win, None keeps the old."""
    return {name: func.coalesce(excluded[name], table.c[name]) for name in names}


def keep_stored(table: Table, excluded: Excluded, names: Sequence[str]) -> dict[str, ColumnElement[Any]]:
    """``name = COALESCE(stored.name, excluded.name)`` for each name: the first value recorded wins."""
    return {name: func.coalesce(table.c[name], excluded[name]) for name in names}


def upsert_statement(
    connection: Connection,
    table: Table,
    *,
    key: Sequence[str],
    set_: SetClause,
    where: WhereClause | None = None,
) -> Any:
    """An insert of ``table`` that updates the row already stored under the unique ``key`` instead.

    Args:
        connection: decides the dialect (``sqlite`` or ``postgresql``).
        table: the table.
        key: the columns of one of its unique constraints (the conflict target).
        set_: ``(table, excluded) -> {column: expression}`` for the update.
        where: ``(table, excluded) -> condition``; when it is false the stored row is left as it is
            (a stale update).

    Returns:
        The statement; execute it with one row (a dict) or many (a list of dicts: executemany).
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - normalise_url admits only these two
        raise NotImplementedError(f"the ledger supports sqlite and postgresql, not {dialect}")
    excluded = stmt.excluded
    key_columns: list[ColumnClause[Any] | str] = list(key)
    return stmt.on_conflict_do_update(
        index_elements=key_columns,
        set_=dict(set_(table, excluded)),
        where=where(table, excluded) if where is not None else None,
    )
