"""The StrategyRunner in this process on real ASX data through the offline gateway (real socket), following
the gateway's simulated clock: every bar decided on once, decisions at the close, orders at the next open,
one symbol's failures isolated from the others.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import runner_test_strategies  # noqa: F401  (registers alternate and fragile)

from runner.clock import SimClockFollower
from runner.config import RunnerConfig
from runner.demo import ReplayDriver
from runner.runner import RunResult, StrategyRunner
from sdk.calendars import get_calendar
from sdk.ledger import open_ledger
from sdk.ledger import queries as q

SYDNEY = get_calendar("ASX").tz


async def run_in_process(
    gw: Any, trader: Any, ledger_url: str, config: RunnerConfig, speed: float, idle_speed: float | None = None
) -> RunResult:
    """Run ``config`` against ``gw``; its clock starts once the runner has backfilled, at ``speed`` (and
    ``idle_speed`` while ASX is shut, when given)."""
    pacer = ReplayDriver(gw, {"ASX"}, speed, idle_speed or speed)
    with open_ledger(ledger_url) as ledger:
        runner = StrategyRunner(
            trader.settings, config, clock=SimClockFollower(gw.clock, driven_speed=lambda: pacer.speed), trader=trader,
            ledger=ledger,
            on_event=lambda kind, payload: pacer.start() if kind == "started" else None,
        )  # fmt: skip
        try:
            return await runner.run()
        finally:
            await pacer.stop()


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
