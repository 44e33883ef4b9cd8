"""Pacing, faults and the simulated clock: the gateway's rules that need no socket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sdk.gateway.clock import SimClock
from sdk.gateway.faults import Faults, parse_faults
from sdk.gateway.pacing import HistoricalPacer


def _check(pacer: HistoricalPacer, now: float, contract: str = "BHP", end: str = "", what: str = "TRADES") -> bool:
    return pacer.check(now, series=(contract, what), identity=(contract, end, what), what_to_show=what).allowed


def test_an_identical_request_within_15_seconds_is_a_violation() -> None:
    pacer = HistoricalPacer()
    assert _check(pacer, 0.0)
    assert not _check(pacer, 14.9)
    assert _check(pacer, 15.1)
    assert pacer.violations == 1 and pacer.requests == 3


def test_six_requests_for_one_contract_within_2_seconds_is_a_violation() -> None:
    pacer = HistoricalPacer()
    assert all(_check(pacer, i * 0.1, end=str(i)) for i in range(5))
    assert not _check(pacer, 0.6, end="5")
    assert _check(pacer, 0.6, contract="CBA", end="5")  # another contract is fine
    assert _check(pacer, 2.05, end="6")  # the first of the burst has left the 2 s window


def test_bid_ask_counts_twice() -> None:
    pacer = HistoricalPacer()
    assert all(_check(pacer, i * 0.1, end=str(i), what="BID_ASK") for i in range(2))
    assert not _check(pacer, 0.3, end="3", what="BID_ASK")  # 2 + 2 + 2 = 6 within 2 s


def test_more_than_60_requests_in_10_minutes_is_a_violation_and_pacing_can_be_switched_off() -> None:
    pacer = HistoricalPacer()
    for i in range(60):
        assert _check(pacer, i * 3.0, contract=f"C{i % 7}", end=str(i))
    assert not _check(pacer, 181.0, contract="X", end="x")
    assert _check(pacer, 600.5, contract="X", end="x")  # the first request has left the window
    off = HistoricalPacer(enabled=False)
    assert all(_check(off, 0.0) for _ in range(100)) and off.violations == 0


def test_fault_specs_parse_and_bad_ones_say_what_to_write() -> None:
    spec = parse_faults("drop_every=30, refuse_next=2,reject_next=1,delay_ms=50,drop_at=2025-03-03T11:00:00+11:00")
    assert spec.drop_every == 30 and spec.refuse_next == 2 and spec.delay_ms == 50
    assert spec.drop_at == datetime(2025, 3, 3, 0, 0, tzinfo=UTC)
    assert parse_faults({"commission_delay_ms": 1500}).commission_delay_ms == 1500
    assert parse_faults("").to_dict() == {}
    with pytest.raises(ValueError, match="unknown fault 'explode'"):
        parse_faults("explode=1")
    with pytest.raises(ValueError, match="needs a UTC offset"):
        parse_faults("drop_at=2025-03-03T11:00:00")
    with pytest.raises(ValueError, match="positive number of seconds"):
        parse_faults("drop_every=0")
    with pytest.raises(ValueError, match="key=value"):
        parse_faults("delay_ms")


def test_fault_counters_are_used_up() -> None:
    faults = Faults()
    faults.set(parse_faults("refuse_next=1,reject_next=2"))
    assert faults.take_refusal() and not faults.take_refusal()
    assert faults.take_rejection() and faults.take_rejection() and not faults.take_rejection()
    assert [faults.next_restore_code() for _ in range(3)] == [1101, 1102, 1101]


def test_the_clock_runs_at_its_speed_steps_jumps_and_pauses() -> None:
    wall = [100.0]
    start = datetime(2025, 3, 3, 23, 0, tzinfo=UTC)
    clock = SimClock(start, speed=60, wall=lambda: wall[0])
    seen: list[tuple[float, float]] = []
    clock.add_listener(lambda old, new: seen.append((old, new)))
    wall[0] += 2
    assert clock.now() == start + timedelta(minutes=2)
    clock.advance(30)
    assert clock.now() == start + timedelta(minutes=2, seconds=30)
    clock.set_speed(0)
    wall[0] += 1000
    assert clock.now() == start + timedelta(minutes=2, seconds=30)
    assert clock.wall_seconds_until(clock.timestamp() + 10) is None
    back = clock.jump(start)
    assert back == start and len(seen) == 3
    with pytest.raises(ValueError, match="use jump"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.jump(datetime(2025, 1, 1))
