"""Alembic migrations of the ledger, driven from code (there is no ``alembic.ini``).

The migration scripts live in ``migrations/`` at the top of the source tree (``env.py`` and
``versions/``). :func:`upgrade` is what ``trader db upgrade`` runs; :func:`check_migrated` is what
:func:`sdk.ledger.open_ledger` runs so that every program refuses an unmigrated database with the
command that fixes it.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, column, inspect, select, table
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import SQLAlchemyError as _SQLAlchemyError

from sdk.ledger.engine import WRITE, create_ledger_engine
from sdk.ledger.errors import LedgerError, LedgerNotMigrated, LedgerTooNew
from sdk.ledger.urls import is_sqlite, mask_url, normalise_url, sqlite_path
from sdk.redaction import redact

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "check_migrated",
    "current_revision",
    "head_revision",
    "make_revision",
    "resolve_url",
    "upgrade",
    "upgrade_command",
]

#: ``migrations/`` of the source tree (the project is installed editable: ``pip install -e .``).
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def resolve_url(url: str | URL | None) -> URL:
    """``url`` normalised, or ``DATABASE_URL`` from the settings (environment) when None."""
    if url is None:
        from sdk.settings import load_settings

        url = load_settings().database_url
    return normalise_url(url)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic :class:`~alembic.config.Config` built in code, pointing at :data:`MIGRATIONS_DIR`.

    ``connection`` (in a transaction) is handed to ``migrations/env.py`` through
    ``config.attributes["connection"]``; the URL never passes through an ini file.

    Raises:
        LedgerError: ``migrations/`` is missing (trader-sdk installed without its source tree).
    """
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise LedgerError(
            f"the ledger's migrations are not at {MIGRATIONS_DIR}; install trader-sdk from its source "
            "tree (pip install -e .) so that migrations/ is beside sdk/"
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision this code needs (the newest script in ``migrations/versions``)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise LedgerError(f"no migration scripts in {MIGRATIONS_DIR / 'versions'}")
    return head


def _connect_error(url: URL, exc: BaseException) -> LedgerError:
    detail = redact(str(getattr(exc, "orig", None) or exc), extra_secrets=[url.password or ""]).strip()
    return LedgerError(
        f"cannot open the ledger at {mask_url(url)}: {detail.splitlines()[0] if detail else type(exc).__name__}. "
        "Check DATABASE_URL (is the server running, does the database exist?)"
    )


_VERSION_TABLE = table("alembic_version", column("version_num"))


def _revision(connection: Connection) -> str | None:
    """The revision in Alembic's version table (read directly: MigrationContext logs at INFO on every open)."""
    if not inspect(connection).has_table(_VERSION_TABLE.name):
        return None
    versions = connection.execute(select(_VERSION_TABLE.c.version_num)).scalars().all()
    if len(versions) > 1:
        raise LedgerError(f"the ledger has several migration heads {sorted(versions)}; merge them (alembic merge)")
    return versions[0] if versions else None


def current_revision(url: str | URL | None = None) -> str | None:
    """The database's Alembic revision; None when it was never migrated (or the SQLite file is absent).

    Args:
        url: a ``DATABASE_URL``; None reads it from the settings.

    Raises:
        LedgerError: the database cannot be reached (message with the URL masked).
    """
    parsed = resolve_url(url)
    path = sqlite_path(parsed)
    if path is not None and not path.exists():
        return None  # do not create an empty file just to look
    engine = create_ledger_engine(parsed)
    try:
        with engine.connect() as connection:
            return _revision(connection)
    except OperationalError as exc:
        raise _connect_error(parsed, exc) from None
    finally:
        engine.dispose()


def upgrade(url: str | URL | None = None, revision: str = "head", *, create_dirs: bool = True) -> str | None:
    """Migrate the ledger at ``url`` to ``revision`` (what ``trader db upgrade`` runs).

    Creates the SQLite file (and its directory when ``create_dirs``). Runs in one transaction on
    both engines: a failed migration leaves the database as it was.

    Returns:
        The database's revision afterwards.

    Raises:
        LedgerError: the database cannot be reached, or Alembic refused (unknown revision).
    """
    parsed = resolve_url(url)
    path = sqlite_path(parsed)
    if path is not None and create_dirs:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_ledger_engine(parsed)
    try:
        with engine.execution_options(**WRITE).begin() as connection:
            command.upgrade(alembic_config(connection), revision)
        with engine.connect() as connection:
            return _revision(connection)
    except OperationalError as exc:
        raise _connect_error(parsed, exc) from None
    except CommandError as exc:
        raise LedgerError(f"cannot upgrade the ledger at {mask_url(parsed)} to {revision!r}: {exc}") from None
    finally:
        engine.dispose()


def make_revision(message: str, url: str | URL | None = None, *, directory: Path | None = None) -> str:
    """Write a new migration script autogenerated from the models' difference with the database at ``url``.

    The database must be at head already (``trader db upgrade``). For developers changing
    :mod:`sdk.ledger.models`.

    Args:
        directory: where to write the script (default ``migrations/versions``).

    Returns:
        The path of the new script.
    """
    parsed = resolve_url(url)
    engine = create_ledger_engine(parsed)
    try:
        with engine.execution_options(**WRITE).begin() as connection:
            config = alembic_config(connection)
            if directory is not None:
                config.set_main_option("version_locations", f"{MIGRATIONS_DIR / 'versions'}{os.pathsep}{directory}")
            script = command.revision(
                config,
                message=message,
                autogenerate=True,
                version_path=str(directory) if directory is not None else None,
            )
    except CommandError as exc:
        raise LedgerError(f"cannot autogenerate a revision against {mask_url(parsed)}: {exc}") from None
    finally:
        engine.dispose()
    scripts = script if isinstance(script, list) else [script]
    return ", ".join(str(s.path) for s in scripts if s is not None)


def upgrade_command(url: URL | None) -> str:
    """The shell command that migrates ``url``: ``trader db upgrade``, with ``--url`` for an explicit URL."""
    if url is None:
        return "trader db upgrade"
    return f"trader db upgrade --url {shlex.quote(mask_url(url))}"


def check_migrated(engine: Engine, url: URL, *, explicit_url: bool = True) -> str:
    """Raise unless the database behind ``engine`` is at the revision this code needs.

    Returns:
        The (head) revision.

    Raises:
        LedgerNotMigrated: never migrated, or an older revision; the message ends with the command
            that fixes it (``trader db upgrade``), the URL masked.
        LedgerTooNew: a revision this code does not know (a newer trader-sdk migrated it).
        LedgerError: the database cannot be reached.
    """
    head = head_revision()
    path = sqlite_path(url)
    absent = path is not None and not path.exists()
    current = None
    if not absent:  # looking must not create an empty SQLite file
        try:
            with engine.connect() as connection:
                current = _revision(connection)
        except _SQLAlchemyError as exc:
            raise _connect_error(url, exc) from None
    if current == head:
        return head
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise LedgerTooNew(
            f"the ledger at {mask_url(url)} is at revision {current!r}, which this trader-sdk does not know "
            f"(it needs {head!r}); a newer trader-sdk migrated it. Upgrade trader-sdk (git pull; pip install -e .)."
        )
    fix = upgrade_command(url if explicit_url else None)
    masked_password = url.password is not None and explicit_url
    if absent:
        state = "does not exist yet"
    elif current is None:
        state = "has no ledger tables"
    else:
        state = f"is at revision {current!r}, older than {head!r}"
    where = f"SQLite file {sqlite_path(url)}" if is_sqlite(url) else mask_url(url)
    hint = " (put the password back in place of ***)" if masked_password else ""
    raise LedgerNotMigrated(f"the ledger at {where} {state}. Run: {fix}{hint}", command=fix, current=current, head=head)
