"""Migrations: the models and the migrations agree, unmigrated databases are refused with the fix."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from sdk.ledger import (
    LedgerError,
    LedgerInputError,
    LedgerNotMigrated,
    LedgerTooNew,
    current_revision,
    head_revision,
    mask_url,
    normalise_url,
    open_ledger,
    upgrade,
)
from sdk.ledger.engine import WRITE, create_ledger_engine
from sdk.ledger.migrate import alembic_config
from sdk.ledger.models import Base

TABLES = {
    "sessions", "orders", "trades", "positions", "balances", "equity_snapshots", "market_data", "plans", "events",
}  # fmt: skip


def test_autogenerate_finds_nothing_after_upgrade(ledger_url: str) -> None:
    engine = create_ledger_engine(normalise_url(ledger_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
    assert TABLES <= tables


def test_autogenerate_would_notice_a_model_change(empty_url: str) -> None:
    """The comparison above can fail: an index missing from the database is reported."""
    upgrade(empty_url)
    engine = create_ledger_engine(normalise_url(empty_url))
    try:
        with engine.execution_options(**WRITE).begin() as conn:
            conn.execute(text("DROP INDEX ix_trades_timestamp"))
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert [d[0] for d in diff] == ["add_index"]


def test_unmigrated_database_is_refused_with_the_command(empty_url: str) -> None:
    if empty_url.startswith("sqlite"):
        # the file does not exist yet; looking must not create it
        path = Path(normalise_url(empty_url).database or "")
        with pytest.raises(LedgerNotMigrated) as info:
            open_ledger(empty_url)
        assert not path.exists()
        assert path.parent.is_dir(), "create_dirs makes ./data"
    else:
        with pytest.raises(LedgerNotMigrated) as info:
            open_ledger(empty_url)
    assert info.value.command == f"trader db upgrade --url {shlex.quote(mask_url(normalise_url(empty_url)))}"
    assert str(info.value).endswith(f"Run: {info.value.command}")
    assert info.value.current is None
    assert info.value.head == head_revision()


def test_the_configured_url_gets_the_plain_command(empty_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_url)
    with pytest.raises(LedgerNotMigrated) as info:
        open_ledger()
    assert info.value.command == "trader db upgrade"


@pytest.mark.postgres
def test_refusal_masks_the_password(postgres_database: str) -> None:
    # trust authentication ignores the password, so the URL works and still carries one
    url = postgres_database.replace("postgres@", "postgres:s3cr3t-pw@")
    with pytest.raises(LedgerNotMigrated) as info:
        open_ledger(url)
    assert "s3cr3t-pw" not in str(info.value)
    assert "postgres:***@" in str(info.value)
    assert "put the password back" in str(info.value)


def test_upgrade_then_open_then_downgrade_round_trip(empty_url: str) -> None:
    assert current_revision(empty_url) is None
    assert upgrade(empty_url) == head_revision()
    assert upgrade(empty_url) == head_revision()  # idempotent
    with open_ledger(empty_url) as ledger:
        assert ledger.writer().start_session(venue="IB", base_currency="AUD", mode="paper", run_id="r1") == "r1"
    engine = create_ledger_engine(normalise_url(empty_url))
    try:
        with engine.execution_options(**WRITE).begin() as conn:
            command.downgrade(alembic_config(conn), "base")
    finally:
        engine.dispose()
    with pytest.raises(LedgerNotMigrated, match="has no ledger tables"):
        open_ledger(empty_url)
    assert upgrade(empty_url) == head_revision()


def test_a_revision_from_newer_code_is_refused(empty_url: str) -> None:
    upgrade(empty_url)
    engine = create_ledger_engine(normalise_url(empty_url))
    try:
        with engine.execution_options(**WRITE).begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    finally:
        engine.dispose()
    with pytest.raises(LedgerTooNew, match="ffff_future"):
        open_ledger(empty_url)


def test_sqlite_connections_use_wal_busy_timeout_foreign_keys(sqlite_url: str) -> None:
    with open_ledger(sqlite_url) as ledger, ledger.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15_000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_unreachable_postgres_is_a_clear_error_without_the_password() -> None:
    # port 9 (discard) on loopback: nothing listens there
    with pytest.raises(LedgerError) as info:
        open_ledger("postgresql://trader:hunter22@127.0.0.1:9/trader")
    assert "hunter22" not in str(info.value)
    assert "cannot open the ledger at postgresql+psycopg://trader:***@127.0.0.1:9/trader" in str(info.value)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///./data/trader.db", "sqlite:///./data/trader.db"),
    ],
)
def test_urls_are_normalised_to_the_installed_drivers(given: str, expected: str) -> None:
    assert normalise_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("mysql://u:pw@h/db", "supports SQLite and PostgreSQL"),
        ("not a url", "not a database URL"),
        ("postgresql://u:pw@h", "names no database"),
    ],
)
def test_bad_urls_are_refused_with_an_example(given: str, problem: str) -> None:
    with pytest.raises(LedgerInputError, match=problem) as info:
        normalise_url(given)
    assert "pw" not in str(info.value).replace("postgresql", "")
    assert "Example:" in str(info.value)


def test_mask_url_hides_passwords_even_in_broken_urls() -> None:
    assert mask_url("postgresql://me:topsecret@db/x") == "postgresql://me:***@db/x"
    assert "topsecret" not in mask_url("weird://me:topsecret@")


SHARED_STATE_TABLES = {"kill_switch", "confirmation_tokens"}


def test_0004_adds_and_removes_the_shared_state_tables(empty_url: str) -> None:
    assert upgrade(empty_url, "0003") == "0003"
    engine = create_ledger_engine(normalise_url(empty_url))
    try:
        with engine.connect() as conn:
            assert not SHARED_STATE_TABLES & set(inspect(conn).get_table_names())
        assert upgrade(empty_url, "0004") == "0004"
        with engine.connect() as conn:
            assert SHARED_STATE_TABLES <= set(inspect(conn).get_table_names())
            assert {c["name"] for c in inspect(conn).get_columns("kill_switch")} == {
                "scope", "engaged", "changed_by", "changed_at", "reason",
            }  # fmt: skip
        with engine.execution_options(**WRITE).begin() as conn:
            command.downgrade(alembic_config(conn), "0003")
        with engine.connect() as conn:
            assert not SHARED_STATE_TABLES & set(inspect(conn).get_table_names())
            assert "decisions" in inspect(conn).get_table_names(), "0003's table stays"
    finally:
        engine.dispose()
    assert upgrade(empty_url) == head_revision() == "0005"


PACING_TABLES = {"pacing_logins", "pacing_requests"}


def test_0005_adds_and_removes_the_pacing_tables_and_token_claim_times(empty_url: str) -> None:
    assert upgrade(empty_url, "0004") == "0004"
    engine = create_ledger_engine(normalise_url(empty_url))
    try:
        with engine.connect() as conn:
            assert not PACING_TABLES & set(inspect(conn).get_table_names())
        assert upgrade(empty_url, "0005") == "0005"
        with engine.connect() as conn:
            assert PACING_TABLES <= set(inspect(conn).get_table_names())
            assert {c["name"] for c in inspect(conn).get_columns("pacing_requests")} == {
                "id", "login", "at_us", "weight", "identity", "series",
            }  # fmt: skip
            assert "claimed_at" in {c["name"] for c in inspect(conn).get_columns("confirmation_tokens")}
        with engine.execution_options(**WRITE).begin() as conn:
            command.downgrade(alembic_config(conn), "0004")
        with engine.connect() as conn:
            assert not PACING_TABLES & set(inspect(conn).get_table_names())
            assert "kill_switch" in inspect(conn).get_table_names(), "0004's table stays"
            assert "claimed_at" not in {c["name"] for c in inspect(conn).get_columns("confirmation_tokens")}
    finally:
        engine.dispose()
