"""``trader demo`` and ``trader run`` from the command line (typer's CliRunner, this process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from runner.config import RunnerConfig
from runner.demo import trader_command
from runner.runner import RunnerError, StrategyRunner
from sdk.cli import app
from sdk.ledger import open_ledger
from sdk.ledger import queries as q


def invoke(*args: str, env: dict[str, str]) -> Any:
    return CliRunner().invoke(app, ["--env-file", "/nonexistent.env", *args], env=env, catch_exceptions=False)


def test_demo_runs_on_real_data_twice_keeping_both_runs_and_says_how_to_open_the_ledger(
    shared_data: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/data/trader.db"
    env = {"DATABASE_URL": url, "MARKET_DATA_DIR": str(shared_data), "LOG_LEVEL": "WARNING"}
    args = ("demo", "--sessions", "3", "--symbols", "BHP/AUD,AUD/USD", "--speed", "100000")
    first, second = invoke(*args, env=env), invoke(*args, env=env)
    for result in (first, second):
        assert result.exit_code == 0, result.output
        out = result.stdout
        assert f"market data: real, from {shared_data}" in out and "until reached; shadow mode (nothing sent)" in out
        assert "symbol    orders fills" in out and "equity AUD" in out and "commissions AUD" in out
        trader = trader_command()  # `trader`, or the venv's script when the shell would not find it
        assert f"DATABASE_URL='{url}' {trader} dashboard" in out and f"DATABASE_URL='{url}' {trader} mcp" in out
        assert out.count("BHP/AUD  close") == 3, "three sessions of BHP replayed"
    with open_ledger(url) as ledger:
        runs = q.sessions(ledger)
    assert (
        len(runs) == 2
        and {r["end_reason"] for r in runs} == {"until reached"}
        and {r["mode"] for r in runs} == {"shadow"}
    )


def test_demo_without_market_data_says_it_replays_synthetic_prices(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/trader.db", "LOG_LEVEL": "WARNING"}
    result = invoke("demo", "--data", str(tmp_path / "none"), "--sessions", "2", "--symbols", "BHP/AUD", env=env)
    assert result.exit_code == 0, result.output
    assert "market data: SYNTHETIC" in result.stdout and "made-up prices, not real ones" in result.stdout
    assert "SYNTHETIC data" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--until", "soon"], "not ISO 8601"),
        (["--symbols", "BHP.AX"], "did you mean 'BHP/AUD'"),
        (["--param", "fast"], "write NAME=NUMBER"),
        (["--strategy", "nope"], "no strategy 'nope'; available:"),
        (["--strategy", "ma_crossover", "--param", "fats=3"], "has no parameter(s) ['fats']"),
        (["--plugin", "no_such_module_here"], "strategy plugin 'no_such_module_here' cannot be imported"),
        (["--clock", "http://10.0.0.1:4099"], "use wall, venue, or the gateway control URL"),
    ],
)
def test_run_refuses_bad_options_with_what_to_do_instead(args: list[str], message: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/trader.db", "IB_PORT": "1"}
    invoke("db", "upgrade", env=env)
    result = (
        invoke("run", "--symbols", "BHP/AUD", *args, env=env)
        if "--symbols" not in args
        else invoke("run", *args, env=env)
    )
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_resume_without_an_interrupted_run_is_refused(sqlite_url: str) -> None:
    import asyncio

    from sdk.services.clock import WallClock
    from sdk.settings import load_settings

    runner = StrategyRunner(load_settings(database_url=sqlite_url), RunnerConfig(symbols=("BHP/AUD",), resume=True),
                            clock=WallClock())  # fmt: skip
    with pytest.raises(RunnerError, match="no interrupted run of this configuration to resume"):
        asyncio.run(runner.run())


def test_the_demo_prints_a_trader_command_the_shell_can_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """After `make demo` the venv is not activated: the printed command must still run from here."""
    import shutil
    import subprocess

    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the venv's bin is not on PATH
    command = trader_command()
    assert command != "trader" or shutil.which("trader")
    ran = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and "dashboard" in ran.stdout
