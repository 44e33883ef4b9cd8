"""Orders on the paper account: types, TIFs, modify, cancel, fills against the replay, commissions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from ib_async import (
    ExecutionFilter,
    Forex,
    LimitOrder,
    MarketOrder,
    Order,
    Stock,
    StopLimitOrder,
    StopOrder,
)
from ib_async.decoder import Decoder
from support.waiting import eventually, round_trip

from sdk.gateway import OfflineGateway
from sdk.gateway import order_answers as oa
from sdk.gateway.protocol import encode_frame, split_frames

from .conftest import SPY_MINUTES_2024

BHP_DAY = (datetime(2025, 3, 3, 23, tzinfo=UTC), datetime(2025, 3, 4, 1, tzinfo=UTC))


def _day(catalog: Any) -> Any:
    return catalog.bars("BHP/AUD", "1 day", *BHP_DAY).iloc[0]


async def _bhp(ib: Any) -> Any:
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    return bhp


async def test_a_market_order_fills_at_the_ask_with_ibs_commission(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    bhp = await _bhp(ib)
    [ticker] = await ib.reqTickersAsync(bhp)
    trade = ib.placeOrder(bhp, MarketOrder("BUY", 100, orderRef="trd-abc"))
    await eventually(lambda: trade.orderStatus.status == "Filled" and trade.fills[0].commissionReport.commission)
    fill = trade.fills[0]
    assert fill.execution.price == ticker.ask and fill.execution.shares == 100
    assert fill.execution.orderRef == "trd-abc" and fill.execution.permId == trade.order.permId > 0
    assert fill.execution.lastLiquidity == 2  # removed liquidity
    assert (fill.commissionReport.commission, fill.commissionReport.currency) == (6.0, "AUD")  # IB ASX fixed minimum
    state = gateway.state()
    assert state["executions"][0]["orderRef"] == "trd-abc" and state["executions"][0]["commission"] == 6.0
    expected_cash = Decimal(1_000_000) - Decimal(100) * Decimal(str(ticker.ask)) - Decimal(6)
    assert gateway.cash("AUD") == expected_cash
    assert [(p.contract.symbol, p.position) for p in ib.positions()] == [("BHP", 100.0)]


async def test_limit_stop_and_stop_limit_orders_fill_against_the_replayed_day(
    gateway: OfflineGateway, connect: Any, catalog: Any
) -> None:
    ib = await connect(gateway)
    bhp = await _bhp(ib)
    day = _day(catalog)
    low = Decimal(repr(float(day["low"]))).quantize(Decimal("0.01"))
    high = Decimal(repr(float(day["high"]))).quantize(Decimal("0.01"))
    limit = ib.placeOrder(bhp, LimitOrder("BUY", 100, float(low + Decimal("0.01"))))
    stop = ib.placeOrder(bhp, StopOrder("BUY", 100, float(high - Decimal("0.01"))))
    stop_limit = ib.placeOrder(bhp, StopLimitOrder("SELL", 100, float(low), float(low + Decimal("0.02"))))
    far = ib.placeOrder(bhp, LimitOrder("BUY", 100, float(low - 1)))
    await eventually(lambda: limit.orderStatus.status == "Submitted")
    assert limit.orderStatus.status == "Submitted" and far.orderStatus.status == "Submitted"
    gateway.clock.advance(5 * 3600 - 60)  # to 15:59 Sydney (the session opened at 10:00; now 11:00)
    await eventually(lambda: limit.orderStatus.status == stop.orderStatus.status == "Filled")
    assert limit.fills[0].execution.price == float(low + Decimal("0.01"))
    assert limit.fills[0].execution.lastLiquidity == 1  # a resting limit adds liquidity
    assert stop.fills[0].execution.price >= float(high - Decimal("0.01"))
    await eventually(lambda: stop_limit.orderStatus.status == "Filled")
    assert stop_limit.fills[0].execution.price >= float(low)
    assert far.orderStatus.status == "Submitted"
    gateway.clock.advance(3 * 3600)  # past the close: a DAY order expires
    await eventually(lambda: far.orderStatus.status == "Cancelled")


async def test_orders_outside_the_session_wait_and_fill_at_the_open(make_gateway: Any, connect: Any) -> None:
    gw = await make_gateway(start=datetime(2025, 3, 4, 8, 0, tzinfo=UTC))  # 19:00 Sydney
    ib = await connect(gw)
    bhp = await _bhp(ib)
    trade = ib.placeOrder(bhp, MarketOrder("BUY", 50))
    gtc = ib.placeOrder(bhp, LimitOrder("BUY", 50, 1.0, tif="GTC"))
    ioc = ib.placeOrder(bhp, LimitOrder("BUY", 50, 1.0, tif="IOC"))
    await eventually(lambda: trade.orderStatus.status == "PreSubmitted")
    await eventually(lambda: ioc.orderStatus.status == "Cancelled")  # IOC outside hours
    gw.clock.advance(timedelta(hours=20).total_seconds())  # through the next session's open (10:00 Sydney)
    await eventually(lambda: trade.orderStatus.status == "Filled")
    assert trade.fills[0].execution.time >= datetime(2025, 3, 4, 23, 0, tzinfo=UTC)
    gw.clock.advance(timedelta(days=1).total_seconds())
    await round_trip(ib)  # the step's order statuses are in
    assert gtc.orderStatus.status == "Submitted"  # GTC outlives the sessions


async def test_modify_cancel_and_global_cancel(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway, 1)
    other = await connect(gateway, 2)
    bhp = await _bhp(ib)
    trade = ib.placeOrder(bhp, LimitOrder("BUY", 100, 30.0, orderRef="mine"))
    await eventually(lambda: trade.orderStatus.status == "Submitted")
    perm = trade.order.permId
    trade.order.lmtPrice = 31.0
    ib.placeOrder(bhp, trade.order)  # placeOrder again with the same id: a modification
    await eventually(lambda: gateway.state()["orders"][0]["lmtPrice"] == 31.0)
    assert trade.order.permId == perm and len(gateway.state()["orders"]) == 1
    ib.cancelOrder(trade.order)
    await eventually(lambda: trade.orderStatus.status == "Cancelled")
    a = ib.placeOrder(bhp, LimitOrder("BUY", 10, 30.0))
    b = other.placeOrder(bhp, LimitOrder("SELL", 10, 60.0))
    await eventually(lambda: a.orderStatus.status == b.orderStatus.status == "Submitted")
    assert len(await ib.reqAllOpenOrdersAsync()) == 2
    assert [t.order.orderId for t in await ib.reqOpenOrdersAsync()] == [a.order.orderId]
    ib.reqGlobalCancel()
    await eventually(lambda: a.orderStatus.status == b.orderStatus.status == "Cancelled")
    completed = await ib.reqCompletedOrdersAsync(False)
    assert sorted(t.orderStatus.status for t in completed) == ["Cancelled"] * 3
    assert {t.order.orderRef for t in completed} >= {"mine"}


async def test_rejections_carry_ibs_codes_and_accept_nothing(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, msg, contract: codes.append(code)
    bhp = await _bhp(ib)
    off_tick = ib.placeOrder(bhp, LimitOrder("BUY", 100, 37.005))  # ASX steps are 1 cent from 2.00
    await eventually(lambda: off_tick.orderStatus.status == "Cancelled")
    assert codes[-1] == 110
    gateway.set_faults("reject_next=1")
    rejected = ib.placeOrder(bhp, LimitOrder("BUY", 100, 30.0))
    await eventually(lambda: rejected.orderStatus.status == "Cancelled")
    assert codes[-1] == 201
    too_big = ib.placeOrder(bhp, MarketOrder("BUY", 200_000))  # 7.5M AUD against 1M of equity
    await eventually(lambda: too_big.orderStatus.status == "Cancelled")
    assert codes[-1] == 201 and "INITIAL MARGIN" in too_big.log[-1].message
    filled = ib.placeOrder(bhp, MarketOrder("BUY", 10))
    await eventually(lambda: filled.orderStatus.status == "Filled")
    ib.client.placeOrder(filled.order.orderId, bhp, MarketOrder("BUY", 10))  # an id already used
    await round_trip(ib)  # its answer is in
    assert codes[-1] == 104
    assert [o["status"] for o in gateway.state()["orders"]] == ["Filled"]  # nothing else was accepted


async def test_partial_fills_are_bounded_by_each_minute_bars_volume(
    make_gateway: Any, connect: Any, catalog: Any
) -> None:
    gw = await make_gateway(start=SPY_MINUTES_2024, participation=0.0001)
    ib = await connect(gw)
    [spy] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
    trade = ib.placeOrder(spy, MarketOrder("BUY", 300))
    await eventually(lambda: len(trade.fills) == 1)
    minutes = catalog.bars("SPY/USD", "1 min", SPY_MINUTES_2024, SPY_MINUTES_2024 + timedelta(minutes=30))
    first_cap = int(minutes["volume"].iloc[0] * 0.0001)
    assert trade.fills[0].execution.shares == first_cap and trade.orderStatus.status == "Submitted"
    for _ in range(30):
        gw.clock.advance(60)
        await round_trip(ib)  # the minute's fill is in
        if trade.orderStatus.status == "Filled":
            break
    await eventually(lambda: trade.orderStatus.status == "Filled")
    assert len(trade.fills) > 2 and sum(f.execution.shares for f in trade.fills) == 300
    assert all(f.commissionReport.currency == "USD" for f in trade.fills)


async def test_fill_or_kill_fills_whole_on_arrival_or_is_cancelled_with_nothing_filled(
    make_gateway: Any, connect: Any, catalog: Any
) -> None:
    gw = await make_gateway(start=SPY_MINUTES_2024, participation=0.0001)  # a few shares of the minute's volume
    ib = await connect(gw)
    [spy] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
    minutes = catalog.bars("SPY/USD", "1 min", SPY_MINUTES_2024, SPY_MINUTES_2024 + timedelta(minutes=1))
    budget = int(minutes["volume"].iloc[0] * 0.0001)
    killed = ib.placeOrder(spy, MarketOrder("BUY", budget + 1, tif="FOK"))
    await eventually(lambda: killed.orderStatus.status == "Cancelled", what="the FOK larger than the volume killed")
    assert killed.fills == [] and gw.state()["executions"] == []
    whole = ib.placeOrder(spy, MarketOrder("BUY", budget, tif="FOK"))
    await eventually(lambda: whole.orderStatus.status == "Filled", what="the FOK within the volume filled")
    assert sum(f.execution.shares for f in whole.fills) == budget


async def test_a_delayed_commission_report_is_pending_until_it_arrives(gateway: OfflineGateway, connect: Any) -> None:
    gateway.set_faults("commission_delay_ms=300")
    ib = await connect(gateway)
    bhp = await _bhp(ib)
    reports: list[float] = []
    ib.commissionReportEvent += lambda trade, fill, report: reports.append(report.commission)
    trade = ib.placeOrder(bhp, MarketOrder("BUY", 100))
    await eventually(lambda: trade.orderStatus.status == "Filled")
    assert gateway.state()["executions"][0]["commission"] is None  # pending, not 0
    cash_before = gateway.cash("AUD")
    assert reports == []
    await eventually(lambda: reports == [6.0])
    assert gateway.state()["executions"][0]["commission"] == 6.0
    assert gateway.cash("AUD") == cash_before - 6  # charged with the report


async def test_executions_are_filtered_by_ibs_fields(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway, 1)
    other = await connect(gateway, 2)
    bhp = await _bhp(ib)
    [aud] = await other.qualifyContractsAsync(Forex("AUDUSD"))
    buy = ib.placeOrder(bhp, MarketOrder("BUY", 100))
    await eventually(lambda: buy.orderStatus.status == "Filled")
    gateway.clock.advance(600)
    sell = ib.placeOrder(bhp, MarketOrder("SELL", 40))
    fx = other.placeOrder(aud, MarketOrder("BUY", 20_000))
    await eventually(lambda: sell.orderStatus.status == fx.orderStatus.status == "Filled")
    every = await ib.reqExecutionsAsync()
    assert len(every) == 3
    await round_trip(ib)  # the commission reports written with the executions are in
    # each execution came with its commission report (ib_async keeps them on its own fills)
    assert len(ib.fills()) == 3 and all(f.commissionReport.commission > 0 for f in ib.fills())
    assert len(await ib.reqExecutionsAsync(ExecutionFilter(side="SELL"))) == 1
    assert len(await ib.reqExecutionsAsync(ExecutionFilter(clientId=2))) == 1
    assert len(await ib.reqExecutionsAsync(ExecutionFilter(symbol="BHP", secType="STK"))) == 2
    assert len(await ib.reqExecutionsAsync(ExecutionFilter(time="20250304 00:05:00 UTC"))) == 2
    fx_fill = fx.fills[0]
    assert (fx_fill.commissionReport.commission, fx_fill.commissionReport.currency) == (2.0, "USD")  # IDEALPRO min
    assert gateway.cash("AUD") > 1_000_000 - 100 * 40 and gateway.cash("USD") < 0  # both FX legs booked
    pnl = next(f for f in ib.fills() if f.execution.side == "SLD").commissionReport.realizedPNL
    assert pnl != 0  # a closing trade reports its realised PnL net of commission


async def test_what_if_orders_answer_margin_and_commission(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    bhp = await _bhp(ib)
    state = await ib.whatIfOrderAsync(bhp, MarketOrder("BUY", 1000))
    assert float(state.initMarginChange) > 0 and state.commission > 6 and state.commissionCurrency == "AUD"
    assert gateway.state()["orders"] == []  # a what-if creates no order


async def test_tiered_us_commissions_and_sell_fees(make_gateway: Any, connect: Any) -> None:
    gw = await make_gateway(start=SPY_MINUTES_2024, commission_plan="tiered", cash={"AUD": 1_000_000, "USD": 50_000})
    ib = await connect(gw)
    [spy] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
    buy = ib.placeOrder(spy, Order(action="BUY", orderType="MKT", totalQuantity=100))
    sell = ib.placeOrder(spy, Order(action="SELL", orderType="MKT", totalQuantity=100))
    await eventually(lambda: len(buy.fills) == 1 and len(sell.fills) == 1 and sell.fills[0].commissionReport.commission)
    bought, sold = buy.fills[0].commissionReport.commission, sell.fills[0].commissionReport.commission
    assert bought > 0.35 and sold > bought  # tiered minimum plus fees; a sale adds SEC and FINRA fees


class _ExecRecorder:
    """The part of ib_async's wrapper that ``Decoder.execDetails`` calls."""

    defaultTimezone = UTC

    def __init__(self) -> None:
        self.ib = SimpleNamespace(TimezoneTWS=None)
        self.calls: list[tuple[int, Any, Any]] = []

    def execDetails(self, req_id: int, contract: Any, execution: Any) -> None:
        self.calls.append((req_id, contract, execution))


@pytest.mark.parametrize("version", [176, 178])
async def test_exec_details_decode_through_ib_asyncs_decoder_to_the_executions_values(
    gateway: OfflineGateway, connect: Any, version: int
) -> None:
    ib = await connect(gateway)
    bhp = await _bhp(ib)
    trade = ib.placeOrder(bhp, MarketOrder("BUY", 100, orderRef="trd-exec"))
    await eventually(lambda: trade.orderStatus.status == "Filled")
    [record] = gateway.broker.executions
    inst = gateway.instruments.get("BHP/AUD")
    assert inst is not None
    [fields], _ = split_frames(encode_frame(oa.exec_details(42, record, inst, version)))
    wrapper = _ExecRecorder()
    Decoder(wrapper, version).execDetails(fields)  # type: ignore[arg-type]
    [(req_id, contract, execution)] = wrapper.calls
    assert req_id == 42
    assert (contract.conId, contract.symbol, contract.secType, contract.lastTradeDateOrContractMonth) == (
        bhp.conId, "BHP", "STK", "",
    )  # fmt: skip
    assert (contract.strike, contract.right, contract.multiplier) == (0.0, "", "")
    assert (contract.exchange, contract.currency, contract.localSymbol, contract.tradingClass) == (
        "ASX", "AUD", "BHP", bhp.tradingClass,
    )  # fmt: skip
    assert (execution.orderId, execution.execId, execution.acctNumber) == (
        trade.order.orderId, record.exec_id, "DU0000001",
    )  # fmt: skip
    assert (execution.exchange, execution.side, execution.shares, execution.price) == (
        "ASX", "BOT", 100.0, float(record.price),
    )  # fmt: skip
    assert (execution.permId, execution.clientId, execution.cumQty, execution.avgPrice) == (
        trade.order.permId, 1, 100.0, float(record.price),
    )  # fmt: skip
    assert (execution.orderRef, execution.lastLiquidity) == ("trd-exec", 2)
    assert execution.time == datetime.fromtimestamp(record.time, UTC)
    # and the same through a live client that did not place the order (its fill keeps the decoded contract)
    other = await connect(gateway, 2)
    [fill] = await other.reqExecutionsAsync()
    assert (fill.contract.multiplier, fill.contract.exchange, fill.contract.currency) == ("", "ASX", "AUD")


def _codes(ib: Any) -> list[int]:
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, msg, contract: codes.append(code)
    return codes


async def test_a_modification_may_not_change_the_action_or_the_contract(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    codes = _codes(ib)
    bhp = await _bhp(ib)
    [cba] = await ib.qualifyContractsAsync(Stock("CBA", "ASX", "AUD"))
    trade = ib.placeOrder(bhp, LimitOrder("BUY", 100, 30.0, orderRef="keep"))
    await eventually(lambda: trade.orderStatus.status == "Submitted")
    order_id = trade.order.orderId
    ib.client.placeOrder(order_id, bhp, LimitOrder("SELL", 100, 30.0))
    await eventually(lambda: len(codes) == 1)
    ib.client.placeOrder(order_id, cba, LimitOrder("BUY", 100, 30.0))
    await eventually(lambda: len(codes) == 2)
    assert codes == [105, 105]
    [order] = gateway.state()["orders"]
    assert (order["action"], order["symbol"], order["lmtPrice"], order["status"]) == (
        "BUY",
        "BHP/AUD",
        30.0,
        "Submitted",
    )


async def test_a_modification_is_margin_checked(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    codes = _codes(ib)
    bhp = await _bhp(ib)
    trade = ib.placeOrder(bhp, LimitOrder("BUY", 100, 30.0))
    await eventually(lambda: trade.orderStatus.status == "Submitted")
    ib.client.placeOrder(trade.order.orderId, bhp, LimitOrder("BUY", 200_000, 30.0))  # 6M AUD against 1M
    await eventually(lambda: bool(codes))
    assert codes == [201]
    [order] = gateway.state()["orders"]
    assert (order["totalQuantity"], order["status"]) == (100.0, "Submitted")  # the original stands
    ib.client.placeOrder(trade.order.orderId, bhp, LimitOrder("BUY", 200, 30.0))  # within the margin: accepted
    await eventually(lambda: gateway.state()["orders"][0]["totalQuantity"] == 200.0)
    assert codes == [201]


async def test_reject_next_counts_only_orders_that_would_be_accepted(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    codes = _codes(ib)
    bhp = await _bhp(ib)
    resting = ib.placeOrder(bhp, LimitOrder("BUY", 100, 30.0))
    await eventually(lambda: resting.orderStatus.status == "Submitted")
    gateway.set_faults("reject_next=1")
    off_tick = ib.placeOrder(bhp, LimitOrder("BUY", 100, 37.005))
    await eventually(lambda: off_tick.orderStatus.status == "Cancelled")
    too_big = ib.placeOrder(bhp, MarketOrder("BUY", 200_000))
    await eventually(lambda: too_big.orderStatus.status == "Cancelled")
    resting.order.lmtPrice = 30.5
    ib.placeOrder(bhp, resting.order)  # a modification is not a new order: the fault leaves it alone
    await eventually(lambda: [o["lmtPrice"] for o in gateway.state()["orders"]] == [30.5])
    assert codes == [110, 201] and gateway.faults.reject_left == 1
    rejected = ib.placeOrder(bhp, LimitOrder("BUY", 100, 30.0))
    await eventually(lambda: rejected.orderStatus.status == "Cancelled")
    assert codes[-1] == 201 and "reject_next" in rejected.log[-1].message and gateway.faults.reject_left == 0
    accepted = ib.placeOrder(bhp, LimitOrder("BUY", 100, 30.0))
    await eventually(lambda: accepted.orderStatus.status == "Submitted")
