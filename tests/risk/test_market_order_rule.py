"""The one market-order rule (:func:`sdk.instruments.market_orders_taken`), end to end on the offline gateway: the
IB venue's instrument says it, the RiskManager turns a market order it refuses into the marketable limit
:func:`sdk.instruments.market_order_cap` prices, and the IB venue and the shadow venue refuse a raw market order
there alike, while the normalised order is accepted by both as it is."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sdk.costs import CostTracker
from sdk.data import Catalog
from sdk.errors import InvalidOrder
from sdk.instruments import market_order_cap, market_orders_taken
from sdk.risk import Approved, OrderIntent, RiskManager, build_risk_context
from sdk.services.shadow import ShadowBook, ShadowVenue
from sdk.settings import load_settings

ASX_OPEN = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)  # Tuesday 11:00 Sydney: ASX and IDEALPRO open


@pytest.fixture
async def make_trader(catalog: Catalog, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``await make_trader(**settings)``: an IBTrader on a paused offline gateway at :data:`ASX_OPEN`."""
    from sdk.clock import SimulatedClock
    from sdk.gateway import GatewayConfig, OfflineGateway
    from sdk.venues.ib.pacing import PacingBudget
    from sdk.venues.ib.trader import IBTrader

    logging.getLogger("ib_async").setLevel(logging.CRITICAL)
    config = GatewayConfig(host="127.0.0.1", port=0, control_port=None, speed=0, start=ASX_OPEN, account="DU0000001",
                           base_currency="AUD", cash={"AUD": 1_000_000, "USD": 100_000},
                           state_file=tmp_path / "gateway.json")  # fmt: skip
    gateway = OfflineGateway(config, catalog=catalog)
    await gateway.start()
    traders: list[Any] = []

    async def make(**overrides: Any) -> Any:
        settings = load_settings(ib_host="127.0.0.1", ib_port=gateway.port, ib_connect_timeout=3, **overrides)
        clock = SimulatedClock(gateway.clock)
        trader = IBTrader(settings, client_id=len(traders) + 1, clock=clock, budget=PacingBudget(clock),
                          quote_timeout=2.0, ack_timeout=3.0)  # fmt: skip
        traders.append(trader)
        await trader.connect()
        return trader

    try:
        yield make
    finally:
        for trader in traders:
            await trader.close()
        await gateway.stop()


def _now(trader: Any) -> datetime:
    return datetime.fromtimestamp(trader.clock.now(), UTC)


def test_the_rule() -> None:
    assert market_orders_taken("NYSE") and market_orders_taken("FX") and market_orders_taken(None)
    assert not market_orders_taken("ASX")
    assert not market_orders_taken(None, venue_takes_them=False)  # Gemini: limit orders only
    assert not market_orders_taken("NYSE", as_limits=True)  # MARKET_ORDERS_AS_LIMITS


async def test_market_orders_as_limits_sends_every_market_order_as_the_capped_limit_preview_approved(
    make_trader: Callable[..., Any],
) -> None:
    trader = await make_trader(market_orders_as_limits=True)
    spec = await trader.fetch_instrument("AUD/USD")  # IB takes market orders on IDEALPRO: the setting says no
    assert spec.market == "FX" and spec.market_orders_allowed is False
    ctx = await build_risk_context(trader, "AUD/USD", pnl_today=0, now=_now(trader))
    intent = OrderIntent(symbol="AUD/USD", side="buy", type="market", amount=20_000, client_order_id="trd-rule-1",
                         origin="strategy:rule")  # fmt: skip
    decision = RiskManager(trader.settings).validate(intent, ctx)
    assert isinstance(decision, Approved), decision.to_dict()
    assert ctx.quote is not None and ctx.quote.ask is not None
    cap = market_order_cap("buy", ctx.quote.ask, spec.ladder, trader.settings.market_order_buffer_pct)
    assert (decision.order.type, decision.order.price, decision.order.tif) == ("limit", cap, "IOC")
    assert any("MARKET_ORDERS_AS_LIMITS" in w for w in decision.warnings), decision.warnings

    with pytest.raises(InvalidOrder, match=r"MARKET_ORDERS_AS_LIMITS=true.*marketable limit"):
        await trader.create_order("AUD/USD", "market", "buy", 20_000, None, {"clientOrderId": "trd-rule-raw"})
    placed = await trader.create_order(**decision.order.create_order_args())
    assert (placed["type"], placed["price"], placed["timeInForce"]) == ("limit", float(cap), "IOC")

    default = await make_trader()
    assert (await default.fetch_instrument("AUD/USD")).market_orders_allowed is True


async def test_the_shadow_venue_refuses_a_raw_asx_market_order_as_the_ib_venue_does(
    make_trader: Callable[..., Any],
) -> None:
    trader = await make_trader()
    shadow = ShadowVenue(trader, await ShadowBook.from_venue(trader), CostTracker(trader.settings),
                         clock=trader.clock.now)  # fmt: skip
    for venue in (trader, shadow):
        with pytest.raises(InvalidOrder, match=r"no market orders for BHP/AUD \(none are used on ASX\)"):
            await venue.create_order("BHP/AUD", "market", "buy", 100, None, {"clientOrderId": "trd-rule-asx"})
    assert shadow.book.orders == {} and await trader.fetch_open_orders() == []
    ctx = await build_risk_context(shadow, "BHP/AUD", pnl_today=0, now=_now(trader))
    decision = RiskManager(trader.settings).validate(
        OrderIntent(symbol="BHP/AUD", side="buy", type="market", amount=100, client_order_id="trd-rule-2",
                    origin="strategy:rule"), ctx,
    )  # fmt: skip
    assert isinstance(decision, Approved) and decision.order.type == "limit"
    filled = await shadow.create_order(**decision.order.create_order_args())
    assert filled["status"] == "closed" and filled["price"] == float(decision.order.price or 0)
    assert ctx.quote is not None and filled["average"] == float(ctx.quote.ask or 0)  # the touch, below the cap
    assert Decimal(str(filled["filled"])) == Decimal(100)
