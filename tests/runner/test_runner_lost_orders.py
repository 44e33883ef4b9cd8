"""An exit lost before IB acknowledged it is sent once more with the same client order id (issue 12, situation 3).

The runner runs as a real process (``python -m runner``) against the offline gateway in this process; the
gateway's ``lose_next`` fault closes the connection that carries the next new order instead of placing it (an
order in flight when the link died). The runner reconnects, reads IB's open and completed orders in full, proves
the exit never arrived, and sends it again with the same ``orderRef`` after a fresh risk check: the gateway's
``GET /state`` holds that exit exactly once and the position is closed. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest
from test_runner_processes import RunnerProcess, control, start_runner, until_true

from sdk.ledger import open_ledger
from sdk.ledger import queries as q

__all__ = ["start_runner"]  # the process fixture, shared with test_runner_processes
pytestmark = pytest.mark.slow


async def _advance_until(gw: Any, runner: RunnerProcess, condition: Any, what: str, minutes: int = 120) -> None:
    """Move the gateway's clock a minute at a time until ``condition()`` holds (the runner's log on failure)."""
    loop = asyncio.get_running_loop()
    for _ in range(minutes):
        if condition():
            return
        if runner.proc.returncode is not None:
            pytest.fail(f"the runner exited while waiting for {what}; its log:\n{runner.output[-4000:]}")
        gw.clock.advance(60)
        settle = loop.time() + 0.5  # a moment for the runner to act on that minute
        while not condition() and loop.time() < settle:
            await asyncio.sleep(0.05)
    await until_true(condition, runner, what, timeout=20)


def _sells(gw: Any) -> list[dict[str, Any]]:
    return [o for o in gw.state()["orders"] if o["action"] == "SELL"]


def _cba(gw: Any) -> float:
    return sum(p["position"] for p in gw.state()["positions"] if p["symbol"].startswith("CBA"))


async def test_an_exit_lost_before_ib_acknowledged_it_is_sent_once_more_with_the_same_id_and_closes_the_position(
    make_gateway: Any, start_runner: Any, ledger_url: str
) -> None:
    gw = await make_gateway()  # paused: only the test moves its clock
    runner = await start_runner(gw, ledger_url, symbols="CBA/AUD")
    await until_true(lambda: "runner started" in runner.output, runner, "the runner's start")
    await _advance_until(gw, runner, lambda: _cba(gw) > 0, "the entry (a buy of CBA) filled at the gateway")
    assert not _sells(gw), "the strategy sold before the fault was set: the test proves nothing"
    held = _cba(gw)

    await control(gw, "/faults", {"spec": "lose_next=1"})  # the next new order (the exit) dies in flight
    await _advance_until(gw, runner, lambda: gw.faults.lose_left == 0, "the exit sent (and lost in flight)")
    with open_ledger(ledger_url) as ledger:
        rows = [o for o in q.orders_by_client_prefix(ledger, "trd-") if o["side"] == "sell"]
        assert len(rows) == 1, f"one exit decided and recorded before it was sent: {rows}"
        lost_id = rows[0]["client_order_id"]

        await _advance_until(gw, runner, lambda: bool(_sells(gw)), "an exit at the gateway after the reconnect")
        await _advance_until(gw, runner, lambda: _cba(gw) == 0, "the position closed")
        first_sell = _sells(gw)[0]
        assert first_sell["orderRef"] == lost_id, "the lost exit was not re-sent with its client order id"
        assert first_sell["totalQuantity"] == held and first_sell["filled"] == held, first_sell
        await until_true(
            lambda: any(e["payload"]["client_order_id"] == lost_id
                        for e in q.recent_events(ledger, kinds=["order.resent"], limit=None)),
            runner, "the order.resent event",
        )  # fmt: skip
        await until_true(
            lambda: any(o["client_order_id"] == lost_id and o["status"] == "closed"
                        for o in q.orders_by_client_prefix(ledger, "trd-")),
            runner, "the re-sent exit closed in the ledger",
        )  # fmt: skip
    runner.signal(signal.SIGTERM)
    assert await runner.wait() == 0, runner.output[-3000:]

    state = await control(gw, "/state")
    refs = [o["orderRef"] for o in state["orders"]]
    assert refs.count(lost_id) == 1, "the re-send reached the gateway more than once"
    assert len(refs) == len(set(refs)), f"an order reached the gateway twice: {refs}"
    with open_ledger(ledger_url) as ledger:
        resent = [e for e in q.recent_events(ledger, kinds=["order.resent"], limit=None)]
        trades = q.trades_with_commissions(ledger, limit=None)
    assert [e["payload"]["client_order_id"] for e in resent] == [lost_id], "one re-send, of the lost exit only"
    assert resent[0]["payload"]["exit"] is True
    assert {t["trade_id"] for t in trades} == {e["execId"] for e in state["executions"]}, "every fill in the ledger"
    assert "sending it once more" in runner.output or "sent once more" in runner.output
