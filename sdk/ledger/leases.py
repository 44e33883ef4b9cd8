"""Leases: one owner per resource (a run, an MCP trading session), on the database's clock.

A lease is one row of ``leases`` keyed by ``resource`` (``run:<run_id>``, ``mcp:<venue>:<masked account>``):
who holds it (``holder`` = ``host:pid:token``, the host, the pid and the IB ``clientId`` once connected), since
when, its last heartbeat and when it expires. Every time is the **database's** clock in integer ms UTC
(PostgreSQL ``clock_timestamp()``, SQLite ``julianday('now')``), never the process's, so leases hold between
processes on different hosts sharing one PostgreSQL ledger.

Every change is one conditional statement in a write transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the
row lock of ``UPDATE ... WHERE``), so two processes can never both hold a live lease::

    holder = Holder.this_process()
    lease = acquire(ledger, "run:r-1", holder, ttl=30)        # LeaseHeld: names the holder and since when
    renew(ledger, "run:r-1", holder, ttl=30, client_id=2)     # LeaseLost: another process took it over
    release(ledger, "run:r-1", holder)                        # True when it was still ours

A lease is only ever taken over once it has **expired** (its holder stopped renewing it: killed, hung, cut off):
:func:`wait_for` waits for that, bounded, and never steals a live lease.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, cast, func, insert, literal_column, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from sdk.ledger.database import Ledger
from sdk.ledger.errors import LedgerError
from sdk.ledger.models import LeaseRow

__all__ = [
    "Holder",
    "Lease",
    "LeaseError",
    "LeaseHeld",
    "LeaseLost",
    "acquire",
    "db_now_ms",
    "live_holders",
    "read",
    "release",
    "renew",
    "wait_for",
]


class LeaseError(LedgerError):
    """A lease cannot be read or written (database unreachable, row unreadable): refuse to trade."""


class LeaseHeld(LeaseError):
    """Another process holds a live lease on the resource.

    Attributes:
        lease: the lease as the database has it (holder, since when, expiry).
    """

    def __init__(self, message: str, lease: Lease) -> None:
        super().__init__(message)
        self.lease = lease


class LeaseLost(LeaseError):
    """The lease is no longer ours (it expired and another process took it over): stop trading."""


@dataclass(frozen=True, slots=True)
class Holder:
    """One process's lease identity: ``host``, ``pid`` and a random ``token`` (pids are reused)."""

    host: str
    pid: int
    token: str

    @classmethod
    def this_process(cls) -> Holder:
        return cls(socket.gethostname()[:200], os.getpid(), uuid.uuid4().hex[:12])

    @property
    def id(self) -> str:
        """``host:pid:token``: what ``leases.holder`` and ``orders.holder`` store."""
        return f"{self.host}:{self.pid}:{self.token}"


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease row and the database's clock when it was read; times in ms UTC (the database's clock)."""

    resource: str
    holder: str
    host: str
    pid: int
    client_id: int | None
    acquired_at: int
    heartbeat_at: int
    expires_at: int
    now: int

    @property
    def live(self) -> bool:
        """True while it has not expired on the database's clock."""
        return self.expires_at > self.now

    @property
    def seconds_left(self) -> float:
        return max(0.0, (self.expires_at - self.now) / 1000)

    def describe(self) -> str:
        """``host h, pid 123, client id 2, since 2026-12-07T16:00:00Z (heartbeat 3 s ago, expires in 27 s)``."""
        client = f"client id {self.client_id}" if self.client_id is not None else "client id not yet known"
        return (
            f"host {self.host}, pid {self.pid}, {client}, since {_iso(self.acquired_at)} "
            f"(heartbeat {max(0, self.now - self.heartbeat_at) / 1000:.0f} s ago, "
            f"expires in {self.seconds_left:.0f} s)"
        )


def db_now_ms(conn: Connection) -> ColumnElement[int]:
    """The database's current time in integer ms UTC, as an SQL expression for ``conn``'s dialect."""
    if conn.dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", func.clock_timestamp()) * 1000), BigInteger)
    return cast(literal_column("(julianday('now') - 2440587.5) * 86400000.0"), BigInteger)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _ttl_ms(ttl: float) -> int:
    if ttl <= 0:
        raise ValueError(f"a lease TTL must be positive seconds, got {ttl}; e.g. RUN_LEASE_TTL=30")
    return int(ttl * 1000)


def _read(conn: Connection, resource: str) -> Lease | None:
    now = db_now_ms(conn).label("now")
    row = conn.execute(select(LeaseRow.__table__, now).where(LeaseRow.resource == resource)).mappings().first()
    if row is None:
        return None
    try:
        return Lease(
            resource=str(row["resource"]), holder=str(row["holder"]), host=str(row["host"]), pid=int(row["pid"]),
            client_id=None if row["client_id"] is None else int(row["client_id"]),
            acquired_at=int(row["acquired_at"]), heartbeat_at=int(row["heartbeat_at"]),
            expires_at=int(row["expires_at"]), now=int(row["now"]),
        )  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise LeaseError(
            f"the lease row of {resource} cannot be read ({exc}); refusing to trade. Inspect the leases table "
            "and delete the row only once you are sure no process holds it"
        ) from None


def _guarded(what: str, ledger: Ledger, call: Callable[[Connection], Any]) -> Any:
    try:
        with ledger.write() as conn:
            return call(conn)
    except (LeaseError, IntegrityError):
        raise  # IntegrityError: acquire() lost a race for the first row and reads the winner
    except SQLAlchemyError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LeaseError(
            f"cannot {what} on the ledger {ledger.masked_url} ({type(exc).__name__}: {first}); refusing to trade "
            "without knowing who owns it. Check that the database is reachable and migrated (trader db upgrade)"
        ) from None


def read(ledger: Ledger, resource: str) -> Lease | None:
    """The lease on ``resource`` (live or expired) with the database's clock; None when there never was one.

    Raises:
        LeaseError: the database cannot be reached or the row cannot be read.
    """
    try:
        with ledger.read() as conn:
            return _read(conn, resource)
    except LeaseError:
        raise
    except SQLAlchemyError as exc:
        raise LeaseError(
            f"cannot read the lease of {resource} on {ledger.masked_url} ({type(exc).__name__}); refusing to trade"
        ) from None


def acquire(ledger: Ledger, resource: str, holder: Holder, *, ttl: float, client_id: int | None = None) -> Lease:
    """Take the lease on ``resource`` for ``ttl`` seconds: when there is none, it expired, or it is already ours.

    Raises:
        LeaseHeld: another holder's lease is live; the message names it (host, pid, client id) and since when.
        LeaseError: the database cannot be reached or the row cannot be read.
        ValueError: ``ttl`` is not positive.
    """
    ttl_ms = _ttl_ms(ttl)

    def take(conn: Connection) -> Lease:
        now = db_now_ms(conn)
        current = _read(conn, resource)
        values = {
            "holder": holder.id, "host": holder.host, "pid": holder.pid, "client_id": client_id,
            "acquired_at": now, "heartbeat_at": now, "expires_at": now + ttl_ms,
        }  # fmt: skip
        if current is None:
            conn.execute(insert(LeaseRow).values(resource=resource, **values))
        else:
            if current.holder == holder.id:
                values.pop("acquired_at")
            done = conn.execute(
                update(LeaseRow)
                .where(LeaseRow.resource == resource)
                .where((LeaseRow.holder == holder.id) | (LeaseRow.expires_at <= now))
                .values(**values)
            )
            if done.rowcount != 1:
                held = _read(conn, resource) or current
                raise LeaseHeld(_held_message(resource, held), held)
        taken = _read(conn, resource)
        assert taken is not None
        return taken

    try:
        return _guarded(f"take the lease of {resource}", ledger, take)
    except IntegrityError:
        pass
    # another process inserted the first row at the same moment: it holds the lease now
    held = read(ledger, resource)
    if held is not None and held.holder != holder.id and held.live:
        raise LeaseHeld(_held_message(resource, held), held)
    return acquire(ledger, resource, holder, ttl=ttl, client_id=client_id)


def _held_message(resource: str, lease: Lease) -> str:
    return (
        f"{resource} is held by another process: {lease.describe()}. Stop that process first, or wait for its "
        "lease to expire (--take-over waits for it; a live lease is never taken)"
    )


def renew(ledger: Ledger, resource: str, holder: Holder, *, ttl: float, client_id: int | None = None) -> Lease:
    """Extend our lease by ``ttl`` seconds from the database's now (the heartbeat); record ``client_id`` if given.

    Only while it is still ours: an expired lease nobody took is renewed too (nobody traded meanwhile).

    Raises:
        LeaseLost: another holder has it now (or it was released): stop trading.
        LeaseError: the database cannot be reached.
    """
    ttl_ms = _ttl_ms(ttl)

    def extend(conn: Connection) -> Lease:
        now = db_now_ms(conn)
        values: dict[str, Any] = {"heartbeat_at": now, "expires_at": now + ttl_ms}
        if client_id is not None:
            values["client_id"] = client_id
        done = conn.execute(
            update(LeaseRow).where(LeaseRow.resource == resource, LeaseRow.holder == holder.id).values(**values)
        )
        if done.rowcount != 1:
            other = _read(conn, resource)
            who = other.describe() if other is not None else "nobody (it was released)"
            raise LeaseLost(f"the lease of {resource} is no longer ours: held by {who}; stop trading on it")
        lease = _read(conn, resource)
        assert lease is not None
        return lease

    return _guarded(f"renew the lease of {resource}", ledger, extend)


def release(ledger: Ledger, resource: str, holder: Holder) -> bool:
    """Give the lease up (a clean stop) so the next process need not wait; True when it was still ours.

    Raises:
        LeaseError: the database cannot be reached (the lease then simply expires).
    """

    def give_up(conn: Connection) -> bool:
        now = db_now_ms(conn)
        done = conn.execute(
            update(LeaseRow)
            .where(LeaseRow.resource == resource, LeaseRow.holder == holder.id)
            .values(expires_at=now, heartbeat_at=now)
        )
        return bool(done.rowcount == 1)

    return bool(_guarded(f"release the lease of {resource}", ledger, give_up))


def wait_for(ledger: Ledger, resource: str, holder: Holder, *, ttl: float, timeout: float, poll: float = 0.2) -> Lease:
    """:func:`acquire`, waiting (at most ``timeout`` wall seconds) for another holder's lease to expire.

    Used by ``--take-over``: it waits for a crashed holder's lease to run out; a holder that keeps
    renewing keeps it, and this raises :class:`LeaseHeld` at the deadline.

    Raises:
        LeaseHeld: still held by a live holder after ``timeout``.
        LeaseError: the database cannot be reached.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return acquire(ledger, resource, holder, ttl=ttl)
        except LeaseHeld as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LeaseHeld(
                    f"{resource} is still held after waiting {timeout:.0f} s: {exc.lease.describe()}. It is alive "
                    "and renewing its lease; stop that process first",
                    exc.lease,
                ) from None
            time.sleep(min(poll, left, max(0.01, exc.lease.seconds_left)))


def live_holders(ledger: Ledger) -> set[str]:
    """The ``holder`` ids of every live lease (the database's clock).

    Raises:
        LeaseError: the database cannot be reached.
    """
    try:
        with ledger.read() as conn:
            rows = conn.execute(select(LeaseRow.holder).where(LeaseRow.expires_at > db_now_ms(conn))).scalars()
            return {str(r) for r in rows}
    except SQLAlchemyError as exc:
        raise LeaseError(f"cannot read the leases on {ledger.masked_url} ({type(exc).__name__}); refusing") from None
