"""Dashboard fixtures: seeded, empty and unmigrated ledgers on SQLite and on the real PostgreSQL server,
and Streamlit AppTests of ``dashboard/streamlit_app.py`` pointed at them through ``DATABASE_URL``.

PostgreSQL isolation as in tests/ledger: a schema of its own in the run's database
(``postgres_database``), selected with libpq's ``options=-csearch_path=...`` and dropped afterwards.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from dashboard_seed import seed

from sdk.ledger import open_ledger, upgrade

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "streamlit_app.py"
ENGINES = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


def _postgres_schema(database_url: str) -> Iterator[str]:
    import psycopg

    schema = f"d_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{database_url}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _database(request: pytest.FixtureRequest, tmp: Path) -> Iterator[str]:
    """An empty database (no tables) of the requested engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp}/data/trader.db"
    else:
        yield from _postgres_schema(request.getfixturevalue("postgres_database"))


@pytest.fixture(scope="module", params=ENGINES)
def seeded_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ledger holding two seeded trading days (tests/dashboard/dashboard_seed.py), once per module and engine."""
    for url in _database(request, tmp_path_factory.mktemp("seeded")):
        upgrade(url)
        with open_ledger(url) as ledger:
            seed(ledger)
        yield url


@pytest.fixture(params=ENGINES)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated ledger with nothing in it."""
    for url in _database(request, tmp_path):
        upgrade(url)
        yield url


@pytest.fixture(params=ENGINES)
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database without ledger tables (SQLite: the file does not exist yet)."""
    yield from _database(request, tmp_path)


@pytest.fixture
def clear_streamlit_caches() -> Iterator[None]:
    """Cached reads and engines of one test never answer another (PostgreSQL URLs can repeat)."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def run_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clear_streamlit_caches: None) -> Callable[..., object]:
    """Run the app on ``url`` (as ``DATABASE_URL``), optionally on one page: ``run_app(url, "orders.py")``.

    The working directory is an empty temporary one, so a developer's ``./.env`` is not read.
    Streamlit's script runner installs its own ``__main__`` module; the test's is restored afterwards.
    """
    from streamlit.testing.v1 import AppTest

    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])  # Streamlit replaces it; put it back

    def run(url: str, page: str | None = None) -> AppTest:
        monkeypatch.setenv("DATABASE_URL", url)
        app = AppTest.from_file(str(APP), default_timeout=60).run()
        if page is not None:
            app.switch_page(f"app_pages/{page}").run()
        assert not app.exception, [e.value for e in app.exception]
        return app

    return run
