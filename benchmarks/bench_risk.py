"""Risk figures: RiskManager.validate and CostTracker.estimate, on the path of every order and preview."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sdk.costs import CostTracker, FxRate, FxTable
from sdk.instruments import InstrumentSpec
from sdk.risk import OrderIntent, PositionFact, Quote, RiskContext, RiskManager
from sdk.settings import load_settings
from sdk.symbols import InstrumentType
from sdk.ticks import ASX_EQUITY, US_EQUITY


def _per_call_us(rounds: int, call: Any) -> float:
    call()  # warm caches (calendars are built on first use)
    start = time.perf_counter()
    for _ in range(rounds):
        call()
    return round((time.perf_counter() - start) / rounds * 1e6, 1)


def figures() -> list[dict[str, Any]]:
    settings = load_settings()
    manager, costs = RiskManager(settings), CostTracker(settings)
    fx = FxTable.of("AUD", FxRate("USD", "AUD", Decimal("1.5388"), "bench"))
    spy = InstrumentSpec(
        "SPY/USD", InstrumentType.ETF, "SPY", "USD", US_EQUITY, Decimal(1), Decimal(1), "NYSE", True, "IB"
    )
    bhp = InstrumentSpec(
        "BHP/AUD", InstrumentType.STOCK, "BHP", "AUD", ASX_EQUITY, Decimal(1), Decimal(1), "ASX", False, "IB"
    )
    positions = {
        f"S{i}/AUD": PositionFact(f"S{i}/AUD", Decimal(100 - i * 7), Decimal("41.5"), "AUD") for i in range(20)
    }
    quote = Quote(
        bid=Decimal("37.20"), ask=Decimal("37.21"), bid_size=Decimal(5000), ask_size=Decimal(4000), last=Decimal("37.2")
    )
    now = datetime(2025, 6, 3, 12, tzinfo=ZoneInfo("Australia/Sydney"))
    ctx = RiskContext(instrument=bhp, quote=quote, positions=positions, fx=fx, now=now)
    market_exit = OrderIntent(symbol="BHP/AUD", side="buy", type="market", amount=300, origin="strategy:bench")
    return [
        {"name": "risk.validate_market_order_us", "unit": "us", "target": "< 500",
         "value": _per_call_us(2_000, lambda: manager.validate(market_exit, ctx))},
        {"name": "costs.estimate_us_stock_in_aud_us", "unit": "us", "target": "< 100",
         "value": _per_call_us(5_000, lambda: costs.estimate(spy, "sell", 1_000, 596.1, fx))},
    ]  # fmt: skip
