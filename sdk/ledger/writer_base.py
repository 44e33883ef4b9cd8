"""What every part of :class:`~sdk.ledger.writer.LedgerWriter` shares: the bound run, defaults, write scopes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError, OperationalError

from sdk.ledger.errors import LedgerError, LedgerInputError
from sdk.ledger.models import SessionRow
from sdk.ledger.values import masked_account, require_text
from sdk.redaction import redact

if TYPE_CHECKING:
    from sdk.ledger.database import Ledger

__all__ = ["SessionContext", "WriterBase"]


@dataclass(frozen=True, slots=True)
class SessionContext:
    """What a run's rows default to: its venue, masked account, base currency and mode."""

    run_id: str
    venue: str
    account: str
    base_currency: str
    mode: str
    program: str | None


def _first_line(exc: BaseException) -> str:
    text = redact(str(getattr(exc, "orig", None) or exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class WriterBase:
    """The ledger, the run a writer is bound to, and how rows find their run, venue and account."""

    def __init__(self, ledger: Ledger, *, run_id: str | None = None) -> None:
        self.ledger = ledger
        self._run_id = run_id
        self._contexts: dict[str, SessionContext] = {}
        self._lock = threading.Lock()
        #: ``(lease holder id, IB clientId)`` of this process, stamped on orders it first records (None: unknown).
        self.sender: tuple[str, int | None] | None = None

    @property
    def run_id(self) -> str | None:
        """The run this writer is bound to (set by :meth:`start_session`), or None."""
        return self._run_id

    def session(self, run_id: str | None = None) -> SessionContext | None:
        """The context of ``run_id`` (default: the bound run), read from the ledger once; None when unbound.

        Raises:
            LedgerInputError: ``run_id`` is not in the ledger.
        """
        rid = run_id or self._run_id
        if rid is None:
            return None
        with self._lock:
            cached = self._contexts.get(rid)
        if cached is not None:
            return cached
        with self.ledger.read() as conn:
            row = conn.execute(select(SessionRow).where(SessionRow.run_id == rid)).mappings().first()
        if row is None:
            raise LedgerInputError(f"run {rid!r} is not in the ledger; call start_session first")
        context = SessionContext(rid, row["venue"], row["account"], row["base_currency"], row["mode"], row["program"])
        with self._lock:
            self._contexts[rid] = context
        return context

    def _target(
        self, venue: str | None, account: str | None, run_id: str | None, what: str
    ) -> tuple[SessionContext | None, str, str]:
        context = self.session(run_id)
        venue = venue or (context.venue if context else None)
        if not venue:
            raise LedgerInputError(f"{what} needs a venue: call start_session(...) first or pass venue=...")
        require_text(venue, "venue", max_length=32)
        if account is None:
            account = context.account if context is not None and context.venue == venue else ""
        return context, venue, masked_account(account)

    def _run_context(self, run_id: str | None, what: str) -> SessionContext:
        context = self.session(run_id)
        if context is None:
            raise LedgerInputError(f"{what} belongs to a run: call start_session(...) first or pass run_id=...")
        return context

    def _shadow(self, shadow: bool | None, context: SessionContext | None) -> bool:
        if shadow is not None:
            if not isinstance(shadow, bool):
                raise LedgerInputError(f"shadow must be True or False, not {shadow!r}")
            return shadow
        return context is not None and context.mode == "shadow"

    # --- plumbing ---------------------------------------------------------------------------
    @contextmanager
    def _write(
        self, what: str, conflict: str = "it conflicts with a row already in the ledger"
    ) -> Iterator[Connection]:
        """A write transaction whose database errors become ledger errors that say what failed."""
        try:
            with self.ledger.write() as conn:
                yield conn
        except IntegrityError as exc:
            raise LedgerInputError(f"cannot record {what}: {conflict} ({_first_line(exc)})") from None
        except OperationalError as exc:
            raise LedgerError(
                f"cannot write {what} to the ledger at {self.ledger.masked_url}: {_first_line(exc)}"
            ) from None
