"""Errors of the ledger: bad input, and a database that cannot be used as it is.

None of these is a ccxt error: they need a person (or the calling code) to change something, and
retrying the same call will not help. Every message says what was wrong and what to do instead;
none contains a password or a full account number.
"""

from __future__ import annotations

__all__ = ["LedgerError", "LedgerInputError", "LedgerNotMigrated", "LedgerTooNew"]


class LedgerError(Exception):
    """The ledger cannot do what was asked; the message says why and what to do."""


class LedgerInputError(LedgerError, ValueError):
    """A record handed to the ledger is malformed (missing key, bad value); nothing was written."""


class LedgerNotMigrated(LedgerError):
    """The database has no ledger tables yet, or an older revision of them.

    Attributes:
        command: the exact shell command that fixes it (``trader db upgrade``, with ``--url``
            and the URL, password masked, when the URL was not the configured ``DATABASE_URL``).
        current: the database's revision (None: never migrated).
        head: the revision this code needs.
    """

    def __init__(self, message: str, *, command: str, current: str | None, head: str) -> None:
        super().__init__(message)
        self.command = command
        self.current = current
        self.head = head


class LedgerTooNew(LedgerError):
    """The database was migrated by a newer trader-sdk than this one; upgrade the code, not the database."""
