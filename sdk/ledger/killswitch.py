"""The kill switch as a ledger row: every process on one ledger stops opening positions while it is engaged.

One row of ``kill_switch`` per scope (``global``): engaged or released, by whom, when (the database's clock, ms
UTC) and why. Every process reads it before each opening order (:func:`status`); exits still go, so a stop
still protects a position::

    engage(ledger, by="alice@desk", reason="bad fills on BHP")   # trader killswitch on --reason ...
    status(ledger).engaged                                        # True in every process on this ledger
    release(ledger, by="alice@desk")                              # trader killswitch off

A row that cannot be read, or a database that cannot be reached, raises :class:`KillSwitchUnreadable`: the
caller refuses to open positions and says why (never trades on a guess).
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from sdk.ledger.database import Ledger
from sdk.ledger.errors import LedgerError
from sdk.ledger.leases import db_now_ms
from sdk.ledger.models import KillSwitchRow

__all__ = ["GLOBAL", "KillSwitch", "KillSwitchUnreadable", "default_actor", "engage", "release", "status"]

GLOBAL = "global"


class KillSwitchUnreadable(LedgerError):
    """The kill switch cannot be read (database unreachable or not migrated, row unreadable): refuse to open."""


@dataclass(frozen=True, slots=True)
class KillSwitch:
    """The switch as the ledger has it; ``changed_at`` in ms UTC on the database's clock (None: never set)."""

    engaged: bool
    changed_by: str | None = None
    changed_at: int | None = None
    reason: str | None = None
    scope: str = GLOBAL

    def describe(self) -> str:
        """``engaged by alice@desk at 2026-12-08T01:02:03Z: bad fills`` (or ``released ...``, ``never engaged``)."""
        if self.changed_at is None:
            return "never engaged"
        when = datetime.fromtimestamp(self.changed_at / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        why = f": {self.reason}" if self.reason else ""
        return f"{'engaged' if self.engaged else 'released'} by {self.changed_by} at {when}{why}"


def default_actor() -> str:
    """``user@host``: who changes the switch from this process when nobody says."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container): the host still says where
        user = "unknown"
    return f"{user}@{socket.gethostname()}"[:255]


def _unreadable(ledger: Ledger, what: str, exc: BaseException) -> KillSwitchUnreadable:
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return KillSwitchUnreadable(
        f"cannot {what} the kill switch on the ledger {ledger.masked_url} ({type(exc).__name__}: {first}); "
        "refusing to open positions until it can be read. Check that the database is reachable and migrated "
        "(trader db upgrade), then trader killswitch status"
    )


def status(ledger: Ledger, scope: str = GLOBAL) -> KillSwitch:
    """The switch now (released when it was never set).

    Raises:
        KillSwitchUnreadable: the database cannot be reached, is not migrated, or the row is unreadable.
    """
    try:
        with ledger.read() as conn:
            row = conn.execute(select(KillSwitchRow.__table__).where(KillSwitchRow.scope == scope)).mappings().first()
    except SQLAlchemyError as exc:
        raise _unreadable(ledger, "read", exc) from None
    if row is None:
        return KillSwitch(False, scope=scope)
    engaged = row["engaged"]
    if not isinstance(engaged, bool | int) or engaged not in (0, 1, True, False):
        raise KillSwitchUnreadable(
            f"the kill switch row {scope!r} has engaged={engaged!r}, neither true nor false; refusing to open "
            "positions. Set it again: trader killswitch on|off"
        )
    try:
        changed_at = int(row["changed_at"])
    except (TypeError, ValueError):
        raise KillSwitchUnreadable(
            f"the kill switch row {scope!r} has changed_at={row['changed_at']!r}; refusing to open positions. "
            "Set it again: trader killswitch on|off"
        ) from None
    return KillSwitch(bool(engaged), str(row["changed_by"]), changed_at, row["reason"], scope)


def _set(ledger: Ledger, engaged: bool, by: str, reason: str | None, scope: str) -> KillSwitch:
    values = {"engaged": engaged, "changed_by": by[:255], "reason": reason}
    for attempt in (1, 2):  # two first-time writers can both miss the row: the loser's insert fails, it updates
        try:
            with ledger.write() as conn:
                now = db_now_ms(conn)
                done = conn.execute(
                    update(KillSwitchRow).where(KillSwitchRow.scope == scope).values(changed_at=now, **values)
                )
                if done.rowcount != 1:
                    conn.execute(insert(KillSwitchRow).values(scope=scope, changed_at=now, **values))
            break
        except IntegrityError:
            if attempt == 2:
                raise _unreadable(ledger, "set", RuntimeError("the kill switch row kept changing")) from None
        except SQLAlchemyError as exc:
            raise _unreadable(ledger, "set", exc) from None
    return status(ledger, scope)


def engage(ledger: Ledger, *, by: str | None = None, reason: str | None = None, scope: str = GLOBAL) -> KillSwitch:
    """Engage the switch: from the next order on, no process on this ledger opens a position.

    Raises:
        KillSwitchUnreadable: the database cannot be reached (the switch is then NOT engaged: say so).
    """
    return _set(ledger, True, by or default_actor(), reason, scope)


def release(ledger: Ledger, *, by: str | None = None, reason: str | None = None, scope: str = GLOBAL) -> KillSwitch:
    """Release the switch: opening orders are checked by the RiskManager again.

    Raises:
        KillSwitchUnreadable: the database cannot be reached.
    """
    return _set(ledger, False, by or default_actor(), reason, scope)
