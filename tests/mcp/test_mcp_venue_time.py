"""One clock through the MCP server: a server built as ``trader mcp`` builds it (its venue clock read from IB's
``reqCurrentTime``, no simulated clock handed in) on a gateway paused at a past day answers every tool with the
venue's times, audits each call at the venue's time, and the dashboard's agent page shows those times beside
the agent's orders: the replayed day, never the wall clock's a year later.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from mcp_helpers import FakeTime, Harness, copy_ledger, server_settings, start_gateway

from dashboard.logic import reads
from dashboard.logic.frames import orders_frame, tool_calls_frame
from sdk.clock import VenueClock
from sdk.ledger import EventKind, open_ledger
from sdk.ledger import queries as q
from sdk.settings import Settings
from sdk.venues.ib.connection import Backoff
from sdk.venues.ib.trader import IBTrader
from sdk.venues.mode import VENUE_EVENT

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.shared_data]

#: Thursday 6 March 2025, 11:30 Sydney: a past day with the ASX open, inside the real data.
PAST = datetime(2025, 3, 6, 0, 30, tzinfo=UTC)
#: How far a venue clock fitted from whole-second readings of a paused gateway may be off, ms.
FIT = 60_000


@dataclass
class Env:
    gw: Any
    harness: Harness
    ledger_url: str
    state: Any

    def on_venue_time(self, *stamps: int | None) -> None:
        venue = self.gw.clock.timestamp() * 1000
        for stamp in stamps:
            assert stamp is not None
            when, venue_when = (datetime.fromtimestamp(ms / 1000, UTC) for ms in (stamp, venue))
            assert abs(stamp - venue) <= FIT, f"{when} is not the venue's {venue_when}"


def venue_trader(settings: Settings, clock: Any) -> IBTrader:
    """``mcp_server.state.default_trader`` with the tests' timings: IB on the clock the server made."""
    return IBTrader(
        settings,
        client_id=settings.mcp_ib_client_id,
        clock=clock,
        heartbeat_interval=1.0,
        quote_timeout=2.0,
        ack_timeout=3.0,
        backoff=Backoff(initial=0.05, maximum=0.3, jitter=0.05),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(catalog: Any, ledger_template: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    from mcp_server import build_server

    directory = tmp_path_factory.mktemp("mcp-venue-time")
    gw = await start_gateway(catalog, directory / "gateway.json", start=PAST)
    url = copy_ledger(ledger_template, directory / "ledger")
    settings = server_settings(gw, url, directory, mcp_trading_enabled=True, execute_orders=True)
    states: list[Any] = []
    server = build_server(
        settings, trader_factory=venue_trader, token_clock=FakeTime(), on_ready=states.append, watch_interval=0
    )
    harness = await Harness(server).start()
    try:
        yield Env(gw, harness, url, states[0])
    finally:
        await harness.stop()
        await gw.stop()


async def buy(env: Env, price: float) -> dict[str, Any]:
    """An agent's limit buy of 20 BHP at ``price`` (AUD): preview, then place with its token."""
    order = {"symbol": "BHP/AUD", "side": "buy", "amount": 20, "type": "limit", "price": price}
    preview = await env.harness.ok("preview_order", order)
    return await env.harness.ok("place_order", {"token": preview["token"]})


async def test_tools_answer_and_audit_on_the_venues_time(env: Env) -> None:
    assert isinstance(env.state.clock, VenueClock), "the server follows the venue's own clock"
    ticker = await env.harness.ok("get_ticker", {"symbol": "BHP/AUD"})
    book = await env.harness.ok("get_order_book", {"symbol": "BHP/AUD", "depth": 1})
    equity = await env.harness.ok("get_equity")
    env.on_venue_time(ticker["timestamp_ms"], book["timestamp_ms"], equity["timestamp_ms"])

    placed = await buy(env, round(ticker["ask"] * 1.01, 2))  # fills at once
    await buy(env, round(ticker["bid"] * 0.9, 2))  # rests
    (listed,) = (await env.harness.ok("get_open_orders"))["orders"]
    (trade,) = (await env.harness.ok("get_trades"))["trades"]
    env.on_venue_time(placed["order"]["timestamp_ms"], listed["timestamp_ms"], trade["timestamp_ms"])

    too_small = {"symbol": "BHP/AUD", "side": "buy", "amount": 1, "type": "limit", "price": ticker["bid"]}
    assert "min_trade_size" in await env.harness.error("preview_order", too_small)

    with open_ledger(env.ledger_url) as ledger:
        calls = q.recent_events(ledger, kinds=[EventKind.TOOL_CALL], limit=50)
        (rejection,) = q.recent_events(ledger, kinds=[EventKind.RISK_REJECTION])
        (session_venue,) = q.recent_events(ledger, kinds=[VENUE_EVENT])  # recorded when the server started
    assert {c["payload"]["tool"] for c in calls} >= {"get_ticker", "preview_order", "place_order", "get_trades"}
    env.on_venue_time(*(c["timestamp"] for c in calls), rejection["timestamp"], session_venue["timestamp"])


async def test_the_dashboards_agent_page_shows_the_venues_times(env: Env) -> None:
    """What ``dashboard/app_pages/agents.py`` reads and shows: the tool calls and the agent's orders."""
    if not (await env.harness.ok("get_trades"))["trades"]:  # alone, this test places its own fill
        ticker = await env.harness.ok("get_ticker", {"symbol": "BHP/AUD"})
        await buy(env, round(ticker["ask"] * 1.01, 2))
    with open_ledger(env.ledger_url) as ledger:
        calls = q.recent_events(ledger, kinds=[EventKind.TOOL_CALL], limit=200)
        orders = reads.orders(ledger, agent_only=True, limit=200)
        fills = reads.trades_for_orders(ledger, [o["client_order_id"] for o in orders])
    assert calls and orders and fills
    day = PAST.strftime("%Y-%m-%d")
    for frame in (tool_calls_frame(calls, "UTC"), orders_frame(orders, fills, "UTC")):
        shown = list(frame["Time"])
        assert shown and all(time.startswith(day) for time in shown), f"not all on the venue's day {day}: {shown}"
