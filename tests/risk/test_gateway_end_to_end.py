"""End to end on the IB side: an IBTrader on the offline gateway (real socket, port 0, replaying the real
data, paused clock at an ASX open) feeds build_risk_context; the decision's order is sent to the gateway."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pytest

from sdk.data import Catalog
from sdk.risk import Approved, OrderIntent, RejectCode, Rejected, RiskManager, build_risk_context
from sdk.settings import Settings, load_settings

ASX_OPEN = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)  # Tuesday 11:00 Sydney; NYSE closed (19:00 New York)


@pytest.fixture
async def ib(catalog: Catalog, tmp_path: Path) -> AsyncIterator[tuple[Any, Any, Settings]]:
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
    settings = load_settings(ib_host="127.0.0.1", ib_port=gateway.port, ib_connect_timeout=3)
    clock = SimulatedClock(gateway.clock)
    trader = IBTrader(settings, clock=clock, budget=PacingBudget(clock), quote_timeout=2.0, ack_timeout=3.0)
    try:
        await trader.connect()
        yield gateway, trader, settings
    finally:
        await trader.close()
        await gateway.stop()


async def test_asx_market_buy_becomes_an_ioc_limit_and_us_stock_waits_for_nyse(ib: tuple[Any, Any, Settings]) -> None:
    gateway, trader, settings = ib
    now = gateway.clock.now()
    ctx = await build_risk_context(trader, "BHP/AUD", pnl_today=Decimal("-250"), now=now)
    assert ctx.instrument.market == "ASX" and ctx.instrument.market_orders_allowed is False
    quote = gateway.market.quote("BHP/AUD", gateway.clock.timestamp())
    assert ctx.quote is not None and ctx.quote.ask == Decimal(str(float(quote.ask)))
    assert ctx.fx.rate("USD").source == "IB fetch_fx_rate(USD, AUD)" and ctx.equity is not None

    order = OrderIntent(symbol="BHP/AUD", side="buy", type="market", amount=100, client_order_id="trd-gw-e2e-1",
                        origin="strategy:e2e")  # fmt: skip
    decision = RiskManager(settings).validate(order, ctx)
    assert isinstance(decision, Approved), decision.to_dict()
    limit = (ctx.quote.ask * Decimal("1.005")).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    assert (decision.order.type, decision.order.price, decision.order.tif) == ("limit", limit, "IOC")
    assert decision.cost.schedule == "IB ASX fixed" and decision.cost.amount == Decimal("6.00")  # the minimum
    placed = await trader.create_order(**decision.order.create_order_args())
    assert placed["clientOrderId"] == "trd-gw-e2e-1" and placed["type"] == "limit" and placed["price"] == float(limit)
    for _ in range(100):  # the fill arrives asynchronously
        if (await trader.fetch_order(placed["id"], "BHP/AUD"))["status"] == "closed":
            break
        await asyncio.sleep(0.02)
    positions = await trader.fetch_positions()
    assert any(p["symbol"] == "BHP/AUD" and p["contracts"] == 100 for p in positions)

    spy_ctx = await build_risk_context(trader, "SPY/USD", pnl_today=0, now=now)
    closed = RiskManager(settings).validate(
        OrderIntent(symbol="SPY/USD", side="buy", amount=10, price="580", origin="strategy:e2e"), spy_ctx
    )
    assert isinstance(closed, Rejected) and closed.code == RejectCode.MARKET_CLOSED
    assert "next session opens 2025-03-04 09:30 EST" in closed.reason
