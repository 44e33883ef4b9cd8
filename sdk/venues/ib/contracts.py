"""Contract resolution: canonical symbols <-> ib_async contracts, qualified once and cached.

Mapping rules (``SYMBOL_OVERRIDES`` wins over all of them):

* both legs fiat (``AUD/USD``) -> ``Forex``: secType ``CASH``, symbol ``AUD``, currency ``USD``,
  exchange ``IDEALPRO`` (IB: "Forex" contract definition; quantity is in the base currency);
* ``X/AUD`` -> ``Stock(X, IB_EXCHANGE, "AUD", primaryExchange="ASX")`` (IB_EXCHANGE is SMART by default);
* ``X/USD`` -> ``Stock(X, IB_EXCHANGE, "USD")`` (a US stock or ETF routed by SMART);
* other currencies take the primary exchange of :data:`PRIMARY_EXCHANGE_BY_CURRENCY`;
* a share class letter after a dot becomes IB's space: ``BRK.B/USD`` <-> IB symbol ``BRK B``.

:meth:`ContractResolver.resolve` asks IB for contract details once per symbol (concurrent callers
share one request) and caches conId, minTick, market rule ids, time zone and trading hours. IB
local symbols never leave this module: :meth:`ContractResolver.symbol_for` maps any contract that
IB sends back (positions, executions, open orders) to its canonical symbol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ib_async import Contract, ContractDetails, Forex, Index, Stock

from sdk.errors import BadSymbol
from sdk.settings import Settings, SymbolOverride
from sdk.symbols import InstrumentType, index_contract, is_fiat, parse_symbol

__all__ = ["PRIMARY_EXCHANGE_BY_CURRENCY", "ContractResolver", "DetailsFetcher", "ResolvedContract"]

#: Primary listing exchange for a stock quoted in a currency (IB exchange codes).
PRIMARY_EXCHANGE_BY_CURRENCY: dict[str, str] = {
    "AUD": "ASX",
    "GBP": "LSE",
    "CAD": "TSE",
    "HKD": "SEHK",
    "JPY": "TSEJ",
    "NZD": "NZE",
    "SGD": "SGX",
}

DetailsFetcher = Callable[[Contract], Awaitable[list[ContractDetails]]]


@dataclass(frozen=True, slots=True)
class ResolvedContract:
    """A canonical symbol's qualified IB contract and the details the SDK needs from it.

    ``min_tick`` is in the quote currency; ``market_rule_ids`` align with ``valid_exchanges``
    (IB: ContractDetails.marketRuleIds; ask ``reqMarketRule`` for the price bands);
    ``size_increment`` is in base units (shares, or base currency for FX).
    """

    symbol: str
    contract: Contract
    instrument_type: InstrumentType
    con_id: int
    min_tick: float
    market_rule_ids: tuple[int, ...]
    valid_exchanges: tuple[str, ...]
    time_zone_id: str
    trading_hours: str
    liquid_hours: str
    long_name: str
    size_increment: float
    details: ContractDetails = field(repr=False)

    @property
    def currency(self) -> str:
        """The currency prices are quoted in (the canonical symbol's quote)."""
        return self.contract.currency


class ContractResolver:
    """Maps canonical symbols to ib_async contracts and back; qualifies and caches them.

    Args:
        settings: supplies ``IB_EXCHANGE``, ``IB_BASE_CURRENCY`` and ``SYMBOL_OVERRIDES``.
        fetch_details: the coroutine asking IB for contract details, normally
            ``ib.reqContractDetailsAsync``; needed only by :meth:`resolve`.
    """

    def __init__(self, settings: Settings, fetch_details: DetailsFetcher | None = None) -> None:
        self._settings = settings
        self._fetch_details = fetch_details
        self._resolved: dict[str, ResolvedContract] = {}
        self._by_con_id: dict[int, ResolvedContract] = {}
        self._pending: dict[str, asyncio.Future[ResolvedContract]] = {}
        self._reverse_overrides: dict[tuple[str, str, str], str] = {}
        for symbol in settings.symbol_overrides:
            contract = self.contract_for(symbol)
            self._reverse_overrides[(contract.secType, contract.symbol, contract.currency)] = symbol

    # --- canonical -> contract (pure) -----------------------------------------------------
    def contract_for(self, symbol: str) -> Contract:
        """The unqualified ib_async contract for a canonical symbol (no request to IB).

        Raises:
            BadSymbol: ``symbol`` is not canonical (the message suggests the canonical form).
        """
        parsed = parse_symbol(symbol, default_quote=self._settings.base_currency)
        override = self._settings.symbol_overrides.get(symbol, SymbolOverride())
        index = None if parsed.is_fx else index_contract(symbol)
        sec_type = override.sec_type or ("CASH" if parsed.is_fx else "IND" if index else "STK")
        ib_symbol = override.ib_symbol or (index[0] if index else parsed.base.replace(".", " "))
        if sec_type == "CASH":
            return Forex(
                pair=f"{parsed.base}{parsed.quote}",
                exchange=override.exchange or "IDEALPRO",
            )
        if sec_type == "IND":
            return Index(
                symbol=ib_symbol,
                exchange=override.exchange
                or (index[1] if index else PRIMARY_EXCHANGE_BY_CURRENCY.get(parsed.quote, "")),
                currency=parsed.quote,
            )
        primary = override.primary_exchange or PRIMARY_EXCHANGE_BY_CURRENCY.get(parsed.quote, "")
        return Stock(
            symbol=ib_symbol,
            exchange=override.exchange or self._settings.ib_exchange,
            currency=parsed.quote,
            primaryExchange=primary,
        )

    def instrument_type(self, symbol: str) -> InstrumentType:
        """The instrument type: from the override, else the resolved details, else the symbol's form."""
        override = self._settings.symbol_overrides.get(symbol)
        if override is not None and override.instrument_type is not None:
            return override.instrument_type
        if symbol in self._resolved:
            return self._resolved[symbol].instrument_type
        contract = self.contract_for(symbol)
        return {"CASH": InstrumentType.FX, "IND": InstrumentType.INDEX}.get(contract.secType, InstrumentType.STOCK)

    # --- contract -> canonical (pure) -----------------------------------------------------
    def symbol_for(self, contract: Contract) -> str:
        """The canonical symbol of any contract IB sends (position, execution, open order).

        Raises:
            BadSymbol: the contract's secType has no canonical form here (options, futures ...).
        """
        if contract.conId and contract.conId in self._by_con_id:
            return self._by_con_id[contract.conId].symbol
        key = (contract.secType, contract.symbol, contract.currency)
        if key in self._reverse_overrides:
            return self._reverse_overrides[key]
        if contract.secType == "CASH":
            base, quote = contract.symbol, contract.currency
            if not (base and quote) and "." in contract.localSymbol:
                base, _, quote = contract.localSymbol.partition(".")
            if is_fiat(base) and is_fiat(quote):
                return f"{base}/{quote}"
        elif contract.secType in ("STK", "IND") and contract.symbol and contract.currency:
            return str(parse_symbol(f"{contract.symbol.replace(' ', '.')}/{contract.currency}"))
        raise BadSymbol(
            f"IB contract secType={contract.secType!r} symbol={contract.symbol!r} "
            f"currency={contract.currency!r} has no canonical symbol; add it to SYMBOL_OVERRIDES"
        )

    # --- qualification --------------------------------------------------------------------
    def cached(self, symbol: str) -> ResolvedContract | None:
        """The resolved contract if :meth:`resolve` already ran for ``symbol``."""
        return self._resolved.get(symbol)

    def by_con_id(self, con_id: int) -> ResolvedContract | None:
        """A resolved contract by IB conId."""
        return self._by_con_id.get(con_id)

    def resolved(self) -> list[ResolvedContract]:
        """Every contract resolved so far, in resolution order."""
        return list(self._resolved.values())

    async def resolve(self, symbol: str) -> ResolvedContract:
        """Qualify ``symbol`` with IB once; later calls (and concurrent ones) reuse the answer.

        Raises:
            BadSymbol: IB has no such contract (IB error 200) or more than one (ambiguous); the
                message says which ``SYMBOL_OVERRIDES`` entry would settle it.
            RuntimeError: the resolver was built without ``fetch_details``.
        """
        if symbol in self._resolved:
            return self._resolved[symbol]
        pending = self._pending.get(symbol)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[ResolvedContract] = asyncio.get_running_loop().create_future()
        self._pending[symbol] = future
        try:
            resolved = await self._qualify(symbol)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: callers that joined re-raise it themselves
            raise
        else:
            future.set_result(resolved)
            self._resolved[symbol] = resolved
            self._by_con_id[resolved.con_id] = resolved
            return resolved
        finally:
            del self._pending[symbol]

    async def _qualify(self, symbol: str) -> ResolvedContract:
        if self._fetch_details is None:
            raise RuntimeError("ContractResolver.resolve needs fetch_details (ib.reqContractDetailsAsync)")
        wanted = self.contract_for(symbol)
        details = await self._fetch_details(wanted)
        if not details:
            raise BadSymbol(
                f"IB has no contract for {symbol} ({_describe(wanted)}); check the symbol, "
                f"or map it with SYMBOL_OVERRIDES"
            )
        if len(details) > 1:
            listings = ", ".join(sorted({d.contract.primaryExchange for d in details if d.contract}))
            raise BadSymbol(
                f"{symbol} is ambiguous at IB ({len(details)} contracts, primary exchanges: {listings}); "
                f'set SYMBOL_OVERRIDES=\'{{"{symbol}": {{"primary_exchange": "<one of them>"}}}}\''
            )
        found = details[0]
        contract = found.contract or wanted
        return ResolvedContract(
            symbol=symbol,
            contract=contract,
            instrument_type=_instrument_type(contract, found),
            con_id=contract.conId,
            min_tick=found.minTick,
            market_rule_ids=tuple(int(r) for r in found.marketRuleIds.split(",") if r.strip()),
            valid_exchanges=tuple(e for e in found.validExchanges.split(",") if e),
            time_zone_id=found.timeZoneId,
            trading_hours=found.tradingHours,
            liquid_hours=found.liquidHours,
            long_name=found.longName,
            size_increment=found.sizeIncrement or found.minSize or 1.0,
            details=found,
        )


def _instrument_type(contract: Contract, details: ContractDetails) -> InstrumentType:
    if contract.secType == "CASH":
        return InstrumentType.FX
    if contract.secType == "IND":
        return InstrumentType.INDEX
    if details.stockType.upper() == "ETF":
        return InstrumentType.ETF
    return InstrumentType.STOCK


def _describe(contract: Contract) -> str:
    parts = [f"secType={contract.secType}", f"symbol={contract.symbol}", f"currency={contract.currency}"]
    if contract.exchange:
        parts.append(f"exchange={contract.exchange}")
    if contract.primaryExchange:
        parts.append(f"primaryExchange={contract.primaryExchange}")
    return " ".join(parts)
