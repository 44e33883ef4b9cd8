"""Alembic environment of the ledger, configured in code by :mod:`sdk.ledger.migrate` (no alembic.ini).

Online: ``sdk.ledger.migrate`` passes an open connection (in a transaction, with the ledger's SQLite
pragmas) as ``config.attributes["connection"]``. Offline (``--sql``): the URL comes from the
``sqlalchemy.url`` main option. SQLite gets batch mode so later ALTERs work there too.
"""

from __future__ import annotations

from alembic import context

from sdk.ledger.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through sdk.ledger.migrate (trader db upgrade), which passes a connection")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
