"""The pacing budget on a simulated clock: it waits instead of breaking any of IB's three rules."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import pytest

from sdk.clock import SimulatedClock
from sdk.clock import SteppableTime as PausedTime
from sdk.venues.ib.pacing import PacingBudget, PacingRules, request_weight, shared_budget


def violations(sent: list[tuple[float, Hashable, Hashable, str]]) -> list[str]:
    """IB's rules, checked independently of the budget (IB "Historical Data Limitations")."""
    found = []
    for i, (t, identity, key, what) in enumerate(sent):
        earlier = sent[:i]
        if any(identity == e[1] and e[0] > t - 15 for e in earlier):
            found.append(f"#{i} identical within 15 s")
        burst = request_weight(what) + sum(request_weight(e[3]) for e in earlier if e[2] == key and e[0] > t - 2)
        if burst >= 6:
            found.append(f"#{i} six or more for one contract within 2 s")
        total = request_weight(what) + sum(request_weight(e[3]) for e in earlier if e[0] > t - 600)
        if total > 60:
            found.append(f"#{i} more than 60 within 10 minutes")
    return found


Sent = list[tuple[float, Hashable, Hashable, str]]


def needless_waits(sent: Sent, slack: float) -> list[str]:
    """Requests that waited although IB's rules (:func:`violations`) let them go ``slack`` seconds earlier.

    ``slack`` covers the budget's safety margin (:attr:`PacingRules.margin`): a wait that ends within it of
    the moment the rules allow is no waste.
    """
    found = []
    for i in range(1, len(sent)):
        t, previous = sent[i][0], sent[i - 1][0]
        if t <= previous:
            continue
        earlier = max(previous, t - slack)
        if not violations([*sent[:i], (earlier, *sent[i][1:])]):
            found.append(f"#{i} waited until +{t - sent[0][0]:.2f} s; the rules allowed +{earlier - sent[0][0]:.2f} s")
    return found


async def _run(budget: PacingBudget, requests: list[tuple[Hashable, Hashable, str]]) -> Sent:
    sent = []
    for identity, key, what in requests:
        await budget.acquire(identity, key, what)
        sent.append((budget.clock.now(), identity, key, what))
    return sent


async def test_backfill_of_three_symbols_has_no_violation_and_wastes_no_time(paused_time: PausedTime) -> None:
    clock = SimulatedClock(paused_time)
    budget = PacingBudget(clock)
    requests = [((sym, day), (sym, "TRADES"), "TRADES") for day in range(42) for sym in ("SPY", "QQQ", "IWM")]
    sent = await _run(budget, requests)
    assert violations(sent) == []
    # no time wasted: every request that waited would have broken a rule had it gone any earlier
    assert needless_waits(sent, slack=2 * PacingRules().margin) == []
    # the 60-per-10-minutes rule binds twice: the 61st and the 121st requests wait for the window to pass
    assert sent[59][0] < sent[0][0] + 600 <= sent[60][0] and sent[119][0] < sent[60][0] + 600 <= sent[120][0]
    assert budget.stats.requests == 126 and budget.stats.violations == 0


async def test_identical_request_waits_fifteen_seconds(paused_time: PausedTime) -> None:
    clock = SimulatedClock(paused_time)
    budget = PacingBudget(clock)
    await budget.acquire("same", "k", "TRADES")
    waited = await budget.acquire("same", "k", "TRADES")
    assert 15 <= waited <= 15.1


async def test_burst_rule_allows_five_per_two_seconds_per_contract(paused_time: PausedTime) -> None:
    clock = SimulatedClock(paused_time)
    budget = PacingBudget(clock)
    waits = [await budget.acquire(i, "one contract", "TRADES") for i in range(6)]
    assert waits[:5] == [0, 0, 0, 0, 0] and 2 <= waits[5] <= 2.1
    other = await budget.acquire("x", "another contract", "TRADES")
    assert other == 0, "the two-second rule counts per contract and tick type"


async def test_bid_ask_counts_twice(paused_time: PausedTime) -> None:
    clock = SimulatedClock(paused_time)
    budget = PacingBudget(clock, PacingRules(margin=0.0))
    sent = await _run(budget, [(i, ("c", i % 20), "BID_ASK") for i in range(31)])
    assert violations(sent) == []
    assert sent[29][0] - sent[0][0] < 600 <= sent[30][0] - sent[0][0], "30 BID_ASK requests fill the 60 budget"


async def test_concurrent_callers_share_one_budget(paused_time: PausedTime) -> None:
    clock = SimulatedClock(paused_time)
    budget = PacingBudget(clock)
    sent: list[tuple[float, Hashable, Hashable, str]] = []

    async def backfill(symbol: str) -> None:
        for day in range(30):
            async with budget.slot((symbol, day), (symbol, "TRADES"), "TRADES"):
                sent.append((clock.now(), (symbol, day), (symbol, "TRADES"), "TRADES"))
                await asyncio.sleep(0)

    await asyncio.gather(*(backfill(s) for s in ("BHP", "CBA", "CSL", "SPY")))
    sent.sort(key=lambda row: row[0])
    assert len(sent) == 120 and violations(sent) == []


def test_shared_budget_is_one_per_clock(paused_time: PausedTime) -> None:
    clock = SimulatedClock(paused_time)
    assert shared_budget(clock) is shared_budget(clock)
    assert shared_budget() is shared_budget()
    assert shared_budget(clock) is not shared_budget()


@pytest.mark.parametrize("what", ["TRADES", "MIDPOINT", "BID_ASK", "bid_ask"])
def test_weights(what: str) -> None:
    assert request_weight(what) == (2 if what.upper() == "BID_ASK" else 1)
