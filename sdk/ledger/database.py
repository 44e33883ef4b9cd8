"""Opening the ledger: :func:`open_ledger` returns a :class:`Ledger` (an engine plus its URL, masked).

Every program opens the ledger through :func:`open_ledger`, which refuses a database that is not
migrated to the revision the code needs, with the command that fixes it::

    ledger = open_ledger(settings.database_url)   # LedgerNotMigrated: "... Run: trader db upgrade ..."
    writer = ledger.writer()
    run_id = writer.start_session(venue="IB", account="DU1234567", base_currency="AUD", mode="paper")
    rows = queries.equity_curve(ledger, since=...)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from sdk.ledger.engine import WRITE, create_ledger_engine
from sdk.ledger.migrate import check_migrated, resolve_url
from sdk.ledger.urls import mask_url, sqlite_path

if TYPE_CHECKING:
    from sdk.ledger.writer import LedgerWriter

__all__ = ["Ledger", "open_ledger"]


class Ledger:
    """The ledger database: an engine set up for it (:mod:`sdk.ledger.engine`) and its URL.

    Thread-safe (connections come from the engine's pool); one per process is enough. Use as a
    context manager, or call :meth:`close`, to release connections.
    """

    def __init__(self, url: URL, engine: Engine) -> None:
        self._url = url
        self.engine = engine

    @property
    def url(self) -> URL:
        """The normalised URL (``postgresql+psycopg://...`` or ``sqlite:///...``); never log it unmasked."""
        return self._url

    @property
    def masked_url(self) -> str:
        """The URL with its password replaced by ``***``, fit for logs and messages."""
        return mask_url(self._url)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction (one consistent snapshot on both engines)."""
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a write transaction, committed on success and rolled back on error.

        On SQLite it begins with ``BEGIN IMMEDIATE`` (the write lock is taken up front; a second
        writer waits up to :data:`sdk.ledger.engine.BUSY_TIMEOUT_MS`).
        """
        with self.engine.execution_options(**WRITE).begin() as connection:
            yield connection

    def writer(self, run_id: str | None = None) -> LedgerWriter:
        """A :class:`~sdk.ledger.writer.LedgerWriter` on this ledger, bound to ``run_id`` when given."""
        from sdk.ledger.writer import LedgerWriter

        return LedgerWriter(self, run_id=run_id)

    def close(self) -> None:
        """Close every pooled connection. Idempotent."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({self.masked_url!r})"


def open_ledger(
    url: str | URL | None = None, *, create_dirs: bool = True, check: bool = True, configured_url: bool = False
) -> Ledger:
    """Open the ledger at ``url`` (``DATABASE_URL`` from the environment when None).

    Args:
        url: ``sqlite:///path``, ``postgresql://...`` (normalised to psycopg 3) or
            ``postgresql+psycopg://...``.
        create_dirs: create the SQLite file's parent directory (``./data`` by default).
        check: refuse a database that is not at the code's migration head (leave True; the
            migration tooling itself passes False).
        configured_url: ``url`` is the configured ``DATABASE_URL`` (``settings.database_url``), so
            the fix to print is plain ``trader db upgrade``; otherwise it names ``--url``.

    Returns:
        A :class:`Ledger`. It holds no connection until used.

    Raises:
        LedgerInputError: ``url`` is not a URL of SQLite or PostgreSQL.
        LedgerNotMigrated: no ledger tables, or older ones; the message ends with the command that
            fixes it (``trader db upgrade``), the URL's password masked.
        LedgerTooNew: the database was migrated by a newer trader-sdk.
        LedgerError: the database cannot be reached (message with the URL masked).
    """
    parsed = resolve_url(url)
    path = sqlite_path(parsed)
    if path is not None and create_dirs:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_ledger_engine(parsed)
    if check:
        try:
            check_migrated(engine, parsed, explicit_url=url is not None and not configured_url)
        except BaseException:
            engine.dispose()
            raise
    return Ledger(parsed, engine)
