"""Attached stop-loss and take-profit (IB brackets) through IBTrader and the offline gateway, on the replayed BHP
day of 2025-03-04: what is sent, how the exits end, and what is refused before anything is sent."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from ccxt.test.exchange.base.test_order import test_order as check_order
from support.waiting import round_trip

from sdk.errors import BadRequest, InvalidOrder, NotSupported
from sdk.venues.ib.trader import IBTrader

BHP_DAY = (datetime(2025, 3, 3, 23, tzinfo=UTC), datetime(2025, 3, 4, 1, tzinfo=UTC))
TO_CLOSE = 5 * 3600 - 60  # from 11:00 to 15:59 Sydney


@pytest.fixture
def day_range(catalog: Any) -> tuple[float, float]:
    """BHP's low and high that day, on the 1-cent ladder (both traded after 11:00)."""
    day = catalog.bars("BHP/AUD", "1 day", *BHP_DAY).iloc[0]
    low, high = (Decimal(repr(float(day[k]))).quantize(Decimal("0.01")) for k in ("low", "high"))
    return float(low), float(high)


def now_ms(gw: Any) -> int:
    return int(gw.clock.timestamp() * 1000) + 1


async def _ask(trader: IBTrader) -> float:
    return float((await trader.fetch_ticker("BHP/AUD"))["ask"])


async def _to_close(trader: IBTrader, gw: Any) -> None:
    gw.clock.advance(TO_CLOSE)
    await round_trip(trader.connection.ib)  # the day's fills and cancels are in


async def test_a_bracket_buy_is_sent_as_ibs_bracket_and_its_target_closes_the_position(
    trader: IBTrader, gateway: Any, ccxt_for: Any, day_range: tuple[float, float]
) -> None:
    low, high = day_range
    ask = await _ask(trader)
    params = {"clientOrderId": "trd-brk-0001", "stopLossPrice": low - 1.0, "takeProfitPrice": high - 0.01}
    params["timeInForce"] = "DAY"  # the entry's; the exits protect the position past it (GTC)
    order = await trader.create_order("BHP/AUD", "limit", "buy", 100, ask, params)
    exchange = ccxt_for(trader)
    check_order(exchange, {}, "createOrder", order, "BHP/AUD", now_ms(gateway))
    assert (order["stopLossPrice"], order["takeProfitPrice"]) == (low - 1.0, high - 0.01)
    assert order["info"]["attached"] == ["trd-brk-0001-sl", "trd-brk-0001-tp"]
    parent, stop, target = gateway.state()["orders"]
    assert [o["orderRef"] for o in (parent, stop, target)] == ["trd-brk-0001", *order["info"]["attached"]]
    assert stop["parentId"] == target["parentId"] == parent["orderId"] and parent["parentId"] == 0
    assert parent["tif"] == "DAY"
    assert stop["ocaGroup"] == target["ocaGroup"] == "trd-brk-0001"
    assert [(o["action"], o["orderType"], o["totalQuantity"], o["tif"]) for o in (stop, target)] == [
        ("SELL", "STP", 100, "GTC"),
        ("SELL", "LMT", 100, "GTC"),
    ]
    assert (stop["auxPrice"], target["lmtPrice"]) == (low - 1.0, high - 0.01)
    await _to_close(trader, gateway)
    entry, sl, tp = [await trader.fetch_order(ref) for ref in ("trd-brk-0001", *order["info"]["attached"])]
    assert [o["status"] for o in (entry, sl, tp)] == ["closed", "canceled", "closed"]
    for one, kind in ((entry, "limit"), (sl, "stop"), (tp, "limit")):
        check_order(exchange, {}, "fetchOrder", one, "BHP/AUD", now_ms(gateway))
        assert one["type"] == kind
    assert sl["info"]["parentOrderRef"] == tp["info"]["parentOrderRef"] == "trd-brk-0001"
    assert (sl["side"], sl["triggerPrice"], sl["stopLossPrice"]) == ("sell", low - 1.0, low - 1.0)
    assert (tp["side"], tp["price"], tp["takeProfitPrice"], tp["filled"]) == ("sell", high - 0.01, high - 0.01, 100)
    assert await trader.fetch_positions(["BHP/AUD"]) == [], "the target closed what the entry opened"


async def test_ccxts_attached_form_with_a_stop_loss_that_triggers(
    trader: IBTrader, gateway: Any, day_range: tuple[float, float]
) -> None:
    low, high = day_range
    order = await trader.create_order_with_take_profit_and_stop_loss(
        "BHP/AUD", "limit", "buy", 100, await _ask(trader), takeProfit=high + 1.0, stopLoss=low + 0.01
    )
    sl_ref, tp_ref = order["info"]["attached"]
    await _to_close(trader, gateway)
    sl, tp = await trader.fetch_order(sl_ref), await trader.fetch_order(tp_ref)
    assert (sl["status"], tp["status"]) == ("closed", "canceled")
    assert sl["filled"] == 100 and sl["average"] <= low + 0.01
    assert await trader.fetch_positions(["BHP/AUD"]) == []


async def test_cancelling_the_entry_before_it_fills_cancels_its_exits(
    trader: IBTrader, gateway: Any, day_range: tuple[float, float]
) -> None:
    low, high = day_range
    order = await trader.create_order(
        "BHP/AUD", "limit", "buy", 100, low - 1.0, {"stopLossPrice": low - 2.0, "takeProfitPrice": high}
    )
    cancelled = await trader.cancel_order(order["id"])
    await round_trip(trader.connection.ib)
    children = [await trader.fetch_order(ref) for ref in order["info"]["attached"]]
    assert [o["status"] for o in (cancelled, *children)] == ["canceled"] * 3
    assert {o["status"] for o in gateway.state()["orders"]} == {"Cancelled"}


@pytest.mark.parametrize(
    ("side", "params", "error", "match"),
    [
        ("buy", {"stopLossPrice": +0.50}, InvalidOrder, r"stopLossPrice .* of a buy must be below its entry"),
        ("buy", {"takeProfitPrice": -0.50}, InvalidOrder, r"takeProfitPrice .* of a buy must be above its entry"),
        ("sell", {"stopLossPrice": -0.50}, InvalidOrder, r"stopLossPrice .* of a sell must be above its entry"),
        ("sell", {"takeProfitPrice": +0.50}, InvalidOrder, r"takeProfitPrice .* of a sell must be below its entry"),
        ("buy", {"stopLossPrice": -0.505}, InvalidOrder, r"not on BHP/AUD's price ladder .* nearest .* is \d+\.\d\d$"),
        ("buy", {"stopLossPrice": -1.0, "reduceOnly": True}, NotSupported, r"params\['reduceOnly'\]"),
        (
            "buy",
            {"stopLoss": {"triggerPrice": -1.0, "price": -1.1}},
            NotSupported,
            r"params\['stopLoss'\] keys \['price'\]",
        ),
        ("buy", {"stopLoss": {"triggerPrice": -1.0}, "stopLossPrice": -1.0}, BadRequest, "not both"),
        ("buy", {"takeProfitPrice": float("nan")}, InvalidOrder, "takeProfitPrice must be a positive price"),
    ],
)
async def test_a_bad_bracket_is_refused_and_nothing_is_sent(
    side: str, params: dict[str, Any], error: type[Exception], match: str, trader: IBTrader, gateway: Any
) -> None:
    entry = 40.0

    def shift(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: shift(v) for k, v in value.items()}
        return round(entry + value, 3) if isinstance(value, float) and abs(value) < 5 else value

    with pytest.raises(error, match=match):
        await trader.create_order("BHP/AUD", "limit", side, 100, entry, {k: shift(v) for k, v in params.items()})
    await round_trip(trader.connection.ib)
    assert gateway.state()["orders"] == [], "nothing is sent"


async def test_a_market_entrys_exits_are_checked_against_the_touch(trader: IBTrader, gateway: Any) -> None:
    ticker = await trader.fetch_ticker("AUD/USD")
    with pytest.raises(InvalidOrder, match=rf"stopLossPrice .* must be below its entry {ticker['ask']}"):
        await trader.create_order("AUD/USD", "market", "buy", 25_000, None, {"stopLossPrice": ticker["ask"] + 0.001})
    assert gateway.state()["orders"] == [], "nothing is sent"
    stop = round(ticker["bid"] - 0.01, 5)
    order = await trader.create_order("AUD/USD", "market", "buy", 25_000, None, {"stopLossPrice": stop})
    assert order["stopLossPrice"] == stop and order["info"]["attached"] == [order["clientOrderId"] + "-sl"]
    assert [o["orderType"] for o in gateway.state()["orders"]] == ["MKT", "STP"]


async def test_a_new_process_finds_the_bracket_by_its_order_refs_after_a_gateway_restart(
    gateway: Any, make_trader: Any, day_range: tuple[float, float]
) -> None:
    low, high = day_range
    first: IBTrader = await make_trader(gateway)
    params = {"clientOrderId": "trd-brk-0002", "stopLossPrice": low - 2.0, "takeProfitPrice": high - 0.01}
    await first.create_order("BHP/AUD", "limit", "buy", 100, low - 1.0, params)
    await first.close()
    await gateway.restart()  # the nightly restart: the account, links included, from the state file
    second: IBTrader = await make_trader(gateway)  # a new process: it adopts IB's open orders by orderRef
    entry, sl, tp = [await second.fetch_order(ref) for ref in ("trd-brk-0002", "trd-brk-0002-sl", "trd-brk-0002-tp")]
    assert sl["info"]["parentOrderRef"] == tp["info"]["parentOrderRef"] == "trd-brk-0002"
    assert (entry["stopLossPrice"], entry["takeProfitPrice"]) == (low - 2.0, high - 0.01)
    assert [(o["type"], o["status"]) for o in (entry, sl, tp)] == [
        ("limit", "open"),
        ("stop", "open"),
        ("limit", "open"),
    ]
    await _to_close(second, gateway)
    assert gateway.state()["executions"] == [], "the exits still wait for their entry"
