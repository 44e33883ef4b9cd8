"""Orders through the offline gateway: placing, idempotency, validation, rejection, fills, fees, cancels."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from ccxt.test.exchange.base.test_order import test_order as check_order
from ccxt.test.exchange.base.test_shared_methods import assert_timestamp_order
from ccxt.test.exchange.base.test_trade import test_trade as check_trade
from ib_async import IB, LimitOrder, Stock
from ib_support import NYSE_OPEN_2024  # type: ignore[import-not-found]
from support.waiting import eventually, round_trip

from sdk.errors import BadRequest, InsufficientFunds, InvalidOrder, OrderNotFound
from sdk.venues.ib.parsing import CCXT_ORDER_STATUSES
from sdk.venues.ib.trader import IBTrader

#: ccxt's ``test_order`` accepts only open, closed and canceled, but ccxt's order structure also has
#: ``rejected`` and ``expired`` (ccxt Manual, "Order structure"): for those orders only the status
#: field is skipped by the validator and checked against ccxt's full list here instead.
TERMINAL_NOT_IN_VALIDATOR = frozenset({"rejected", "expired"})


def check_ccxt_order(exchange: Any, method: str, order: dict[str, Any], symbol: str | None, now: int) -> None:
    """ccxt's order validator, with the narrow skip of ``status`` for rejected and expired orders."""
    skip = {"status": True} if order["status"] in TERMINAL_NOT_IN_VALIDATOR else {}
    check_order(exchange, skip, method, order, symbol, now)
    assert order["status"] in CCXT_ORDER_STATUSES


def check_order_list(exchange: Any, method: str, orders: list[Any], statuses: set[str], now: int) -> None:
    """What ccxt's own fetchOpenOrders/fetchClosedOrders tests check of a list: each order, its
    status, and ascending timestamps (``test_fetch_open_orders``, ``test_fetch_closed_orders``)."""
    for order in orders:
        check_ccxt_order(exchange, method, order, order["symbol"], now)
        assert order["status"] in statuses
    assert_timestamp_order(exchange, method, None, orders)


def gateway_orders(gw: Any, ref: str | None = None) -> list[dict[str, Any]]:
    return [o for o in gw.state()["orders"] if ref is None or o["orderRef"] == ref]


def now_ms(gw: Any) -> int:
    return int(gw.clock.timestamp() * 1000) + 1


async def passive_bid(trader: IBTrader, symbol: str, ticks_below: int) -> float:
    ticker = await trader.fetch_ticker(symbol)
    spec = await trader.fetch_instrument(symbol)
    step = spec.ladder.increment_at(ticker["bid"])
    return float(spec.ladder.round(ticker["bid"], "down") - step * ticks_below)


async def marketable(trader: IBTrader, symbol: str, side: str) -> float:
    ticker = await trader.fetch_ticker(symbol)
    spec = await trader.fetch_instrument(symbol)
    if side == "buy":
        return float(spec.ladder.round(ticker["ask"] * 1.002, "up"))
    return float(spec.ladder.round(ticker["bid"] * 0.998, "down"))


async def test_limit_order_is_acknowledged_in_ccxt_shape(trader: IBTrader, gateway: Any, ccxt_for: Any) -> None:
    price = await passive_bid(trader, "BHP/AUD", 20)
    order = await trader.create_order("BHP/AUD", "limit", "buy", 100, price, {"clientOrderId": "trd-test-0001"})
    check_order(ccxt_for(trader), {}, "createOrder", order, "BHP/AUD", now_ms(gateway))
    (sent,) = gateway_orders(gateway, "trd-test-0001")
    assert order["id"] == str(sent["permId"]) and order["clientOrderId"] == "trd-test-0001"
    assert (order["status"], order["info"]["status"]) == ("open", sent["status"])
    assert (order["price"], order["amount"], order["filled"], order["remaining"]) == (price, 100, 0, 100)
    assert order["info"]["conId"] == gateway.instruments.get("BHP/AUD").con_id
    assert order["fee"] is None and order["timeInForce"] == "GTC"
    assert order["timestamp"] == int(gateway.clock.timestamp() * 1000), "stamped on the venue's clock"
    assert await trader.fetch_order("trd-test-0001") == await trader.fetch_order(order["id"])


async def test_generated_client_order_ids_carry_the_prefix(trader: IBTrader, gateway: Any) -> None:
    price = await passive_bid(trader, "CBA/AUD", 30)
    first = await trader.create_order("CBA/AUD", "limit", "buy", 10, price)
    second = await trader.create_order("CBA/AUD", "limit", "buy", 10, price)
    assert first["clientOrderId"].startswith("trd-") and first["clientOrderId"] != second["clientOrderId"]
    assert {o["orderRef"] for o in gateway_orders(gateway)} == {first["clientOrderId"], second["clientOrderId"]}


async def test_a_retry_with_the_same_client_order_id_never_sends_twice(trader: IBTrader, gateway: Any) -> None:
    price = await passive_bid(trader, "BHP/AUD", 20)
    params = {"clientOrderId": "trd-retry-0001"}
    results = await asyncio.gather(
        *(trader.create_order("BHP/AUD", "limit", "buy", 50, price, params) for _ in range(3))
    )
    again = await trader.create_order("BHP/AUD", "limit", "buy", 50, price, params)
    assert {r["id"] for r in [*results, again]} == {results[0]["id"]}
    assert len(gateway_orders(gateway, "trd-retry-0001")) == 1, "one order at IB"
    with pytest.raises(InvalidOrder, match=r"already used for buy 50\.0 BHP/AUD"):
        await trader.create_order("BHP/AUD", "limit", "sell", 50, price, params)


@pytest.mark.parametrize(
    ("args", "params", "error", "message"),
    [
        (
            ("limit", "buy", 100, 37.123),
            {},
            InvalidOrder,
            r"not on BHP/AUD's price ladder .*nearest safe price is 37.12",
        ),
        (("limit", "sell", 100, 37.123), {}, InvalidOrder, r"nearest safe price is 37.13"),
        (("limit", "buy", 10.5, 37.0), {}, InvalidOrder, "not a multiple of BHP/AUD's size increment"),
        (("limit", "buy", -1, 37.0), {}, InvalidOrder, "positive number of base units"),
        (("limit", "buy", 1e308, 37.0), {}, InvalidOrder, "at most 1e"),
        (("limit", "buy", 100, float("inf")), {}, InvalidOrder, "positive price"),
        (("stop", "sell", 100, None), {"stopPrice": 1e308}, InvalidOrder, "stopPrice"),
        (("limit", "buy", 100, None), {}, InvalidOrder, "needs a positive price"),
        (("stop", "sell", 100, None), {}, InvalidOrder, "stopPrice"),
        (("iceberg", "buy", 100, 37.0), {}, InvalidOrder, "use one of limit, market, stop, stop_limit"),
        (("limit", "hold", 100, 37.0), {}, InvalidOrder, "'buy' or 'sell'"),
        (("limit", "buy", 100, 37.0), {"timeInForce": "GTX"}, InvalidOrder, "timeInForce 'GTX'"),
        (("market", "sell", 100, None), {"reduceOnly": True}, InvalidOrder, "marketable limit"),
        (("limit", "buy", 100, 37.0), {"clientOrderId": "mine-1"}, BadRequest, "must start with CLIENT_ORDER_PREFIX"),
        (("limit", "buy", 100, 37.0), {"clientOrderId": "trd-has space"}, BadRequest, "letters, digits"),
    ],
)
async def test_bad_orders_are_refused_before_anything_is_sent(
    trader: IBTrader, gateway: Any, args: tuple[Any, ...], params: dict[str, Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        await trader.create_order("BHP/AUD", *args, params)
    assert gateway_orders(gateway) == []


async def test_rejection_is_raised_recorded_and_not_resent(make_gateway: Any, make_trader: Any, ccxt_for: Any) -> None:
    gw = await make_gateway(faults="reject_next=1")
    trader = await make_trader(gw)
    price = await passive_bid(trader, "BHP/AUD", 5)
    params = {"clientOrderId": "trd-rejected-01"}
    with pytest.raises(InvalidOrder, match=r"IB error 201: .*Simulated rejection"):
        await trader.create_order("BHP/AUD", "limit", "buy", 100, price, params)
    order = await trader.fetch_order("trd-rejected-01")
    assert (order["status"], order["info"]["status"], order["info"]["errorCode"]) == ("rejected", "Cancelled", 201)
    check_ccxt_order(ccxt_for(trader), "fetchOrder", order, "BHP/AUD", now_ms(gw))
    check_order_list(
        ccxt_for(trader), "fetchClosedOrders", await trader.fetch_closed_orders(), {"rejected"}, now_ms(gw)
    )
    with pytest.raises(InvalidOrder, match="201"):
        await trader.create_order("BHP/AUD", "limit", "buy", 100, price, params)
    assert gateway_orders(gw) == [], "IB never accepted it and the retry sent nothing"


async def test_margin_rejection_is_insufficient_funds(trader: IBTrader) -> None:
    price = await passive_bid(trader, "BHP/AUD", 1)
    with pytest.raises(InsufficientFunds, match="INITIAL MARGIN"):
        await trader.create_order("BHP/AUD", "limit", "buy", 500_000, price)


async def test_fill_fee_pending_until_the_commission_report(make_gateway: Any, make_trader: Any, ccxt_for: Any) -> None:
    gw = await make_gateway(faults="commission_delay_ms=400")
    trader = await make_trader(gw)
    price = await marketable(trader, "BHP/AUD", "buy")
    order = await trader.create_order("BHP/AUD", "limit", "buy", 400, price, {"clientOrderId": "trd-fill-0001"})
    await eventually(lambda: len(trader.executions) == 1, what="the execution")
    order = await trader.fetch_order(order["id"])
    assert order["status"] == "closed" and order["filled"] == 400 and order["remaining"] == 0
    assert order["fee"] is None and order["info"]["commissionSource"] == "pending", "never 0.0 while pending"
    (pending,) = await trader.fetch_my_trades("BHP/AUD")
    assert pending["fee"] is None and pending["fees"] == []
    await eventually(lambda: not trader.executions.pending(), what="the commission report")
    order = await trader.fetch_order(order["id"])
    check_order(ccxt_for(trader), {}, "fetchOrder", order, "BHP/AUD", now_ms(gw))
    (trade,) = await trader.fetch_my_trades("BHP/AUD")
    check_trade(ccxt_for(trader), {}, "fetchMyTrades", trade, "BHP/AUD", now_ms(gw), False)
    (execution,) = gw.state()["executions"]
    assert trade["fee"] == {"cost": execution["commission"], "currency": "AUD"} and execution["commission"] >= 6.0
    assert order["fee"] == trade["fee"] and order["info"]["commissionSource"] == "ib_commission_report"
    assert trade["takerOrMaker"] == "taker" and trade["order"] == order["id"]
    assert trade["cost"] == pytest.approx(trade["price"] * 400) and order["average"] == trade["price"]
    assert await trader.get_trades_from_timestamp(trade["timestamp"]) == [trade]
    assert await trader.fetch_my_trades(since=trade["timestamp"] + 1) == []
    closed = await trader.fetch_closed_orders("BHP/AUD")
    assert [o["id"] for o in closed] == [order["id"]]
    check_order_list(ccxt_for(trader), "fetchClosedOrders", closed, {"closed", "canceled"}, now_ms(gw))


async def test_resting_order_fills_as_maker(trader: IBTrader, gateway: Any) -> None:
    ticker = await trader.fetch_ticker("BHP/AUD")
    order = await trader.create_order("BHP/AUD", "limit", "buy", 100, ticker["bid"])
    for _ in range(60):
        if (await trader.fetch_order(order["id"]))["status"] == "closed":
            break
        gateway.clock.advance(60)
        await round_trip(trader.connection.ib)  # the minute's fills are in
    (trade,) = await trader.fetch_my_trades("BHP/AUD")
    assert trade["takerOrMaker"] == "maker" and trade["price"] <= ticker["bid"]


async def test_partial_fills_and_market_flattening(make_gateway: Any, make_trader: Any, ccxt_for: Any) -> None:
    gw = await make_gateway(start=NYSE_OPEN_2024, participation=0.001)
    trader = await make_trader(gw)
    ticker = await trader.fetch_ticker("SPY/USD")
    order = await trader.create_order("SPY/USD", "limit", "buy", 2000, ticker["bid"])
    for _ in range(40):
        gw.clock.advance(30)
        await round_trip(trader.connection.ib)  # the step's fills are in: no step is skipped unseen
        order = await trader.fetch_order(order["id"])
        if 0 < order["filled"] < 2000 and len(order["trades"]) >= 2:
            break
    assert order["status"] == "open" and 0 < order["filled"] < 2000
    assert order["remaining"] == 2000 - order["filled"] and len(order["trades"]) >= 2
    check_order(ccxt_for(trader), {}, "fetchOrder", order, "SPY/USD", now_ms(gw))
    canceled = await trader.cancel_order(order["id"])
    assert canceled["status"] == "canceled" and canceled["filled"] == order["filled"]
    bought = await trader.create_order("SPY/USD", "market", "buy", 100)  # as a ccxt user writes it
    check_order(ccxt_for(trader), {}, "createOrder", bought, "SPY/USD", now_ms(gw))
    for _ in range(40):
        if (await trader.fetch_order(bought["id"]))["status"] == "closed":
            break
        gw.clock.advance(30)
        await round_trip(trader.connection.ib)
    held = canceled["filled"] + 100
    with pytest.raises(InvalidOrder, match="would not only reduce"):
        await trader.create_order("SPY/USD", "market", "sell", held + 1, params={"reduceOnly": True})
    with pytest.raises(InvalidOrder, match="would not only reduce"):
        await trader.create_order("SPY/USD", "market", "buy", 1, params={"reduceOnly": True})
    flat = await trader.create_order("SPY/USD", "market", "sell", held, params={"reduceOnly": True})
    for _ in range(40):  # a market order takes its share of each minute's volume, too
        if not gw.state()["positions"]:
            break
        gw.clock.advance(30)
        await round_trip(trader.connection.ib)
    flat = await trader.fetch_order(flat["id"])
    assert flat["status"] == "closed" and flat["type"] == "market" and flat["reduceOnly"] is True
    assert await trader.fetch_positions() == []


async def test_cancel(trader: IBTrader, gateway: Any, ccxt_for: Any) -> None:
    price = await passive_bid(trader, "BHP/AUD", 20)
    order = await trader.create_order("BHP/AUD", "limit", "buy", 100, price)
    canceled = await trader.cancel_order(order["id"])
    check_order(ccxt_for(trader), {}, "cancelOrder", canceled, "BHP/AUD", now_ms(gateway))
    assert canceled["status"] == "canceled" and gateway_orders(gateway)[0]["status"] == "Cancelled"
    assert (await trader.cancel_order(order["clientOrderId"]))["status"] == "canceled", "cancelling again is a no-op"
    with pytest.raises(OrderNotFound):
        await trader.cancel_order("999999")
    filled = await trader.create_order("BHP/AUD", "limit", "buy", 10, await marketable(trader, "BHP/AUD", "buy"))
    await eventually(lambda: len(trader.executions) == 1, what="the fill")
    with pytest.raises(InvalidOrder, match="closed; there is nothing to cancel"):
        await trader.cancel_order(filled["id"])


async def test_stop_and_stop_limit_orders(trader: IBTrader, gateway: Any) -> None:
    ticker = await trader.fetch_ticker("BHP/AUD")
    stop = round(ticker["bid"] - 1, 2)
    order = await trader.create_order("BHP/AUD", "stop", "sell", 10, None, {"stopPrice": stop})
    assert (order["type"], order["stopPrice"], order["price"], order["status"]) == ("stop", stop, None, "open")
    limit = await trader.create_order("BHP/AUD", "stop_limit", "sell", 10, stop - 0.1, {"stopPrice": stop})
    sent = {o["permId"]: o for o in gateway_orders(gateway)}
    assert sent[int(order["id"])]["orderType"] == "STP" and sent[int(order["id"])]["auxPrice"] == stop
    assert sent[int(limit["id"])]["orderType"] == "STP LMT" and sent[int(limit["id"])]["lmtPrice"] == stop - 0.1


async def test_open_orders_are_only_ours(trader: IBTrader, gateway: Any, ccxt_for: Any) -> None:
    price = await passive_bid(trader, "BHP/AUD", 20)
    ours = await trader.create_order("BHP/AUD", "limit", "buy", 100, price)
    other = IB()
    await other.connectAsync("127.0.0.1", gateway.port, clientId=7, timeout=5)
    try:
        contract = Stock("BHP", "SMART", "AUD", primaryExchange="ASX")
        manual = LimitOrder("BUY", 100, price)
        manual.orderRef = "manual-1"
        other.placeOrder(contract, manual)
        await eventually(lambda: len(gateway_orders(gateway)) == 2, what="the other client's order")
    finally:
        other.disconnect()
    open_orders = await trader.fetch_open_orders()
    assert [o["id"] for o in open_orders] == [ours["id"]]
    check_order_list(ccxt_for(trader), "fetchOpenOrders", open_orders, {"open"}, now_ms(gateway))
    assert await trader.fetch_open_orders("CBA/AUD") == []
    assert await trader.fetch_closed_orders() == []
    assert trader.orders.owners() == {1: [ours["clientOrderId"]]}


async def test_every_order_and_fill_is_logged_with_contract_exchange_and_commission_source(
    trader: IBTrader, gateway: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sdk.venues.ib")
    price = await marketable(trader, "BHP/AUD", "buy")
    order = await trader.create_order("BHP/AUD", "limit", "buy", 100, price, {"clientOrderId": "trd-telemetry-1"})
    await eventually(lambda: len(trader.executions) == 1 and not trader.executions.pending(), what="fill and fee")
    con_id = gateway.instruments.get("BHP/AUD").con_id
    by_message = {r.getMessage(): r for r in caplog.records if getattr(r, "orderRef", None) == "trd-telemetry-1"}
    sent, fill, fee = by_message["order sent"], by_message["fill"], by_message["commission"]
    for record in (sent, fill, fee):
        assert (record.conId, record.exchange) == (con_id, "ASX")
    assert "pending" in sent.commissionSource and fill.commissionSource in ("pending", "ib_commission_report")
    assert fee.commissionSource == "ib_commission_report"
    assert fee.commission == (await trader.fetch_order(order["id"]))["fee"]["cost"]


async def test_day_order_has_ccxt_time_in_force_and_expires_at_the_close(
    trader: IBTrader, gateway: Any, ccxt_for: Any
) -> None:
    price = await passive_bid(trader, "BHP/AUD", 400)  # far below the day's range: it never fills
    params = {"clientOrderId": "trd-day-0001", "timeInForce": "DAY"}
    order = await trader.create_order("BHP/AUD", "limit", "buy", 100, price, params)
    check_order(ccxt_for(trader), {}, "createOrder", order, "BHP/AUD", now_ms(gateway))
    assert order["timeInForce"] is None and order["info"]["tif"] == "DAY", "ccxt has no DAY; IB's tif in info"
    (sent,) = gateway_orders(gateway, "trd-day-0001")
    assert sent["tif"] == "DAY", "sent to IB as DAY"
    ioc = await trader.create_order("BHP/AUD", "limit", "buy", 100, price, {"timeInForce": "IOC"})
    assert ioc["timeInForce"] == "IOC"
    gateway.clock.advance(6 * 3600)  # past the ASX close (16:00 Sydney) and its closing auction
    await eventually(
        lambda: trader.orders.find("trd-day-0001").status == "expired",  # type: ignore[union-attr]
        what="the DAY order to expire",
    )
    expired = await trader.fetch_order("trd-day-0001")
    assert expired["info"]["status"] == "Cancelled" and "expired" in expired["info"]["errorMessage"]
    check_ccxt_order(ccxt_for(trader), "fetchOrder", expired, "BHP/AUD", now_ms(gateway))
    closed = await trader.fetch_closed_orders()
    assert "trd-day-0001" in [o["clientOrderId"] for o in closed]
    check_order_list(ccxt_for(trader), "fetchClosedOrders", closed, {"closed", "canceled", "expired"}, now_ms(gateway))
