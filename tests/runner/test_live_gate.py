"""The honest live gate (issue 12, situation 4): live or paper from facts, and a checklist a paper run on the
offline gateway does not satisfy.

* the facts table (:mod:`sdk.venues.mode`): account prefix, port, ``IB_PAPER``; a disagreement is refused;
  ccxt's sandbox;
* the checklist on a real ledger: a completed paper run of the same configuration on a broker's paper account
  validates; one on the offline gateway, of another configuration or strategy, with an unresolved order, without
  a fill, or never ended does not;
* end to end, real processes: a paper ``trader run --execute`` on the offline gateway ends cleanly with fills,
  then the same configuration against a gateway with a ``U…`` account and ``IB_ALLOW_LIVE=true`` is refused:
  the ledger records the attempt as ``live`` on the offline gateway, and the gateway received no order;
* ``IB_PAPER=true`` (the default) on a ``U…`` account with ``IB_ALLOW_LIVE=true`` is refused at connect.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from test_runner_processes import RunnerProcess, control, runner_env, until_true

from sdk.clock import SystemClock
from sdk.errors import LiveTradingNotAllowed
from sdk.ledger import Ledger, open_ledger
from sdk.ledger import queries as q
from sdk.services.live_gate import (
    REFUSED_EVENT,
    is_live,
    live_checklist,
    record_venue,
    require_live_ready,
    trading_config_hash,
)
from sdk.settings import load_settings
from sdk.venues.mode import VENUE_EVENT, ModeConflict, ccxt_mode, ib_mode, is_offline_gateway_notice

LIVE_ACCOUNT = "U1234567"
FINGERPRINT = {"symbols": ["BHP/AUD"], "strategy": "alternate", "plugins": [], "params": {}, "timeframe": "5m",
               "shadow": False}  # fmt: skip


# --- the facts table --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "port", "account", "mode"),
    [
        ({}, 4002, "DU1234567", "paper"),
        ({}, 7497, "DF1234567", "paper"),
        ({}, 5555, None, "paper"),  # a custom port and no account yet: IB_PAPER is the only fact
        ({"ib_paper": False}, 4001, "U1234567", "live"),
        ({"ib_paper": False}, 7496, "F1234567", "live"),
        ({"ib_paper": False}, 5555, "U1234567", "live"),
        ({"ib_paper": False}, 5555, None, "live"),
    ],
)
def test_the_mode_follows_the_facts(settings: dict[str, Any], port: int, account: str | None, mode: str) -> None:
    decided = ib_mode(load_settings(**settings), port=port, account=account)
    assert decided.mode == mode and not decided.simulated
    assert all(f.says == mode for f in decided.facts)
    if account:
        assert account not in str(decided.payload()), "the account number is masked"


@pytest.mark.parametrize(
    ("settings", "port", "account", "named"),
    [
        ({}, 5555, "U1234567", "account=U****567 (live)"),  # the issue: IB_PAPER=true (default) on a U account
        ({}, 4001, None, "IB_PORT=4001 (live)"),
        ({"ib_paper": False}, 4002, None, "IB_PORT=4002 (paper)"),
        ({"ib_paper": False}, 5555, "DU1234567", "account=DU****567 (paper)"),
        ({"ib_paper": False}, 4001, "DU1234567", "account=DU****567 (paper)"),
    ],
)
def test_facts_that_disagree_are_refused_never_guessed(
    settings: dict[str, Any], port: int, account: str | None, named: str
) -> None:
    with pytest.raises(ModeConflict, match="the facts disagree") as refused:
        ib_mode(load_settings(ib_allow_live=True, **settings), port=port, account=account)
    assert named in str(refused.value) and "IB_PAPER" in str(refused.value) and "nothing was sent" in str(refused.value)


def test_ccxt_is_paper_only_on_its_sandbox_and_the_gateway_notice_is_recognised() -> None:
    assert ccxt_mode("gemini", sandbox=True).mode == "paper" and ccxt_mode("gemini", sandbox=False).mode == "live"
    assert is_live(ccxt_mode("gemini", sandbox=False), execute=True)
    assert not is_live(ccxt_mode("gemini", sandbox=False), execute=False), "shadow sends nothing"
    assert is_offline_gateway_notice(2199, "OFFLINE GATEWAY: trader-sdk") and not is_offline_gateway_notice(2104, "ok")


def test_a_ccxt_venue_executing_without_a_sandbox_needs_ccxt_allow_live_and_a_sandbox_run(sqlite_url: str) -> None:
    settings = load_settings(active_exchange="gemini", execute_orders=True)
    with open_ledger(sqlite_url) as ledger, pytest.raises(LiveTradingNotAllowed) as refused:
        require_live_ready(settings, ledger, {"BTC/USD": None}, mode=ccxt_mode("gemini", sandbox=False))
    message = str(refused.value)
    assert "CCXT_ALLOW_LIVE" in message and "gemini's sandbox (CCXT_SANDBOX=true)" in message
    assert "IB_ACCOUNT_ID" not in message and "market hours" not in message, "crypto trades around the clock"


# --- the checklist on a real ledger -----------------------------------------------------------------------
class _Venue:
    """The facts a session ran on, as a connected trader reports them (``mode_facts``)."""

    id = "IB"
    clock = SystemClock()
    client_id = 1

    def __init__(self, account: str, simulated: bool) -> None:
        self.facts = {"port": 5555, "account": account, "simulated": simulated}
        self.account_id = account

    def mode_facts(self) -> dict[str, Any]:
        return self.facts


def _paper_run(
    ledger: Ledger,
    run_id: str,
    *,
    simulated: bool = False,
    settings: Any = None,
    fingerprint: dict[str, Any] | None = None,
    fill: bool = True,
    order_status: str = "closed",
    end: str | None = "until reached",
) -> None:
    """A paper runner session as the runner records it: session, venue facts, config event, an order, a fill."""
    settings = settings or load_settings(execute_orders=True)
    writer = ledger.writer()
    writer.start_session(venue="IB", account="DU1234567", base_currency="AUD", mode="paper", program="runner",
                         run_id=run_id)  # fmt: skip
    record_venue(writer, settings, _Venue("DU1234567", simulated), shadow=False, source="runner")  # type: ignore[arg-type]
    writer.record_event("runner.config", {"fingerprint": fingerprint or FINGERPRINT})
    order = {
        "clientOrderId": f"trd-{run_id.replace('-', '')}",
        "id": f"9{len(run_id)}{run_id[-1]}",
        "symbol": "BHP/AUD",
        "side": "buy",
        "status": order_status,
        "amount": 100,
        "timestamp": 1_700_000_000_000,
    }
    writer.record_order(order)
    if fill:
        writer.record_trade({"id": f"e-{run_id}", "symbol": "BHP/AUD", "side": "buy", "price": 40, "amount": 100,
                             "timestamp": 1_700_000_000_000})  # fmt: skip
    if end is not None:
        writer.end_session(run_id, reason=end)


LIVE = load_settings(execute_orders=True, ib_paper=False, ib_allow_live=True, ib_account_id=LIVE_ACCOUNT)
LIVE_MODE = ib_mode(LIVE, port=5555, account=LIVE_ACCOUNT)


def _missing(ledger: Ledger, settings: Any = LIVE, fingerprint: dict[str, Any] | None = None) -> dict[str, str]:
    checks = live_checklist(
        settings, ledger, {"BHP/AUD": "ASX"}, mode=LIVE_MODE, fingerprint=fingerprint or FINGERPRINT
    )
    return {c.name: c.detail for c in checks if not c.ok}


def test_a_completed_paper_run_of_the_same_configuration_on_a_broker_validates(sqlite_url: str) -> None:
    with open_ledger(sqlite_url) as ledger:
        _paper_run(ledger, "paper-ok")
        assert _missing(ledger) == {}
        checks = require_live_ready(LIVE, ledger, {"BHP/AUD": "ASX"}, mode=LIVE_MODE, fingerprint=FINGERPRINT)
        assert "paper run paper-ok" in checks[2].detail
        assert trading_config_hash(LIVE) == trading_config_hash(load_settings(execute_orders=True)), (
            "paper and live differ in the mode settings only"
        )


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"simulated": True}, "ran on the offline gateway"),
        ({"settings": load_settings(execute_orders=True, max_order_value=1234)}, "ran another configuration"),
        ({"fingerprint": {**FINGERPRINT, "symbols": ["CBA/AUD"]}}, "ran another strategy configuration"),
        ({"order_status": "open"}, "has unresolved orders"),
        ({"fill": False}, "has no fill"),
        ({"end": None}, "never ended"),
        ({"end": "error: NetworkError: lost"}, "ended with 'error: NetworkError: lost'"),
    ],
)
def test_a_paper_run_that_does_not_qualify_leaves_the_gate_shut(
    sqlite_url: str, options: dict[str, Any], why: str
) -> None:
    with open_ledger(sqlite_url) as ledger:
        _paper_run(ledger, "paper-x", **options)
        missing = _missing(ledger)
        assert set(missing) == {"paper run validated"}, missing
        assert f"paper run paper-x {why}" in missing["paper run validated"]
        with pytest.raises(LiveTradingNotAllowed, match="Nothing was sent"):
            require_live_ready(LIVE, ledger, {"BHP/AUD": "ASX"}, mode=LIVE_MODE, fingerprint=FINGERPRINT)


def test_every_item_is_named_when_nothing_is_ready(sqlite_url: str) -> None:
    bare = load_settings(execute_orders=True, ib_paper=False)
    with open_ledger(sqlite_url) as ledger:
        missing = _missing(ledger, bare)
        checks = live_checklist(bare, ledger, {"X/USD": None}, mode=ib_mode(bare, port=5555), fingerprint=FINGERPRINT)
    assert set(missing) == {"IB_ALLOW_LIVE", "IB_ACCOUNT_ID", "paper run validated"}
    assert [c.name for c in checks if not c.ok][-1] == "market hours known"


# --- in process: the runner on the offline gateway with a live account -----------------------------------
async def test_ib_paper_true_on_a_live_account_is_refused_at_connect(make_gateway: Any, make_trader: Any) -> None:
    """The issue's set-up: IB_ALLOW_LIVE=true, IB_PAPER left at true, the gateway manages a U account."""
    gw = await make_gateway(account=LIVE_ACCOUNT)
    with pytest.raises(ModeConflict, match=r"IB_PAPER=true \(paper\) but account=U\*\*\*\*567 \(live\)"):
        await make_trader(gw, ib_allow_live=True, execute_orders=True)
    assert gw.state()["orders"] == []


async def test_the_runner_refuses_a_live_account_on_the_offline_gateway(
    make_gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    from runner.config import RunnerConfig
    from runner.runner import StrategyRunner
    from sdk.services.clock import SimClockFollower

    gw = await make_gateway(account=LIVE_ACCOUNT)
    trader = await make_trader(gw, ib_allow_live=True, ib_paper=False, execute_orders=True)
    mode = trader.mode_facts()
    assert mode["simulated"] is True and mode["account"] == LIVE_ACCOUNT, "the gateway identified itself at connect"
    with open_ledger(sqlite_url) as ledger:
        runner = StrategyRunner(trader.settings, RunnerConfig(symbols=("BHP/AUD",), shadow=False),
                                clock=SimClockFollower(gw.clock), trader=trader, ledger=ledger)  # fmt: skip
        with pytest.raises(LiveTradingNotAllowed, match="checklist is not complete") as refused:
            await runner.run()
        (session,) = q.sessions(ledger)
        (venue,) = q.recent_events(ledger, kinds=[VENUE_EVENT])
    message = str(refused.value)
    assert "IB_ACCOUNT_ID" in message and "paper run validated" in message
    assert "IB_ALLOW_LIVE:" not in message and LIVE_ACCOUNT not in message
    assert session["mode"] == "live" and session["end_reason"] == "refused by the live gate"
    assert venue["payload"]["simulated"] is True and venue["payload"]["broker"] == "offline gateway"
    assert gw.state()["orders"] == []


# --- real processes: a paper run on the offline gateway does not open the gate ------------------------------
@pytest.fixture
async def start_runner(tmp_path: Path) -> AsyncIterator[Any]:
    """``await start_runner(gw, ledger_url, **env)``: ``python -m runner --execute`` on ``gw`` (the process tests'
    environment and test strategy, BHP on 5-minute bars), ``env`` added to its environment."""
    started: list[RunnerProcess] = []

    async def start(gw: Any, ledger_url: str, **env: str) -> RunnerProcess:
        log = tmp_path / f"runner-{len(started)}.log"
        command = [sys.executable, "-m", "runner", "--symbols", "BHP/AUD", "--strategy", "alternate", "--plugin",
                   "runner_test_strategies", "--timeframe", "5m", "--clock", f"http://127.0.0.1:{gw.control_port}",
                   "--execute", "--monitor-interval", "30"]  # fmt: skip
        with log.open("wb") as sink:
            proc = await asyncio.create_subprocess_exec(
                *command, stdout=sink, stderr=sink, env={**runner_env(gw, ledger_url), **env}, cwd=tmp_path
            )
        started.append(RunnerProcess(proc, log))
        return started[-1]

    yield start
    for runner in started:
        if runner.proc.returncode is None:
            runner.proc.kill()
            await runner.proc.wait()


@pytest.mark.slow
async def test_a_paper_run_on_the_offline_gateway_does_not_let_a_live_account_trade(
    make_gateway: Any, start_runner: Any, ledger_url: str
) -> None:
    """``trader run --execute`` on a paper account until it has fills and stops cleanly (SIGTERM), then the same
    configuration with ``IB_ALLOW_LIVE=true`` on a gateway managing a ``U…`` account: refused at start, exit
    status 1, the attempt in the ledger as ``live`` on the offline gateway, and no order at that gateway."""
    paper_gw = await make_gateway(speed=0)  # paused until the runner is up: a slow start must not miss the session
    paper = await start_runner(paper_gw, ledger_url)
    await until_true(lambda: "runner started" in paper.output, paper, "the paper run's start", timeout=60)
    paper_gw.clock.set_speed(1200)

    def filled() -> bool:
        with open_ledger(ledger_url) as ledger:
            return bool(q.trades_with_commissions(ledger, limit=1))

    await until_true(filled, paper, "a fill of the paper run")
    paper.signal(signal.SIGTERM)
    assert await paper.wait() == 0, paper.output[-3000:]

    live_gw = await make_gateway(speed=1200, account=LIVE_ACCOUNT)
    before = await control(live_gw, "/state")
    live = await start_runner(live_gw, ledger_url, IB_PAPER="false", IB_ALLOW_LIVE="true", IB_ACCOUNT_ID=LIVE_ACCOUNT)
    assert await live.wait(timeout=60) == 1, live.output[-3000:]
    assert "LiveTradingNotAllowed: live trading refused" in live.output
    assert "ran on the offline gateway, not a broker's paper account" in live.output
    assert LIVE_ACCOUNT not in live.output, "the account number is masked"
    after = await control(live_gw, "/state")
    assert "placeOrder" not in after["received"] and after["orders"] == [] == after["executions"]
    assert after["cash"] == before["cash"]
    with open_ledger(ledger_url) as ledger:
        sessions = {s["mode"]: s for s in q.sessions(ledger)}
        refusals = q.recent_events(ledger, kinds=[REFUSED_EVENT])
        venues = {e["run_id"]: e["payload"] for e in q.recent_events(ledger, kinds=[VENUE_EVENT], limit=None)}
    assert set(sessions) == {"paper", "live"}
    assert sessions["paper"]["end_reason"] == "stopped by SIGTERM"
    assert sessions["live"]["end_reason"] == "refused by the live gate"
    assert venues[sessions["paper"]["run_id"]]["simulated"] is True
    assert venues[sessions["live"]["run_id"]]["mode"] == "live"
    assert len(refusals) == 1 and refusals[0]["run_id"] == sessions["live"]["run_id"]
