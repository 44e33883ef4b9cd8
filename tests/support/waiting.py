"""Waiting on conditions instead of sleeping: answers arrive when the machine gets round to them.

A fixed sleep before an assertion is a guess about how busy the machine is (both cores loaded, a 50 ms
sleep is not enough); these helpers poll a condition until it holds or a deadline passes. The deadline is
generous because it only costs time when the test fails anyway.

To assert that something does NOT happen, wait on a barrier instead: :func:`round_trip` makes one request
on each connection and returns once its answer is in. The gateway reads one connection's
requests in order and writes its answers (and everything a clock step produced before the request
arrived) to that socket in order, and ib_async decodes them in order, so after ``round_trip`` every
message the gateway wrote to those clients beforehand has been applied.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["DEFAULT_TIMEOUT", "eventually", "eventually_sync", "round_trip"]

T = TypeVar("T")

#: Seconds before a wait gives up (wall time; only reached when the test is failing).
DEFAULT_TIMEOUT = 10.0
_POLL = 0.01


def _failure(condition: Callable[[], Any], timeout: float, what: str | None, last: Any) -> AssertionError:
    name = what or getattr(condition, "__name__", repr(condition))
    return AssertionError(f"timed out after {timeout} s waiting for {name} (last value: {last!r})")


async def eventually(condition: Callable[[], T], timeout: float = DEFAULT_TIMEOUT, *, what: str | None = None) -> T:
    """Poll ``condition()`` on the running event loop until it is truthy; return that value.

    Args:
        condition: called every 10 ms (and once at once); may raise nothing.
        timeout: wall seconds before giving up.
        what: names the condition in the failure message (default: the callable's name).

    Raises:
        AssertionError: still falsy after ``timeout`` s, with the last value it returned.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if loop.time() >= deadline:
            raise _failure(condition, timeout, what, value)
        await asyncio.sleep(_POLL)


def eventually_sync(condition: Callable[[], T], timeout: float = DEFAULT_TIMEOUT, *, what: str | None = None) -> T:
    """:func:`eventually` for code outside an event loop (threads, other processes); blocks the caller."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _failure(condition, timeout, what, value)
        time.sleep(_POLL)


async def round_trip(*clients: Any, timeout: float = DEFAULT_TIMEOUT) -> None:
    """A barrier: one ``reqUserInfo`` round trip on each ib_async (or ib_insync) ``IB`` in ``clients``.

    When it returns, every message the gateway wrote to those connections before it read the request
    (ticks of a clock step already taken, answers to earlier requests) has reached the client's objects.
    See the module docstring for why that holds. ``reqUserInfo`` carries a request id of its own and
    changes nothing; ``reqCurrentTime`` would not do: ib_async keys it by one fixed name, so it clashes
    with an ``IBTrader``'s heartbeat (one of the two answers is lost and the barrier never returns).

    Raises:
        TimeoutError: no answer within ``timeout`` s (the connection was dropped, or the gateway is stuck).
    """
    waits: list[Awaitable[Any]] = [asyncio.wait_for(ib.reqUserInfoAsync(), timeout) for ib in clients]
    await asyncio.gather(*waits)
