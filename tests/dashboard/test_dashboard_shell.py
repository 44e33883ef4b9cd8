"""The shell around the pages: first run, unmigrated and unusable databases, caching, and no writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_helpers import metrics, page_text
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import DBAPIError

from sdk.ledger import open_ledger
from sdk.ledger.models import Base

RunApp = Callable[..., Any]
PAGES = [
    "account.py", "positions.py", "orders.py", "equity.py", "costs.py", "status.py", "agents.py", "backtests.py",
]  # fmt: skip


def test_empty_ledger_shows_the_first_run_page(empty_url: str, run_app: RunApp) -> None:
    app = run_app(empty_url)
    assert [t.value for t in app.title] == ["Welcome to trader-sdk"]
    assert [c.value for c in app.code] == ["make demo"]
    assert "is empty" in app.info[0].value


def test_unmigrated_database_shows_the_migration_command(unmigrated_url: str, run_app: RunApp) -> None:
    app = run_app(unmigrated_url)
    assert [t.value for t in app.title] == ["Migrate the ledger"]
    assert [c.value for c in app.code] == ["trader db upgrade"]
    assert "Run: trader db upgrade" in app.error[0].value
    if unmigrated_url.startswith("sqlite"):
        assert "does not exist yet" in app.error[0].value
        assert not Path(unmigrated_url.removeprefix("sqlite:///")).exists()  # reading never creates the file
    else:
        assert "has no ledger tables" in app.error[0].value


def test_unusable_database_url_says_what_is_wrong(run_app: RunApp) -> None:
    app = run_app("mysql://trader:hunter2@127.0.0.1/trader")
    assert [t.value for t in app.title] == ["Ledger unavailable"]
    assert "supports SQLite and PostgreSQL" in app.error[0].value
    assert "hunter2" not in page_text(app)


def test_bad_settings_show_the_variable(run_app: RunApp, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IB_BASE_CURRENCY", "aud")
    app = run_app(f"sqlite:///{tmp_path}/trader.db")
    assert [t.value for t in app.title] == ["Settings"]
    assert "IB_BASE_CURRENCY" in app.error[0].value and "Example: IB_BASE_CURRENCY=AUD" in app.error[0].value


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine sends while the test runs."""
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", capture)
    yield seen
    event.remove(Engine, "before_cursor_execute", capture)


def _fingerprint(url: str) -> dict[str, tuple[int, Any]]:
    with open_ledger(url) as ledger, ledger.read() as conn:
        return {
            table.name: (conn.execute(select(func.count()).select_from(table)).scalar_one(), max_key)
            for table in Base.metadata.sorted_tables
            for max_key in [conn.execute(select(func.max(next(iter(table.primary_key.columns))))).scalar_one()]
        }


def test_pages_issue_only_reads(seeded_url: str, run_app: RunApp, statements: list[str]) -> None:
    before = _fingerprint(seeded_url)
    statements.clear()
    app = run_app(seeded_url)
    for page in PAGES[1:]:
        app.switch_page(f"app_pages/{page}").run()
        assert not app.exception
    assert len(statements) > 20
    writes = [s for s in statements if not s.upper().startswith(("SELECT", "PRAGMA", "SHOW", "WITH"))]
    assert writes == []
    assert _fingerprint(seeded_url) == before


def test_reads_are_cached_until_refreshed(empty_url: str, run_app: RunApp) -> None:
    with open_ledger(empty_url) as ledger:
        writer = ledger.writer()
        writer.start_session(venue="IB", account="DU7654321", base_currency="AUD", mode="paper", run_id="cache1")
        writer.record_equity(50_000, timestamp=1_763_683_200_000)
        app = run_app(empty_url)
        assert metrics(app)["Equity (NetLiquidation)"][0] == "50,000.00 AUD"
        writer.record_equity(50_500, timestamp=1_763_686_800_000)
        app.run()
        assert metrics(app)["Equity (NetLiquidation)"][0] == "50,000.00 AUD"  # within the TTL: the cached read
        app.sidebar.button[0].click().run()  # "Refresh now"
        assert metrics(app)["Equity (NetLiquidation)"][0] == "50,500.00 AUD"
        assert metrics(app)["PnL on 2025-11-21"][0] == "+500.00 AUD"


def test_the_dashboard_engine_cannot_write(empty_url: str) -> None:
    from dashboard.logic.readonly import open_readonly_ledger

    with open_readonly_ledger(empty_url) as ledger, ledger.read() as conn:
        with pytest.raises(DBAPIError, match=r"readonly database|read-only transaction"):
            conn.execute(text("INSERT INTO events (timestamp, kind) VALUES (1, 'tampered')"))
    with open_ledger(empty_url) as ledger, ledger.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 0
