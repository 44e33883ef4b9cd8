"""CcxtTrader as a venue: registry, canonical symbols, the InstrumentSpec from ccxt's market data in
each precision mode, and the client-order-id rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, SIGNIFICANT_DIGITS, TICK_SIZE
from ccxt.base.errors import BadSymbol, NotSupported

from sdk.registry import create_trader
from sdk.settings import load_settings
from sdk.symbols import InstrumentType
from sdk.venues.ccxt import CcxtTrader
from sdk.venues.ccxt.markets import fee_rates_from_market, market_orders_allowed, price_ladder, size_increment


async def test_create_trader_builds_gemini_by_default_and_any_ccxt_id() -> None:
    settings = load_settings()
    for name, expected in ((None, "gemini"), ("kraken", "kraken")):
        trader = create_trader(name, settings.model_copy(update={"active_exchange": "gemini"}), raw=True)
        try:
            assert isinstance(trader, CcxtTrader) and trader.id == expected
            assert trader.exchange.enableRateLimit is True
        finally:
            await trader.close()
            await trader.close()  # idempotent
    with pytest.raises(NotSupported, match="not a ccxt exchange id"):
        CcxtTrader(settings, "not-an-exchange")


async def test_markets_are_spot_and_canonical(trader: CcxtTrader, ccxt_static: dict[str, Any]) -> None:
    markets = await trader.load_markets()
    assert "BTC/GUSD:GUSD" in ccxt_static["markets"] and "BTC/GUSD:GUSD" not in markets
    assert {"BTC/USD", "ETH/USD", "SOL/BTC"} <= markets.keys()
    with pytest.raises(BadSymbol, match="did you mean 'BTC/USD'"):
        await trader.fetch_ticker("btc/usd")
    with pytest.raises(BadSymbol, match="gemini does not have market symbol DOGE/USD"):
        await trader.fetch_instrument("DOGE/USD")


async def test_instrument_from_geminis_market(trader: CcxtTrader) -> None:
    spec = await trader.fetch_instrument("BTC/USD")
    assert (spec.symbol, spec.base, spec.quote, spec.venue) == ("BTC/USD", "BTC", "USD", "gemini")
    assert spec.instrument_type == InstrumentType.CRYPTO and spec.market is None  # 24/7
    assert spec.ladder.increment_at(73_000) == Decimal("0.01")
    assert spec.size_increment == Decimal("1e-8") and spec.min_size == Decimal("0.00001")
    assert spec.market_orders_allowed is False, "Gemini's API takes limit orders only"
    ltc = await trader.fetch_instrument("LTC/USD")
    assert ltc.size_increment == Decimal("0.00001") and ltc.min_size == Decimal("0.01")
    fees = await trader.fetch_fee_rates("BTC/USD")
    assert (fees.maker, fees.taker, fees.fee_side) == (Decimal("0.002"), Decimal("0.004"), "quote")


def test_precision_modes() -> None:
    tick = {"symbol": "X/USD", "precision": {"price": 0.05, "amount": 0.001}}
    assert price_ladder(tick, TICK_SIZE).increment_at(10) == Decimal("0.05")
    assert size_increment(tick, TICK_SIZE) == Decimal("0.001")
    places = {"symbol": "X/USD", "precision": {"price": 2, "amount": 4}}
    assert price_ladder(places, DECIMAL_PLACES).increment_at(10) == Decimal("0.01")
    assert size_increment(places, DECIMAL_PLACES) == Decimal("0.0001")
    digits = {"symbol": "X/USD", "precision": {"price": 5, "amount": 8}}
    ladder = price_ladder(digits, SIGNIFICANT_DIGITS)
    assert ladder.increment_at(Decimal("1.2345")) == Decimal("0.0001")
    assert ladder.increment_at(Decimal("12345")) == Decimal("1")
    assert ladder.round(Decimal("123.456789"), "down") == Decimal("123.45")
    with pytest.raises(NotSupported, match="no fixed step"):
        size_increment(digits, SIGNIFICANT_DIGITS)
    with pytest.raises(NotSupported, match="states no price precision"):
        price_ladder({"symbol": "X/USD", "precision": {}}, TICK_SIZE)


def test_market_order_capability_and_fee_rates() -> None:
    assert market_orders_allowed({"createMarketOrder": True}) and market_orders_allowed(
        {"createMarketOrder": "emulated"}
    )
    assert not market_orders_allowed({"createMarketOrder": None}) and not market_orders_allowed({})
    with pytest.raises(NotSupported, match="states no taker fee"):
        fee_rates_from_market({"symbol": "X/USD"}, venue="x")
