"""Fixtures every test area shares: system parts (../shared/data, PostgreSQL, Chromium), and through the
plugin in ``tests/support`` the catalog, offline gateways and waits on conditions.

A test that needs a system part skips with its reason when the part is absent, except under
``CI=true``, where ``.ci/run`` provides it and the test must run: there the same check fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
POSTGRES_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI") == "true"

#: The shared fixtures (``catalog``, ``gateway_defaults``, ``make_gateway``, ``gateway``): ``tests/support``.
pytest_plugins = ["support.plugin"]


def require(available: bool, reason: str) -> None:
    """Skip with ``reason`` when a system part is missing; under CI=true, fail instead."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _clean_trader_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit a developer's trading settings from the shell."""
    for name in list(os.environ):
        if name.startswith(("IB_", "CCXT_", "MCP_")) or name in {
            "ACTIVE_EXCHANGE", "ALLOWED_SYMBOLS", "ALLOWED_INSTRUMENT_TYPES", "EXECUTE_ORDERS",
            "DATABASE_URL", "SYMBOL_OVERRIDES", "CLIENT_ORDER_PREFIX", "LOG_FORMAT", "LOG_LEVEL",
        }:  # fmt: skip
            monkeypatch.delenv(name, raising=False)
    # a download cache in the working directory (./data/ib-cache) would answer the IB venue's history: none here
    monkeypatch.setenv("DATA_CACHE_DIR", "/nonexistent/trader-sdk-tests/ib-cache")


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """Each test leaves the root logger as it found it.

    CLI commands call ``configure_logging``, which installs a handler on the stream of the moment; under
    typer's CliRunner that stream is closed after the invocation, and a handler left behind would write
    to it in every later test ("Logging error", stray records).
    """
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: real market data and recorded IB traffic (read-only)."""
    require((SHARED_DATA / "README.md").is_file(), f"real market data not found at {SHARED_DATA}")
    return SHARED_DATA


#: The folders of ``../shared/data`` that the catalog, ``trader data list`` and the gateway's scanner tests pin
#: instrument by instrument (522 instruments from 30 files). The folder grows (intraday VIX/SPY/SPX, volatility
#: ETPs, corporate actions, ...); those tests mean these files, so they read a directory of links to them.
PINNED_DATA_FOLDERS = (
    "asx_daily", "asx_daily_long", "ccxt_static", "fx", "ib_bars", "ib_captures", "intraday", "us_daily", "vix",
)  # fmt: skip


@pytest.fixture(scope="session")
def pinned_data(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory of symlinks to the files of :data:`PINNED_DATA_FOLDERS` (same relative paths).

    For tests that assert the whole contents of a data directory (instrument counts, bar sizes per symbol,
    scanner rankings): they keep their meaning when ``../shared/data`` gains files.
    """
    root = tmp_path_factory.mktemp("pinned-data")
    for folder in PINNED_DATA_FOLDERS:
        for source in sorted((shared_data / folder).rglob("*")):
            if source.is_file():
                link = root / source.relative_to(shared_data)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(source)
    return root


def _postgres_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_SERVER_URL, connect_timeout=3):
            return None
    except Exception as exc:  # any failure means "not available here"
        return f"PostgreSQL not reachable at {POSTGRES_SERVER_URL}: {exc}"


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL server URL (``postgresql://postgres@127.0.0.1:5432/test``, trust auth)."""
    problem = _postgres_reachable()
    require(problem is None, problem or "")
    return POSTGRES_SERVER_URL


@pytest.fixture(scope="session")
def postgres_database(postgres_server_url: str) -> Iterator[str]:
    """A database of its own for this test run, dropped at the end: ``postgresql://.../test_<id>``."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_server_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium binary (``.ci/run`` installs it under CI)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require(path is not None, "Debian's chromium is not installed (apt-get install chromium)")
    assert path is not None
    return path
