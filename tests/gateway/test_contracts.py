"""Instruments: contract details derived from the data, market rules, error 200 for unknown or ambiguous."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

from ib_async import Contract, Forex, Index, Stock
from support.waiting import eventually, round_trip

from sdk.gateway import OfflineGateway
from sdk.ticks import ASX_EQUITY, FX_IDEALPRO, US_EQUITY


async def test_asx_us_and_fx_contract_details(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    [bhp] = await ib.reqContractDetailsAsync(Stock("BHP", "ASX", "AUD"))
    assert (bhp.contract.secType, bhp.contract.exchange, bhp.contract.currency) == ("STK", "ASX", "AUD")
    assert bhp.contract.conId > 0 and bhp.longName == "BHP Group Ltd"
    assert bhp.minTick == 0.01 and bhp.timeZoneId == "Australia/NSW"
    assert bhp.marketRuleIds == "1001,1001" and bhp.validExchanges == "SMART,ASX"
    sessions = bhp.liquidSessions()  # IB's format, parsed by ib_async itself
    assert sessions[0].start.hour == 10 and sessions[0].end.hour == 16
    assert bhp.tradingHours.split(";")[0] == "20250304:1000-20250304:1600"

    [spy] = await ib.reqContractDetailsAsync(Stock("SPY", "SMART", "USD"))
    assert spy.contract.primaryExchange == "ARCA" and spy.stockType == "ETF"
    assert spy.marketRuleIds.split(",")[0] == "1002" and "NYSE" in spy.validExchanges.split(",")
    assert spy.timeZoneId == "US/Eastern"

    [aud] = await ib.reqContractDetailsAsync(Forex("AUDUSD"))
    assert (aud.contract.secType, aud.contract.localSymbol, aud.contract.exchange) == ("CASH", "AUD.USD", "IDEALPRO")
    assert aud.minTick == 0.00005 and aud.marketRuleIds == "1003"
    # FX trades 24/5: a session runs 17:00 to 17:00 New York
    assert aud.liquidHours.split(";")[1].endswith("1700")

    [qualified] = await ib.qualifyContractsAsync(Stock("CBA", "SMART", "AUD", primaryExchange="ASX"))
    assert qualified.conId and qualified.localSymbol == "CBA"


async def test_market_rules_give_the_price_bands(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    for ladder in (ASX_EQUITY, US_EQUITY, FX_IDEALPRO):
        increments = await ib.reqMarketRuleAsync(ladder.market_rule_id)
        assert [(Decimal(str(p.lowEdge)), Decimal(str(p.increment))) for p in increments] == list(ladder.bands)
    assert await ib.reqMarketRuleAsync(424242) is None  # unknown rule: error, no answer


async def test_unknown_contracts_get_error_200(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    errors: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, msg, contract: errors.append((req_id, code))
    assert await ib.reqContractDetailsAsync(Stock("NOPE", "ASX", "AUD")) == []
    assert await ib.qualifyContractsAsync(Stock("BHP", "SMART", "USD")) == [None]
    ib.reqMktData(Contract(conId=1))
    await round_trip(ib)  # its answer is in
    assert [code for _, code in errors] == [200, 200, 200]
    assert all(req_id >= 0 for req_id, _ in errors)  # each error names its request


async def test_an_index_has_details_and_prices_but_cannot_be_ordered(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    [xjo] = await ib.reqContractDetailsAsync(Index("XJO", "ASX", "AUD"))
    assert xjo.contract.secType == "IND"
    [ticker] = await ib.reqTickersAsync(xjo.contract)
    assert ticker.last > 1000  # the S&P/ASX 200 (data to 2022: its last close is served)
    from ib_async import MarketOrder

    trade = ib.placeOrder(xjo.contract, MarketOrder("BUY", 1))
    await eventually(lambda: trade.orderStatus.status == "Cancelled")
    assert trade.log[-1].errorCode == 201 and "indexes cannot be traded" in trade.log[-1].message


async def test_an_ambiguous_contract_gets_error_200_for_data(
    make_gateway: Any, connect: Any, shared_data: Path, tmp_path: Path
) -> None:
    from sdk.data import load_catalog

    shutil.copy(shared_data / "asx_daily" / "BHP.AX.csv", tmp_path / "BHP.AX.csv")
    shutil.copy(shared_data / "asx_daily" / "BHP.AX.csv", tmp_path / "BHP.csv")  # a US "BHP" as well
    shutil.copy(shared_data / "fx" / "AUDUSD_daily.csv", tmp_path / "AUDUSD_daily.csv")
    gw = await make_gateway(catalog_=load_catalog(tmp_path))
    ib = await connect(gw)
    messages: list[str] = []
    ib.errorEvent += lambda req_id, code, msg, contract: messages.append(f"{code} {msg}")
    details = await ib.reqContractDetailsAsync(Stock("BHP", "SMART"))
    assert sorted(d.contract.currency for d in details) == ["AUD", "USD"]  # IB lists every match
    bars = await ib.reqHistoricalDataAsync(Stock("BHP", "SMART"), "", "5 D", "1 day", "TRADES", True)
    assert list(bars) == []
    assert any(m.startswith("200 The contract description specified for BHP is ambiguous") for m in messages)
