"""The rows behind a pacing budget shared by every process on one IB login (``pacing_logins``, ``pacing_requests``).

IB paces historical-data requests per login, not per connection: three processes backfilling through one
gateway share one allowance of 60 requests per ten minutes. This module only stores what the budget needs to
judge a request; the rules themselves are IB's and live with the IB venue
(:class:`sdk.venues.ib.shared_pacing.SharedPacingBudget`). Every admission is one write transaction that locks
the login's row first (PostgreSQL: ``SELECT ... FOR UPDATE``; SQLite: ``BEGIN IMMEDIATE`` takes the database's
write lock), so two processes never both admit the request that breaks a rule::

    with locked(ledger, "ib:3f2a...", since_us=now_us - 600_500_000) as login:
        if judge(login.state) == 0:
            login.admit(at_us=now_us, weight=1, identity=digest(identity), series=digest(series))

Times are the budget's clock in integer microseconds since the epoch (every process on one login must pace on
the same clock: the wall clock on a real login, the gateway's clock on the offline gateway). A database that
cannot be reached raises :class:`PacingUnavailable`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from sdk.ledger.database import Ledger
from sdk.ledger.errors import LedgerError
from sdk.ledger.models import PacingLoginRow, PacingRequestRow

__all__ = ["LoginPacing", "PacedRequest", "PacingState", "PacingUnavailable", "digest", "locked", "read"]


class PacingUnavailable(LedgerError):
    """The shared pacing rows cannot be read or written (database unreachable, not migrated)."""


@dataclass(frozen=True, slots=True)
class PacedRequest:
    """One admitted request: when (µs), its weight, and hashes of its identity and series."""

    at_us: int
    weight: int
    identity: str
    series: str


@dataclass(frozen=True, slots=True)
class PacingState:
    """A login's pacing as stored: the hold after a violation (µs), strikes in a row, violations in all, and the
    requests admitted since the ``since_us`` the reader asked for, oldest first."""

    blocked_until_us: int
    strikes: int
    violations: int
    requests: tuple[PacedRequest, ...]


def digest(value: Hashable) -> str:
    """A stable SHA-256 hex of ``repr(value)``: the same request gives the same digest in every process.

    ``value`` must be built from ints, strings, bools and tuples of them (a request's identity or series), whose
    ``repr`` does not depend on the process.
    """
    return hashlib.sha256(repr(value).encode()).hexdigest()


class LoginPacing:
    """The locked row of one login inside its write transaction (from :func:`locked`)."""

    def __init__(self, conn: Connection, login: str, state: PacingState) -> None:
        self._conn = conn
        self.login = login
        self.state = state

    def admit(self, *, at_us: int, weight: int, identity: str, series: str) -> None:
        """Record a request as sent at ``at_us``."""
        self._conn.execute(
            insert(PacingRequestRow).values(
                login=self.login, at_us=at_us, weight=weight, identity=identity, series=series
            )
        )

    def hold(self, *, blocked_until_us: int, strikes: int, violation: bool) -> None:
        """Store the hold after a violation (or the reset after a success: ``strikes=0``, ``violation=False``)."""
        values: dict[str, object] = {"blocked_until_us": blocked_until_us, "strikes": strikes}
        if violation:
            values["violations"] = PacingLoginRow.violations + 1
        self._conn.execute(update(PacingLoginRow).where(PacingLoginRow.login == self.login).values(**values))


def _ensure_row(conn: Connection, login: str) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    fresh = {"login": login, "blocked_until_us": 0, "strikes": 0, "violations": 0}
    conn.execute(dialect.insert(PacingLoginRow).values(**fresh).on_conflict_do_nothing(index_elements=["login"]))


def _state(conn: Connection, login: str, since_us: int, *, lock: bool) -> PacingState:
    logins, requests = PacingLoginRow.__table__, PacingRequestRow.__table__
    query = select(logins).where(logins.c.login == login)
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    admitted = conn.execute(
        select(requests.c.at_us, requests.c.weight, requests.c.identity, requests.c.series)
        .where(requests.c.login == login, requests.c.at_us > since_us)
        .order_by(requests.c.at_us, requests.c.id)
    ).all()
    return PacingState(
        blocked_until_us=int(row["blocked_until_us"]) if row else 0,
        strikes=int(row["strikes"]) if row else 0,
        violations=int(row["violations"]) if row else 0,
        requests=tuple(PacedRequest(int(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in admitted),
    )


@contextmanager
def locked(ledger: Ledger, login: str, *, since_us: int) -> Iterator[LoginPacing]:
    """Lock ``login``'s row for one admission decision; commits when the block ends, rolls back on error.

    Rows at or before ``since_us`` are deleted first (they fell out of every window the caller judges by).

    Raises:
        PacingUnavailable: the database cannot be reached or has no pacing tables (``trader db upgrade``).
    """
    try:
        with ledger.write() as conn:
            _ensure_row(conn, login)
            conn.execute(
                delete(PacingRequestRow).where(PacingRequestRow.login == login, PacingRequestRow.at_us <= since_us)
            )
            yield LoginPacing(conn, login, _state(conn, login, since_us, lock=True))
    except SQLAlchemyError as exc:
        raise PacingUnavailable(
            f"the shared pacing budget in {ledger.masked_url} cannot be used ({type(exc).__name__}); "
            "check the database is reachable and migrated (trader db upgrade)"
        ) from exc


def read(ledger: Ledger, login: str, *, since_us: int = 0) -> PacingState:
    """``login``'s pacing as stored, without locking (for status pages and tests).

    Raises:
        PacingUnavailable: as :func:`locked`.
    """
    try:
        with ledger.read() as conn:
            return _state(conn, login, since_us, lock=False)
    except SQLAlchemyError as exc:
        raise PacingUnavailable(f"the shared pacing budget in {ledger.masked_url} cannot be read: {exc}") from exc
