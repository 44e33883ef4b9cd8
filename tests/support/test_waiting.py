"""The waits of the test plumbing: they return what they waited for, and fail with what was still wrong."""

from __future__ import annotations

import asyncio
import threading

import pytest

from support.waiting import eventually, eventually_sync


async def test_eventually_returns_the_value_once_the_condition_holds() -> None:
    seen: list[int] = []
    loop = asyncio.get_running_loop()
    for i in range(3):
        loop.call_soon(seen.append, i)
    assert await eventually(lambda: len(seen) == 3 and list(seen)) == [0, 1, 2]


async def test_eventually_fails_after_its_deadline_naming_the_condition_and_its_last_value() -> None:
    with pytest.raises(AssertionError, match=r"waiting for the fill \(last value: \[\]\)"):
        await eventually(lambda: [], timeout=0.05, what="the fill")


def test_eventually_sync_waits_for_another_thread() -> None:
    done = threading.Event()
    threading.Thread(target=done.set).start()
    assert eventually_sync(done.is_set) is True
    with pytest.raises(AssertionError, match="waiting for is_set"):
        eventually_sync(threading.Event().is_set, timeout=0.05)
