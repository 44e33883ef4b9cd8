"""IB's historical-data pacing rules as a budget every caller in the process shares.

A request violates IB's pacing (error 162, "pacing violation") when any of these holds
(IB "Historical Data Limitations": https://interactivebrokers.github.io/tws-api/historical_limitations.html):

* an identical request was made within the last 15 seconds;
* six or more requests for the same contract, exchange and tick type are made within two seconds;
* more than 60 requests are made within any ten-minute period;
* BID_ASK requests count twice; at most 50 requests may be open at once.

:class:`PacingBudget` waits (on its :class:`~sdk.clock.Clock`) until a request is allowed
instead of sending it early, so a backfill never trips a violation. One budget serves a process:
:func:`shared_budget` gives the process-wide instance for a clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sdk.clock import Clock, SystemClock

__all__ = ["PacingBudget", "PacingRules", "PacingStats", "RequestLog", "request_weight", "shared_budget"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PacingRules:
    """IB's limits (defaults are IB's published numbers) plus a safety margin in seconds."""

    identical_window: float = 15.0
    burst_window: float = 2.0
    burst_limit: int = 5  # "six or more within two seconds" is the violation
    window: float = 600.0
    window_limit: int = 60  # "more than 60 within ten minutes" is the violation
    max_open: int = 50
    margin: float = 0.05


@dataclass(slots=True)
class PacingStats:
    """What the budget has done: requests admitted, how many had to wait, total seconds waited."""

    requests: int = 0
    weight: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    violations: int = 0
    first_at: float | None = None
    last_at: float | None = None


def request_weight(what_to_show: str) -> int:
    """A request's weight in the budget: BID_ASK counts twice (IB), everything else once."""
    return 2 if what_to_show.upper() == "BID_ASK" else 1


@dataclass(slots=True)
class _Entry:
    at: float
    weight: int


@dataclass(slots=True)
class RequestLog:
    """Requests admitted in IB's windows: all of them (ten-minute rule), per series (two-second rule) and the last
    time of each identity (15-second rule); times in the budget clock's seconds."""

    overall: deque[_Entry] = field(default_factory=deque)
    by_key: dict[Hashable, deque[_Entry]] = field(default_factory=dict)
    identical: dict[Hashable, float] = field(default_factory=dict)

    def add(self, identity: Hashable, key: Hashable, weight: int, at: float) -> None:
        """Count a request admitted at ``at`` (requests are added oldest first)."""
        entry = _Entry(at, weight)
        self.overall.append(entry)
        self.by_key.setdefault(key, deque()).append(entry)
        self.identical[identity] = at


class PacingBudget:
    """Admits historical-data requests no faster than IB's pacing rules allow.

    Args:
        clock: the time the rules are measured in (default: the wall clock).
        rules: the limits; :class:`PacingRules` defaults are IB's.

    Use it around every ``reqHistoricalData`` (and ``reqHeadTimeStamp``)::

        async with budget.slot(identity, (con_id, exchange, "TRADES"), "TRADES"):
            bars = await ib.reqHistoricalDataAsync(...)
    """

    def __init__(self, clock: Clock | None = None, rules: PacingRules | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.rules = rules or PacingRules()
        self.stats = PacingStats()
        self._ledger = RequestLog()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._admission = asyncio.Lock()
        self._open = asyncio.Semaphore(self.rules.max_open)
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._strikes = 0
        self._blocked_until = 0.0

    def _bind_loop(self) -> None:
        # asyncio primitives belong to one event loop; a budget outliving a loop (tests, a
        # restarted runner) gets fresh ones rather than a "bound to a different loop" error.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._admission = asyncio.Lock()
            self._open = asyncio.Semaphore(self.rules.max_open)
            self._inflight = 0
            self._idle = asyncio.Event()
            self._idle.set()

    def delay(self, identity: Hashable, key: Hashable, weight: int, now: float) -> float:
        """Seconds from ``now`` until a request may be sent without breaking a rule (0 when it may now)."""
        self._expire(now)
        return self.wait_in(self._ledger, self._blocked_until, identity, key, weight, now)

    def wait_in(
        self, ledger: RequestLog, blocked_until: float, identity: Hashable, key: Hashable, weight: int, now: float
    ) -> float:
        """:meth:`delay` judged against ``ledger`` (requests admitted so far) and a hold until ``blocked_until``."""
        r = self.rules
        wait = blocked_until - now
        last_identical = ledger.identical.get(identity)
        if last_identical is not None:
            wait = max(wait, last_identical + r.identical_window + r.margin - now)
        wait = max(wait, self._window_wait(ledger.by_key.get(key, deque()), r.burst_window, r.burst_limit, weight, now))
        wait = max(wait, self._window_wait(ledger.overall, r.window, r.window_limit, weight, now))
        return max(0.0, wait)

    def _window_wait(self, entries: deque[_Entry], window: float, limit: int, weight: int, now: float) -> float:
        """Wait until the weight inside ``(t - window, t]`` plus ``weight`` fits ``limit``."""
        inside = [e for e in entries if e.at > now - window - self.rules.margin]
        used = sum(e.weight for e in inside)
        if used + weight <= limit:
            return 0.0
        excess = used + weight - limit
        freed = 0
        for entry in inside:  # oldest first: the earliest time enough weight leaves the window
            freed += entry.weight
            if freed >= excess:
                return entry.at + window + self.rules.margin - now
        return window + self.rules.margin

    def _expire(self, now: float) -> None:
        r, ledger = self.rules, self._ledger
        horizon = now - r.window - r.margin
        while ledger.overall and ledger.overall[0].at <= horizon:
            ledger.overall.popleft()
        for key in list(ledger.by_key):
            entries = ledger.by_key[key]
            while entries and entries[0].at <= now - r.burst_window - r.margin:
                entries.popleft()
            if not entries:
                del ledger.by_key[key]
        for identity, at in list(ledger.identical.items()):
            if at <= now - r.identical_window - r.margin:
                del ledger.identical[identity]

    def _record(self, identity: Hashable, key: Hashable, weight: int, now: float) -> None:
        self._ledger.add(identity, key, weight, now)
        self._count(weight, now)

    def _count(self, weight: int, now: float) -> None:
        stats = self.stats
        stats.requests += 1
        stats.weight += weight
        stats.first_at = now if stats.first_at is None else stats.first_at
        stats.last_at = now

    async def _admit(self, identity: Hashable, key: Hashable, weight: int, now: float) -> float:
        """Admit the request at ``now`` and return 0, or return the seconds to wait before asking again.

        The one step a budget shared between processes replaces (:mod:`sdk.venues.ib.shared_pacing`).
        """
        wait = self.delay(identity, key, weight, now)
        if wait <= 0:
            self._record(identity, key, weight, now)
        return wait

    async def acquire(self, identity: Hashable, key: Hashable, what_to_show: str = "TRADES") -> float:
        """Wait until a request is allowed, then count it as sent; returns the seconds waited.

        Args:
            identity: everything that makes two requests identical (contract, end, duration, bar size,
                what to show, RTH flag).
            key: the contract, exchange and tick type the two-second rule counts per.
            what_to_show: IB's ``whatToShow``; BID_ASK weighs double.
        """
        self._bind_loop()
        weight = request_weight(what_to_show)
        waited = 0.0
        async with self._admission:  # one admission decision at a time, in arrival order
            while True:
                wait = await self._admit(identity, key, weight, self.clock.now())
                if wait <= 0:
                    break
                if self._inflight:
                    # Requests already admitted must reach IB before time moves on: on a simulated
                    # clock, sleeping advances it, and a request still in flight would be counted late.
                    await self._idle.wait()
                    continue
                log.debug("pacing wait", extra={"seconds": round(wait, 3), "pacing_key": str(key)})
                await self.clock.sleep(wait)
                waited += wait
        if waited:
            self.stats.waits += 1
            self.stats.waited_seconds += waited
        return waited

    @asynccontextmanager
    async def slot(self, identity: Hashable, key: Hashable, what_to_show: str = "TRADES") -> AsyncIterator[float]:
        """``async with`` form of :meth:`acquire` that also holds one of IB's 50 open-request slots.

        The request is "in flight" until the block ends (IB answered); the budget never sleeps
        while a request is in flight, so on a simulated clock every request is seen by IB at the
        time it was admitted.
        """
        self._bind_loop()
        async with self._open:
            waited = await self.acquire(identity, key, what_to_show)
            self._inflight += 1
            self._idle.clear()
            try:
                yield waited
            finally:
                self._inflight -= 1
                if not self._inflight:
                    self._idle.set()

    async def record_violation(self) -> None:
        """Count a 162 pacing violation IB reported despite the budget, and hold every request back.

        Someone else spent IB's budget (another process on the same account, a request made outside
        this budget), so nothing here says when it frees up: the hold escalates through IB's own
        windows, 2 s, then 15 s, then 10 minutes, until a request succeeds (:meth:`record_success`).
        """
        hold = self.hold_after(self._strikes)
        self._strikes += 1
        self._blocked_until = max(self._blocked_until, self.clock.now() + hold)
        self.stats.violations += 1
        log.warning(
            "IB reported a historical-data pacing violation; holding requests",
            extra={"violations": self.stats.violations, "hold_s": hold},
        )

    def hold_after(self, strikes: int) -> float:
        """Seconds every request holds back after a violation that follows ``strikes`` others in a row."""
        r = self.rules
        holds = (r.burst_window, r.identical_window, r.window)
        return holds[min(strikes, len(holds) - 1)] + r.margin

    async def record_success(self) -> None:
        """A paced request was served: the escalation of :meth:`record_violation` starts over."""
        self._strikes = 0


_shared: dict[object, PacingBudget] = {}


def shared_budget(clock: Clock | None = None) -> PacingBudget:
    """The process-wide budget for ``clock`` (one per clock object; the wall clock by default).

    Every :class:`~sdk.venues.ib.trader.IBTrader` in a process (runner, MCP server, backfills) that
    uses the same clock shares one budget, because IB counts requests per connection to the gateway
    and a process's traders usually share the gateway.
    """
    key: object = clock if clock is not None else SystemClock
    budget = _shared.get(key)
    if budget is None:
        budget = PacingBudget(clock)
        _shared[key] = budget
    return budget
