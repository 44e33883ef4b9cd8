"""The runner's clocks: :class:`~sdk.services.clock.VenueClock` measures a venue's time *and speed* from its
``fetch_time`` readings (whole seconds, as IB's ``reqCurrentTime``), and ``trader run`` follows the venue's
clock by default on IB; the demo's replay driver moves an in-process gateway's clock only between the
runner's steps.

The venue here is a time source the test controls (a real-time venue, a replay at ×20,000, a jump, a pause);
the real offline gateway behind ``trader run`` is in ``test_runner_processes.py``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from runner_helpers import wait_for

from runner.demo import ReplayDriver
from sdk.errors import NotSupported
from sdk.services.clock import VenueClock, default_clock_spec


class VenueTime:
    """A venue clock: ``start`` at ``speed`` from now on, read in whole seconds like IB's reqCurrentTime."""

    def __init__(self, start: float, speed: float) -> None:
        self.base, self.wall, self.rate = start, time.monotonic(), speed
        self.reads = 0

    def now(self) -> float:
        return self.base + (time.monotonic() - self.wall) * self.rate

    def set(self, *, to: float | None = None, speed: float | None = None) -> None:
        self.base, self.wall = (self.now() if to is None else to), time.monotonic()
        if speed is not None:
            self.rate = speed

    async def fetch_time(self) -> int:
        self.reads += 1
        await asyncio.sleep(0)
        return int(self.now()) * 1000


async def test_a_real_time_venue_runs_at_speed_one_at_its_own_offset() -> None:
    venue = VenueTime(time.time() - 3 * 86_400, 1.0)  # three days behind the wall clock
    clock = VenueClock(venue.fetch_time)
    await clock.start()
    try:
        assert clock.speed == 1.0, "whole-second readings of a real-time venue are real time, not 0 or 4"
        assert abs(clock.now() - venue.now()) <= 1.0
        assert abs(clock.offset + 3 * 86_400) <= 1.0
    finally:
        await clock.close()


async def test_a_replay_at_20000_is_followed_at_its_speed_and_a_jump_or_pause_is_seen_at_the_next_reading() -> None:
    venue = VenueTime(1_764_547_200.0, 20_000.0)  # 2025-12-01 00:00 UTC at ×20,000
    clock = VenueClock(venue.fetch_time)
    await clock.start()
    await clock.close()  # readings below are taken by hand
    assert abs(clock.speed - 20_000) / 20_000 < 0.02, clock.speed
    assert abs(clock.now() - venue.now()) < 500, "within a few hundred venue seconds (0.025 wall s)"

    venue.set(to=venue.now() + 7 * 86_400)  # the gateway's control API jumped a week
    # a wait for shortly after the jump's landing: without a wake-up it would sleep out the old 7 days (30 s)
    woke = asyncio.create_task(clock.sleep_until(venue.now() + 1_000, max_wall=60))
    await asyncio.sleep(0.05)
    await clock.sync()
    assert abs(clock.now() - venue.now()) < 500 and await asyncio.wait_for(woke, 5), "the jump woke the waiter"

    venue.set(speed=0.0)  # paused
    for _ in range(4):
        await asyncio.sleep(0.3)
        await clock.sync()
    paused = clock.now()
    await asyncio.sleep(0.2)
    assert clock.speed < 20 and abs(clock.now() - paused) < 20, "a paused venue is followed as (nearly) paused"


def test_trader_run_follows_the_venues_clock_on_ib_and_the_wall_clock_on_ccxt_venues() -> None:
    assert default_clock_spec("IB") == "venue"
    assert default_clock_spec("binance") == "wall"
    with pytest.raises(NotSupported, match="no venue registered as 'nowhere'"):
        default_clock_spec("nowhere")


async def test_the_replay_driver_moves_the_gateways_clock_only_while_the_runner_waits_between_steps(
    gateway: Any,
) -> None:
    """A slow venue call inside a step (a 0.3 s history request) let a ×1,000,000 driver run a whole ASX
    session past the runner, so a decision deferred to that open went a session late; now the clock is held."""
    in_step = True
    pacer = ReplayDriver(gateway, {"ASX"}, 100_000, 1_000_000, hold=lambda: in_step, max_hold=60)
    start = gateway.clock.timestamp()
    pacer.start()
    try:
        await asyncio.sleep(0.3)  # the runner is "in a step" all this time
        held = gateway.clock.timestamp()
        in_step = False
        await wait_for(lambda: gateway.clock.timestamp() > start + 60, what="the clock to move once the runner waits")
    finally:
        await pacer.stop()
    assert held == start, "the replay ran while the runner was in a step"


async def test_every_clock_is_one_protocol_answering_epoch_seconds_as_a_float() -> None:
    """One clock protocol, one type: the SDK's and the runner's clocks are all :class:`sdk.clock.Clock` (the
    runner's extend it), and ``now()`` is a float of epoch seconds, the gateway's simulated clock included."""
    from datetime import UTC, datetime

    from sdk.clock import Clock, SimulatedClock, SystemClock
    from sdk.gateway.clock import SimClock
    from sdk.services.clock import RunnerClock, SimClockFollower, WallClock

    start = datetime(2025, 3, 3, 10, tzinfo=UTC)
    sim = SimClock(start, speed=0)
    clocks = [
        SystemClock(),
        SimulatedClock(sim),
        WallClock(),
        SimClockFollower(sim),
        VenueClock(VenueTime(0, 1).fetch_time),
    ]
    for clock in clocks:
        assert isinstance(clock, Clock), clock
        assert type(clock.now()) is float, clock
    assert SimulatedClock(sim).now() == SimClockFollower(sim).now() == start.timestamp()
    assert Clock in RunnerClock.__mro__  # the runner's protocol extends the SDK's, never restates it
