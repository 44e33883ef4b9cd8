"""The dashboard's connection to the ledger: read-only at the database, not only by convention.

* SQLite: the file is opened through a SQLite URI with ``mode=ro`` (the database refuses any write
  with "attempt to write a readonly database") and ``PRAGMA query_only`` as a second lock. A
  read-only connection never creates the file: a missing file is reported as not migrated.
  WAL lets the dashboard read while the runner writes (https://www.sqlite.org/wal.html).
* PostgreSQL: every transaction is read-only (``default_transaction_read_only=on`` through libpq's
  ``options``; PostgreSQL refuses writes with "cannot execute INSERT in a read-only transaction").

:func:`open_readonly_ledger` returns an :class:`sdk.ledger.Ledger`, so every query of
:mod:`sdk.ledger.queries` works on it unchanged.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.pool import ConnectionPoolEntry

from sdk.ledger import Ledger, normalise_url
from sdk.ledger.engine import BUSY_TIMEOUT_MS
from sdk.ledger.migrate import check_migrated
from sdk.ledger.urls import is_sqlite

__all__ = ["POSTGRES_READ_ONLY_OPTION", "create_readonly_engine", "open_readonly_ledger", "readonly_url"]

#: libpq option that makes every transaction of the session read-only.
POSTGRES_READ_ONLY_OPTION = "-c default_transaction_read_only=on"


def readonly_url(url: URL) -> URL:
    """The URL the dashboard connects with: ``url`` (normalised) made read-only at the database.

    SQLite ``sqlite:///./data/trader.db`` becomes
    ``sqlite:///file:/abs/data/trader.db?mode=ro&uri=true`` (the path made absolute and
    percent-encoded). PostgreSQL gets :data:`POSTGRES_READ_ONLY_OPTION` appended to any
    ``options`` it already has (``-csearch_path=...`` is kept).
    """
    if is_sqlite(url):
        database = url.database or ""
        path = Path(database).expanduser().resolve()
        return URL.create("sqlite", database=f"file:{quote(path.as_posix())}", query={"mode": "ro", "uri": "true"})
    given = url.query.get("options")
    parts = [given] if isinstance(given, str) else list(given or ())
    options = " ".join([*parts, POSTGRES_READ_ONLY_OPTION])
    return url.update_query_dict({"options": options})


def _sqlite_read_only(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        cursor.execute("PRAGMA query_only = ON")
    finally:
        cursor.close()


def create_readonly_engine(url: URL) -> Engine:
    """A read-only engine for a normalised ledger URL (see :func:`readonly_url`); opens no connection."""
    target = readonly_url(url)
    if is_sqlite(url):
        connect_args: dict[str, Any] = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        engine = create_engine(target, connect_args=connect_args)
        event.listen(engine, "connect", _sqlite_read_only)
        return engine
    return create_engine(target, pool_pre_ping=True, pool_size=2, max_overflow=3)


def open_readonly_ledger(url: str | URL) -> Ledger:
    """Open the ledger at ``url`` (``DATABASE_URL``) for reading only.

    Returns:
        A :class:`~sdk.ledger.Ledger` whose engine cannot write; ``ledger.url`` is ``url``
        normalised (never shown unmasked: use ``ledger.masked_url``).

    Raises:
        LedgerInputError: ``url`` is not a SQLite or PostgreSQL URL (the message has an example).
        LedgerNotMigrated: the database has no ledger tables or older ones (also: the SQLite file
            does not exist); ``exc.command`` is the command that fixes it (``trader db upgrade``).
        LedgerTooNew: migrated by a newer trader-sdk.
        LedgerError: the database cannot be reached (the URL masked in the message).
    """
    parsed = normalise_url(url)
    engine = create_readonly_engine(parsed)
    try:
        check_migrated(engine, parsed, explicit_url=False)
    except BaseException:
        engine.dispose()
        raise
    return Ledger(parsed, engine)
