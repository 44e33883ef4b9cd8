"""Fixtures of the several-hosts tests: the LAN of network namespaces, the programs started on it, and a
PostgreSQL database of the test's own.

* ``lan``: hosts ``a`` .. ``e`` (``multihost_lan.Lan``), deleted after the test. Skips when namespaces cannot
  be built here (not root, no ``ip``), except under ``CI=true``, where it fails (CI runs as root);
* ``fleet``: ``multihost_processes.Fleet``: every program the test starts, killed by pid after it (before
  the namespaces are deleted);
* ``fresh_database``: ``(name, local_url)``: a database created for this test on the PostgreSQL server and
  migrated, dropped after it; the hosts reach it by its name through the database host's forwarder;
* ``postgres_socket``: the server's Unix socket file (``SHOW unix_socket_directories`` and ``port``), which
  every namespace reaches (a file), unlike the root namespace's loopback.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from multihost_lan import Lan, unavailable
from multihost_processes import Fleet

from sdk.ledger import upgrade


def _require(problem: str | None) -> None:
    """As ``require`` in ``tests/conftest.py``: skip with the reason, or fail under CI=true."""
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {problem}", pytrace=False)
    pytest.skip(problem)


@pytest.fixture
def lan() -> Iterator[Lan]:
    _require(unavailable())
    built = Lan.build(["a", "b", "c", "d", "e"])
    try:
        yield built
    finally:
        built.destroy()


@pytest.fixture
def sockets() -> Iterator[Path]:
    """A short directory for Unix sockets (their paths must stay under 108 bytes)."""
    with tempfile.TemporaryDirectory(prefix="mh-") as directory:
        yield Path(directory)


@pytest.fixture
async def fleet(lan: Lan, tmp_path: Path) -> AsyncIterator[Fleet]:
    started = Fleet(tmp_path)
    try:
        yield started
    finally:
        await started.stop_all()


@pytest.fixture
def fresh_database(postgres_server_url: str) -> Iterator[tuple[str, str]]:
    """``(name, url)``: a migrated database of this test (``url`` on this namespace's loopback), dropped after."""
    import psycopg

    name = f"mh_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_server_url.rpartition("/")
    url = f"{base}/{name}"
    try:
        upgrade(url)
        yield name, url
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_socket(postgres_server_url: str) -> Path:
    """The PostgreSQL server's Unix socket (``/var/run/postgresql/.s.PGSQL.5432`` on Debian)."""
    import psycopg

    with psycopg.connect(postgres_server_url) as conn:
        directories = str(conn.execute("SHOW unix_socket_directories").fetchone()[0])
        port = str(conn.execute("SHOW port").fetchone()[0])
    candidates = [Path(d.strip()) / f".s.PGSQL.{port}" for d in directories.split(",") if d.strip()]
    found = next((c for c in candidates if c.is_socket()), None)
    _require(
        None if found else f"the PostgreSQL server has no Unix socket here (unix_socket_directories={directories!r})"
    )
    assert found is not None
    return found
