"""The replay loop: moves the market along the simulated clock and tells every client what changed.

Each step covers the simulated interval since the previous one, ``(t0, t1]``, and in order:

1. fires the ``drop_at`` fault if its simulated time falls inside the interval;
2. works every live order through the interval's market (:meth:`sdk.gateway.broker.Broker.process`:
   fills, opens, DAY expiries), so a jump of the clock fills what the jumped-over prices would fill;
3. sends each market data stream the ticks that changed at ``t1`` (one quote per instrument, shared
   by every subscriber);
4. sends keepUpToDate subscribers every bar completed in the interval and the bar in progress.

The loop wakes at the wall time the next price sample is due (``tick_seconds`` of simulated time,
at most 100 times a wall second), at once when the clock is stepped or jumped (a step is processed
before :meth:`~sdk.gateway.clock.SimClock.advance` returns), and not at all while the clock is paused.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from sdk.gateway.handlers.historical import live_bar_messages
from sdk.gateway.streaming import tick_messages

if TYPE_CHECKING:
    from sdk.gateway.server import OfflineGateway

__all__ = ["Replay"]

log = logging.getLogger(__name__)

MIN_WALL_INTERVAL = 0.01
IDLE_WALL_INTERVAL = 1.0


class Replay:
    """Drives the market for one gateway (see the module docstring)."""

    def __init__(self, gw: OfflineGateway) -> None:
        self.gw = gw
        self.last = gw.clock.timestamp()
        self.steps = 0
        self._wake = asyncio.Event()
        self._busy = False
        self._task: asyncio.Task[None] | None = None
        gw.clock.add_listener(self._on_clock)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="gateway-replay")

    async def stop(self) -> None:
        self.gw.clock.remove_listener(self._on_clock)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def _on_clock(self, old: float, new: float) -> None:
        if new < self.last:
            self.last = new  # jumped back: nothing to replay, streams resend in full
            for session in self.gw.sessions():
                for sub in session.mkt.values():
                    sub.sent.clear()
        else:
            self.catch_up()
        self._wake.set()

    def catch_up(self) -> None:
        """Process everything up to the clock's now, synchronously (re-entrant calls are ignored)."""
        if self._busy:
            return
        now = self.gw.clock.timestamp()
        if now <= self.last:
            return
        self._busy = True
        try:
            self.step(self.last, now)
        except Exception:
            log.exception("replay step %.3f..%.3f failed", self.last, now)
        finally:
            self.last = now
            self._busy = False

    async def _run(self) -> None:
        while True:
            self.catch_up()
            delay = self._next_delay()
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass

    def _next_delay(self) -> float:
        clock = self.gw.clock
        if clock.speed == 0:
            return IDLE_WALL_INTERVAL
        step = self.gw.config.tick_seconds
        now = clock.timestamp()
        due = (math.floor(now / step + 1e-9) + 1) * step
        wait = clock.wall_seconds_until(due)
        return IDLE_WALL_INTERVAL if wait is None else min(max(wait, MIN_WALL_INTERVAL), IDLE_WALL_INTERVAL)

    # --- one step -----------------------------------------------------------------------------
    def step(self, t0: float, t1: float) -> None:
        """Process the simulated interval ``(t0, t1]`` (see the module docstring)."""
        gw = self.gw
        self.steps += 1
        drop_at = gw.faults.spec.drop_at
        if drop_at is not None and t0 < drop_at.timestamp() <= t1:
            log.warning("fault drop_at %s reached: closing every client connection", drop_at.isoformat())
            gw.drop_all_clients("drop_at")
        gw.broker.process(t0, t1)
        self._stream(t1)
        self._live_bars(t1)

    def _stream(self, now: float) -> None:
        gw = self.gw
        quotes: dict[str, Any] = {}
        for session in gw.sessions():
            if session.connectivity_lost or not session.mkt:
                continue
            messages: list[list[Any]] = []
            for sub in session.mkt.values():
                inst = gw.instruments.get(sub.symbol)
                if inst is None:
                    continue
                if sub.symbol not in quotes:
                    quotes[sub.symbol] = gw.market.quote(sub.symbol, now)
                messages += tick_messages(sub, inst, quotes[sub.symbol])
            if messages:
                session.send_many(messages)

    def _live_bars(self, now: float) -> None:
        for session in self.gw.sessions():
            if session.connectivity_lost:
                continue
            for live in list(session.live_bars.values()):
                started = time.perf_counter()
                messages = live_bar_messages(session, live, now)
                if messages:
                    session.send_many(messages)
                if time.perf_counter() - started > 0.5:
                    log.warning(
                        "keepUpToDate %s %s took %.2f s", live.symbol, live.bar_label, time.perf_counter() - started
                    )
