"""CcxtTrader's private endpoints against the fake Gemini over loopback: signed requests, documented
responses, ccxt errors passing through unchanged, idempotent create_order, only our open orders."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
from typing import Any

import pytest
from ccxt.base.errors import (
    DuplicateOrderId,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidOrder,
    NotSupported,
    OrderNotFound,
    RequestTimeout,
)
from ccxt.test.exchange.base.test_balance import test_balance as check_balance
from ccxt.test.exchange.base.test_order import test_order as check_order
from ccxt.test.exchange.base.test_trade import test_trade as check_trade

from sdk.logs import configure_logging
from sdk.venues.ccxt import CcxtTrader

NOW = 1_800_000_000_000


async def test_balance_is_parsed_by_ccxt(trader: CcxtTrader) -> None:
    balance = await trader.fetch_balance()
    assert balance["BTC"] == {"free": 9.5, "used": 1.0, "total": 10.5}
    assert balance["total"]["USD"] == 250_000.0
    check_balance(trader.exchange, {}, "fetchBalance", balance)


async def test_spot_holdings_are_long_positions_marked_at_last(trader: CcxtTrader) -> None:
    positions = await trader.fetch_positions()
    assert [(p["symbol"], p["side"], p["contracts"], p["markPrice"]) for p in positions] == [
        ("BTC/USD", "long", 10.5, 73268.24)
    ]
    assert positions[0]["notional"] == pytest.approx(10.5 * 73268.24)
    assert not trader.has["fetchPositions"], "get_equity must not count holdings twice"


async def test_limit_order_is_signed_sent_once_and_parsed(trader: CcxtTrader, gemini: Any) -> None:
    order = await trader.create_order("BTC/USD", "limit", "buy", 0.01, 73_000.004, {"clientOrderId": "trd-abc123"})
    sent = gemini.new_order_requests[0]
    assert sent["client_order_id"] == "trd-abc123" and sent["symbol"] == "btcusd"
    assert (sent["price"], sent["amount"], sent["type"]) == (
        "73000",
        "0.01",
        "exchange limit",
    )  # ccxt price_to_precision: 0.01 tick
    assert (order["clientOrderId"], order["status"], order["type"], order["price"]) == (
        "trd-abc123",
        "open",
        "limit",
        73000.0,
    )
    check_order(trader.exchange, {}, "createOrder", order, "BTC/USD", NOW)

    again = await trader.create_order("BTC/USD", "limit", "buy", 0.01, 73_000.0, {"clientOrderId": "trd-abc123"})
    assert again["id"] == order["id"] and len(gemini.new_order_requests) == 1, "a retry is answered, not re-sent"


async def test_concurrent_calls_with_one_client_order_id_send_one_order(trader: CcxtTrader, gemini: Any) -> None:
    gemini.delay_new_order = 0.2
    orders = await asyncio.gather(
        *(
            trader.create_order("BTC/USD", "limit", "sell", 0.02, 74_000, {"clientOrderId": "trd-same"})
            for _ in range(3)
        )
    )
    assert len({o["id"] for o in orders}) == 1 and len(gemini.new_order_requests) == 1


async def test_a_new_client_order_id_carries_the_prefix(trader: CcxtTrader, gemini: Any) -> None:
    order = await trader.create_order("BTC/USD", "limit", "buy", 0.01, 70_000)
    assert order["clientOrderId"].startswith("trd-") and len(order["clientOrderId"]) == 20
    assert gemini.new_order_requests[0]["client_order_id"] == order["clientOrderId"]


async def test_ccxt_errors_pass_through_unchanged(trader: CcxtTrader, gemini: Any) -> None:
    with pytest.raises(ExchangeError, match="allows limit orders only") as info:
        await trader.create_order("BTC/USD", "market", "buy", 0.01)
    assert type(info.value) is ExchangeError and gemini.new_order_requests == []
    gemini.fail_next = "error_insufficient_funds"
    with pytest.raises(InsufficientFunds, match="insufficient funds"):
        await trader.create_order("BTC/USD", "limit", "buy", 100, 73_385.27, {"clientOrderId": "trd-big"})
    # the venue answered, so nothing was placed: the same id may be used again
    order = await trader.create_order("BTC/USD", "limit", "buy", 1, 73_385.27, {"clientOrderId": "trd-big"})
    assert order["clientOrderId"] == "trd-big" and len(gemini.new_order_requests) == 2
    with pytest.raises(OrderNotFound, match="not found"):
        await trader.fetch_order("999")


async def test_bad_input_is_refused_before_anything_is_sent(trader: CcxtTrader, gemini: Any) -> None:
    with pytest.raises(InvalidOrder, match="needs params\\['triggerPrice'\\]"):
        await trader.create_order("BTC/USD", "stop_limit", "sell", 0.01, 60_000)
    with pytest.raises(InvalidOrder, match="not one of limit, market, stop, stop_limit"):
        await trader.create_order("BTC/USD", "iceberg", "sell", 0.01, 60_000)
    with pytest.raises(InvalidOrder, match="1-64 characters"):
        await trader.create_order("BTC/USD", "limit", "sell", 0.01, 60_000, {"clientOrderId": "x" * 65})
    assert gemini.new_order_requests == []


async def test_stop_limit_maps_to_geminis_stop_limit(trader: CcxtTrader, gemini: Any) -> None:
    await trader.create_order(
        "BTC/USD", "stop_limit", "sell", 0.01, 60_000, {"triggerPrice": 60_500, "reduceOnly": True}
    )
    sent = gemini.new_order_requests[0]
    assert (sent["type"], sent["stop_price"], sent["price"]) == ("exchange stop limit", "60500", "60000")
    assert "reduceOnly" not in sent, "spot Gemini has no reduce-only orders; the RiskManager enforces it"


async def test_open_orders_are_only_ours_and_cancel_works(trader: CcxtTrader, gemini: Any) -> None:
    placed = await trader.create_order("BTC/USD", "limit", "buy", 0.01, 70_000, {"clientOrderId": "trd-open1"})
    open_orders = await trader.fetch_open_orders()
    assert [o["clientOrderId"] for o in open_orders] == ["trd-open1"]  # the documented foreign order is left out
    for order in open_orders:
        check_order(trader.exchange, {}, "fetchOpenOrders", order, None, NOW)
    cancelled = await trader.cancel_order(placed["id"], "BTC/USD")
    assert cancelled["status"] == "canceled"
    assert await trader.fetch_open_orders("BTC/USD") == []


async def test_my_trades_carry_the_documented_fee(trader: CcxtTrader) -> None:
    trades = await trader.fetch_my_trades("BTC/USD")
    assert [(t["id"], t["side"], t["price"], t["amount"]) for t in trades] == [("73621746145", "buy", 73268.24, 0.01)]
    assert trades[0]["fee"] == {"cost": 2.930729, "currency": "USD"}
    check_trade(trader.exchange, {}, "fetchMyTrades", trades[0], "BTC/USD", NOW, False)


async def test_timeout_then_retry_finds_the_booked_order_instead_of_sending_twice(
    gemini: Any, make_trader: Any
) -> None:
    gemini.delay_new_order = 0.6
    async with make_trader(gemini.url, timeout=300) as venue:
        with pytest.raises(RequestTimeout):
            await venue.create_order("BTC/USD", "limit", "buy", 0.01, 70_000, {"clientOrderId": "trd-slow"})
        gemini.delay_new_order = 0
        order = await venue.create_order("BTC/USD", "limit", "buy", 0.01, 70_000, {"clientOrderId": "trd-slow"})
    assert order["clientOrderId"] == "trd-slow" and order["status"] == "open"
    assert len(gemini.new_order_requests) == 1


async def test_timeout_on_an_order_that_filled_is_found_through_its_fill(gemini: Any, make_trader: Any) -> None:
    gemini.delay_new_order, gemini.fill_new_orders = 0.6, True
    async with make_trader(gemini.url, timeout=300) as venue:
        with pytest.raises(RequestTimeout):
            await venue.create_order("BTC/USD", "limit", "buy", 0.01, 74_000, {"clientOrderId": "trd-fill"})
        order = await venue.create_order("BTC/USD", "limit", "buy", 0.01, 74_000, {"clientOrderId": "trd-fill"})
    assert (order["status"], order["filled"]) == ("closed", 0.01)
    assert len(gemini.new_order_requests) == 1


async def test_unknown_outcome_and_no_trace_refuses_rather_than_risk_a_second_order(
    gemini: Any, make_trader: Any
) -> None:
    gemini.delay_new_order, gemini.book_new_order = 0.6, False
    async with make_trader(gemini.url, timeout=300) as venue:
        with pytest.raises(RequestTimeout):
            await venue.create_order("BTC/USD", "limit", "buy", 0.01, 70_000, {"clientOrderId": "trd-lost"})
        with pytest.raises(DuplicateOrderId, match="retry with a new client order id"):
            await venue.create_order("BTC/USD", "limit", "buy", 0.01, 70_000, {"clientOrderId": "trd-lost"})
    assert len(gemini.new_order_requests) == 1


async def test_a_connection_that_never_opened_placed_nothing_so_the_id_can_be_retried(
    gemini: Any, make_trader: Any
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    async with make_trader(f"http://127.0.0.1:{port}") as venue:
        with pytest.raises(ExchangeNotAvailable):
            await venue.create_order("BTC/USD", "limit", "buy", 0.01, 70_000, {"clientOrderId": "trd-refused"})
        venue.exchange.urls["api"] = {"public": gemini.url, "private": gemini.url}
        order = await venue.create_order("BTC/USD", "limit", "buy", 0.01, 70_000, {"clientOrderId": "trd-refused"})
    assert order["clientOrderId"] == "trd-refused" and len(gemini.new_order_requests) == 1


async def test_rate_limiter_stays_on_and_throttles_every_request(gemini: Any, make_trader: Any) -> None:
    async with make_trader(gemini.url, enableRateLimit=False) as venue:
        assert venue.exchange.enableRateLimit is True
        calls: list[Any] = []
        original = venue.exchange.throttle

        async def counting(cost: Any = None) -> Any:
            calls.append(cost)
            return await original(cost)

        venue.exchange.throttle = counting
        await venue.fetch_ticker("BTC/USD")
        await venue.fetch_balance()
    assert len(calls) == 2


async def test_secrets_never_reach_logs_or_repr(
    gemini: Any, make_trader: Any, gemini_credentials: tuple[str, str]
) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("DEBUG", stream=stream)
    try:
        async with make_trader(gemini.url) as venue:
            venue.exchange.verbose = False
            await venue.fetch_balance()
            await venue.create_order("BTC/USD", "limit", "buy", 0.01, 70_000, {"clientOrderId": "trd-log"})
            text = repr(venue)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    output = stream.getvalue()
    assert "X-GEMINI-APIKEY" in output, "ccxt's request log was captured (the test can see headers)"
    assert "order accepted" in output and "trd-log" in output
    key, secret = gemini_credentials
    for value in (key, secret):
        assert value not in output and value not in text


async def test_closed_orders_on_an_exchange_without_them_say_what_to_use(trader: CcxtTrader, gemini: Any) -> None:
    assert trader.has.get("fetchClosedOrders") is False  # ccxt's Gemini lists no finished orders
    with pytest.raises(NotSupported, match="use fetch_order with the order's id"):
        await trader.fetch_closed_orders("BTC/USD")
