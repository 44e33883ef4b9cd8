"""The write tools through the SDK's in-memory client: preview -> token -> place on a paper account of the
offline gateway (orders reach it over a real socket), cancels, plans, the kill switch and shadow mode.

A paper server (``EXECUTE_ORDERS=true``) on one paused gateway serves the module; tests count the
gateway's orders before and after, so each reads only its own effect.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from mcp_helpers import (
    FakeTime,
    Harness,
    build_test_server,
    copy_ledger,
    gateway_orders,
    server_settings,
    start_gateway,
)

from mcp_server import BACKTEST_TOOLS, READ_TOOLS, WRITE_TOOLS
from sdk.ledger import open_ledger
from sdk.ledger import queries as q

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.shared_data]

BUY_BHP = {"symbol": "BHP/AUD", "side": "buy", "amount": 100, "type": "limit", "price": 37.695}
RESTING_BHP = {"symbol": "BHP/AUD", "side": "buy", "amount": 100, "type": "limit", "price": 36.50}


@dataclass
class Env:
    gw: Any
    harness: Harness
    ledger_url: str
    settings: Any
    state: Any
    time: FakeTime
    directory: Path

    def orders(self) -> list[dict[str, Any]]:
        return gateway_orders(self.gw)

    def events(self, kind: str, limit: int = 20) -> list[dict[str, Any]]:
        with open_ledger(self.ledger_url) as ledger:
            return [e["payload"] for e in q.recent_events(ledger, kinds=[kind], limit=limit)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(catalog: Any, ledger_template: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    directory = tmp_path_factory.mktemp("mcp-write")
    gw = await start_gateway(catalog, directory / "gateway.json")
    url = copy_ledger(ledger_template, directory / "ledger")
    settings = server_settings(gw, url, directory, mcp_trading_enabled=True, execute_orders=True)
    time, states = FakeTime(), []
    harness = await Harness(build_test_server(gw, settings, time, states)).start()
    try:
        yield Env(gw, harness, url, settings, states[0], time, directory)
    finally:
        await harness.stop()
        await gw.stop()


@dataclass(frozen=True)
class Effect:
    """What a tool does, in plain facts; its MCP hints must follow from them."""

    changes_the_account: bool  # sends, cancels or creates something outside this server (a token is not; a run
    # directory a backtest writes is)
    irreversible: bool  # can send or cancel a venue order (a fill cannot be undone)
    repeat_is_harmless: bool  # the same arguments again have no further effect
    reaches_the_venue: bool  # answers from the venue, not only this server and its ledger


EFFECTS = {
    "get_trading_context": Effect(False, False, True, False),  # settings, the clock and calendars
    "get_data_status": Effect(False, False, True, False),  # the download cache's files
    "get_market_data": Effect(False, False, True, True),
    "get_ticker": Effect(False, False, True, True),
    "get_ohlcv": Effect(False, False, True, True),
    "get_order_book": Effect(False, False, True, True),
    "get_balance": Effect(False, False, True, True),
    "get_equity": Effect(False, False, True, True),
    "get_positions": Effect(False, False, True, True),
    "get_open_orders": Effect(False, False, True, True),
    "get_trades": Effect(False, False, True, True),
    "get_plans": Effect(False, False, True, False),  # the ledger only
    "estimate_costs": Effect(False, False, True, True),
    "preview_order": Effect(False, False, False, True),  # a new token (and client order id) every call
    "place_order": Effect(True, True, True, True),  # the same token never places twice
    "cancel_order": Effect(True, True, True, True),  # cancelling a cancelled order changes nothing
    "create_plan": Effect(True, True, True, True),  # sends its entry now; the same arguments: the same plan
    "cancel_plan": Effect(True, True, True, True),  # cancels its entry order
    "run_backtest": Effect(True, False, False, False),  # a new run directory each call; no account, no venue
}


async def test_every_tool_has_hints_that_match_what_it_does(env: Env) -> None:
    tools = await env.harness.tools()
    assert set(tools) == set(READ_TOOLS) | set(WRITE_TOOLS) | set(BACKTEST_TOOLS) == set(EFFECTS)
    for name, effect in EFFECTS.items():
        a = tools[name].annotations
        assert a is not None, name
        hints = (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint)
        expected = (
            not effect.changes_the_account,
            effect.irreversible,
            effect.repeat_is_harmless,
            effect.reaches_the_venue,
        )
        assert hints == expected, f"{name}: hints {hints}, but it does {effect}"
    assert (await env.harness.ok("get_trading_context"))["mode"] == "paper"


async def test_preview_places_nothing_and_place_sends_exactly_the_preview_once(env: Env) -> None:
    before = len(env.orders())
    preview = await env.harness.ok("preview_order", BUY_BHP)
    order = preview["order"]
    assert order["price"] == 37.69  # a buy's off-tick price rounds down, never up
    assert any("rounded down to 37.69" in w for w in preview["warnings"])
    assert order["client_order_id"].startswith(env.settings.client_order_prefix)
    assert preview["notional_base"] == 3769.0 and preview["base_currency"] == "AUD"
    assert preview["cost"] == {
        "amount": 6.0, "currency": "AUD", "amount_base": 6.0, "base_currency": "AUD", "schedule": "IB ASX fixed",
        "source": "https://www.interactivebrokers.com.au/en/pricing/commissions-stocks-asia-pacific.php",
    }  # fmt: skip
    assert preview["token_expires_in_s"] == 60.0 and preview["mode"] == "paper"
    assert len(env.orders()) == before

    placed = await env.harness.ok("place_order", {"token": preview["token"]})
    assert placed["client_order_id"] == order["client_order_id"] and placed["shadow"] is False
    assert placed["order"]["status"] == "closed" and placed["order"]["filled"] == 100
    sent = env.orders()[before:]
    assert [(o["orderRef"], o["lmtPrice"], o["totalQuantity"]) for o in sent] == [
        (order["client_order_id"], 37.69, 100)
    ]

    again = await env.harness.error("place_order", {"token": preview["token"]})
    assert "already used" in again and order["client_order_id"] in again and "preview_order" in again
    assert len(env.orders()) == before + 1

    with open_ledger(env.ledger_url) as ledger:
        rows = [r for r in q.orders_by_client_prefix(ledger, order["client_order_id"])]
    assert len(rows) == 1 and rows[0]["status"] == "closed" and rows[0]["agent"]
    calls = [p for p in env.events("tool_call", 5) if p["tool"] == "place_order"]
    assert [c["outcome"] for c in calls] == ["refused", "ok"]
    assert calls[1]["arguments"]["token"] == "***"  # the token is a capability: masked in the audit
    assert calls[1]["arguments"]["_resolved"]["client_order_id"] == order["client_order_id"]


async def test_one_token_placed_concurrently_sends_one_order(env: Env) -> None:
    before = len(env.orders())
    token = (await env.harness.ok("preview_order", BUY_BHP))["token"]
    results = await asyncio.gather(*(env.harness.call("place_order", {"token": token}) for _ in range(5)))
    assert sorted(r.is_error for r in results) == [False, True, True, True, True]
    assert len(env.orders()) == before + 1


async def test_a_venue_rejection_spends_the_token(env: Env) -> None:
    preview = await env.harness.ok("preview_order", BUY_BHP)
    env.gw.set_faults("reject_next=1")
    try:
        rejected = await env.harness.error("place_order", {"token": preview["token"]})
    finally:
        env.gw.set_faults("")
    assert "InvalidOrder" in rejected and "<untrusted_venue_text>" in rejected
    assert "already used" in await env.harness.error("place_order", {"token": preview["token"]})


async def test_expired_or_unknown_tokens_are_refused(env: Env) -> None:
    before = len(env.orders())
    token = (await env.harness.ok("preview_order", BUY_BHP))["token"]
    env.time.advance(60.0)
    expired = await env.harness.error("place_order", {"token": token})
    assert "expired" in expired and "call preview_order again" in expired
    unknown = await env.harness.error("place_order", {"token": "not-a-token"})
    assert "unknown" in unknown and "preview_order" in unknown
    assert len(env.orders()) == before
    fresh = (await env.harness.ok("preview_order", BUY_BHP))["token"]
    env.time.advance(59.0)
    await env.harness.ok("place_order", {"token": fresh})  # one second left: still valid
    assert len(env.orders()) == before + 1


async def test_risk_rejections_are_tool_errors_and_recorded(env: Env) -> None:
    before = len(env.orders())
    too_big = await env.harness.error("preview_order", {**BUY_BHP, "amount": 100_000})
    assert "[max_order_value]" in too_big and "MAX_ORDER_VALUE" in too_big and "limit 25000 AUD" in too_big
    not_allowed = await env.harness.error("preview_order", {**BUY_BHP, "symbol": "AAPL/USD", "price": 200})
    assert "[symbol_not_allowed]" in not_allowed
    closed = await env.harness.error("preview_order", {"symbol": "SPY/USD", "side": "buy", "amount": 5, "price": 580})
    assert "[market_closed]" in closed  # 19:00 in New York: the reason names the next open
    assert len(env.orders()) == before
    rejections = env.events("risk_rejection", 3)
    assert [r["code"] for r in rejections] == ["market_closed", "symbol_not_allowed", "max_order_value"]
    assert {r["stage"] for r in rejections} == {"preview"}
    outcomes = [p["outcome"] for p in env.events("tool_call", 3)]
    assert outcomes == ["rejected", "rejected", "rejected"]


async def test_malformed_orders_say_what_is_wrong(env: Env) -> None:
    no_price = await env.harness.error("preview_order", {"symbol": "BHP/AUD", "side": "buy", "amount": 10})
    assert "a limit order needs price" in no_price
    priced_market = await env.harness.error("preview_order", {**BUY_BHP, "type": "market"})
    assert "takes no price" in priced_market
    negative = await env.harness.error("preview_order", {**BUY_BHP, "amount": -5})
    assert "amount" in negative


async def test_cancel_an_open_order(env: Env) -> None:
    preview = await env.harness.ok("preview_order", RESTING_BHP)
    placed = await env.harness.ok("place_order", {"token": preview["token"]})
    cid = placed["client_order_id"]
    assert placed["order"]["status"] == "open"
    open_orders = (await env.harness.ok("get_open_orders", {"symbol": "BHP/AUD"}))["orders"]
    assert cid in [o["client_order_id"] for o in open_orders]
    cancelled = await env.harness.ok("cancel_order", {"order_id": cid})
    assert cancelled["order"]["status"] == "canceled"
    assert next(o for o in env.orders() if o["orderRef"] == cid)["status"] == "Cancelled"
    assert cid not in [o["client_order_id"] for o in (await env.harness.ok("get_open_orders"))["orders"]]
    missing = await env.harness.error("cancel_order", {"order_id": "trd-0000000000000000"})
    assert "get_open_orders" in missing


async def test_plans_create_once_list_and_cancel(env: Env) -> None:
    before = len(env.orders())
    arguments = {"symbol": "BHP/AUD", "side": "buy", "amount": 100, "entry": 36.80, "stop": 36.00, "target": 39.00}
    plan = (await env.harness.ok("create_plan", arguments))["plan"]
    assert plan["status"] == "pending" and plan["price_currency"] == "AUD"
    assert (await env.harness.ok("create_plan", arguments))["plan"]["plan_id"] == plan["plan_id"]  # a retry
    assert len(env.orders()) == before + 1  # one entry order, resting at 36.80
    listed = (await env.harness.ok("get_plans", {"symbol": "BHP/AUD"}))["plans"]
    assert plan["plan_id"] in [p["plan_id"] for p in listed]
    cancelled = (await env.harness.ok("cancel_plan", {"plan_id": plan["plan_id"]}))["plan"]
    assert cancelled["status"] == "canceled"
    assert env.orders()[before]["status"] == "Cancelled"  # its entry order went with it
    assert "only pending or active" in await env.harness.error("cancel_plan", {"plan_id": plan["plan_id"]})
    assert "get_plans" in await env.harness.error("cancel_plan", {"plan_id": "never-made"})
    wrong_side = await env.harness.error("create_plan", {**arguments, "stop": 40.0})
    assert "stop below its target" in wrong_side
    rejected = await env.harness.error("create_plan", {**arguments, "amount": 100_000, "plan_id": "too-big-1"})
    assert "too-big-1" in rejected and "rejected" in rejected
    assert len(env.orders()) == before + 1


async def test_a_plan_exits_at_its_stop_through_the_plan_monitor(env: Env) -> None:
    bid = (await env.harness.ok("get_ticker", {"symbol": "BHP/AUD"}))["bid"]
    arguments = {"symbol": "BHP/AUD", "side": "buy", "amount": 100, "stop": round(bid + 0.02, 2), "target": 45.0}
    plan = (await env.harness.ok("create_plan", {**arguments, "plan_id": "stop-test"}))["plan"]
    assert plan["status"] == "active"  # entered at market (a marketable limit on ASX) and filled
    before = len(env.orders())
    assert env.state.watch is not None
    changed = await env.state.watch.tick()
    assert [(p.plan_id, p.status) for p in changed] == [("stop-test", "closed")]
    exits = env.orders()[before:]
    assert [(o["action"], o["totalQuantity"]) for o in exits] == [("SELL", 100)]
    assert exits[0]["orderRef"] in changed[0].exit_client_order_ids
    assert "stop-test" not in [p["plan_id"] for p in (await env.harness.ok("get_plans"))["plans"]]


async def test_the_kill_switch_freezes_the_plan_watchers_exits_too(env: Env) -> None:
    bid = (await env.harness.ok("get_ticker", {"symbol": "BHP/AUD"}))["bid"]
    arguments = {"symbol": "BHP/AUD", "side": "buy", "amount": 100, "stop": round(bid + 0.02, 2), "target": 45.0}
    plan = (await env.harness.ok("create_plan", {**arguments, "plan_id": "frozen-stop"}))["plan"]
    assert plan["status"] == "active"  # its stop is already crossed: the next round would exit it
    watch = env.state.watch
    assert watch is not None
    before, circuits = len(env.orders()), len(env.events("circuit"))
    env.settings.kill_switch_file.touch()
    try:
        assert await watch.tick() == [] and await watch.tick() == []
        assert len(env.orders()) == before  # no exit was sent while frozen
        assert watch.frozen and watch.frozen_rounds == 2
        frozen = env.events("circuit")[: len(env.events("circuit")) - circuits]
        assert [(e["component"], e["to"], e["reason"]) for e in frozen] == [("plan_watch", "open", "kill_switch")]
        open_plans = (await env.harness.ok("get_plans"))["plans"]
        assert "frozen-stop" in [p["plan_id"] for p in open_plans]
    finally:
        env.settings.kill_switch_file.unlink()
    changed = await watch.tick()
    assert [(p.plan_id, p.status) for p in changed] == [("frozen-stop", "closed")]
    assert [(o["action"], o["totalQuantity"]) for o in env.orders()[before:]] == [("SELL", 100)]
    resumed = env.events("circuit", 1)[0]
    assert (resumed["component"], resumed["to"]) == ("plan_watch", "closed") and not watch.frozen


async def test_the_kill_switch_freezes_every_write(env: Env) -> None:
    before = len(env.orders())
    token = (await env.harness.ok("preview_order", BUY_BHP))["token"]
    env.settings.kill_switch_file.touch()
    try:
        writes = {
            "preview_order": BUY_BHP,
            "place_order": {"token": token},
            "cancel_order": {"order_id": "trd-0000000000000000"},
            "create_plan": {"symbol": "BHP/AUD", "side": "buy", "amount": 100, "stop": 36.0, "target": 39.0},
            "cancel_plan": {"plan_id": "any"},
        }
        for name, arguments in writes.items():
            assert "kill switch" in await env.harness.error(name, arguments), name
        assert (await env.harness.ok("get_trading_context"))["kill_switch_engaged"] is True
        await env.harness.ok("get_ticker", {"symbol": "BHP/AUD"})  # reads still work
        assert len(env.orders()) == before
        refused = [p for p in env.events("tool_call", 7) if p["tool"] in writes]
        assert {p["outcome"] for p in refused} == {"refused"} and len(refused) == 5
    finally:
        env.settings.kill_switch_file.unlink()
    await env.harness.ok("place_order", {"token": token})  # the freeze held the token; it still places once
    assert len(env.orders()) == before + 1


async def test_shadow_mode_simulates_and_sends_nothing(catalog: Any, ledger_template: Path, tmp_path: Path) -> None:
    gw = await start_gateway(catalog, tmp_path / "gateway.json")
    url = copy_ledger(ledger_template, tmp_path / "ledger")
    settings = server_settings(gw, url, tmp_path, mcp_trading_enabled=True, mcp_ib_client_id=91)
    harness = await Harness(build_test_server(gw, settings, FakeTime())).start()
    try:
        preview = await harness.ok("preview_order", BUY_BHP)
        assert preview["mode"] == "shadow"
        placed = await harness.ok("place_order", {"token": preview["token"]})
        assert placed["shadow"] is True and placed["order"]["filled"] == 100
        assert gateway_orders(gw) == []
        positions = (await harness.ok("get_positions"))["positions"]
        assert [(p["symbol"], p["amount"]) for p in positions] == [("BHP/AUD", 100)]
        fills = (await harness.ok("get_trades"))["trades"]
        assert fills[-1]["client_order_id"] == placed["client_order_id"] and fills[-1]["fee_currency"] == "AUD"
        # re-checked at placing: after the close the same confirmed order is refused, and the token is spent
        token = (await harness.ok("preview_order", BUY_BHP))["token"]
        gw.clock.advance(6 * 3600)
        closed = await harness.error("place_order", {"token": token})
        assert "[market_closed]" in closed
        assert "already used" in await harness.error("place_order", {"token": token})
    finally:
        await harness.stop()
        await gw.stop()


async def test_an_unconfirmed_order_is_retried_with_its_token_and_sent_once(
    catalog: Any, ledger_template: Path, tmp_path: Path
) -> None:
    gw = await start_gateway(catalog, tmp_path / "gateway.json")
    url = copy_ledger(ledger_template, tmp_path / "ledger")
    settings = server_settings(gw, url, tmp_path, mcp_trading_enabled=True, execute_orders=True, mcp_ib_client_id=92)
    time = FakeTime()
    server = build_test_server(gw, settings, time, ack_timeout=0.5, heartbeat_interval=30.0)
    harness = await Harness(server).start()
    try:
        preview = await harness.ok("preview_order", BUY_BHP)
        cid = preview["order"]["client_order_id"]
        gw.set_faults("delay_ms=1500")  # IB acknowledges after the SDK stopped waiting (0.5 s): outcome unknown
        try:
            unconfirmed = await harness.error("place_order", {"token": preview["token"]})
        finally:
            gw.set_faults("")
        assert "did not confirm" in unconfirmed and "same token" in unconfirmed
        assert "get_open_orders" in unconfirmed and "do not call preview_order" in unconfirmed
        await asyncio.sleep(1.5)  # the held acknowledgement and fill arrive
        time.advance(61.0)  # the retry comes after the token's 60 s: it must still answer for the same order
        placed = await harness.ok("place_order", {"token": preview["token"]})
        assert placed["client_order_id"] == cid and placed["order"]["filled"] == 100
        assert [o["orderRef"] for o in gateway_orders(gw)] == [cid]  # sent once, though placed twice
        assert "already used" in await harness.error("place_order", {"token": preview["token"]})
    finally:
        await harness.stop()
        await gw.stop()


async def test_a_repeated_create_plan_is_the_same_plan_after_a_restart(
    catalog: Any, ledger_template: Path, tmp_path: Path
) -> None:
    """create_plan's idempotent hint holds across server sessions: the derived plan id has no session in it."""
    gw = await start_gateway(catalog, tmp_path / "gateway.json")
    url = copy_ledger(ledger_template, tmp_path / "ledger")
    arguments = {"symbol": "BHP/AUD", "side": "buy", "amount": 100, "entry": 36.80, "stop": 36.00, "target": 39.00}
    try:
        plan_ids = []
        for client_id in (93, 94):  # one server, stopped, then another on the same ledger
            settings = server_settings(gw, url, tmp_path, mcp_trading_enabled=True, execute_orders=True,
                                       mcp_ib_client_id=client_id)  # fmt: skip
            harness = await Harness(build_test_server(gw, settings, FakeTime())).start()
            try:
                plan_ids.append((await harness.ok("create_plan", arguments))["plan"]["plan_id"])
            finally:
                await harness.stop()
        assert plan_ids[0] == plan_ids[1] and plan_ids[0].startswith("mcp-BHP-")
        assert len(gateway_orders(gw)) == 1  # one entry order, resting at 36.80
    finally:
        await gw.stop()


async def test_a_token_the_ledger_cannot_mark_spent_still_answers_the_placed_order(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order went out; the ledger failing to mark its token spent is a warning on the placed order, not an
    error that would send the agent back to preview_order (a new preview is a new order: a double)."""
    before = len(env.orders())
    preview = await env.harness.ok("preview_order", BUY_BHP)

    def unreachable(*_: Any) -> None:
        raise OSError("database unreachable")

    monkeypatch.setattr(env.state.tokens, "finish", unreachable)
    placed = await env.harness.ok("place_order", {"token": preview["token"]})
    assert placed["client_order_id"] == preview["order"]["client_order_id"] and placed["order"]["filled"] == 100
    assert any("could not be marked spent" in w and "do not place it again" in w for w in placed["warnings"])
    assert len(env.orders()) == before + 1
