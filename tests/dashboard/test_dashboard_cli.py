"""`trader dashboard` through typer's CliRunner: options and refusals (serving: test_dashboard_browser.py)."""

from __future__ import annotations

from typer.testing import CliRunner

from dashboard.cli import APP_SCRIPT, streamlit_command
from sdk.cli import app

runner = CliRunner()
NO_ENV_FILE = ["--env-file", "/nonexistent/.env"]


def test_help_names_the_options() -> None:
    result = runner.invoke(app, [*NO_ENV_FILE, "dashboard", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output and "--address" in result.output and "8501" in result.output
    assert "127.0.0.1" in result.output


def test_a_database_url_that_is_no_ledger_is_refused_before_starting() -> None:
    result = runner.invoke(app, [*NO_ENV_FILE, "dashboard"], env={"DATABASE_URL": "mysql://u:hunter2@db/trader"})
    assert result.exit_code == 2
    assert "supports SQLite and PostgreSQL" in result.output and "hunter2" not in result.output


def test_a_port_out_of_range_is_refused() -> None:
    result = runner.invoke(app, [*NO_ENV_FILE, "dashboard", "--port", "70000"])
    assert result.exit_code == 2 and "65535" in result.output


def test_streamlit_runs_the_app_headless_on_the_given_address() -> None:
    argv = streamlit_command("127.0.0.1", 8600, python="/venv/bin/python")
    assert argv[:5] == ["/venv/bin/python", "-m", "streamlit", "run", str(APP_SCRIPT)]
    options = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert options["--server.headless"] == "true" and options["--browser.gatherUsageStats"] == "false"
    assert options["--server.address"] == "127.0.0.1" and options["--server.port"] == "8600"
    assert APP_SCRIPT.is_file()
