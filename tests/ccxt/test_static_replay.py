"""ccxt's own static Gemini fixtures replayed through CcxtTrader by overriding the exchange's ``fetch``,
as ccxt's tests do (``ccxt/test/tests_helpers.set_fetch_response``): real HTTP bodies, real ccxt parsing,
the result compared with ccxt's expected ``parsedResponse`` and checked by ccxt's structure validators."""

from __future__ import annotations

from typing import Any

import pytest
from ccxt.test.exchange.base.test_ohlcv import test_ohlcv as check_ohlcv
from ccxt.test.exchange.base.test_order_book import test_order_book as check_order_book
from ccxt.test.exchange.base.test_ticker import test_ticker as check_ticker
from ccxt.test.exchange.base.test_trade import test_trade as check_trade

from sdk.errors import BadSymbol
from sdk.settings import load_settings
from sdk.venues.ccxt import CcxtTrader


def offline_trader(static: dict[str, Any], body: Any, urls: list[str]) -> CcxtTrader:
    settings = load_settings(ccxt_api_key="account-static0000", ccxt_secret="static-secret-0000")
    trader = CcxtTrader(settings, "gemini", config={"markets": static["markets"]})

    async def fetch(url: str, method: str = "GET", headers: Any = None, body_: Any = None) -> Any:
        urls.append(url)
        return body

    trader.exchange.fetch = fetch
    return trader


def cases(static: dict[str, Any], method: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = static["response"]["methods"][method]
    return found


async def test_tickers_replay_to_ccxts_expected_result(ccxt_static: dict[str, Any]) -> None:
    replayed = 0
    for case in cases(ccxt_static, "fetchTicker"):
        symbol = case["input"][0]
        urls: list[str] = []
        trader = offline_trader(ccxt_static, case["httpResponse"], urls)
        try:
            if ":" in symbol:  # a swap: not a canonical spot symbol
                with pytest.raises(BadSymbol, match="not a canonical symbol"):
                    await trader.fetch_ticker(symbol)
                assert urls == [], "nothing is requested for a refused symbol"
                continue
            ticker = await trader.fetch_ticker(symbol)
            assert ticker == case["parsedResponse"]
            check_ticker(trader.exchange, {}, "fetchTicker", ticker, symbol)
            replayed += 1
        finally:
            await trader.close()
    assert replayed == 2


async def test_ohlcv_replays_oldest_first(ccxt_static: dict[str, Any]) -> None:
    case = cases(ccxt_static, "fetchOHLCV")[0]
    symbol, timeframe, since, limit = case["input"]
    trader = offline_trader(ccxt_static, case["httpResponse"], urls := [])
    try:
        rows = await trader.fetch_ohlcv(symbol, timeframe, since, limit)
    finally:
        await trader.close()
    assert rows == case["parsedResponse"]
    assert urls == ["https://api.gemini.com/v2/candles/btcusdt/1hr"]  # ccxt maps 1h to Gemini's 1hr
    for row in rows:
        check_ohlcv(trader.exchange, {}, "fetchOHLCV", row, symbol, 1_800_000_000_000)


async def test_ohlcv_drops_duplicates_and_sorts(ccxt_static: dict[str, Any]) -> None:
    newest_first = [[1710327600000, 2, 2, 2, 2, 1], [1710324000000, 1, 1, 1, 1, 1], [1710327600000, 2, 2, 2, 2, 1]]
    trader = offline_trader(ccxt_static, newest_first, [])
    try:
        rows = await trader.fetch_ohlcv("BTC/USDT", "1h")
    finally:
        await trader.close()
    assert [r[0] for r in rows] == [1710324000000, 1710327600000]


async def test_real_trade_body_through_fetch_my_trades_leaves_the_fee_pending(ccxt_static: dict[str, Any]) -> None:
    """The recorded trade has no fee fields: ccxt reports ``fee.cost`` None, which the SDK keeps as pending."""
    case = cases(ccxt_static, "fetchTrades")[0]
    trader = offline_trader(ccxt_static, case["httpResponse"], urls := [])
    try:
        trades = await trader.fetch_my_trades("BTC/USDT")
    finally:
        await trader.close()
    assert trades == case["parsedResponse"]
    assert trades[0]["fee"] == {"cost": None, "currency": None}
    assert urls == ["https://api.gemini.com/v1/mytrades"]
    check_trade(trader.exchange, {}, "fetchMyTrades", trades[0], "BTC/USDT", 1_800_000_000_000, False)


async def test_requests_go_to_the_urls_ccxt_expects(ccxt_static: dict[str, Any]) -> None:
    expected = {m: [c["url"] for c in calls] for m, calls in ccxt_static["request"]["methods"].items()}
    book = {"bids": [{"price": "73367.96", "amount": "0.5", "timestamp": "1"}], "asks": []}
    trader = offline_trader(ccxt_static, book, urls := [])
    try:
        orderbook = await trader.fetch_order_book("BTC/USDT")
        await trader.fetch_ohlcv("BTC/USDT")
    finally:
        await trader.close()
    assert urls == [expected["fetchOrderBook"][0], expected["fetchOHLCV"][0]]
    check_order_book(trader.exchange, {"timestamp": True, "datetime": True}, "fetchOrderBook", orderbook, "BTC/USDT")
    for case in ccxt_static["request"]["methods"]["fetchTicker"]:
        symbol = case["input"][0]
        if ":" in symbol or symbol not in ccxt_static["markets"]:
            continue
        trader = offline_trader(ccxt_static, cases(ccxt_static, "fetchTicker")[0]["httpResponse"], urls := [])
        try:
            await trader.fetch_ticker(symbol)
        finally:
            await trader.close()
        assert urls == [case["url"]]
