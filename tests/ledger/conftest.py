"""Ledger fixtures: every test runs on SQLite (a file in tmp_path) and on the real PostgreSQL server.

PostgreSQL isolation: the run's database (``postgres_database`` from tests/conftest.py) gets its own
schemas, selected through libpq's ``options=-csearch_path=...`` in the URL and dropped afterwards.
``empty_url`` is a fresh schema per test (for migration tests). ``ledger_url`` is one schema
migrated once per run whose tables are emptied before each test (TRUNCATE ... RESTART IDENTITY);
on SQLite it is a copy of a file migrated once. Tests that change the schema itself use
``empty_url`` and migrate it.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from sdk.ledger import Ledger, open_ledger, upgrade
from sdk.ledger.models import Base

ENGINES = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


def _postgres_schema_url(database_url: str) -> Iterator[str]:
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{database_url}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=ENGINES)
def empty_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of an empty database (no tables) on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('ledger')}/data/trader.db"
    else:
        yield from _postgres_schema_url(request.getfixturevalue("postgres_database"))


@pytest.fixture(scope="session")
def _migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ledger-template") / "trader.db"
    upgrade(f"sqlite:///{path}")  # the engine is disposed: the WAL is checkpointed into the file
    return path


@pytest.fixture(scope="session")
def _migrated_postgres_url(postgres_database: str) -> Iterator[str]:
    for url in _postgres_schema_url(postgres_database):
        upgrade(url)
        yield url


@pytest.fixture(params=ENGINES)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database migrated to head, on each engine."""
    if request.param == "sqlite":
        target = tmp_path / "data" / "trader.db"
        target.parent.mkdir()
        shutil.copyfile(request.getfixturevalue("_migrated_sqlite_file"), target)
        return f"sqlite:///{target}"
    import psycopg
    from psycopg import sql

    url: str = request.getfixturevalue("_migrated_postgres_url")
    tables = sql.SQL(", ").join(sql.Identifier(t.name) for t in Base.metadata.sorted_tables)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))
    return url


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    """An open, migrated ledger on each engine."""
    with open_ledger(ledger_url) as opened:
        yield opened


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite ledger (for tests about SQLite itself: WAL, several processes)."""
    url = f"sqlite:///{tmp_path}/trader.db"
    upgrade(url)
    return url
