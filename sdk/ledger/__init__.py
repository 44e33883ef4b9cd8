"""The SQL ledger: what was ordered, filled, paid and held, in which currency, and why.

One source of truth for the runner, the MCP server and the dashboard, on SQLite (one trader on a
laptop) or PostgreSQL (a desk). Open it with :func:`open_ledger` (which refuses an unmigrated
database with the command that fixes it), write through :class:`LedgerWriter`
(``ledger.writer()``), read through :mod:`sdk.ledger.queries`. Migrations: :func:`upgrade`
(``trader db upgrade``). Design notes: ``docs/ledger.md`` and
``docs/decisions/0001-currency-in-the-ledger.md``.
"""

from __future__ import annotations

from sdk.ledger.audit import EventKind
from sdk.ledger.database import Ledger, open_ledger
from sdk.ledger.errors import LedgerError, LedgerInputError, LedgerNotMigrated, LedgerTooNew
from sdk.ledger.migrate import current_revision, head_revision, upgrade
from sdk.ledger.provenance import config_hash, git_sha, session_fields
from sdk.ledger.urls import mask_url, normalise_url
from sdk.ledger.writer import LedgerWriter

__all__ = [
    "EventKind",
    "Ledger",
    "LedgerError",
    "LedgerInputError",
    "LedgerNotMigrated",
    "LedgerTooNew",
    "LedgerWriter",
    "config_hash",
    "current_revision",
    "git_sha",
    "head_revision",
    "mask_url",
    "normalise_url",
    "open_ledger",
    "session_fields",
    "upgrade",
]
