"""The gateway's instruments: IB contract terms for every instrument in the market data, and lookup.

Each instrument of the catalog (:class:`sdk.data.CatalogEntry`) becomes a :class:`GatewayContract`
with what IB's contract details carry (IB "Contract Details" reference):

* ``conId``: stable across runs (a CRC-32 of the canonical symbol, in IB's range of 9-digit ids);
* contract: ASX stocks ``STK`` on ``ASX`` in AUD (validExchanges ``SMART,ASX``), US stocks and ETFs
  ``STK`` on ``SMART`` with their primary listing in USD, FX pairs ``CASH`` on ``IDEALPRO``
  (localSymbol ``AUD.USD``), indexes ``IND`` on their exchange;
* price ladder (:mod:`sdk.ticks`): ``minTick`` is the step at the instrument's last price,
  ``marketRuleIds`` repeat the ladder's rule id once per valid exchange (``reqMarketRule`` serves it);
* ``timeZoneId``, ``tradingHours``, ``liquidHours`` from :mod:`sdk.gateway.hours`.

Lookup follows IB's contract matching: a ``conId`` names one instrument; otherwise every given field
(symbol or localSymbol, secType, currency, exchange, primaryExchange, tradingClass) must match, and
no match or more than one is error 200 for data and order requests.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sdk.symbols import InstrumentType
from sdk.ticks import PriceLadder, ladder_for

__all__ = ["ContractQuery", "GatewayContract", "InstrumentSource", "InstrumentTable", "LookupError_"]

US_VALID_EXCHANGES = ("SMART", "AMEX", "NYSE", "ARCA", "BATS", "IEX", "NASDAQ", "ISLAND")
ORDER_TYPES = "LMT,MKT,STP,STPLMT,DAY,GTC,IOC,WHATIF"


class InstrumentSource(Protocol):
    """What the gateway reads from :class:`sdk.data.CatalogEntry`."""

    @property
    def symbol(self) -> str: ...
    @property
    def instrument_type(self) -> InstrumentType: ...
    @property
    def sec_type(self) -> str: ...
    @property
    def ib_symbol(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def exchange(self) -> str: ...
    @property
    def market(self) -> str: ...
    @property
    def long_name(self) -> str: ...


def con_id_for(symbol: str) -> int:
    """A stable 9-digit conId for a canonical symbol (the same in every run and every gateway)."""
    return 100_000_000 + zlib.crc32(symbol.encode()) % 800_000_000


@dataclass(frozen=True, slots=True)
class GatewayContract:
    """One row of the gateway's contract table: an instrument of the data as IB's contract details
    describe it (field names are IB's)."""

    symbol: str
    instrument_type: InstrumentType
    con_id: int
    sec_type: str
    ib_symbol: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    market: str
    long_name: str
    ladder: PriceLadder
    min_tick: Decimal
    valid_exchanges: tuple[str, ...]

    @property
    def market_rule_ids(self) -> str:
        """One rule id per valid exchange, comma-separated, as IB sends them."""
        return ",".join(str(self.ladder.market_rule_id) for _ in self.valid_exchanges)

    @property
    def is_fx(self) -> bool:
        return self.sec_type == "CASH"

    @property
    def tradable(self) -> bool:
        """Indexes have prices but cannot be ordered."""
        return self.sec_type in ("STK", "CASH")

    @property
    def stock_type(self) -> str:
        """IB's ``stockType``: ``ETF`` for ETFs, ``COMMON`` for other stocks, empty otherwise."""
        if self.instrument_type == InstrumentType.ETF:
            return "ETF"
        return "COMMON" if self.sec_type == "STK" else ""

    @property
    def contract_fields(self) -> tuple[object, ...]:
        """conId, symbol, secType, lastTradeDate, strike, right, multiplier, exchange, currency,
        localSymbol, tradingClass -- the order IB uses in positions, executions and open orders."""
        return (
            self.con_id, self.ib_symbol, self.sec_type, "", 0.0, "", "", self.exchange,
            self.currency, self.local_symbol, self.trading_class,
        )  # fmt: skip

    @classmethod
    def from_source(cls, info: InstrumentSource, last_price: float | None = None) -> GatewayContract:
        """IB terms for a catalog instrument; ``last_price`` picks ``minTick`` on the ladder."""
        sec_type = info.sec_type
        valid: tuple[str, ...]
        primary = info.exchange
        if sec_type == "CASH":
            exchange, valid = "IDEALPRO", ("IDEALPRO",)
            local = trading_class = f"{info.ib_symbol}.{info.currency}"
        elif sec_type == "IND":
            exchange, valid = primary, (primary,)
            local = trading_class = info.ib_symbol
        elif info.currency == "AUD" or primary == "ASX":
            exchange, valid = "ASX", ("SMART", "ASX")
            local = trading_class = info.ib_symbol
            primary = "ASX"
        else:
            exchange, valid = "SMART", US_VALID_EXCHANGES
            local = info.ib_symbol
            trading_class = info.ib_symbol if primary not in ("SMART", "") else "NMS"
        ladder = ladder_for("STK" if sec_type == "IND" else sec_type, info.currency, primary)
        tick = ladder.increment_at(Decimal(repr(float(last_price)))) if last_price else ladder.bands[-1][1]
        return cls(
            symbol=info.symbol,
            instrument_type=info.instrument_type,
            con_id=con_id_for(info.symbol),
            sec_type=sec_type,
            ib_symbol=info.ib_symbol,
            exchange=exchange,
            primary_exchange=primary,
            currency=info.currency,
            local_symbol=local,
            trading_class=trading_class,
            market=info.market,
            long_name=info.long_name,
            ladder=ladder,
            min_tick=tick,
            valid_exchanges=valid,
        )


@dataclass(frozen=True, slots=True)
class ContractQuery:
    """The contract fields of a request (as ib_async sends a ``Contract``); empty means "any"."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade_date: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""

    def describe(self) -> str:
        """The given fields, for error messages."""
        parts = [
            f"{name}={value}"
            for name, value in (
                ("conId", self.con_id), ("symbol", self.symbol), ("secType", self.sec_type),
                ("exchange", self.exchange), ("primaryExchange", self.primary_exchange),
                ("currency", self.currency), ("localSymbol", self.local_symbol),
            )
            if value
        ]  # fmt: skip
        return " ".join(parts) or "an empty contract"


class LookupError_(LookupError):
    """No instrument, or more than one, matches a contract (IB error 200).

    ``candidates`` holds the matches of an ambiguous contract (the message is then the whole text);
    otherwise the message is the detail appended to TWS's "No security definition" text.
    """

    def __init__(self, message: str, candidates: tuple[GatewayContract, ...] = ()) -> None:
        super().__init__(message)
        self.candidates = candidates


def _matches(inst: GatewayContract, q: ContractQuery) -> bool:
    if q.sec_type and q.sec_type != inst.sec_type:
        return False
    if q.symbol and q.symbol.upper() != inst.ib_symbol.upper():
        return False
    if q.local_symbol and q.local_symbol.upper() not in (inst.local_symbol.upper(), inst.ib_symbol.upper()):
        return False
    if q.currency and q.currency.upper() != inst.currency:
        return False
    if q.exchange and q.exchange.upper() not in (*inst.valid_exchanges, inst.exchange, inst.primary_exchange):
        return False
    if q.primary_exchange and q.primary_exchange.upper() not in (inst.primary_exchange, inst.exchange):
        return False
    if q.trading_class and q.trading_class.upper() != inst.trading_class.upper():
        return False
    return not (q.last_trade_date or q.right)


class InstrumentTable:
    """All instruments of a gateway, by symbol and conId, with IB-style contract matching."""

    def __init__(self, instruments: Iterable[GatewayContract]) -> None:
        self._by_symbol = {i.symbol: i for i in instruments}
        self._by_con_id = {i.con_id: i for i in self._by_symbol.values()}
        if len(self._by_con_id) != len(self._by_symbol):
            raise ValueError("two instruments share a conId; rename one symbol")

    def __len__(self) -> int:
        return len(self._by_symbol)

    def __iter__(self) -> Iterator[GatewayContract]:
        return iter(self._by_symbol.values())

    def get(self, symbol: str) -> GatewayContract | None:
        return self._by_symbol.get(symbol)

    def by_con_id(self, con_id: int) -> GatewayContract | None:
        return self._by_con_id.get(con_id)

    def candidates(self, query: ContractQuery) -> list[GatewayContract]:
        """Every instrument matching ``query`` (a conId names exactly one)."""
        if query.con_id:
            found = self._by_con_id.get(query.con_id)
            return [found] if found is not None else []
        if not (query.symbol or query.local_symbol):
            return []
        return [i for i in self._by_symbol.values() if _matches(i, query)]

    def resolve(self, query: ContractQuery) -> GatewayContract:
        """The one instrument ``query`` names.

        Raises:
            LookupError_: none or several match; the message says which and how to narrow it.
        """
        found = self.candidates(query)
        if len(found) == 1:
            return found[0]
        if not found:
            raise LookupError_(f"({query.describe()})")
        listing = ", ".join(f"{i.ib_symbol} {i.sec_type} {i.currency} {i.primary_exchange}" for i in found[:5])
        raise LookupError_(
            f"The contract description specified for {query.symbol or query.local_symbol} is ambiguous "
            f"({len(found)} matches: {listing}); give currency and primaryExchange",
            tuple(found),
        )
