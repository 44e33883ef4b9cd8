"""Every entry of ``IBTrader.has`` is checked against a real call on the offline gateway: what says True works
and answers ccxt's structure, what says False is absent or raises ``NotSupported``. A new ``has`` entry
without a call here fails the test."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from ccxt.test.exchange.base.test_order import test_order as check_order
from ccxt.test.exchange.base.test_ticker import test_ticker as check_ticker
from support.waiting import round_trip

from sdk.errors import ArgumentsRequired, NotSupported
from sdk.venues.ib.trader import IBTrader


def now_ms(gw: Any) -> int:
    return int(gw.clock.timestamp() * 1000)


async def _resting(trader: IBTrader, symbol: str = "BHP/AUD") -> dict[str, Any]:
    """A limit buy 5 % under the bid: it rests (returns the order)."""
    bid = (await trader.fetch_ticker(symbol))["bid"]
    return dict(await trader.create_limit_buy_order(symbol, 100, round(bid * 0.95, 2)))


async def _filled(trader: IBTrader, gw: Any) -> dict[str, Any]:
    """An AUD/USD market buy (IDEALPRO takes market orders) that fills: returns the order once closed."""
    order = await trader.create_market_buy_order("AUD/USD", 25_000)
    for _ in range(20):
        order = await trader.fetch_order(order["id"])
        if order["status"] == "closed":
            break
        gw.clock.advance(30)
        await round_trip(trader.connection.ib)  # the step's fill is in
    return dict(order)


def _calls(trader: IBTrader, gw: Any, ccxt: Any) -> dict[str, Callable[[], Awaitable[Any]]]:
    async def ticker() -> None:
        check_ticker(ccxt, {}, "fetchTicker", await trader.fetch_ticker("BHP/AUD"), "BHP/AUD")

    async def tickers() -> None:
        found = await trader.fetch_tickers(["BHP/AUD", "CBA/AUD", "BHP/AUD"])
        assert list(found) == ["BHP/AUD", "CBA/AUD"]
        for symbol, one in found.items():
            check_ticker(ccxt, {}, "fetchTickers", one, symbol)
        with pytest.raises(ArgumentsRequired, match="needs the symbols"):
            await trader.fetch_tickers()

    async def book() -> None:
        assert (await trader.fetch_order_book("BHP/AUD"))["bids"]

    async def ohlcv() -> None:
        assert len(await trader.fetch_ohlcv("BHP/AUD", "1d", limit=3)) == 3

    async def watch() -> None:
        bars = trader.watch_ohlcv("BHP/AUD", "1m")
        first = asyncio.ensure_future(anext(bars))
        for _ in range(40):
            if first.done():
                break
            gw.clock.advance(30)
            await round_trip(trader.connection.ib)  # the step's bar is in
        assert len(await asyncio.wait_for(first, 5)) == 6
        await bars.aclose()

    async def balance() -> None:
        assert (await trader.fetch_balance())["total"]["AUD"] == 1_000_000

    async def positions() -> None:
        await _filled(trader, gw)
        assert [p["symbol"] for p in await trader.fetch_positions()] == ["AUD/USD"]

    async def my_trades() -> None:
        filled = await _filled(trader, gw)
        assert filled["id"] in {t["order"] for t in await trader.fetch_my_trades("AUD/USD")}

    async def order_trades() -> None:
        filled = await _filled(trader, gw)
        trades = await trader.fetch_order_trades(filled["id"])
        assert trades and sum(t["amount"] for t in trades) == filled["filled"] == 25_000

    async def fetch_order() -> None:
        order = await _resting(trader)
        assert (await trader.fetch_order(order["id"]))["clientOrderId"] == order["clientOrderId"]

    async def open_orders() -> None:
        order = await _resting(trader)
        assert order["id"] in [o["id"] for o in await trader.fetch_open_orders("BHP/AUD")]

    async def closed_orders() -> None:
        filled = await _filled(trader, gw)
        assert filled["id"] in [o["id"] for o in await trader.fetch_closed_orders("AUD/USD")]

    async def never_received() -> None:
        assert await trader.order_never_received("trd-neversent000001") is True
        order = await _resting(trader)
        assert await trader.order_never_received(order["clientOrderId"]) is False

    async def time() -> None:
        assert abs(await trader.fetch_time() - now_ms(gw)) < 5_000

    async def account_id() -> None:
        assert trader.account_id == gw.config.account, "the account the session holds"

    async def account_summary() -> None:
        summary = await trader.fetch_account_summary()
        assert summary["NetLiquidation"] > 0 and all(isinstance(v, float) for v in summary.values())

    async def client_id() -> None:
        assert trader.client_id == trader.connection.ib.client.clientId

    async def create(kind: str) -> None:
        bid = (await trader.fetch_ticker("BHP/AUD"))["bid"]
        low, high = round(bid * 0.95, 2), round(bid * 1.05, 2)
        made = {
            "createOrder": lambda: trader.create_order("BHP/AUD", "limit", "buy", 100, low),
            "createLimitOrder": lambda: trader.create_limit_order("BHP/AUD", "buy", 100, low),
            "createLimitBuyOrder": lambda: trader.create_limit_buy_order("BHP/AUD", 100, low),
            "createLimitSellOrder": lambda: trader.create_limit_sell_order("BHP/AUD", 100, high),
            "createMarketOrder": lambda: trader.create_market_order("AUD/USD", "buy", 25_000),
            "createMarketBuyOrder": lambda: trader.create_market_buy_order("AUD/USD", 25_000),
            "createMarketSellOrder": lambda: trader.create_market_sell_order("AUD/USD", 25_000),
            "createStopOrder": lambda: trader.create_stop_order("BHP/AUD", "market", "buy", 100, None, high),
            "createStopMarketOrder": lambda: trader.create_stop_market_order("BHP/AUD", "buy", 100, high),
            "createStopLimitOrder": lambda: trader.create_stop_limit_order(
                "BHP/AUD", "buy", 100, round(high * 1.01, 2), high
            ),
            "createOrderWithTakeProfitAndStopLoss": lambda: trader.create_order_with_take_profit_and_stop_loss(
                "BHP/AUD", "limit", "buy", 100, low, takeProfit=high, stopLoss=round(low * 0.95, 2)
            ),
        }[kind]
        order = await made()
        check_order(ccxt, {}, kind, order, order["symbol"], now_ms(gw))
        for child in order["info"].get("attached", []):  # a bracket's exits are orders of their own
            check_order(ccxt, {}, "fetchOrder", await trader.fetch_order(child), order["symbol"], now_ms(gw))

    async def cancel() -> None:
        order = await _resting(trader)
        assert (await trader.cancel_order(order["id"]))["status"] == "canceled"

    async def cancel_all() -> None:
        orders = [await _resting(trader), await _resting(trader, "CBA/AUD")]
        cancelled = await trader.cancel_all_orders()
        assert {o["id"] for o in cancelled} >= {o["id"] for o in orders}
        assert all(o["status"] == "canceled" for o in cancelled) and await trader.fetch_open_orders() == []

    creates = [k for k in IBTrader.has if k.startswith("create")]
    return {
        "fetchTicker": ticker, "fetchTickers": tickers, "fetchOrderBook": book, "fetchOHLCV": ohlcv,
        "watchOHLCV": watch, "fetchBalance": balance, "fetchPositions": positions, "fetchMyTrades": my_trades,
        "fetchOrderTrades": order_trades, "fetchOrder": fetch_order, "fetchOpenOrders": open_orders,
        "fetchClosedOrders": closed_orders, "fetchTime": time, "accountId": account_id, "clientId": client_id,
        "fetchAccountSummary": account_summary,
        "orderNeverReceived": never_received, "cancelOrder": cancel, "cancelAllOrders": cancel_all,
        **{k: (lambda k=k: create(k)) for k in creates},
    }  # fmt: skip


def _method(key: str) -> str:
    """ccxt's camelCase capability -> the unified snake_case method (fetchOHLCV -> fetch_ohlcv)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", key.replace("OHLCV", "Ohlcv")).lower()


@pytest.mark.parametrize("key", sorted(IBTrader.has))
async def test_every_has_entry_matches_a_call(key: str, make_gateway: Any, make_trader: Any, ccxt_for: Any) -> None:
    gw = await make_gateway()
    trader = await make_trader(gw)
    method = getattr(trader, _method(key), None)
    if not IBTrader.has[key]:
        if method is not None:
            with pytest.raises(NotSupported):
                await method("BHP/AUD")
        return
    calls = _calls(trader, gw, ccxt_for(trader))
    assert key in calls, f"has[{key!r}] is True but this test makes no call for it: add one"
    assert method is not None, f"has[{key!r}] is True but IBTrader has no {_method(key)}()"
    await calls[key]()
