"""IB's pacing budget shared through the ledger: two budgets on one ledger (two processes' worth: each its own
connection pool) admit requests as one budget would, on SQLite and PostgreSQL.

IB's windows are scaled down (seconds instead of minutes) so the budgets run on the wall clock, as two processes
do, in a few seconds; the rules are the same code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from pathlib import Path

import pytest

from sdk.clock import SimulatedClock, SystemClock
from sdk.ledger import open_ledger
from sdk.ledger import pacing as rows
from sdk.settings import Settings
from sdk.venues.ib.pacing import PacingBudget, PacingRules, shared_budget
from sdk.venues.ib.shared_pacing import SharedPacingBudget, default_budget, login_key

#: IB's rules with windows in seconds: 15 s -> 1.5 s, 2 s -> 1 s (5 per window), 10 min -> 3 s (12 per window).
FAST = PacingRules(
    identical_window=1.5, burst_window=1.0, burst_limit=5, window=3.0, window_limit=12, max_open=50, margin=0.1
)
LOGIN = login_key(["DU0000001"])

Sent = list[tuple[float, Hashable, Hashable]]


def broken_rules(sent: Sent, rules: PacingRules = FAST) -> list[str]:
    """IB's rules (scaled by ``rules``), checked independently of the budget."""
    found = []
    ordered = sorted(sent, key=lambda row: row[0])
    for i, (t, identity, key) in enumerate(ordered):
        earlier = ordered[:i]
        if any(identity == e[1] and e[0] > t - rules.identical_window for e in earlier):
            found.append(f"#{i} identical within {rules.identical_window} s")
        if 1 + sum(1 for e in earlier if e[2] == key and e[0] > t - rules.burst_window) > rules.burst_limit:
            found.append(f"#{i} more than {rules.burst_limit} for one contract within {rules.burst_window} s")
        if 1 + sum(1 for e in earlier if e[0] > t - rules.window) > rules.window_limit:
            found.append(f"#{i} more than {rules.window_limit} within {rules.window} s")
    return found


async def backfill(budget: PacingBudget, name: str, count: int, sent: Sent) -> None:
    """``count`` requests for one contract's bars ending on different days, as a backfill makes them."""
    for day in range(count):
        identity, key = ("BHP", name, day), ("BHP", "ASX", "TRADES")
        async with budget.slot(identity, key):
            sent.append((budget.clock.now(), identity, key))


async def test_two_processes_on_one_login_never_break_a_rule_together(ledger_url: str) -> None:
    with open_ledger(ledger_url) as one, open_ledger(ledger_url) as two:
        budgets = [
            SharedPacingBudget(one, LOGIN, SystemClock(), FAST),
            SharedPacingBudget(two, LOGIN, SystemClock(), FAST),
        ]
        sent: Sent = []
        await asyncio.gather(*(backfill(b, f"p{i}", 8, sent) for i, b in enumerate(budgets)))
        assert len(sent) == 16
        assert broken_rules(sent) == []
        assert sum(b.stats.requests for b in budgets) == 16
        assert max(t for t, *_ in sent) - min(t for t, *_ in sent) >= FAST.window, "the 13th request waited"
        stored = rows.read(one, LOGIN)
        assert stored.violations == 0
        assert 0 < len(stored.requests) <= FAST.window_limit, "rows that left every window are deleted"


async def test_two_budgets_of_their_own_would_break_the_rules() -> None:
    """The scenario above is one that fails without the shared ledger (what the shared budget is for)."""
    budgets = [PacingBudget(SystemClock(), FAST), PacingBudget(SystemClock(), FAST)]
    sent: Sent = []
    await asyncio.gather(*(backfill(b, f"p{i}", 8, sent) for i, b in enumerate(budgets)))
    assert broken_rules(sent) != []


async def test_a_violation_one_process_earned_holds_every_process_back(ledger_url: str) -> None:
    with open_ledger(ledger_url) as one, open_ledger(ledger_url) as two:
        first = SharedPacingBudget(one, LOGIN, SystemClock(), FAST)
        second = SharedPacingBudget(two, LOGIN, SystemClock(), FAST)
        await first.record_violation()
        held = await second.acquire("a", "k")
        assert held >= FAST.burst_window, "the other process holds back too"
        before = first.clock.now()
        await first.record_violation()  # a second violation in a row escalates to IB's 15-second window
        state = rows.read(two, LOGIN)
        assert state.strikes == 2 and state.blocked_until_us / 1e6 >= before + FAST.identical_window
        await second.record_success()
        state = rows.read(one, LOGIN)
        assert (state.strikes, state.violations) == (0, 2)


async def test_rows_a_replayed_later_day_left_do_not_hold_an_earlier_day(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        tomorrow = SharedPacingBudget(ledger, LOGIN, SimulatedClock(_Paused(1_700_086_400.0)), FAST)
        for day in range(FAST.window_limit):
            await tomorrow.acquire(("x", day), ("x", day))
        today = SharedPacingBudget(ledger, LOGIN, SimulatedClock(_Paused(1_700_000_000.0)), FAST)
        assert await today.acquire("y", "y") == 0, "a gateway replaying an earlier day is not held by a later one"
        later = SharedPacingBudget(ledger, LOGIN, SimulatedClock(_Paused(1_700_086_400.5)), FAST)
        assert await later.acquire("z", "z") > 0, "the later day's own window still counts"


async def test_an_unreachable_ledger_paces_on_the_process_record_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger = open_ledger("postgresql://postgres@127.0.0.1:1/none", check=False)
    budget = SharedPacingBudget(ledger, LOGIN, SimulatedClock(_Paused()), FAST)
    with caplog.at_level(logging.WARNING, "sdk.venues.ib.shared_pacing"):
        assert await budget.acquire("same", "k") == 0
        waited = await budget.acquire("same", "k")
    assert waited >= FAST.identical_window, "the process's own record still applies IB's rules"
    assert "pacing on this process's record only" in caplog.text and "trader db upgrade" in caplog.text
    assert caplog.text.count("pacing on this process's record only") == 1, "said once, not per request"
    ledger.close()


def test_default_budget_is_shared_only_through_a_configured_ledger(tmp_path: Path) -> None:
    unset = Settings(_env_file=None)
    assert default_budget(unset, None, lambda: LOGIN) is shared_budget(None)
    configured = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path}/trader.db")
    budget = default_budget(configured, None, lambda: LOGIN)
    assert isinstance(budget, SharedPacingBudget) and budget.login == LOGIN


def test_the_login_key_never_holds_an_account_number() -> None:
    key = login_key(["DU1234567", "U7654321"])
    assert key.startswith("ib:") and "1234567" not in key and "7654321" not in key
    assert key == login_key(["U7654321", "DU1234567"]), "the same login whatever order IB lists its accounts"


class _Paused:
    """A simulated time source that only moves when advanced."""

    speed = 0.0

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def timestamp(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds
