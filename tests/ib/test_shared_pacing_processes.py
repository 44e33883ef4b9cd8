"""Three processes backfill through one offline gateway and share IB's pacing budget through the ledger.

Each process fetches a different week of SPY 1-minute bars (one request per day, all on one contract and tick
type): alone, each process keeps IB's "no more than five in two seconds" rule, but three at once would send fifteen
in a second. With ``DATABASE_URL`` set to one ledger, they earn zero 162s: the gateway, which judges every
client's requests together as IB judges a login's, counts none.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sdk.ledger import open_ledger, upgrade
from sdk.ledger import pacing as rows
from sdk.venues.ib.shared_pacing import login_key

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
pytestmark = pytest.mark.slow

WEEKS = ("2024-03-04", "2024-03-11", "2024-03-18")


@pytest.fixture(params=["sqlite", "postgres"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated ledger the three processes share: a SQLite file, then a schema on the real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'trader.db'}"
        upgrade(url)
        yield url
        return
    import psycopg

    server: str = request.getfixturevalue("postgres_database")
    schema = f"p_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{server}?options=-csearch_path%3D{schema}"
    upgrade(url)
    try:
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def backfill(gw: Any, client_id: int, monday: str, database_url: str | None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(IB_HOST="127.0.0.1", IB_PORT=str(gw.port), IB_CLIENT_ID=str(client_id), IB_CONNECT_TIMEOUT="10")
    env["PYTHONPATH"] = str(REPO)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "pacing_backfill.py"), monday,
        env=env, cwd=str(REPO), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"backfill {client_id} did not finish within 120 s")
    assert proc.returncode == 0, f"backfill {client_id} failed:\n{err.decode()[-3000:]}"
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def test_three_processes_on_one_login_earn_no_pacing_violation(make_gateway: Any, shared_url: str) -> None:
    gw = await make_gateway(start=datetime(2024, 4, 1, 13, 30, tzinfo=UTC), speed=1)
    results = await asyncio.gather(*(backfill(gw, 11 + i, week, shared_url) for i, week in enumerate(WEEKS)))
    assert {r["kind"] for r in results} == {"SharedPacingBudget"}
    assert all(r["bars"] > 1500 for r in results), results  # five sessions of 390 one-minute bars
    assert sum(r["requests"] for r in results) >= 15
    assert gw.pacer.state()["violations"] == 0, "the gateway judged the three processes' requests together"
    with open_ledger(shared_url) as ledger:
        state = rows.read(ledger, login_key(["DU0000001"]))
    assert state.violations == 0 and state.requests, "the requests were paced through the shared rows"
