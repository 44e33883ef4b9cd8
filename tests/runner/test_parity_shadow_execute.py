"""Shadow and paper agree (issue 13, deliverable 2): the same strategy over the same days of real data, once
``--shadow`` and once ``--execute``, each a ``python -m runner`` process on a fresh offline gateway and ledger, gives
the same orders (symbol, side, type, time in force, amount, prices, outcome) and the same fills (symbol, side,
amount, price, liquidity, commission).

The strategy (``parity_sized`` in ``parity_strategies``) trades both sides of the one market-order rule: ``BHP/AUD``
(ASX: no market orders, so its exits are marketable IOC limits) through plans whose entry is a DAY limit resting
0.1% under the bar's close, ``SPY/USD`` and ``AUD/USD`` (IB takes their market orders) through market signals, all
sized by the runner. Both gateways are paused; the test moves their clocks together, step by step (each market's
open and close and a few minutes after), and waits for both runners to take their whole step there before the next
move. So both runners decide on the same bars at the same simulated moments, meet the same replayed quotes, and
the same fill model (:mod:`sdk.sim.fills`) fills their orders: prices are compared exactly (the fill model's
tolerance is nil when both meet one market), and any difference is a bug to fix, not a tolerance to widen.
"""

from __future__ import annotations

import shutil
import signal
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_runner_processes import RunnerProcess, start_runner, until_true

from sdk.calendars import get_calendar
from sdk.ledger import open_ledger
from sdk.ledger import queries as q

pytestmark = pytest.mark.slow
__all__ = ["start_runner"]  # the fixture, imported for this test

SYMBOLS = "BHP/AUD,SPY/USD,AUD/USD"
#: Tuesday 4 March 2025, 70 minutes before ASX's close (the first step, after the close, is more than an hour
#: later); the run ends before Wednesday 12 March: six ASX, six NYSE and six FX sessions.
START = datetime(2025, 3, 4, 3, 50, tzinfo=UTC)
END = datetime(2025, 3, 12, 0, 0, tzinfo=UTC)
ARGS = ("--timeframe", "1d", "--plugin", "parity_strategies", "--param", "below=0.1")
ORDER_FIELDS = ("side", "type", "time_in_force", "amount", "price", "trigger_price", "status", "filled")
FILL_FIELDS = ("side", "amount", "price", "taker_or_maker", "fee_cost", "fee_currency")


def steps(start: datetime, end: datetime) -> list[datetime]:
    """Every moment the clocks stop at: shortly after each ASX and NYSE open and close and each FX day's close,
    more than an hour apart (a runner records its account summary once per clock hour: the sign of a whole step)."""
    moments: list[datetime] = []
    for market, after_open, after_close in (("ASX", 5, 1), ("NYSE", 1, 1), ("FX", None, 3)):
        for session in get_calendar(market).sessions(start, end):
            if after_open is not None and start < session.open < end:
                moments.append(session.open + timedelta(minutes=after_open))
            if start < session.close < end:
                moments.append(session.close + timedelta(minutes=after_close))
    spaced: list[datetime] = []
    for moment in sorted(moments):
        spaced.append(max(moment, spaced[-1] + timedelta(hours=1, minutes=1)) if spaced else moment)
    return spaced


def summaries(url: str) -> int:
    with open_ledger(url) as ledger:
        return len(q.recent_events(ledger, kinds=["account_summary"], limit=None))


def by_symbol(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> dict[str, list[tuple[Any, ...]]]:
    """``rows`` (oldest first) as ``{symbol: [(field values), ...]}``: the order of events within a symbol."""
    found: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r["timestamp"], r["id"])):
        found[row["symbol"]].append(tuple(row[f] for f in fields))
    return dict(found)


def outcome(url: str) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, list[tuple[Any, ...]]], list[Any]]:
    """(orders, fills) of a run by symbol, and the fills whose commission is still pending."""
    with open_ledger(url) as ledger:
        orders = q.orders_by_client_prefix(ledger, "trd-")
        fills = q.trades_with_commissions(ledger, limit=None)
    return by_symbol(orders, ORDER_FIELDS), by_symbol(fills, FILL_FIELDS), [f for f in fills if f["fee_cost"] is None]


async def test_shadow_and_execute_give_the_same_orders_and_fills(
    make_gateway: Any, start_runner: Any, _migrated_sqlite: Path, tmp_path: Path
) -> None:
    runs: dict[str, tuple[Any, str, RunnerProcess]] = {}
    for mode in ("shadow", "execute"):
        gw = await make_gateway(start=START)
        (tmp_path / mode).mkdir()
        shutil.copy(_migrated_sqlite, tmp_path / mode / "trader.db")
        url = f"sqlite:///{tmp_path / mode / 'trader.db'}"
        runner = await start_runner(gw, url, *ARGS, execute=mode == "execute", strategy="parity_sized",
                                    symbols=SYMBOLS)  # fmt: skip
        runs[mode] = (gw, url, runner)
    for _, _, runner in runs.values():
        await until_true(lambda r=runner: "runner started" in r.output, runner, "the runner's start", timeout=120)
    for moment in steps(START, END):
        before = {mode: summaries(url) for mode, (_, url, _) in runs.items()}
        for gw, _, _ in runs.values():
            gw.clock.jump(moment)
        for mode, (_, url, runner) in runs.items():
            await until_true(
                lambda u=url, n=before[mode]: summaries(u) > n, runner, f"the {mode} runner's step at {moment}"
            )
    for _, _, runner in runs.values():
        runner.signal(signal.SIGTERM)
    for _, _, runner in runs.values():
        assert await runner.wait(timeout=60) == 0, runner.output[-3000:]

    shadow_orders, shadow_fills, _ = outcome(runs["shadow"][1])
    paper_orders, paper_fills, pending = outcome(runs["execute"][1])
    assert not pending, f"commissions still pending at the end: the fills cannot be compared: {pending}"
    assert runs["shadow"][0].state()["orders"] == [], "the shadow run sent an order to its gateway"
    assert len(runs["execute"][0].state()["orders"]) == sum(len(o) for o in paper_orders.values())
    # the scenario proves something: both rules, a resting limit filled later, round trips in every symbol
    kinds = {symbol: {o[1] for o in orders} for symbol, orders in paper_orders.items()}
    assert kinds == {"BHP/AUD": {"limit"}, "SPY/USD": {"market"}, "AUD/USD": {"market"}}, paper_orders
    assert any(f[3] == "maker" for f in paper_fills["BHP/AUD"]), "no resting BHP entry filled after it was placed"
    assert all({"buy", "sell"} <= {f[0] for f in fills} for fills in paper_fills.values()), paper_fills

    for symbol in sorted(paper_orders.keys() | shadow_orders.keys()):
        shadow, paper = shadow_orders.get(symbol, []), paper_orders.get(symbol, [])
        assert shadow == paper, f"{symbol} orders differ {ORDER_FIELDS}:\nshadow {shadow}\npaper  {paper}"
    for symbol in sorted(paper_fills.keys() | shadow_fills.keys()):
        shadow, paper = shadow_fills.get(symbol, []), paper_fills.get(symbol, [])
        assert shadow == paper, f"{symbol} fills differ {FILL_FIELDS}:\nshadow {shadow}\npaper  {paper}"
