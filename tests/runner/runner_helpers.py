"""Helpers of the runner's tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from runner.config import RunnerConfig
from runner.demo import ReplayDriver
from runner.runner import RunResult, StrategyRunner
from sdk.ledger import open_ledger
from sdk.services.clock import SimClockFollower

__all__ = ["run_in_process", "wait_for"]


async def run_in_process(
    gw: Any, trader: Any, ledger_url: str, config: RunnerConfig, speed: float, idle_speed: float | None = None
) -> RunResult:
    """Run ``config`` against ``gw``; its clock starts once the runner has backfilled, at ``speed`` (and
    ``idle_speed`` while ASX is shut, when given)."""
    pacer = ReplayDriver(gw, {"ASX"}, speed, idle_speed or speed)
    with open_ledger(ledger_url) as ledger:
        runner = StrategyRunner(
            trader.settings, config, clock=SimClockFollower(gw.clock, driven_speed=lambda: pacer.speed), trader=trader,
            ledger=ledger,
            on_event=lambda kind, payload: pacer.start() if kind == "started" else None,
        )  # fmt: skip
        pacer.follow(runner)
        try:
            return await runner.run()
        finally:
            await pacer.stop()


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``condition``; fail after ``timeout`` wall seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)
