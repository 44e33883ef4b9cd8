"""The StrategyRunner in this process on real ASX data through the offline gateway (real socket), following
the gateway's simulated clock: every bar decided on once, decisions at the close, orders at the next open,
one symbol's failures isolated from the others, a bar failing its last try given up without losing the bars
after it, the account summary recorded for the dashboard, an ``until`` already past refused.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import runner_test_strategies  # noqa: F401  (registers the test strategies)
from runner_helpers import run_in_process

from runner.config import RunnerConfig
from runner.runner import RunnerError, StrategyRunner
from sdk.calendars import get_calendar
from sdk.ledger import open_ledger
from sdk.ledger import queries as q
from sdk.services.clock import SimClockFollower

SYDNEY = get_calendar("ASX").tz


async def test_daily_bars_on_real_asx_data_every_bar_once_orders_at_the_next_open(
    make_gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    asx, fx = get_calendar("ASX"), get_calendar("FX")
    first = asx.next_session(datetime(2025, 12, 3, 9, 0, tzinfo=SYDNEY))
    last = asx.next_session(datetime(2025, 12, 16, 9, 0, tzinfo=SYDNEY))
    until = last.close + timedelta(minutes=5)
    gw = await make_gateway(start=first.open)
    trader = await make_trader(gw)
    symbols = ("BHP/AUD", "CBA/AUD", "CSL/AUD", "AUD/USD")
    config = RunnerConfig(symbols=symbols, timeframe="1d", until=until.timestamp(), resume=False)
    result = await run_in_process(gw, trader, sqlite_url, config, speed=100_000, idle_speed=1_000_000)

    assert result.reason == "until reached" and result.until_reached
    expected = {s: {x.day for x in asx.sessions(first.open, until) if first.open < x.close <= until} for s in symbols}
    expected["AUD/USD"] = {x.day for x in fx.sessions(first.open, until) if first.open < x.close <= until}
    with open_ledger(sqlite_url) as ledger:
        bars = q.recent_events(ledger, kinds=["runner.bar"], limit=None)
        plans = q.open_plans(ledger, statuses={"pending", "active", "closed", "canceled", "rejected"})
        orders = q.orders_by_client_prefix(ledger, "trd-")
        equity = q.equity_curve(ledger, run_id=result.run_id)
        (session,) = q.sessions(ledger)
    decided: dict[str, list[Any]] = defaultdict(list)
    for event in bars:
        decided[event["payload"]["symbol"]].append(
            datetime.fromtimestamp(event["payload"]["bar_ts"] / 1000, UTC).date()
        )
    for symbol in symbols:
        assert sorted(decided[symbol]) == sorted(expected[symbol]), f"{symbol}: a bar skipped or decided twice"
    assert len(expected["BHP/AUD"]) == 10 and result.telemetry["bars"] == sum(len(v) for v in expected.values())

    # CSL's 10/30 crossover at the close of 4 December: a plan, entered at the open of 5 December, in shadow
    csl = next(p for p in plans if p["symbol"] == "CSL/AUD")
    assert csl["strategy"] == "ma_crossover" and csl["stop"] < csl["target"]
    entry = next(o for o in orders if o["plan_id"] == csl["plan_id"])
    entered = datetime.fromtimestamp(entry["timestamp"] / 1000, UTC)
    fifth = asx.next_session(datetime(2025, 12, 5, 9, 0, tzinfo=SYDNEY))
    assert fifth.open <= entered < fifth.close, f"entered {entered}: not in the session after the decision"
    assert (
        entry["shadow"] and entry["status"] == "closed" and entry["type"] == "limit" and entry["time_in_force"] == "IOC"
    )
    assert gw.state()["orders"] == [] and gw.state()["executions"] == []
    assert session["mode"] == "shadow" and session["end_reason"] == "until reached"
    assert len(equity) >= 10 and all(row["currency"] == "AUD" for row in equity)
    assert result.portfolio is not None and result.portfolio.equity > 0


async def test_one_symbols_failure_is_logged_with_context_and_never_stops_the_others(
    make_gateway: Any, make_trader: Any, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await make_gateway()
    trader = await make_trader(gw)
    start = gw.clock.timestamp()
    config = RunnerConfig(symbols=("BHP/AUD", "CBA/AUD"), strategy="fragile", timeframe="5m", until=start + 3600,
                          resume=False)  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="runner.runner"):
        result = await run_in_process(gw, trader, sqlite_url, config, speed=3000)
    assert result.reason == "until reached"
    with open_ledger(sqlite_url) as ledger:
        decided = {e["payload"]["symbol"] for e in q.recent_events(ledger, kinds=["runner.bar"], limit=None)}
        fills = q.trades_with_commissions(ledger, limit=None)
    assert decided == {"BHP/AUD"}, "CBA/AUD fails every bar; BHP/AUD goes on"
    assert fills and {f["symbol"] for f in fills} == {"BHP/AUD"}
    assert result.telemetry["step_errors"] >= 3
    failure = next(r for r in caplog.records if "step failed" in r.getMessage())
    assert (failure.symbol, failure.timeframe, failure.stage) == ("CBA/AUD", "5m", "decide")  # type: ignore[attr-defined]
    assert failure.bar_ts is not None and "fails on CBA/AUD by design" in (failure.exc_text or "")  # type: ignore[attr-defined]


async def test_a_bar_that_fails_its_last_try_is_given_up_and_the_later_bars_are_still_decided_in_order(
    make_gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    asx = get_calendar("ASX")
    first = asx.next_session(datetime(2025, 12, 3, 9, 0, tzinfo=SYDNEY))
    sessions = [s for s in asx.sessions(first.open, first.open + timedelta(days=10)) if s.open >= first.open][:5]
    until = sessions[-1].close + timedelta(minutes=5)
    gw = await make_gateway(start=first.open)
    trader = await make_trader(gw)
    config = RunnerConfig(symbols=("BHP/AUD",), strategy="poisoned", timeframe="1d", until=until.timestamp(),
                          resume=False)  # fmt: skip
    result = await run_in_process(gw, trader, sqlite_url, config, speed=100_000, idle_speed=1_000_000)

    assert result.reason == "until reached"
    with open_ledger(sqlite_url) as ledger:
        bars = sorted(q.recent_events(ledger, kinds=["runner.bar"], limit=None), key=lambda e: e["id"])
        failed = q.recent_events(ledger, kinds=["runner.bar_failed"], limit=None)
    day = [s.day for s in sessions]
    decided = [datetime.fromtimestamp(e["payload"]["bar_ts"] / 1000, UTC).date() for e in bars]
    assert decided == [day[0], day[2], day[3], day[4]], "the bars after the given-up one are decided, in order"
    (gave_up,) = failed
    assert datetime.fromtimestamp(gave_up["payload"]["bar_ts"] / 1000, UTC).date() == day[1]
    assert gave_up["payload"]["tries"] == 3 and "poisoned bar" in gave_up["payload"]["error"]
    assert result.telemetry["bars_failed"] == 1 and result.telemetry["bars"] == 4
    assert result.telemetry["step_errors"] == 3


async def test_the_venues_account_summary_is_recorded_for_the_dashboard_at_start_and_each_snapshot_interval(
    make_gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    from dashboard.logic.reads import ACCOUNT_SUMMARY_KIND, latest_account_event

    gw = await make_gateway(cash={"AUD": 1_000_000})  # no other currency: the figures do not move with FX
    trader = await make_trader(gw)
    start = gw.clock.timestamp()
    config = RunnerConfig(symbols=("BHP/AUD",), strategy="poisoned", timeframe="5m", until=start + 2 * 3600,
                          resume=False)  # fmt: skip
    result = await run_in_process(gw, trader, sqlite_url, config, speed=3000)

    assert result.reason == "until reached" and result.telemetry["bars"] >= 20
    with open_ledger(sqlite_url) as ledger:
        (session,) = q.sessions(ledger)
        events = q.recent_events(ledger, kinds=[ACCOUNT_SUMMARY_KIND], limit=None)
        latest = latest_account_event(ledger, ACCOUNT_SUMMARY_KIND, session["venue"], session["account"])
    assert session["base_currency"] == "AUD"
    # at the first step, then once per snapshot interval (3600 s here): three in two hours, not one a bar
    assert 1 <= len(events) <= 3 < result.telemetry["bars"]
    assert latest is not None and latest["run_id"] == result.run_id
    summary = gw.account_snapshot().summary  # the gateway's own figures: (text, currency)
    assert summary["BuyingPower"] == ("4000000.00", "AUD")
    assert latest["payload"]["BuyingPower"] == 4_000_000.0, "IB's BuyingPower, in AUD (the base currency)"
    assert latest["payload"]["NetLiquidation"] == 1_000_000.0 and latest["payload"]["AvailableFunds"] == 1_000_000.0
    assert all(isinstance(v, float) for v in latest["payload"].values()), "{tag: number}, as the dashboard reads it"


async def test_an_until_already_past_on_the_runs_clock_is_refused_before_anything_is_recorded(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    trader = await make_trader(gateway)
    config = RunnerConfig(symbols=("BHP/AUD",), until=gateway.clock.timestamp() - 86_400, resume=False)
    with open_ledger(sqlite_url) as ledger:
        runner = StrategyRunner(trader.settings, config, clock=SimClockFollower(gateway.clock), trader=trader,
                                ledger=ledger)  # fmt: skip
        with pytest.raises(RunnerError, match=r"--until 2025-03-03T00:00:00\+00:00 is already past on the run's clock"):
            await runner.run()
        assert q.sessions(ledger) == [] and q.recent_events(ledger, limit=None) == []
