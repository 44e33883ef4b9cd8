"""Helpers of the runner's tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

__all__ = ["wait_for"]


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``condition``; fail after ``timeout`` wall seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)
