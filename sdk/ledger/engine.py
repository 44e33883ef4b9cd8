"""The SQLAlchemy engine behind the ledger, set up the same way for every program.

SQLite (one trader on a laptop; one writer and several readers in separate processes):

* ``journal_mode=WAL``: readers never block the writer and the writer never blocks readers;
* ``busy_timeout`` (:data:`BUSY_TIMEOUT_MS`): a second writer (the MCP server writing an audit
  event while the runner writes a fill) waits for the lock instead of failing;
* ``foreign_keys=ON`` (SQLite leaves them off per connection otherwise);
* ``synchronous=FULL``: a committed transaction survives a killed process and a power cut;
* write transactions begin with ``BEGIN IMMEDIATE`` (they take the write lock up front, so a
  read-then-write transaction never dead-ends in "database is locked"), reads with ``BEGIN``, and
  SQLAlchemy, not the ``sqlite3`` module, emits them (the SQLAlchemy SQLite documentation's
  "Enabling Non-Legacy SQLite Transactional Modes" recipe, so DDL is transactional too).

PostgreSQL (a desk: several runners and a dashboard on different hosts): the same code through
psycopg 3, ``pool_pre_ping`` so a dropped connection is replaced instead of failing a write.
See https://www.sqlite.org/wal.html and https://www.sqlite.org/pragma.html.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.pool import ConnectionPoolEntry

from sdk.ledger.urls import is_sqlite

__all__ = ["BUSY_TIMEOUT_MS", "WRITE", "create_ledger_engine", "json_dumps"]

#: How long a SQLite writer waits for another writer's lock before failing, in milliseconds.
BUSY_TIMEOUT_MS = 15_000
#: Execution options of a write transaction (``engine.execution_options(**WRITE)``).
WRITE = {"ledger_write": True}


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable; pass it through sdk.ledger.values.mask_payload")


def json_dumps(value: Any) -> str:
    """JSON for the ledger's JSON columns (payloads were masked by the writer): compact, Decimals as strings.

    Raises:
        ValueError: NaN or infinity (PostgreSQL rejects them; :func:`~sdk.ledger.values.mask_payload`
            turns them into null).
    """
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=_json_default)


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (see _sqlite_on_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    write = connection.get_execution_options().get("ledger_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def create_ledger_engine(url: URL) -> Engine:
    """An engine for a normalised ledger URL (:func:`sdk.ledger.urls.normalise_url`).

    Opens no connection. Write with ``engine.execution_options(**WRITE).begin()``; read with
    ``engine.connect()``.
    """
    if is_sqlite(url):
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            json_serializer=json_dumps,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=json_dumps)
