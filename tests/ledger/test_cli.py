"""`trader db upgrade | current | revision` through typer's CliRunner, on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sdk.cli import app
from sdk.cli.db import open_ledger_or_exit
from sdk.ledger import head_revision, normalise_url, open_ledger
from sdk.ledger.migrate import make_revision, upgrade_command

runner = CliRunner()
NO_ENV_FILE = ["--env-file", "/nonexistent/.env"]  # a developer's ./.env must not leak into the tests


def test_upgrade_and_current(empty_url: str) -> None:
    before = runner.invoke(app, [*NO_ENV_FILE, "db", "current", "--url", empty_url, "--check"])
    assert before.exit_code == 1
    assert "revision none" in before.output and "Run: trader db upgrade --url" in before.output

    first = runner.invoke(app, [*NO_ENV_FILE, "db", "upgrade", "--url", empty_url])
    assert first.exit_code == 0, first.output
    assert f"upgraded from an empty database to revision {head_revision()}" in first.output
    again = runner.invoke(app, [*NO_ENV_FILE, "db", "upgrade", "--url", empty_url])
    assert again.exit_code == 0 and "already at revision" in again.output

    after = runner.invoke(app, [*NO_ENV_FILE, "db", "current", "--url", empty_url, "--check"])
    assert after.exit_code == 0 and "up to date" in after.output
    with open_ledger(empty_url) as ledger:
        assert ledger.writer().start_session(venue="IB", base_currency="AUD", mode="paper", run_id="cli1") == "cli1"


def test_database_url_from_the_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nested/dir/trader.db"
    result = runner.invoke(app, [*NO_ENV_FILE, "db", "upgrade"], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "nested" / "dir" / "trader.db").is_file()
    current = runner.invoke(app, [*NO_ENV_FILE, "db", "current"], env={"DATABASE_URL": url})
    assert "up to date" in current.output


def test_errors_mask_the_password_and_exit_2() -> None:
    result = runner.invoke(app, [*NO_ENV_FILE, "db", "upgrade", "--url", "postgresql://me:pa55word@127.0.0.1:9/x"])
    assert result.exit_code == 2
    assert "pa55word" not in result.output and "me:***@127.0.0.1:9/x" in result.output


def test_programs_refuse_an_unmigrated_ledger_with_the_command(
    empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as info:
        open_ledger_or_exit(empty_url)
    assert info.value.exit_code == 2
    err = capsys.readouterr().err
    assert err.rstrip().endswith("Run: trader db upgrade")
    with pytest.raises(typer.Exit):
        open_ledger_or_exit(empty_url, configured=False)
    assert upgrade_command(normalise_url(empty_url)) in capsys.readouterr().err


def test_revision_autogenerates_nothing_when_models_match(ledger_url: str, tmp_path: Path) -> None:
    path = Path(make_revision("nothing to change", ledger_url, directory=tmp_path))
    script = path.read_text()
    assert path.parent == tmp_path
    assert f"down_revision: str | Sequence[str] | None = '{head_revision()}'" in script
    upgrade_body = script.split("def upgrade() -> None:")[1].split("def downgrade")[0]
    assert "pass" in upgrade_body and "op." not in upgrade_body
