"""Batch symbol validation: resolve many symbols at a venue and report each one's contract, or why it failed.

:func:`check_symbols` asks a :class:`SymbolLookup` (the IB venue's contract resolver and ``reqHeadTimeStamp``;
``trader data validate`` builds it) about every symbol, at most ``concurrency`` at a time, and returns one
:class:`SymbolCheck` per symbol in the order given: type, exchange, currency, conId, the first bar IB holds
(IB "Historical Data: Earliest Data Point", ``reqHeadTimeStamp``; ``../shared/docs/ib-reference.md``) and the
contract's trading and liquid hours (IB's ``ContractDetails.tradingHours`` / ``liquidHours``, in the contract's
``timeZoneId``), or the reason it failed. One symbol's failure (unknown at the venue, ambiguous, a timeout) is
recorded against it and never stops the others; only cancellation stops the batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sdk.symbols import parse_symbol

__all__ = ["ContractFacts", "SymbolCheck", "SymbolLookup", "canonical_symbols", "check_symbols"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ContractFacts:
    """A symbol's contract as the venue qualified it.

    Attributes:
        symbol: canonical ``BASE/QUOTE``.
        instrument_type: ``stock``, ``etf``, ``fx``, ``index`` (:class:`sdk.symbols.InstrumentType` values).
        sec_type: IB's secType (``STK``, ``CASH``, ``IND``).
        exchange: the primary (listing) exchange, else the routing exchange (``NASDAQ``, ``ASX``, ``IDEALPRO``).
        currency: the currency prices are in.
        con_id: IB's conId.
        long_name: the contract's name (venue text).
        time_zone: IB's ``timeZoneId`` of the hours below (``US/Eastern``, ``Australia/Sydney``).
        trading_hours: IB's ``tradingHours`` (``20240304:0400-20240304:2000;20240305:CLOSED;...``).
        liquid_hours: IB's ``liquidHours``: the regular session in the same format.
    """

    symbol: str
    instrument_type: str
    sec_type: str
    exchange: str
    currency: str
    con_id: int
    long_name: str
    time_zone: str
    trading_hours: str
    liquid_hours: str


class SymbolLookup(Protocol):
    """What :func:`check_symbols` asks of a venue (the IB venue: its contract resolver and head timestamps)."""

    async def contract_facts(self, symbol: str) -> ContractFacts:
        """The qualified contract of ``symbol``. Raises ``BadSymbol`` when the venue has none or several."""
        ...

    async def head_timestamp(self, symbol: str, what_to_show: str | None, rth: bool) -> int | None:
        """The first bar the venue holds, ms UTC, or None when it holds none."""
        ...


@dataclass(frozen=True, slots=True)
class SymbolCheck:
    """One symbol's answer. ``ok`` False: ``error`` says why (``error_type`` the exception's class name) and
    the contract fields are None; ``head_error`` is set when the contract resolved but ``reqHeadTimeStamp``
    failed (``head_timestamp`` None then; None with no error means IB holds no bars of it)."""

    symbol: str
    ok: bool
    instrument_type: str | None = None
    sec_type: str | None = None
    exchange: str | None = None
    currency: str | None = None
    con_id: int | None = None
    long_name: str | None = None
    head_timestamp: int | None = None
    head: str | None = None
    time_zone: str | None = None
    trading_hours: str | None = None
    liquid_hours: str | None = None
    error: str | None = None
    error_type: str | None = None
    head_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def canonical_symbols(texts: Iterable[str], *, default_quote: str | None = None) -> list[str]:
    """Clean a batch: strip blanks, upper-case, append ``/<default_quote>`` to a bare ticker (``AAPL`` ->
    ``AAPL/USD``), drop repeats (first kept). Nothing is refused here: a malformed symbol fails on its own in
    :func:`check_symbols`."""
    seen: dict[str, None] = {}
    for text in texts:
        symbol = text.strip().upper()
        if not symbol:
            continue
        if default_quote and "/" not in symbol:
            symbol = f"{symbol}/{default_quote.upper()}"
        seen.setdefault(symbol, None)
    return list(seen)


async def _check(lookup: SymbolLookup, symbol: str, what_to_show: str | None, rth: bool, head: bool) -> SymbolCheck:
    try:
        parse_symbol(symbol, default_quote="USD")
        facts = await lookup.contract_facts(symbol)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return SymbolCheck(symbol, False, error=str(exc) or repr(exc), error_type=type(exc).__name__)
    first: int | None = None
    head_error = None
    if head:
        try:
            first = await lookup.head_timestamp(symbol, what_to_show, rth)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            head_error = f"{type(exc).__name__}: {exc}"
    return SymbolCheck(
        symbol,
        True,
        instrument_type=facts.instrument_type,
        sec_type=facts.sec_type,
        exchange=facts.exchange,
        currency=facts.currency,
        con_id=facts.con_id,
        long_name=facts.long_name,
        head_timestamp=first,
        head=datetime.fromtimestamp(first / 1000, UTC).isoformat().replace("+00:00", "Z")
        if first is not None
        else None,
        time_zone=facts.time_zone,
        trading_hours=facts.trading_hours,
        liquid_hours=facts.liquid_hours,
        head_error=head_error,
    )


async def check_symbols(
    symbols: Iterable[str],
    lookup: SymbolLookup,
    *,
    concurrency: int = 8,
    what_to_show: str | None = None,
    rth: bool = False,
    head: bool = True,
    on_result: Callable[[SymbolCheck], None] | None = None,
) -> list[SymbolCheck]:
    """Check every symbol (canonical ``BASE/QUOTE``), at most ``concurrency`` at a time, in the order given.

    Args:
        symbols: the symbols (see :func:`canonical_symbols` to clean a raw list).
        lookup: the venue's contract resolver and head timestamps.
        concurrency: how many symbols are in flight at once (>= 1); the venue's own pacing still applies.
        what_to_show: IB's whatToShow for the head timestamp (None: the venue's default for the contract).
        rth: the head timestamp of regular-hours bars only (IB's useRTH).
        head: ask for the head timestamp (one ``reqHeadTimeStamp`` per resolved symbol, paced as history).
        on_result: called with each result as it arrives (progress).

    Returns:
        One :class:`SymbolCheck` per symbol, in input order.

    Raises:
        ValueError: ``concurrency`` below 1.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency {concurrency}: give at least 1 symbol in flight, e.g. 8")
    wanted = list(symbols)
    gate = asyncio.Semaphore(concurrency)

    async def one(symbol: str) -> SymbolCheck:
        async with gate:
            result = await _check(lookup, symbol, what_to_show, rth, head)
        if on_result is not None:
            on_result(result)
        return result

    results = await asyncio.gather(*(one(s) for s in wanted))
    failed = sum(not r.ok for r in results)
    log.info("symbols checked", extra={"symbols": len(results), "failed": failed})
    return list(results)
