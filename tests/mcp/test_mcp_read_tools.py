"""The read tools through the SDK's in-memory client, against the offline gateway over a real socket.

One read-only server (``MCP_TRADING_ENABLED`` unset) on one paused gateway serves the whole module.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import pytest_asyncio
from mcp_helpers import (
    ASX_OPEN_MS,
    Harness,
    build_test_server,
    copy_ledger,
    server_settings,
    start_gateway,
    text_of,
)

from mcp_server import BACKTEST_TOOLS, READ_TOOLS, WRITE_TOOLS
from sdk.ledger import open_ledger
from sdk.ledger import queries as q

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.shared_data]


@dataclass
class Env:
    gw: Any
    harness: Harness
    ledger_url: str
    settings: Any
    state: Any


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(catalog: Any, ledger_template: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    directory = tmp_path_factory.mktemp("mcp-read")
    gw = await start_gateway(catalog, directory / "gateway.json")
    url = copy_ledger(ledger_template, directory / "ledger")
    settings = server_settings(gw, url, directory)
    states: list[Any] = []
    harness = await Harness(build_test_server(gw, settings, states=states)).start()
    try:
        yield Env(gw, harness, url, settings, states[0])
    finally:
        await harness.stop()
        await gw.stop()


VALID_ARGUMENTS: dict[str, dict[str, Any]] = {
    "get_trading_context": {},
    "get_data_status": {},
    "get_market_data": {"symbol": "BHP/AUD"},
    "get_ticker": {"symbol": "CBA/AUD"},
    "get_ohlcv": {"symbol": "BHP/AUD", "timeframe": "5m", "limit": 20},
    "get_order_book": {"symbol": "BHP/AUD", "depth": 5},
    "get_balance": {},
    "get_equity": {},
    "get_positions": {},
    "get_open_orders": {},
    "get_trades": {"limit": 10},
    "get_plans": {},
    "estimate_costs": {"symbol": "BHP/AUD", "side": "buy", "amount": 100},
}


async def test_read_only_mode_exposes_exactly_the_read_tools(env: Env) -> None:
    tools = await env.harness.tools()
    assert set(tools) == {*READ_TOOLS, *BACKTEST_TOOLS} and set(READ_TOOLS) == set(VALID_ARGUMENTS)
    assert not set(tools) & set(WRITE_TOOLS)
    for name in WRITE_TOOLS:
        assert "Unknown tool" in await env.harness.error(name, {"token": "x"})


async def test_read_tools_are_annotated_read_only(env: Env) -> None:
    tools = await env.harness.tools()
    for name, tool in tools.items():
        if name in BACKTEST_TOOLS:  # it writes a run directory of its own (tests/mcp/test_mcp_backtest.py)
            continue
        hints = tool.annotations
        assert hints is not None, name
        assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (True, False, True), name
        # only the ledger, local files and this server's own settings behind these; every other read asks the venue
        assert hints.open_world_hint is (name not in {"get_trading_context", "get_plans", "get_data_status"}), name
        assert tool.title and tool.description and tool.output_schema, name


async def test_every_read_tool_answers_in_its_output_schema(env: Env) -> None:
    tools = await env.harness.tools()
    for name, arguments in VALID_ARGUMENTS.items():
        result = await env.harness.call(name, arguments)
        assert not result.is_error, f"{name}: {text_of(result)}"
        jsonschema.validate(result.structured_content, tools[name].output_schema)
        # the text an agent reads is the same JSON, compact
        assert json.loads(text_of(result)) == result.structured_content
        assert ": " not in text_of(result)[:40] and "\n" not in text_of(result)


async def test_inputs_document_units(env: Env) -> None:
    tools = await env.harness.tools()
    amount = tools["estimate_costs"].input_schema["properties"]["amount"]
    assert "base units" in amount["description"]
    price = tools["estimate_costs"].input_schema["properties"]["price"]
    assert "quote currency" in price["description"]
    assert "ms since the epoch UTC" in tools["get_ohlcv"].input_schema["properties"]["since_ms"]["description"]
    limits = tools["get_trading_context"].output_schema["$defs"]["Limits"]["properties"]
    assert "in currency" in limits["max_order_value"]["description"]


async def test_trading_context(env: Env) -> None:
    context = await env.harness.ok("get_trading_context")
    assert context["venue"] == "IB"
    assert context["account"] == "DU****001"
    assert "DU0000001" not in json.dumps(context)
    assert context["base_currency"] == "AUD"
    assert context["mode"] == "shadow"
    assert context["trading_enabled"] is False
    assert context["kill_switch_engaged"] is False
    assert context["now_utc"].startswith("2025-03-04T00:00")
    assert "BHP/AUD" in context["allowed_symbols"]
    assert context["allowed_instrument_types"] == ["stock", "etf", "fx"]
    markets = {m["market"]: m for m in context["markets"]}
    assert markets["ASX"]["open_now"] is True  # 11:00 Sydney on a Tuesday
    assert markets["ASX"]["session_close_utc"] == "2025-03-04T05:00:00Z"  # 16:00 Sydney (AEDT)
    assert markets["NYSE"]["open_now"] is False  # 19:00 New York, Monday
    assert markets["NYSE"]["next_open_utc"] == "2025-03-04T14:30:00Z"
    assert markets["FX"]["open_now"] is True
    limits = context["limits"]
    assert limits["currency"] == "AUD"
    assert limits["max_order_value"] == float(env.settings.max_order_value) == 25_000
    assert limits["daily_loss_limit"] == float(env.settings.daily_loss_limit)


async def test_ticker_prices_in_the_quote_currency_and_the_name_is_untrusted(env: Env) -> None:
    ticker = await env.harness.ok("get_ticker", {"symbol": "BHP/AUD"})
    assert ticker["price_currency"] == "AUD"
    assert ticker["timestamp_ms"] == ASX_OPEN_MS
    assert 0 < ticker["bid"] <= ticker["ask"]
    assert ticker["bid_size"] > 0 and ticker["ask_size"] > 0
    assert set(ticker["name"]) == {"untrusted_venue_text"}
    assert "BHP" in ticker["name"]["untrusted_venue_text"]
    spy = await env.harness.ok("get_ticker", {"symbol": "SPY/USD"})
    assert spy["price_currency"] == "USD"


async def test_market_data_spread_and_imbalance(env: Env) -> None:
    data = await env.harness.ok("get_market_data", {"symbol": "BHP/AUD"})
    mid = (data["bid"] + data["ask"]) / 2
    assert data["spread_pct"] == pytest.approx((data["ask"] - data["bid"]) / mid * 100)
    total = data["bid_size"] + data["ask_size"]
    assert data["ob_imbalance"] == pytest.approx((data["bid_size"] - data["ask_size"]) / total)


async def test_market_data_comes_through_the_runners_data_coordinator(env: Env) -> None:
    data = env.state.data
    before = data.requests
    tickers = await asyncio.gather(*(env.harness.ok("get_ticker", {"symbol": "WES/AUD"}) for _ in range(3)))
    assert tickers[0] == tickers[1] == tickers[2]
    assert data.requests == before + 1  # one venue call shared by the three (and cached: the clock is paused)
    await env.harness.ok("get_ohlcv", {"symbol": "WES/AUD", "timeframe": "5m", "limit": 7})
    await env.harness.ok("get_order_book", {"symbol": "WES/AUD", "depth": 3})
    assert data.requests == before + 3
    # the same figures as the venue's own get_market_data, which reads the venue directly
    direct = await env.state.trader.get_market_data("WES/AUD")
    tool = await env.harness.ok("get_market_data", {"symbol": "WES/AUD"})
    pairs = {"timestamp_ms": "timestamp", "base_volume": "volume"}
    for field in ("timestamp_ms", "price", "bid", "ask", "bid_size", "ask_size", "base_volume", "spread_pct",
                  "ob_imbalance"):  # fmt: skip
        assert tool[field] == direct[pairs.get(field, field)], field  # type: ignore[literal-required]


async def test_ohlcv_is_columnar_complete_and_cached(env: Env) -> None:
    bars = await env.harness.ok("get_ohlcv", {"symbol": "BHP/AUD", "timeframe": "1m", "limit": 500})
    assert bars["timezone"] == "UTC" and bars["price_currency"] == "AUD"
    assert bars["count"] == len(bars["t_offset_s"]) == len(bars["c"]) == len(bars["v"]) == 500
    opens = [bars["t0_ms"] + s * 1000 for s in bars["t_offset_s"]]
    assert opens == sorted(set(opens))
    assert all(t % 60_000 == 0 for t in opens)
    assert opens[-1] + 60_000 <= ASX_OPEN_MS  # the bar forming at "now" is left out
    assert all(low <= high for low, high in zip(bars["l"], bars["h"], strict=True))
    requests = env.state.trader.history.requests
    again = await env.harness.ok("get_ohlcv", {"symbol": "BHP/AUD", "timeframe": "1m", "limit": 500})
    assert again == bars
    assert env.state.trader.history.requests == requests  # completed bars served from the cache


async def test_ohlcv_since_and_cap(env: Env) -> None:
    since = ASX_OPEN_MS - 3 * 3_600_000
    bars = await env.harness.ok("get_ohlcv", {"symbol": "AUD/USD", "timeframe": "15m", "since_ms": since, "limit": 4})
    assert bars["price_currency"] == "USD"
    assert bars["t0_ms"] == since and bars["t_offset_s"] == [0, 900, 1800, 2700]
    capped = await env.harness.ok("get_ohlcv", {"symbol": "BHP/AUD", "timeframe": "1d", "limit": 5000})
    assert capped["limit_capped"] is True
    assert 0 < capped["count"] <= 1000


async def test_ohlcv_bad_arguments_say_what_to_do(env: Env) -> None:
    assert "use e.g. 1m, 5m" in await env.harness.error("get_ohlcv", {"symbol": "BHP/AUD", "timeframe": "7q"})
    future = await env.harness.error("get_ohlcv", {"symbol": "BHP/AUD", "since_ms": ASX_OPEN_MS + 3_600_000})
    assert "give an earlier since_ms" in future
    assert "limit" in await env.harness.error("get_ohlcv", {"symbol": "BHP/AUD", "limit": 0})


async def test_order_book_levels(env: Env) -> None:
    book = await env.harness.ok("get_order_book", {"symbol": "BHP/AUD", "depth": 500})
    assert len(book["bids"]) <= 50 and len(book["asks"]) <= 50
    assert book["bids"] and book["asks"]
    assert book["bids"][0][0] < book["asks"][0][0]
    assert [b[0] for b in book["bids"]] == sorted((b[0] for b in book["bids"]), reverse=True)


async def test_account_reads(env: Env) -> None:
    balance = await env.harness.ok("get_balance")
    cash = {b["currency"]: b["total"] for b in balance["balances"]}
    assert cash == {"AUD": 1_000_000, "USD": 100_000}
    equity = await env.harness.ok("get_equity")
    usd_aud = 1 / (await env.harness.ok("get_ticker", {"symbol": "AUD/USD"}))["bid"]
    assert equity["currency"] == "AUD"
    assert equity["equity"] == pytest.approx(1_000_000 + 100_000 * usd_aud, rel=0.01)
    assert (await env.harness.ok("get_positions"))["positions"] == []
    assert (await env.harness.ok("get_open_orders"))["orders"] == []
    assert (await env.harness.ok("get_trades"))["trades"] == []
    assert (await env.harness.ok("get_plans"))["plans"] == []


async def test_estimate_costs_in_the_venue_currency_and_aud(env: Env) -> None:
    bhp = await env.harness.ok("estimate_costs", {"symbol": "BHP/AUD", "side": "buy", "amount": 100, "price": 40})
    assert (bhp["cost_currency"], bhp["notional"], bhp["fx_rate"]) == ("AUD", 4000, 1.0)
    assert bhp["cost"] == 6.0  # IB ASX fixed: the AUD 6 minimum below AUD 7,500 (0.08% of 4,000 is 3.20)
    assert bhp["schedule"] == "IB ASX fixed" and bhp["source"].startswith("https://www.interactivebrokers.com")
    spy = await env.harness.ok("estimate_costs", {"symbol": "SPY/USD", "side": "sell", "amount": 10})
    ask_or_bid = (await env.harness.ok("get_ticker", {"symbol": "SPY/USD"}))["bid"]
    assert spy["price"] == ask_or_bid  # a sell is estimated at the bid when no price is given
    assert spy["cost_currency"] == "USD" and spy["base_currency"] == "AUD"
    assert spy["notional_base"] == pytest.approx(spy["notional"] * spy["fx_rate"])
    assert spy["cost_base"] > spy["cost"] * spy["fx_rate"]  # the FX spread buffer is added, never assumed away
    assert "sec" in spy["parts"]  # US sales carry the SEC fee


async def test_bad_symbols_are_tool_errors_with_the_fix(env: Env) -> None:
    message = await env.harness.error("get_ticker", {"symbol": "BHP.AX"})
    assert "did you mean 'BHP/AUD'" in message
    unknown = await env.harness.error("get_ticker", {"symbol": "ZZZZQ/AUD"})
    assert "<untrusted_venue_text>" in unknown and "</untrusted_venue_text>" in unknown  # the venue's words
    assert "allowed_symbols" in unknown


async def test_every_call_is_audited_in_the_ledger(env: Env) -> None:
    await env.harness.ok("get_ticker", {"symbol": "NAB/AUD"})
    await env.harness.error("get_ticker", {"symbol": "nab"})
    await env.harness.error("no_such_tool", {"symbol": "NAB/AUD"})
    await env.harness.error("get_ohlcv", {"symbol": "NAB/AUD", "limit": "many"})
    await asyncio.sleep(0)
    with open_ledger(env.ledger_url) as ledger:
        events = q.recent_events(ledger, kinds=["tool_call"], limit=4)
        sessions = q.sessions(ledger)
    payloads = [e["payload"] for e in reversed(events)]
    assert [(p["tool"], p["outcome"]) for p in payloads] == [
        ("get_ticker", "ok"),
        ("get_ticker", "error"),
        ("no_such_tool", "error"),
        ("get_ohlcv", "error"),
    ]
    assert payloads[0]["arguments"] == {"symbol": "NAB/AUD"} and payloads[0]["error"] is None
    assert "did you mean 'NAB/AUD'" in payloads[1]["error"]
    assert payloads[3]["arguments"]["limit"] == "many"  # recorded as given, even when invalid
    assert all(p["latency_ms"] >= 0 for p in payloads)
    assert {e["source"] for e in events} == {"mcp"} and {e["run_id"] for e in events} == {env.state.run_id}
    session = next(s for s in sessions if s["run_id"] == env.state.run_id)
    assert (session["program"], session["mode"], session["account"]) == ("mcp", "shadow", "DU****001")


async def test_a_plan_whose_run_ended_is_shown_as_ended_not_active(env: Env) -> None:
    with open_ledger(env.ledger_url) as ledger:
        writer = ledger.writer()
        writer.start_session(venue="IB", account="DU****001", base_currency="AUD", mode="shadow", program="runner",
                             run_id="demo-run-ended")  # fmt: skip
        writer.upsert_plan({"plan_id": "demo-plan", "symbol": "BHP/AUD", "side": "buy", "status": "active",
                            "entry": 36.8, "stop": 36.0, "target": 39.0, "amount": 100})  # fmt: skip
    (plan,) = (await env.harness.ok("get_plans"))["plans"]
    assert (plan["plan_id"], plan["status"]) == ("demo-plan", "active"), "its run still runs: it is watched"
    with open_ledger(env.ledger_url) as ledger:
        ledger.writer().end_session("demo-run-ended", reason="until reached")
    (plan,) = (await env.harness.ok("get_plans"))["plans"]
    assert plan["status"] == "ended" and "demo-run-ended" in plan["reason"] and "nothing watches" in plan["reason"]
