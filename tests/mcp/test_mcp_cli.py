"""``trader mcp`` refuses bad set-ups at start with the fix, before any connection."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdk.cli import app


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def run(*args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--env-file", "/nonexistent.env", "mcp", *args], env=env)
    return result.exit_code, result.output


def test_help_names_the_transports_the_token_and_the_clock() -> None:
    code, output = run("--help")
    assert code == 0
    for word in ("--transport", "stdio", "http", "MCP_HTTP_TOKEN", "MCP_TRADING_ENABLED", "--clock"):
        assert word in output


def test_http_without_a_token_is_refused() -> None:
    code, output = run("--transport", "http")
    assert code == 2 and "MCP_HTTP_TOKEN is not set" in output
    code, output = run("--transport", "http", "--host", "0.0.0.0")
    assert code == 2 and "not a loopback address" in output


def test_a_bad_clock_is_refused() -> None:
    code, output = run("--clock", "sundial")
    assert code == 2 and "use wall, venue" in output


def test_an_unmigrated_ledger_is_refused_with_the_command(tmp_path: Path) -> None:
    code, output = run(DATABASE_URL=f"sqlite:///{tmp_path}/empty.db")
    assert code == 2 and "trader db upgrade" in output


def test_a_client_id_inside_the_runners_range_is_refused_naming_both_settings() -> None:
    code, output = run(IB_CLIENT_ID="85", IB_CLIENT_ID_MAX="95")  # MCP_IB_CLIENT_ID defaults to 90
    assert code == 2
    for words in ("MCP_IB_CLIENT_ID=90", "IB_CLIENT_ID..IB_CLIENT_ID_MAX = 85..95", "MCP_IB_CLIENT_ID=96"):
        assert words in output, output
    code, output = run(IB_CLIENT_ID="7", MCP_IB_CLIENT_ID="7")  # no maximum: the runner uses IB_CLIENT_ID alone
    assert code == 2 and "IB_CLIENT_ID = 7" in output


def test_build_server_refuses_the_same_clash() -> None:
    from mcp_server import build_server
    from sdk.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="MCP_IB_CLIENT_ID=3 is inside"):
        build_server(load_settings(ib_client_id=1, ib_client_id_max=9, mcp_ib_client_id=3))
    build_server(load_settings(ib_client_id=1, ib_client_id_max=9, mcp_ib_client_id=10))  # just outside: fine
    build_server(load_settings(active_exchange="gemini", ib_client_id=3, mcp_ib_client_id=3))  # not IB: unused
