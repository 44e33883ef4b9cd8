"""Market data through the offline gateway: tickers, order books, market data, instruments, markets."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from ccxt.test.exchange.base.test_order_book import test_order_book as check_order_book
from ccxt.test.exchange.base.test_ticker import test_ticker as check_ticker
from support.waiting import round_trip

from sdk.errors import BadSymbol
from sdk.venues.ib.trader import IBTrader


async def test_fetch_ticker_passes_ccxt_and_matches_the_replayed_quote(
    trader: IBTrader, gateway: Any, ccxt_for: Any
) -> None:
    ticker = await trader.fetch_ticker("BHP/AUD")
    check_ticker(ccxt_for(trader), {}, "fetchTicker", ticker, "BHP/AUD")
    quote = gateway.market.quote("BHP/AUD", gateway.clock.timestamp())
    assert ticker["bid"] == pytest.approx(float(quote.bid)) and ticker["ask"] == pytest.approx(float(quote.ask))
    assert 0 < ticker["bid"] <= ticker["ask"] and ticker["last"] == ticker["close"]
    assert ticker["timestamp"] == int(gateway.clock.timestamp() * 1000), "stamped on the venue's (simulated) clock"
    assert ticker["info"]["conId"] == trader.resolver.cached("BHP/AUD").con_id


async def test_one_stream_per_contract_serves_every_caller(trader: IBTrader) -> None:
    wrapper = trader.connection.ib.wrapper
    before = len(wrapper.reqId2Ticker)
    results = await asyncio.gather(*(trader.fetch_ticker("CBA/AUD") for _ in range(5)))
    await trader.get_market_data("CBA/AUD")
    await trader.fetch_order_book("CBA/AUD", limit=1)
    assert len(wrapper.reqId2Ticker) == before + 1, "five concurrent tickers, market data and a book: one reqMktData"
    assert {r["bid"] for r in results} == {results[0]["bid"]}
    assert trader.market.subscriptions() == ["CBA/AUD"]


async def test_stream_follows_the_simulated_market(trader: IBTrader, gateway: Any) -> None:
    first = await trader.fetch_ticker("BHP/AUD")
    gateway.clock.advance(600)
    expected = gateway.market.quote("BHP/AUD", gateway.clock.timestamp())

    await round_trip(trader.connection.ib)  # the step's ticks are in
    later = await trader.fetch_ticker("BHP/AUD")
    assert later["bid"] == pytest.approx(float(expected.bid)), "the ticker follows the replayed market"
    assert later["timestamp"] >= first["timestamp"] + 600_000


async def test_order_book_falls_back_to_top_of_book(trader: IBTrader, ccxt_for: Any) -> None:
    book = await trader.fetch_order_book("BHP/AUD", limit=5)
    check_order_book(ccxt_for(trader), {}, "fetchOrderBook", book, "BHP/AUD")
    assert len(book["bids"]) == 1 and len(book["asks"]) == 1, "the gateway serves no depth (321): one level each"
    assert book["info"]["source"] == "top_of_book"
    ticker = await trader.fetch_ticker("BHP/AUD")
    assert book["bids"][0] == [ticker["bid"], ticker["bidVolume"]]
    assert book["asks"][0] == [ticker["ask"], ticker["askVolume"]]


async def test_get_market_data_derives_spread_and_imbalance(trader: IBTrader) -> None:
    data = await trader.get_market_data("SPY/USD")
    bid, ask = data["bid"], data["ask"]
    assert bid is not None and ask is not None and data["bid_size"] and data["ask_size"]
    assert data["spread_pct"] == pytest.approx((ask - bid) / ((ask + bid) / 2) * 100)
    expected = (data["bid_size"] - data["ask_size"]) / (data["bid_size"] + data["ask_size"])
    assert data["ob_imbalance"] == pytest.approx(expected)


async def test_fx_ticker(trader: IBTrader, ccxt_for: Any) -> None:
    ticker = await trader.fetch_ticker("AUD/USD")
    check_ticker(ccxt_for(trader), {}, "fetchTicker", ticker, "AUD/USD")
    assert 0.5 < ticker["bid"] < 0.8, "USD per AUD in 2025"


async def test_unknown_and_non_canonical_symbols(trader: IBTrader) -> None:
    with pytest.raises(BadSymbol, match="IB has no contract for ZZZQ/AUD"):
        await trader.fetch_ticker("ZZZQ/AUD")
    with pytest.raises(BadSymbol, match="did you mean 'BHP/AUD'"):
        await trader.fetch_ticker("BHP.AX")


async def test_markets_are_the_allowed_symbols_ib_lists(trader: IBTrader, gateway: Any) -> None:
    markets = await trader.load_markets()
    assert set(markets) == set(trader.settings.allowed_symbols)
    bhp = markets["BHP/AUD"]
    assert bhp["id"] == str(gateway.instruments.get("BHP/AUD").con_id)
    assert bhp["precision"]["amount"] == 1.0 and bhp["spot"] and bhp["info"]["primaryExchange"] == "ASX"


@pytest.mark.parametrize(
    ("symbol", "market", "market_orders", "step_at_40"),
    [("BHP/AUD", "ASX", False, "0.01"), ("SPY/USD", "NYSE", True, "0.01"), ("AUD/USD", "FX", True, "0.00005")],
)
async def test_fetch_instrument_uses_ib_market_rules(
    trader: IBTrader, symbol: str, market: str, market_orders: bool, step_at_40: str
) -> None:
    spec = await trader.fetch_instrument(symbol)
    assert (spec.market, spec.market_orders_allowed, spec.venue) == (market, market_orders, "IB")
    assert spec.ladder.increment_at("0.6" if market == "FX" else "40") == Decimal(step_at_40)
    assert spec.ladder.market_rule_id in trader.resolver.cached(symbol).market_rule_ids
    assert spec.size_increment == Decimal(1) and spec.con_id == trader.resolver.cached(symbol).con_id
    if market == "ASX":
        assert spec.ladder.increment_at("1.50") == Decimal("0.005"), "ASX price steps below 2.00"
