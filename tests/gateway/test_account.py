"""The account: values per currency and BASE, summary tags, positions, and cash moving with fills."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ib_async import Forex, MarketOrder, Stock
from support.waiting import eventually

from sdk.gateway import OfflineGateway


def _values(ib: Any) -> dict[tuple[str, str], str]:
    return {(v.tag, v.currency): v.value for v in ib.accountValues()}


async def test_account_values_summary_and_exchange_rates(make_gateway: Any, connect: Any) -> None:
    gw = await make_gateway(cash={"AUD": 1_000_000, "USD": 10_000})
    ib = await connect(gw)
    values = _values(ib)
    [aud] = await ib.qualifyContractsAsync(Forex("AUDUSD"))
    [fx] = await ib.reqTickersAsync(aud)
    usd_in_aud = float(values[("ExchangeRate", "USD")])
    assert abs(usd_in_aud - 1 / ((fx.bid + fx.ask) / 2)) < 1e-5  # the replayed AUD/USD, never 1.0
    assert values[("ExchangeRate", "AUD")] == "1.00" and values[("ExchangeRate", "BASE")] == "1.00"
    assert values[("CashBalance", "USD")] == "10000.00" and values[("CashBalance", "AUD")] == "1000000.00"
    net = float(values[("NetLiquidation", "AUD")])
    assert abs(net - (1_000_000 + 10_000 * usd_in_aud)) < 0.01
    assert values[("CashBalance", "BASE")] == values[("NetLiquidation", "AUD")]
    assert float(values[("BuyingPower", "AUD")]) == 4 * float(values[("AvailableFunds", "AUD")])
    summary = {(v.tag, v.currency): v.value for v in await ib.accountSummaryAsync()}
    assert summary[("NetLiquidation", "AUD")] == values[("NetLiquidation", "AUD")]
    assert ("TotalCashValue", "AUD") in summary and ("ExcessLiquidity", "AUD") in summary


async def test_cash_positions_and_portfolio_move_with_fills(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    [bhp, spy] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"), Stock("SPY", "SMART", "USD"))
    buy = ib.placeOrder(bhp, MarketOrder("BUY", 1000))
    await eventually(lambda: buy.orderStatus.status == "Filled" and buy.fills[0].commissionReport.commission > 0)
    price = Decimal(str(buy.fills[0].execution.price))
    commission = Decimal(str(buy.fills[0].commissionReport.commission))
    assert commission == (price * 1000 * Decimal("0.0008")).quantize(Decimal("0.0001"))  # 0.08% above the minimum
    assert gateway.cash("AUD") == Decimal(1_000_000) - price * 1000 - commission
    await eventually(lambda: [p.position for p in ib.portfolio()] == [1000.0])
    [item] = ib.portfolio()
    assert item.averageCost == float(price) and item.marketValue == item.position * item.marketPrice
    await eventually(lambda: _values(ib)[("StockMarketValue", "AUD")] != "0.00")
    values = _values(ib)
    stock_value = float(values[("StockMarketValue", "AUD")])
    assert abs(stock_value - item.marketValue) < 0.01
    assert float(values[("GrossPositionValue", "AUD")]) > 0
    assert float(values[("InitMarginReq", "AUD")]) == round(0.25 * float(values[("GrossPositionValue", "AUD")]), 2)
    us = ib.placeOrder(spy, MarketOrder("BUY", 10))  # a US stock in an AUD account: USD goes negative
    gateway.clock.jump(gateway.clock.now().replace(hour=15))  # into NYSE hours
    await eventually(lambda: us.orderStatus.status == "Filled")
    assert gateway.cash("USD") < 0
    await eventually(lambda: ("CashBalance", "USD") in _values(ib))
    assert float(_values(ib)[("CashBalance", "USD")]) < 0
    positions = await ib.reqPositionsAsync()
    assert sorted((p.contract.symbol, p.position) for p in positions) == [("BHP", 1000.0), ("SPY", 10.0)]
