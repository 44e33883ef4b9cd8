"""The look-ahead guard (issue 20, deliverable 9): a backtest decides only on what had happened by then.

Property (hypothesis draws the cut): run one configuration on the real data, then on the same data truncated at a
cut (only what was known then: bars closed by the cut, and of a session in progress its opening price:
:class:`backtest_runs.CatalogUntil`), with the same configuration. Every decision on a bar that closed by the cut,
every order placed and every fill booked before it, must be the same in both runs: nothing the data holds after a
moment can change what was decided before it.

The cut is drawn among the closes of bars the full run decided on (the sharpest place: the decision's bar is the
last one the truncated data holds), and an hour into any session of the window (a bar in progress: the runner has
woken at the open, sent what waited and checked its plans against the open; the rest of the bar is the future).
Sharpest of all: an hour into the session after a decision, when its order went out at the open, priced from the
session's opening price (the simulated venue quotes it from the open, as a trader sees it then).

The configuration spans two markets (AAPL on NYSE, BHP on the ASX) in split-adjusted prices with
AAPL's 4:1 split of 2020-08-31 declared: prices are adjusted as of ``--end`` whatever the data holds, so a cut
before the split sees the same prices.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pandas as pd
import pytest
from backtest_runs import CatalogUntil
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.backtest.config import BacktestConfig
from runner.backtest.engine import BacktestResult, run_backtest
from runner.backtest.prepare import prepare
from sdk.settings import load_settings

pytestmark = pytest.mark.shared_data

CONFIG = BacktestConfig(
    strategy="ma_crossover", params={"fast": 5, "slow": 15}, symbols=("AAPL/USD", "BHP/AUD"), timeframe="1d",
    start=date(2020, 5, 1), end=date(2020, 10, 30), price_mode="split_adjusted",
)  # fmt: skip


def run(catalog: Any) -> BacktestResult:
    settings = load_settings()
    prepared = prepare(CONFIG.with_settings(settings), catalog, check_window=False)
    return asyncio.run(run_backtest(prepared, settings))


def closes(result: BacktestResult) -> dict[tuple[str, int], int]:
    """(symbol, bar timestamp as the venue answers it) -> the bar's close, ms."""
    return {
        (s, int(stamp)): int(end) for s, b in result.series.items() for stamp, end in zip(b.stamp, b.end, strict=True)
    }


def before(result: BacktestResult, cut: int) -> dict[str, list[Any]]:
    """What the run knew by ``cut`` (ms): decisions on bars closed by then, orders placed before it, and fills of bars
    closed by then (a fill is stamped with its bar's start and booked when the venue works the bar, at its end)."""
    ends = closes(result)
    booked = {
        (s, int(start)): int(end) for s, b in result.series.items() for start, end in zip(b.start, b.end, strict=True)
    }
    decisions = [d for d in result.decisions if ends[(d["symbol"], d["bar_ts"])] <= cut]
    orders = [(o["clientOrderId"], o["timestamp"], o["symbol"], o["side"], o["type"], o["amount"], o["price"])
              for o in result.orders if o["timestamp"] < cut]  # fmt: skip
    fills = [(f.order_id, f.timestamp, f.symbol, f.side, f.amount, f.price, f.fee)
             for f in result.fills if booked[(f.symbol, f.timestamp)] <= cut]  # fmt: skip
    return {"decisions": decisions, "orders": orders, "fills": fills}


@pytest.fixture(scope="module")
def full(catalog: Any) -> BacktestResult:
    result = run(catalog)
    assert len(result.decisions) >= 6 and len(result.fills) >= 6, "a run that decides and trades in both markets"
    assert {d["symbol"] for d in result.decisions} == {"AAPL/USD", "BHP/AUD"}
    return result


def after_decisions(full: BacktestResult, symbol: str | None = None) -> list[int]:
    """An hour into the session after each decision (of ``symbol``): its order went out at the open, priced from the
    session's opening price, and of the bar in progress the truncated data holds that open only."""
    ends = closes(full)
    return sorted(
        next(int(t) for t in full.series[d["symbol"]].start if t > ends[(d["symbol"], d["bar_ts"])]) + 3_600_000
        for d in full.decisions
        if symbol in (None, d["symbol"])
    )


def cut_points(full: BacktestResult) -> st.SearchStrategy[int]:
    ends = closes(full)
    decided = sorted({ends[(d["symbol"], d["bar_ts"])] for d in full.decisions})
    start = pd.Timestamp(CONFIG.start, tz="UTC").value // 1_000_000 + 10 * 86_400_000
    inside = sorted({int(t) + 3_600_000 for b in full.series.values() for t in b.start if t > start})
    return st.one_of(st.sampled_from(decided), st.sampled_from(after_decisions(full)), st.sampled_from(inside))


def check_cut(catalog: Any, full: BacktestResult, cut: int) -> None:
    truncated = run(CatalogUntil(catalog, pd.Timestamp(cut, unit="ms", tz="UTC")))
    assert before(truncated, cut) == before(full, cut)
    # no decision on a bar that had not opened by the cut (the truncated run may decide on the session's bar in
    # progress at its close, from the open-only stand-in: that decision is after the cut and not compared)
    opened = {(s, int(stamp)) for s, b in truncated.series.items()
              for stamp, start in zip(b.stamp, b.start, strict=True) if start <= cut}  # fmt: skip
    assert all((d["symbol"], d["bar_ts"]) in opened for d in truncated.decisions), "no bar after the cut, no decision"


def test_the_open_after_an_asx_decision_knows_nothing_of_that_session(catalog: Any, full: BacktestResult) -> None:
    """The sharpest cut, always tried: an ASX order (a marketable limit, priced from the opening quote) sent at the
    open."""
    check_cut(catalog, full, after_decisions(full, "BHP/AUD")[0])


@settings(max_examples=2, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_truncating_the_data_changes_nothing_decided_before_the_cut(
    catalog: Any, full: BacktestResult, data: Any
) -> None:
    check_cut(catalog, full, data.draw(cut_points(full), label="cut (ms UTC)"))
