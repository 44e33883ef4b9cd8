"""State several processes share through the ledger: the day's opening equity and the kill switch.

Each "process" here is its own service set (its own ledger session, tracker and execution service) on one
ledger and one offline gateway, as two runner processes would be.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from typer.testing import CliRunner

from sdk.cli import build_app
from sdk.ledger import killswitch as ks
from sdk.ledger import open_ledger
from sdk.ledger import queries as q
from sdk.risk import OrderIntent
from sdk.services import build_services
from sdk.services.killswitch import kill_switch_reason

cli = CliRunner()
app = build_app()


def buy(amount: int = 200, cid: str = "trd-bhp-0001", side: str = "buy", **extra: Any) -> OrderIntent:
    return OrderIntent(
        symbol="BHP/AUD", side=side, type="market", amount=amount, client_order_id=cid, origin="strategy:t", **extra
    )


async def test_a_process_started_at_noon_sees_the_mornings_loss_from_the_ledger(
    gateway: Any, make_trader: Any, ledger_url: str
) -> None:
    trader = await make_trader(gateway, execute_orders=True)
    with open_ledger(ledger_url) as ledger:
        morning = await build_services(trader.settings, trader, ledger, session_id="run-morning", shadow=False)
        opening = await morning.portfolio.record()  # the day's first snapshot, at the ASX open
        await morning.execution.submit(buy(cid="trd-open-1"))  # pays a commission: equity moves
        gateway.clock.advance(3 * 3600)  # "noon": the morning process is gone, a new one starts
        noon = await build_services(trader.settings, trader, ledger, session_id="run-noon", shadow=False)
        restarted = await noon.portfolio.pnl_today()
        assert restarted == await morning.portfolio.pnl_today(), "both measure from the ledger's opening equity"
        now = noon.portfolio.last
        assert now is not None and restarted == now.equity - opening.equity != 0
        # the restarted process recorded no second "open": the day has one first snapshot
        first = q.equity_curve(ledger)[0]
        assert (first["run_id"], first["timestamp"]) == ("run-morning", opening.timestamp)


async def test_the_first_tracker_of_the_day_records_the_opening_equity(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    trader = await make_trader(gateway)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="run-first", shadow=True)
        assert q.equity_curve(ledger) == []
        assert await services.portfolio.pnl_today() == Decimal(0)
        curve = q.equity_curve(ledger)
        assert [(r["run_id"], r["currency"]) for r in curve] == [("run-first", "AUD")]


def killswitch(*args: str) -> Any:
    return cli.invoke(app, ["--env-file", "/nonexistent.env", "killswitch", *args])


async def test_the_ledgers_kill_switch_stops_openings_in_every_process_but_lets_exits_go(
    gateway: Any, make_trader: Any, ledger_url: str, tmp_path: Path
) -> None:
    no_file = {"kill_switch_file": tmp_path / "no-such-file"}
    one = await make_trader(gateway, client_id=1, execute_orders=True, **no_file)
    two = await make_trader(gateway, client_id=2, execute_orders=True, **no_file)
    with open_ledger(ledger_url) as ledger:
        a = await build_services(one.settings, one, ledger, session_id="run-a", shadow=False)
        b = await build_services(two.settings, two, ledger, session_id="run-b", shadow=False)
        assert (await a.execution.submit(buy(cid="trd-ks-1"))).approved
        engaged = killswitch("on", "--url", ledger_url, "--reason", "bad fills we cannot explain", "--by", "alice")
        assert engaged.exit_code == 0, engaged.output
        assert "engaged by alice" in engaged.output and "bad fills" in engaged.output
        # 1: engaged (a reason saying "cannot" is not an unreadable switch, exit 2)
        assert killswitch("status", "--url", ledger_url).exit_code == 1
        for services, cid in ((a, "trd-ks-2"), (b, "trd-ks-3")):
            refused = await services.execution.submit(buy(cid=cid))
            assert refused.reject_code == "kill_switch" and "bad fills" in str(refused.risk_decision["reason"])
        exit_ = await b.execution.submit(buy(cid="trd-ks-4", side="sell", reduce_only=True))
        assert exit_.approved, "an exit still goes while the switch is engaged"
        sent = [o["orderRef"] for o in gateway.state()["orders"]]
        assert sent == ["trd-ks-1", "trd-ks-4"], "no opening order reached the gateway"
        assert killswitch("off", "--url", ledger_url, "--by", "alice").exit_code == 0
        assert (await a.execution.submit(buy(cid="trd-ks-5"))).approved


async def test_an_unreadable_kill_switch_refuses_openings_and_says_why(
    gateway: Any, make_trader: Any, sqlite_url: str, tmp_path: Path
) -> None:
    trader = await make_trader(gateway, execute_orders=True, kill_switch_file=tmp_path / "no-such-file")
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="run-u", shadow=False)
        with ledger.write() as conn:  # SQLite keeps what it is given: a time that is no number
            conn.execute(text("INSERT INTO kill_switch VALUES ('global', 0, 'someone', 'yesterday', NULL)"))
        refused = await services.execution.submit(buy(cid="trd-ku-1"))
        assert refused.reject_code == "kill_switch"
        assert "refusing to open positions" in str(refused.risk_decision["reason"])
        assert gateway.state()["orders"] == []
    with open_ledger("postgresql://postgres@127.0.0.1:9/none", check=False) as unreachable:
        why = kill_switch_reason(unreachable)
        assert why is not None and why.startswith("cannot read the kill switch on the ledger postgresql")
        assert "refusing to open positions" in why


async def test_the_kill_switch_file_still_engages_it(
    gateway: Any, make_trader: Any, sqlite_url: str, tmp_path: Path
) -> None:
    switch = tmp_path / "KILL_SWITCH"
    trader = await make_trader(gateway, execute_orders=True, kill_switch_file=switch)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="run-f", shadow=False)
        switch.touch()
        refused = await services.execution.submit(buy(cid="trd-kf-1"))
        assert refused.reject_code == "kill_switch" and str(switch) in refused.risk_decision["reason"]


def test_first_settings_of_the_kill_switch_racing_all_succeed(ledger_url: str) -> None:
    """Eight first-time ``on`` calls at once (no row yet): each succeeds and the switch is engaged (on PostgreSQL
    the losers' inserts conflict; they must update the winner's row, not report an unreadable switch)."""
    with open_ledger(ledger_url) as ledger, ThreadPoolExecutor(8) as pool:
        done = list(pool.map(lambda i: ks.engage(ledger, by=f"proc-{i}", reason="race"), range(8)))
        assert all(switch.engaged for switch in done) and ks.status(ledger).engaged


def test_one_token_claimed_by_racing_processes_is_won_once(ledger_url: str) -> None:
    """Six real processes claim one confirmation token at the same moment on one ledger: exactly one wins (the
    claim is one conditional UPDATE), the others see it being placed."""
    from sdk.ledger import tokens

    with open_ledger(ledger_url) as ledger:
        tokens.issue(ledger, "tok-race", client_order_id="trd-race", intent={}, warnings=[], ttl_ms=60_000,
                     issued_by="test")  # fmt: skip
    script = (
        "import sys, time\n"
        "from sdk.ledger import open_ledger, tokens\n"
        "go = float(sys.argv[2])\n"
        "with open_ledger(sys.argv[1]) as ledger:\n"
        "    ledger.engine.connect().close()\n"  # connected before the start line: the race is the claim
        "    time.sleep(max(0.0, go - time.time()))\n"  # a start line shared by all, not a wait for a result
        "    won, _ = tokens.claim(ledger, 'tok-race')\n"
        "print('won' if won else 'lost')\n"
    )
    go = time.time() + 3
    procs = [subprocess.Popen([sys.executable, "-c", script, ledger_url, str(go)], stdout=subprocess.PIPE, text=True)
             for _ in range(6)]  # fmt: skip
    outcomes = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert [p.returncode for p in procs] == [0] * 6
    assert outcomes == ["lost"] * 5 + ["won"], outcomes
    with open_ledger(ledger_url) as ledger:
        won, row = tokens.claim(ledger, "tok-race")
    assert not won and row is not None and row["state"] == "placing"
