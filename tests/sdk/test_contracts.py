"""Contract resolver: canonical symbol <-> IB contract for ASX, US and FX, overrides, qualification cache.

Qualification against IB itself (the offline gateway over a socket) is covered by the IB venue's
tests; here ``fetch_details`` is an in-memory stand-in with IB's ContractDetails objects.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ib_async import Contract, ContractDetails, Forex, Stock

from sdk.errors import BadSymbol
from sdk.settings import load_settings
from sdk.symbols import FIAT_CURRENCIES, InstrumentType
from sdk.venues.ib.contracts import ContractResolver


@pytest.fixture
def resolver() -> ContractResolver:
    return ContractResolver(load_settings())


def test_asx_stock(resolver: ContractResolver) -> None:
    contract = resolver.contract_for("BHP/AUD")
    assert (contract.secType, contract.symbol, contract.currency) == ("STK", "BHP", "AUD")
    assert (contract.exchange, contract.primaryExchange) == ("SMART", "ASX")
    assert resolver.instrument_type("BHP/AUD") is InstrumentType.STOCK


def test_us_stock(resolver: ContractResolver) -> None:
    contract = resolver.contract_for("AAPL/USD")
    assert (contract.secType, contract.symbol, contract.currency, contract.exchange) == ("STK", "AAPL", "USD", "SMART")
    assert contract.primaryExchange == ""


def test_fx_pair(resolver: ContractResolver) -> None:
    contract = resolver.contract_for("AUD/USD")
    assert (contract.secType, contract.symbol, contract.currency, contract.exchange) == (
        "CASH",
        "AUD",
        "USD",
        "IDEALPRO",
    )
    assert resolver.instrument_type("AUD/USD") is InstrumentType.FX


def test_share_class_maps_to_ib_spelling(resolver: ContractResolver) -> None:
    assert resolver.contract_for("BRK.B/USD").symbol == "BRK B"
    assert resolver.symbol_for(Stock("BRK B", "SMART", "USD")) == "BRK.B/USD"


def test_reverse_mapping_from_what_ib_sends(resolver: ContractResolver) -> None:
    # Contracts as IB sends them in positions/executions: exchange filled in, localSymbol IB's own.
    assert (
        resolver.symbol_for(Contract(secType="STK", symbol="CBA", currency="AUD", exchange="ASX", localSymbol="CBA"))
        == "CBA/AUD"
    )
    assert (
        resolver.symbol_for(Contract(secType="CASH", symbol="AUD", currency="USD", localSymbol="AUD.USD")) == "AUD/USD"
    )
    assert resolver.symbol_for(Contract(secType="CASH", localSymbol="EUR.USD")) == "EUR/USD"
    with pytest.raises(BadSymbol, match="SYMBOL_OVERRIDES"):
        resolver.symbol_for(Contract(secType="OPT", symbol="BHP", currency="AUD"))


@given(
    base=st.from_regex(r"[A-Z]{1,5}", fullmatch=True).filter(lambda s: s not in FIAT_CURRENCIES),
    quote=st.sampled_from(["AUD", "USD", "GBP", "CAD"]),
)
def test_stock_round_trip(base: str, quote: str) -> None:
    resolver = ContractResolver(load_settings())
    symbol = f"{base}/{quote}"
    assert resolver.symbol_for(resolver.contract_for(symbol)) == symbol


@given(base=st.sampled_from(sorted(FIAT_CURRENCIES)), quote=st.sampled_from(sorted(FIAT_CURRENCIES)))
def test_fx_round_trip(base: str, quote: str) -> None:
    resolver = ContractResolver(load_settings())
    symbol = f"{base}/{quote}"
    assert resolver.symbol_for(resolver.contract_for(symbol)) == symbol


def test_overrides_win_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "SYMBOL_OVERRIDES",
        '{"BHP/USD": {"primary_exchange": "NYSE"},'
        ' "XJO/AUD": {"sec_type": "IND", "exchange": "ASX", "instrument_type": "index"}}',
    )
    resolver = ContractResolver(load_settings())
    assert resolver.contract_for("BHP/USD").primaryExchange == "NYSE"
    index = resolver.contract_for("XJO/AUD")
    assert (index.secType, index.exchange) == ("IND", "ASX")
    assert resolver.instrument_type("XJO/AUD") is InstrumentType.INDEX
    assert resolver.symbol_for(Contract(secType="IND", symbol="XJO", currency="AUD")) == "XJO/AUD"


def test_bad_symbol_is_refused_before_any_request(resolver: ContractResolver) -> None:
    with pytest.raises(BadSymbol, match="did you mean 'BHP/AUD'"):
        resolver.contract_for("BHP.AX")


def _details(contract: Contract, con_id: int, **fields: object) -> ContractDetails:
    qualified = Contract(**{**vars(contract), "conId": con_id})
    return ContractDetails(contract=qualified, **fields)  # type: ignore[arg-type]


async def test_resolve_qualifies_once_and_caches() -> None:
    calls: list[Contract] = []

    async def fetch(contract: Contract) -> list[ContractDetails]:
        calls.append(contract)
        await asyncio.sleep(0.01)
        return [
            _details(
                contract,
                4036812,
                minTick=0.005,
                marketRuleIds="1924,1924",
                validExchanges="SMART,ASX",
                timeZoneId="Australia/Sydney",
                tradingHours="20261123:1000-20261123:1600",
                liquidHours="20261123:1000-20261123:1600",
                longName="BHP GROUP LTD",
                sizeIncrement=1.0,
            )
        ]

    resolver = ContractResolver(load_settings(), fetch)
    first, second = await asyncio.gather(resolver.resolve("BHP/AUD"), resolver.resolve("BHP/AUD"))
    assert first is second and len(calls) == 1, "concurrent callers share one request"
    assert await resolver.resolve("BHP/AUD") is first and len(calls) == 1
    assert (first.con_id, first.min_tick, first.market_rule_ids) == (4036812, 0.005, (1924, 1924))
    assert first.valid_exchanges == ("SMART", "ASX") and first.time_zone_id == "Australia/Sydney"
    assert resolver.by_con_id(4036812) is first
    assert resolver.symbol_for(Contract(conId=4036812)) == "BHP/AUD"


async def test_etf_is_recognised_from_details() -> None:
    async def fetch(contract: Contract) -> list[ContractDetails]:
        return [_details(contract, 756733, stockType="ETF", minTick=0.01)]

    resolver = ContractResolver(load_settings(), fetch)
    assert (await resolver.resolve("SPY/USD")).instrument_type is InstrumentType.ETF


async def test_unknown_and_ambiguous_contracts_raise_bad_symbol() -> None:
    async def fetch(contract: Contract) -> list[ContractDetails]:
        if contract.symbol == "NOPE":
            return []
        nyse = _details(contract, 1, minTick=0.01)
        assert nyse.contract is not None
        nyse.contract.primaryExchange = "NYSE"
        lse = _details(contract, 2, minTick=0.01)
        assert lse.contract is not None
        lse.contract.primaryExchange = "NASDAQ"
        return [nyse, lse]

    resolver = ContractResolver(load_settings(), fetch)
    with pytest.raises(BadSymbol, match="IB has no contract for NOPE/USD"):
        await resolver.resolve("NOPE/USD")
    with pytest.raises(BadSymbol, match=r"ambiguous.*NASDAQ, NYSE.*primary_exchange"):
        await resolver.resolve("DUAL/USD")
    assert resolver.cached("DUAL/USD") is None


async def test_resolve_without_fetcher_says_what_is_missing() -> None:
    with pytest.raises(RuntimeError, match="reqContractDetailsAsync"):
        await ContractResolver(load_settings()).resolve("BHP/AUD")


def test_forex_helper_agrees() -> None:
    fx = Forex("AUDUSD")
    assert ContractResolver(load_settings()).symbol_for(fx) == "AUD/USD"
