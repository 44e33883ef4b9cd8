"""Leases on the ledger (SQLite and the real PostgreSQL server): one holder at a time, on the database's clock.

* a second holder is refused while the lease is live, with a message naming the holder and since when;
* an expired lease is taken over, and the old holder's next heartbeat learns it lost it;
* ``wait_for`` never steals a live lease;
* several real processes racing for one lease: exactly one gets it;
* an unreachable database refuses with the reason; orders record the holder and clientId that sent them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from sdk.ledger import open_ledger
from sdk.ledger import queries as q
from sdk.ledger.leases import (
    Holder,
    LeaseError,
    LeaseHeld,
    LeaseLost,
    acquire,
    live_holders,
    read,
    release,
    renew,
    wait_for,
)
from sdk.ledger.models import OrderRow

REPO = Path(__file__).resolve().parents[2]
RACER = """
import sys
from sdk.ledger import open_ledger
from sdk.ledger.leases import Holder, LeaseHeld, acquire
url, go = sys.argv[1], sys.argv[2]
import os, time
with open_ledger(url) as ledger:
    ledger.read().__enter__()  # connect before the start line
    while not os.path.exists(go):
        time.sleep(0.001)
    try:
        acquire(ledger, "run:race", Holder.this_process(), ttl=60)
        print("won")
    except LeaseHeld as exc:
        print("held", exc.lease.pid)
"""


def test_a_live_lease_refuses_a_second_holder_naming_it(ledger_url: str) -> None:
    first, second = Holder("host-a", 101, "aaaa"), Holder("host-b", 202, "bbbb")
    with open_ledger(ledger_url) as ledger:
        lease = acquire(ledger, "run:r1", first, ttl=60, client_id=3)
        assert (lease.holder, lease.client_id, lease.live) == (first.id, 3, True)
        assert lease.expires_at - lease.heartbeat_at == 60_000
        with pytest.raises(LeaseHeld) as info:
            acquire(ledger, "run:r1", second, ttl=60)
        message = str(info.value)
        assert "host host-a, pid 101, client id 3, since " in message and "--take-over" in message
        assert info.value.lease.holder == first.id
        # the holder itself renews (its heartbeat) and keeps its acquisition time
        again = renew(ledger, "run:r1", first, ttl=60, client_id=4)
        assert again.acquired_at == lease.acquired_at and again.client_id == 4
        assert live_holders(ledger) == {first.id}
        # released on a clean stop: the next process takes it at once
        assert release(ledger, "run:r1", first)
        assert not read(ledger, "run:r1").live  # type: ignore[union-attr]
        assert acquire(ledger, "run:r1", second, ttl=60).holder == second.id
        with pytest.raises(LeaseLost, match="no longer ours: held by host host-b"):
            renew(ledger, "run:r1", first, ttl=60)


def test_an_expired_lease_is_taken_over_and_the_old_holder_learns_it(ledger_url: str) -> None:
    crashed, successor = Holder("h", 1, "crashed"), Holder("h", 2, "next")
    with open_ledger(ledger_url) as ledger:
        acquire(ledger, "run:r2", crashed, ttl=0.3)
        taken = wait_for(ledger, "run:r2", successor, ttl=60, timeout=30)
        assert taken.holder == successor.id and taken.live
        with pytest.raises(LeaseLost):
            renew(ledger, "run:r2", crashed, ttl=60)
        assert not release(ledger, "run:r2", crashed), "a released-late holder must not free the successor's lease"
        assert read(ledger, "run:r2").holder == successor.id  # type: ignore[union-attr]


def test_take_over_never_steals_a_live_lease(ledger_url: str) -> None:
    alive, impatient = Holder("h", 1, "alive"), Holder("h", 2, "impatient")
    with open_ledger(ledger_url) as ledger:
        acquire(ledger, "run:r3", alive, ttl=600)
        with pytest.raises(LeaseHeld, match="still held after waiting 0 s"):
            wait_for(ledger, "run:r3", impatient, ttl=60, timeout=0.3)
        assert read(ledger, "run:r3").holder == alive.id  # type: ignore[union-attr]


def test_processes_racing_for_one_lease_exactly_one_wins(ledger_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, ledger_url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for _ in range(4)
    ]
    go.touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(out.strip())
    assert sorted(o.split()[0] for o in outputs) == ["held", "held", "held", "won"], outputs
    winner = procs[outputs.index("won")].pid
    assert {int(o.split()[1]) for o in outputs if o.startswith("held")} == {winner}


def test_an_unreachable_database_refuses_with_the_reason() -> None:
    ledger = open_ledger("postgresql://postgres@127.0.0.1:1/none", check=False)
    try:
        with pytest.raises(LeaseError, match="refusing to trade"):
            acquire(ledger, "run:r4", Holder.this_process(), ttl=30)
    finally:
        ledger.close()


def test_orders_record_the_holder_and_client_id_that_first_wrote_them(ledger_url: str) -> None:
    holder = Holder.this_process()
    with open_ledger(ledger_url) as ledger:
        writer = ledger.writer()
        writer.start_session(venue="IB", account="DU7654321", base_currency="AUD", mode="paper", run_id="r5")
        writer.sender = (holder.id, 7)
        order = {"clientOrderId": "trd-1", "symbol": "BHP/AUD", "side": "buy", "status": "open", "amount": 10,
                 "type": "limit", "price": 45.0, "timestamp": 1_763_700_000_000,
                 "info": {"stage": "submitting"}}  # fmt: skip
        writer.record_order(order)
        other = ledger.writer("r5")
        other.sender = ("elsewhere:9:x", 9)
        other.record_order({**order, "id": "42", "status": "closed", "filled": 10, "info": {}})
        with ledger.read() as conn:
            row = conn.execute(select(OrderRow.holder, OrderRow.client_id, OrderRow.status)).one()
        assert tuple(row) == (holder.id, 7, "closed")
        assert q.orders_by_client_prefix(ledger, "trd-")[0]["client_order_id"] == "trd-1"
