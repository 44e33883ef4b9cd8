"""Attached orders, untransmitted orders and OCA groups, driven by unmodified ib_async (``IB.bracketOrder``,
``IB.oneCancelsAll``) over a real socket against the replayed BHP day of 2025-03-04 (rules in
:mod:`sdk.gateway.brackets`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ib_async import LimitOrder, Stock, StopOrder
from support.waiting import eventually, round_trip

from sdk.gateway import OfflineGateway

BHP_DAY = (datetime(2025, 3, 3, 23, tzinfo=UTC), datetime(2025, 3, 4, 1, tzinfo=UTC))
TO_CLOSE = 5 * 3600 - 60  # from 11:00 to 15:59 Sydney


def _range(catalog: Any) -> tuple[float, float]:
    """The day's low and high, on the 1-cent ladder (both are reached after 11:00: see test_orders)."""
    day = catalog.bars("BHP/AUD", "1 day", *BHP_DAY).iloc[0]
    low, high = (Decimal(repr(float(day[k]))).quantize(Decimal("0.01")) for k in ("low", "high"))
    return float(low), float(high)


async def _bhp(ib: Any) -> Any:
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    return bhp


def _statuses(*trades: Any) -> list[str]:
    return [t.orderStatus.status for t in trades]


async def _bracket(ib: Any, take_profit: float, stop_loss: float, **kwargs: Any) -> tuple[Any, Any, Any]:
    """A buy of 100 at the ask with ``IB.bracketOrder``, its three orders placed one by one."""
    bhp = await _bhp(ib)
    [ticker] = await ib.reqTickersAsync(bhp)
    bracket = ib.bracketOrder("BUY", 100, kwargs.pop("entry", ticker.ask), take_profit, stop_loss, **kwargs)
    parent, target, stop = (ib.placeOrder(bhp, order) for order in bracket)
    return parent, target, stop


async def test_a_bracket_waits_for_its_last_order_then_its_target_closes_the_position(
    gateway: OfflineGateway, connect: Any, catalog: Any
) -> None:
    ib = await connect(gateway)
    low, high = _range(catalog)
    bhp = await _bhp(ib)
    [ticker] = await ib.reqTickersAsync(bhp)
    entry, target_order, stop_order = ib.bracketOrder("BUY", 100, ticker.ask, high - 0.01, low - 1.0)
    parent = ib.placeOrder(bhp, entry)  # transmit=False: TWS keeps it
    await round_trip(ib)
    assert gateway.state()["orders"] == [] and parent.orderStatus.status == "PendingSubmit", "held, not working"
    target = ib.placeOrder(bhp, target_order)
    await round_trip(ib)
    assert gateway.state()["orders"] == [], "still held: the last order transmits the chain"
    stop = ib.placeOrder(bhp, stop_order)  # transmit=True
    await eventually(lambda: parent.orderStatus.status == "Filled" and target.orderStatus.status == "PreSubmitted")
    assert target.orderStatus.parentId == stop.orderStatus.parentId == parent.order.orderId
    assert [o["parentId"] for o in gateway.state()["orders"]] == [0, parent.order.orderId, parent.order.orderId]
    gateway.clock.advance(TO_CLOSE)
    await eventually(lambda: _statuses(target, stop) == ["Filled", "Cancelled"])
    assert target.fills[0].execution.price == high - 0.01 and target.fills[0].execution.shares == 100
    assert gateway.state()["positions"] == [], "the target closed what the entry opened"


async def test_a_triggered_stop_loss_cancels_the_take_profit(
    gateway: OfflineGateway, connect: Any, catalog: Any
) -> None:
    ib = await connect(gateway)
    low, high = _range(catalog)
    parent, target, stop = await _bracket(ib, take_profit=high + 1.0, stop_loss=low + 0.01)
    await eventually(lambda: parent.orderStatus.status == "Filled")
    gateway.clock.advance(TO_CLOSE)
    await eventually(lambda: _statuses(target, stop) == ["Cancelled", "Filled"])
    assert stop.fills[0].execution.price <= low + 0.01 and [f.execution.side for f in stop.fills] == ["SLD"]
    assert gateway.state()["positions"] == []


async def test_children_wait_for_their_parent_and_go_with_it_when_it_is_cancelled_unfilled(
    gateway: OfflineGateway, connect: Any, catalog: Any
) -> None:
    ib = await connect(gateway)
    low, high = _range(catalog)
    # exits the day reaches (both would fill if they worked) under an entry it never reaches
    parent, target, stop = await _bracket(ib, take_profit=high - 0.01, stop_loss=low + 0.01, entry=low - 1.0)
    await eventually(lambda: _statuses(parent, target, stop) == ["Submitted", "PreSubmitted", "PreSubmitted"])
    gateway.clock.advance(TO_CLOSE)
    await round_trip(ib)  # the day's statuses are in
    assert _statuses(parent, target, stop) == ["Submitted", "PreSubmitted", "PreSubmitted"]
    assert gateway.state()["executions"] == [], "children do not work before their parent fills"
    ib.cancelOrder(parent.order)
    await eventually(lambda: _statuses(parent, target, stop) == ["Cancelled"] * 3)
    assert gateway.state()["positions"] == []


async def test_a_parent_filled_in_part_leaves_its_children_working_the_filled_part(
    make_gateway: Any, connect: Any, catalog: Any
) -> None:
    gw = await make_gateway(participation=2e-5)  # 2e-5 of the day's 8.4M shares: 167 on arrival
    ib = await connect(gw)
    low, high = _range(catalog)
    bhp = await _bhp(ib)
    [ticker] = await ib.reqTickersAsync(bhp)
    entry, *exits = ib.bracketOrder("BUY", 1000, ticker.ask, high - 0.01, low - 1.0, tif="GTC")
    entry.tif = "IOC"  # what does not fill on arrival is cancelled
    parent, target, stop = (ib.placeOrder(bhp, order) for order in (entry, *exits))
    await eventually(lambda: parent.orderStatus.status == "Cancelled")
    filled = parent.orderStatus.filled
    assert 0 < filled < 1000
    await eventually(lambda: target.order.totalQuantity == stop.order.totalQuantity == filled)
    assert _statuses(target, stop) == ["PreSubmitted", "PreSubmitted"]
    gw.clock.advance(TO_CLOSE + 24 * 3600)  # the parent took the day's share: the target fills the next day
    await eventually(lambda: _statuses(target, stop) == ["Filled", "Cancelled"])
    assert sum(f.execution.shares for f in target.fills) == filled and gw.state()["positions"] == []


async def test_a_child_closes_no_more_than_its_working_parent_has_filled(make_gateway: Any, connect: Any) -> None:
    gw = await make_gateway(participation=2e-5)  # about 167 shares a day at BHP's volume
    ib = await connect(gw)
    bhp = await _bhp(ib)
    [ticker] = await ib.reqTickersAsync(bhp)
    # GTC entry at the ask: fills in part on arrival, and never again (the next day trades above it);
    # the target is under the next day's high (38.33) and over this day's (37.98)
    bracket = ib.bracketOrder("BUY", 1000, ticker.ask, 38.30, 30.0, tif="GTC")
    parent, target, stop = (ib.placeOrder(bhp, order) for order in bracket)
    await eventually(lambda: parent.orderStatus.filled > 0)
    filled = parent.orderStatus.filled
    gw.clock.advance(TO_CLOSE + 24 * 3600)  # to 15:59 the next day
    await eventually(lambda: _statuses(stop) == ["Cancelled"])
    await round_trip(ib)
    assert _statuses(parent, target) == ["Submitted", "Submitted"] and parent.orderStatus.filled == filled < 1000
    assert target.orderStatus.filled == filled, "the target sold what the entry bought, no more"
    assert gw.state()["positions"] == []


async def test_orders_sharing_an_oca_group_cancel_each_other_on_a_fill(
    gateway: OfflineGateway, connect: Any, catalog: Any
) -> None:
    ib = await connect(gateway)
    low, _ = _range(catalog)
    bhp = await _bhp(ib)
    [ticker] = await ib.reqTickersAsync(bhp)
    far, near = ib.oneCancelsAll([LimitOrder("BUY", 10, low - 1.0), LimitOrder("BUY", 10, ticker.ask)], "grp", 1)
    waiting = ib.placeOrder(bhp, far)
    await eventually(lambda: waiting.orderStatus.status == "Submitted")
    filling = ib.placeOrder(bhp, near)
    await eventually(lambda: _statuses(filling, waiting) == ["Filled", "Cancelled"])
    assert [o["ocaGroup"] for o in gateway.state()["orders"]] == ["grp", "grp"]


async def test_attached_orders_the_gateway_cannot_honour_are_rejected_with_201(
    gateway: OfflineGateway, connect: Any
) -> None:
    ib = await connect(gateway)
    bhp = await _bhp(ib)
    errors: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, *_: errors.append((req_id, code))
    orphan = ib.placeOrder(bhp, StopOrder("SELL", 100, 30.0, parentId=999_999))
    reducing = ib.placeOrder(bhp, LimitOrder("BUY", 10, 30.0, ocaGroup="g", ocaType=2))
    await eventually(lambda: len(errors) == 2)
    assert errors == [(orphan.order.orderId, 201), (reducing.order.orderId, 201)]
    assert gateway.state()["orders"] == []
