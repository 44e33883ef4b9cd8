"""Fixtures of the runner's tests: the offline gateway over the real data, IBTraders on it over a real
socket (port 0), a migrated ledger (SQLite in tmp_path, or the real PostgreSQL server), and the
service set built on them.

Gateways start paused (speed 0) at an ASX open: tests move simulated time themselves, or run the
clock fast, so nothing waits for wall-clock time it does not need.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from sdk.clock import SimulatedClock
from sdk.ledger import Ledger, open_ledger, upgrade
from sdk.settings import Settings, load_settings
from sdk.venues.ib.connection import Backoff
from sdk.venues.ib.pacing import PacingBudget
from sdk.venues.ib.trader import IBTrader

#: Tuesday 4 March 2025, 11:00 Sydney: ASX open, inside the real ASX daily and AUD/USD data.
ASX_OPEN = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)
FAST_BACKOFF = Backoff(initial=0.05, maximum=0.3, jitter=0.05)


@pytest.fixture(autouse=True)
def _quiet_ib_async() -> Iterator[None]:
    logging.getLogger("ib_async").setLevel(logging.CRITICAL)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def settings_for(gw: Any, **overrides: Any) -> Settings:
    """Settings pointing at ``gw`` (loopback, its port) with test-friendly timeouts."""
    options: dict[str, Any] = {"ib_host": "127.0.0.1", "ib_port": gw.port, "ib_connect_timeout": 3}
    options.update(overrides)
    return load_settings(**options)


@pytest.fixture
async def make_trader() -> AsyncIterator[Callable[..., Any]]:
    """``await make_trader(gw, client_id=1, **settings)``: a connected IBTrader on ``gw``'s simulated clock."""
    traders: list[IBTrader] = []

    async def make(gw: Any, *, client_id: int | None = None, **settings: Any) -> IBTrader:
        clock = SimulatedClock(gw.clock)
        trader = IBTrader(
            settings_for(gw, **settings), client_id=client_id, clock=clock, budget=PacingBudget(clock),
            backoff=FAST_BACKOFF, heartbeat_interval=0.5, quote_timeout=2.0, ack_timeout=3.0,
        )  # fmt: skip
        traders.append(trader)
        await trader.connect()
        return trader

    yield make
    for trader in traders:
        await trader.close()


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("runner-ledger") / "trader.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(_migrated_sqlite: Path, tmp_path: Path) -> str:
    """A migrated, empty SQLite ledger of this test."""
    target = tmp_path / "data" / "trader.db"
    target.parent.mkdir(exist_ok=True)
    shutil.copy(_migrated_sqlite, target)
    return f"sqlite:///{target}"


@pytest.fixture
def postgres_url(postgres_database: str) -> Iterator[str]:
    """A migrated schema of its own on the real PostgreSQL server, dropped afterwards."""
    import psycopg

    schema = f"r_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{postgres_database}?options={quote(f'-csearch_path={schema}')}"
    upgrade(url)
    try:
        yield url
    finally:
        with psycopg.connect(postgres_database, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest) -> str:
    """A migrated ledger on SQLite, then on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def ledger(sqlite_url: str) -> Iterator[Ledger]:
    with open_ledger(sqlite_url) as opened:
        yield opened
