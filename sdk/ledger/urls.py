"""``DATABASE_URL`` handling: normalise the driver, mask the password, find the SQLite file.

Accepted forms (the ledger's two engines):

* ``sqlite:///./data/trader.db`` (relative to the working directory), ``sqlite:////abs/path.db``;
* ``postgresql://user@host:5432/db``, ``postgres://...`` (both become ``postgresql+psycopg://``,
  the psycopg 3 driver the project installs), ``postgresql+psycopg://...``.

Anything else raises :class:`~sdk.ledger.errors.LedgerInputError` naming the problem and an example.
A URL is only ever shown masked (``postgresql+psycopg://trader:***@db.local/trader``).
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from sdk.ledger.errors import LedgerInputError

__all__ = ["is_sqlite", "mask_url", "normalise_url", "sqlite_path"]

_EXAMPLES = "sqlite:///./data/trader.db or postgresql://postgres@127.0.0.1:5432/trader"
_POSTGRES_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg"}
_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}
_PASSWORD_IN_TEXT = re.compile(r"(?P<head>://[^:/@\s]*:)(?P<password>[^@\s]*)(?P<tail>@)")


def mask_url(url: str | URL) -> str:
    """The URL with its password replaced by ``***``; works on text that is not a valid URL too."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _PASSWORD_IN_TEXT.sub(r"\g<head>***\g<tail>", url)


def normalise_url(url: str | URL) -> URL:
    """Parse ``url`` and pick the driver the ledger uses for it.

    Returns:
        A SQLAlchemy :class:`~sqlalchemy.engine.URL`: ``postgresql+psycopg`` for any PostgreSQL
        spelling, ``sqlite`` (pysqlite) for a SQLite file.

    Raises:
        LedgerInputError: not a URL, another database, or SQLite in memory (each connection would
            see its own empty database, so the ledger would lose every row).
    """
    try:
        parsed = url if isinstance(url, URL) else make_url(url.strip())
    except (ArgumentError, ValueError):
        raise LedgerInputError(
            f"DATABASE_URL: {mask_url(str(url))!r} is not a database URL. Example: {_EXAMPLES}"
        ) from None
    driver = parsed.drivername
    if driver in _POSTGRES_DRIVERS:
        if not parsed.database:
            raise LedgerInputError(
                f"DATABASE_URL: {mask_url(parsed)!r} names no database. "
                "Example: postgresql://postgres@127.0.0.1:5432/trader"
            )
        return parsed.set(drivername="postgresql+psycopg")
    if driver in _SQLITE_DRIVERS:
        if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file::memory:"):
            raise LedgerInputError(
                f"DATABASE_URL: {mask_url(parsed)!r} is an in-memory SQLite database, which every "
                "connection sees empty; give a file path. Example: sqlite:///./data/trader.db"
            )
        return parsed.set(drivername="sqlite")
    raise LedgerInputError(
        f"DATABASE_URL: {mask_url(parsed)!r} uses {driver!r}; the ledger supports SQLite and "
        f"PostgreSQL (psycopg 3). Example: {_EXAMPLES}"
    )


def is_sqlite(url: URL) -> bool:
    """True for a SQLite URL (after :func:`normalise_url`)."""
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL (relative paths stay relative to the working directory)."""
    if not is_sqlite(url) or not url.database:
        return None
    return Path(url.database)
