"""The MCP server's order tools behind the live gate (issue 12, situation 4), on the offline gateway over a real
socket: a paper session there places and fills an order and stops cleanly; a server on a gateway that manages a
``U…`` account with ``IB_ALLOW_LIVE=true`` then says ``live`` (in ``get_trading_context`` and the ledger) and
refuses ``preview_order``, ``place_order`` and ``create_plan`` with the missing checklist items, because a paper
run on the offline gateway is not a broker's. The gateway's ``GET /state`` proves nothing reached it.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from mcp_helpers import Harness, build_test_server, copy_ledger, server_settings, start_gateway

from sdk.ledger import open_ledger
from sdk.ledger import queries as q
from sdk.risk import Approved, OrderIntent
from sdk.services.live_gate import REFUSED_EVENT
from sdk.venues.mode import VENUE_EVENT

pytestmark = [pytest.mark.shared_data]

LIVE_ACCOUNT = "U7654321"
BUY_BHP = {"symbol": "BHP/AUD", "side": "buy", "amount": 100, "type": "limit", "price": 37.695}
PLAN = {"symbol": "BHP/AUD", "side": "buy", "amount": 100, "stop": 36.0, "target": 40.0}


async def gateway_state(gw: Any) -> dict[str, Any]:
    """``GET /state`` of the gateway's control API, over HTTP."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        async with http.get(f"http://127.0.0.1:{gw.control_port}/state") as answer:
            answer.raise_for_status()
            state: dict[str, Any] = await answer.json()
            return state


async def test_a_live_account_is_shown_live_and_no_order_tool_reaches_it(
    catalog: Any, ledger_template: Path, tmp_path: Path
) -> None:
    url = copy_ledger(ledger_template, tmp_path / "ledger")

    # a paper session on the offline gateway: an order placed and filled, the server stopped cleanly
    paper_gw = await start_gateway(catalog, tmp_path / "paper.json")
    try:
        paper_settings = server_settings(paper_gw, url, tmp_path, mcp_trading_enabled=True, execute_orders=True)
        paper = await Harness(build_test_server(paper_gw, paper_settings)).start()
        try:
            context = await paper.ok("get_trading_context")
            assert context["mode"] == "paper" and context["simulated_venue"] is True
            assert context["live_gate_missing"] == []
            token = (await paper.ok("preview_order", BUY_BHP))["token"]
            placed = await paper.ok("place_order", {"token": token})
            assert placed["order"]["status"] == "closed", "the paper run has a fill and no unresolved order"
        finally:
            await paper.stop()
    finally:
        await paper_gw.stop()

    # the same configuration on a gateway managing a live account, live explicitly allowed
    gw = await start_gateway(catalog, tmp_path / "live.json", account=LIVE_ACCOUNT, control_port=0)
    states: list[Any] = []
    try:
        settings = server_settings(
            gw, url, tmp_path, mcp_trading_enabled=True, execute_orders=True, ib_paper=False, ib_allow_live=True,
            ib_account_id=LIVE_ACCOUNT,
        )  # fmt: skip
        before = await gateway_state(gw)
        live = await Harness(build_test_server(gw, settings, states=states)).start()
        try:
            context = await live.ok("get_trading_context")
            assert context["mode"] == "live" and context["simulated_venue"] is True
            assert (
                "account=U****321 (live)" in context["mode_facts"] and "IB_PAPER=false (live)" in context["mode_facts"]
            )
            (missing,) = context["live_gate_missing"]
            assert missing.startswith("paper run validated:") and "ran on the offline gateway" in missing

            refusals = [
                await live.error("preview_order", BUY_BHP),
                await live.error("create_plan", PLAN),
                await live.error("place_order", {"token": await _token_minted_past_the_preview(states[0])}),
            ]
            for refusal in refusals:
                assert "live trading refused" in refusal and "paper run validated" in refusal, refusal
                assert "ran on the offline gateway, not a broker's paper account" in refusal
                assert "IB_ALLOW_LIVE:" not in refusal and "IB_ACCOUNT_ID:" not in refusal
                assert LIVE_ACCOUNT not in refusal, "the account number is masked"
        finally:
            await live.stop()
        after = await gateway_state(gw)
    finally:
        await gw.stop()
    assert "placeOrder" not in after["received"], "an order tool reached the live account"
    assert after["orders"] == [] == after["executions"] and after["cash"] == before["cash"]
    with open_ledger(url) as ledger:
        sessions = {s["mode"]: s for s in q.sessions(ledger) if s["program"] == "mcp"}
        refused = q.recent_events(ledger, kinds=[REFUSED_EVENT], limit=None)
        venue = q.recent_events(ledger, kinds=[VENUE_EVENT], run_id=sessions["live"]["run_id"])
    assert set(sessions) == {"paper", "live"} and sessions["paper"]["end_reason"] == "stopped"
    assert sessions["live"]["account"] == "U****321"
    assert len(refused) == 3 and {e["run_id"] for e in refused} == {sessions["live"]["run_id"]}
    assert venue[0]["payload"]["mode"] == "live" and venue[0]["payload"]["broker"] == "offline gateway"


async def _token_minted_past_the_preview(state: Any) -> str:
    """A token for an order the RiskManager approves, issued without the preview tool (as if the gate had been
    open then): place_order must check the gate itself."""
    cid = state.services.execution.new_client_order_id()
    intent = OrderIntent(
        symbol="BHP/AUD",
        side="buy",
        type="limit",
        amount=Decimal(100),
        price=Decimal("37.69"),
        client_order_id=cid,
        origin="agent:test",
    )
    decision = await state.services.execution.preview(intent)
    assert isinstance(decision, Approved), decision
    return str(state.tokens.issue(intent, decision).token)
