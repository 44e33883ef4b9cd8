"""Confirmation tokens as ledger rows, so every MCP server process on one ledger honours the same token once.

A token's row (:class:`~sdk.ledger.models.ConfirmationTokenRow`, keyed by the token's SHA-256: the token itself
is never stored) holds the order it stands for, its state (``issued`` -> ``placing`` -> ``placed``) and when it
expires on the **database's** clock. Claiming it for placing is one conditional ``UPDATE`` in a write
transaction (PostgreSQL's row lock, SQLite's single writer), so of two processes redeeming one token exactly one
wins, and a spent token is refused everywhere.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from sdk.ledger.database import Ledger
from sdk.ledger.errors import LedgerError
from sdk.ledger.leases import db_now_ms
from sdk.ledger.models import ConfirmationTokenRow

__all__ = ["PLACING_TIMEOUT_MS", "TokenRowError", "claim", "issue", "now_ms", "set_state", "token_hash"]

_T = ConfirmationTokenRow


class TokenRowError(LedgerError):
    """The token rows cannot be read or written (database unreachable): refuse to place; say why."""


def token_hash(token: str) -> str:
    """The key a token is stored under: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def _guard(ledger: Ledger, what: str, exc: SQLAlchemyError) -> TokenRowError:
    return TokenRowError(
        f"cannot {what} on the ledger {ledger.masked_url} ({type(exc).__name__}); no order is placed. "
        "Check that the database is reachable and migrated (trader db upgrade), then preview again"
    )


def now_ms(ledger: Ledger) -> int:
    """The database's clock, ms UTC."""
    try:
        with ledger.read() as conn:
            return int(conn.execute(select(db_now_ms(conn))).scalar_one())
    except SQLAlchemyError as exc:
        raise _guard(ledger, "read the clock", exc) from None


def issue(
    ledger: Ledger, token: str, *, client_order_id: str, intent: dict[str, Any], warnings: list[str], ttl_ms: int,
    issued_by: str,
) -> int:  # fmt: skip
    """Store a fresh token, valid ``ttl_ms`` from the database's now; returns its expiry (database clock, ms)."""
    try:
        with ledger.write() as conn:
            now = db_now_ms(conn)
            conn.execute(
                insert(_T).values(
                    token_hash=token_hash(token),
                    client_order_id=client_order_id,
                    intent=intent,
                    warnings=warnings,
                    state="issued",
                    submitted=False,
                    issued_at=now,
                    expires_at=now + ttl_ms,
                    issued_by=issued_by,
                )
            )
            return int(conn.execute(select(_T.expires_at).where(_T.token_hash == token_hash(token))).scalar_one())
    except SQLAlchemyError as exc:
        raise _guard(ledger, "issue a confirmation token", exc) from None


def _row(conn: Connection, key: str) -> dict[str, Any] | None:
    row = conn.execute(select(_T.__table__, db_now_ms(conn).label("now")).where(_T.token_hash == key)).mappings()
    first = row.first()
    return dict(first) if first is not None else None


#: Milliseconds after which a claim for placing that never finished is taken to be a dead process's: the token may
#: be claimed again. Far beyond any venue's acknowledgement (IB's is seconds); safe because a retried placing
#: answers from the order's client order id and never sends it twice.
PLACING_TIMEOUT_MS = 300_000


def claim(
    ledger: Ledger, token: str, *, placing_timeout_ms: int = PLACING_TIMEOUT_MS
) -> tuple[bool, dict[str, Any] | None]:
    """Claim ``token`` for placing: ``(True, row)`` when this call won it (issued, and submitted before or not
    yet expired; or claimed for placing more than ``placing_timeout_ms`` ago by a process that never finished),
    else ``(False, row)`` with the row as it is (None: never issued) for the caller to say why."""
    key = token_hash(token)
    try:
        with ledger.write() as conn:
            now = db_now_ms(conn)
            claimable = (_T.state == "issued") & (_T.submitted.is_(True) | (_T.expires_at > now))
            abandoned = (_T.state == "placing") & (
                _T.claimed_at.is_(None) | (_T.claimed_at <= now - placing_timeout_ms)
            )
            done = conn.execute(
                update(_T)
                .where(_T.token_hash == key, claimable | abandoned)
                .values(state="placing", submitted=True, claimed_at=now)
            )
            return done.rowcount == 1, _row(conn, key)
    except SQLAlchemyError as exc:
        raise _guard(ledger, "claim a confirmation token", exc) from None


def set_state(
    ledger: Ledger, token: str, state: str, *, submitted: bool | None = None, result: dict[str, Any] | None = None
) -> None:
    """Move ``token`` to ``state`` (``issued`` again after a retryable failure, ``placed`` when spent)."""
    values: dict[str, Any] = {"state": state}
    if submitted is not None:
        values["submitted"] = submitted
    if result is not None:
        values["result"] = result
    try:
        with ledger.write() as conn:
            conn.execute(update(_T).where(_T.token_hash == token_hash(token)).values(**values))
    except SQLAlchemyError as exc:
        raise _guard(ledger, "update a confirmation token", exc) from None
