"""Gather a :class:`~sdk.risk.context.RiskContext` from any :class:`~sdk.base.BaseTrader`.

One call per decision: the instrument (``fetch_instrument``), the top of book (``get_market_data``; at a session's
start, the session's first quote: :func:`session_quote`), positions (``fetch_positions``) with marks, FX rates into
the base currency (``fetch_fx_rate``) for every currency the decision touches, the equity (``get_equity``), and a
ccxt venue's fee rates (``fetch_fee_rates`` when the trader has it). Today's PnL comes from the caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ccxt.base.types import Position

from sdk.base import BaseTrader
from sdk.calendars import get_calendar
from sdk.costs.fx import FxRate, FxTable, to_decimal
from sdk.costs.model import FeeRates, MonthlyVolume
from sdk.errors import FxRateUnavailable, NotSupported
from sdk.instruments import InstrumentSpec
from sdk.risk.context import PositionFact, Quote, RiskContext
from sdk.symbols import parse_symbol

__all__ = ["FRESH_QUOTE_WAIT", "build_risk_context", "positions_from_ccxt", "session_quote"]

#: Wall seconds a decision waits for its market's first quote of the session (:func:`session_quote`).
FRESH_QUOTE_WAIT = 2.0

log = logging.getLogger(__name__)


def positions_from_ccxt(positions: Iterable[Position], *, default_quote: str) -> dict[str, PositionFact]:
    """ccxt positions as :class:`PositionFact` by symbol (``contracts × contractSize``, negative when short).

    Several rows of one symbol (hedged accounts) are netted; the last non-None mark wins.
    """
    facts: dict[str, PositionFact] = {}
    for position in positions:
        symbol = str(position.get("symbol"))
        contracts = to_decimal(position.get("contracts") or 0) * to_decimal(position.get("contractSize") or 1)
        if position.get("side") == "short":
            contracts = -abs(contracts)
        mark = position.get("markPrice")
        previous = facts.get(symbol)
        amount = contracts + (previous.amount if previous else 0)
        mark_price = to_decimal(mark) if mark else (previous.mark_price if previous else None)
        currency = parse_symbol(symbol, default_quote=default_quote).quote
        facts[symbol] = PositionFact(symbol, amount, mark_price, currency)
    return {s: f for s, f in facts.items() if f.amount != 0}


async def build_risk_context(
    trader: BaseTrader,
    symbol: str,
    *,
    pnl_today: Decimal | float,
    now: datetime | None = None,
    monthly_volume: MonthlyVolume | None = None,
    extra_currencies: Iterable[str] = (),
) -> RiskContext:
    """The facts to validate an order in ``symbol`` on ``trader``.

    Args:
        trader: any connected venue.
        symbol: the canonical symbol ordered.
        pnl_today: today's realized plus unrealized PnL in the base currency (a loss is negative).
        now: the decision time (default: the wall clock, UTC).
        monthly_volume: month-to-date volume for IB Tiered plans (default zero: the first tier).
        extra_currencies: more currencies to fetch rates for.

    Returns:
        A frozen :class:`RiskContext`. A currency whose rate the venue cannot give is left out of
        ``fx`` (validation then refuses with ``fx_unavailable``); an unavailable equity is None.

    Raises:
        BadSymbol: ``symbol`` is not canonical or not listed by the venue.
        ccxt errors from the venue while reading the instrument, the quote or the positions.
    """
    base = trader.base_currency
    parse_symbol(symbol, default_quote=base)
    instrument, market_data, positions = await asyncio.gather(
        trader.fetch_instrument(symbol), trader.get_market_data(symbol), trader.fetch_positions()
    )
    stamp = now or datetime.now(UTC)
    market_data = await session_quote(trader, instrument, market_data, stamp)
    quote = Quote.from_market_data(market_data)
    facts = positions_from_ccxt(positions, default_quote=base)
    facts = await _mark_unmarked(trader, facts, symbol, quote)
    fee_rates = await _fee_rates(trader, instrument)
    currencies = {instrument.quote, *(f.currency for f in facts.values()), *extra_currencies}
    currencies.update(trader.fee_currencies)  # IB: IDEALPRO and US commissions are charged in USD
    if fee_rates is not None and fee_rates.fee_side != "quote":
        currencies.add(instrument.base)  # the fee may be charged in the base currency
    fx = await _fx_table(trader, base, currencies - {base}, stamp)
    return RiskContext(
        instrument=instrument,
        quote=quote,
        positions=facts,
        fx=fx,
        now=stamp,
        pnl_today=to_decimal(pnl_today),
        equity=await _equity(trader),
        fee_rates=fee_rates,
        monthly_volume=monthly_volume or MonthlyVolume(),
    )


async def session_quote(
    trader: BaseTrader, instrument: InstrumentSpec, market_data: Mapping[str, Any], now: datetime
) -> Mapping[str, Any]:
    """``market_data``, or, when its ``timestamp`` (ms, venue time) is older than the session in progress at ``now``
    (its market's calendar, :mod:`sdk.calendars`), the venue's first quote of that session.

    A quote not updated since before the open is the pre-open's (the close before, or an indicative auction price):
    an order priced from it at the open (a marketable limit, a size from an order value) is priced stale. The venue's
    market data is read again until it is updated, for at most :data:`FRESH_QUOTE_WAIT` wall seconds (IB streams the
    opening trade within a second of the auction); a market that quotes nothing new by then keeps the quote it has,
    with a warning.
    """
    stamped = market_data.get("timestamp")
    session = get_calendar(instrument.market).session_at(now) if instrument.market else None
    if stamped is None or session is None:
        return market_data
    opened = int(session.open.timestamp() * 1000)
    if int(stamped) >= opened:
        return market_data
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FRESH_QUOTE_WAIT
    while loop.time() < deadline:
        await asyncio.sleep(0.02)  # the venue's stream updates its quote; the deadline bounds the wait
        market_data = await trader.get_market_data(instrument.symbol)
        stamped = market_data.get("timestamp")
        if stamped is None or int(stamped) >= opened:
            return market_data
    log.warning("no quote since the session opened; pricing from the last one",
                extra={"symbol": instrument.symbol, "quote_ms": stamped, "session_open_ms": opened})  # fmt: skip
    return market_data


async def _mark_unmarked(
    trader: BaseTrader, facts: dict[str, PositionFact], symbol: str, quote: Quote
) -> dict[str, PositionFact]:
    marked = dict(facts)
    for sym, fact in facts.items():
        if fact.mark_price is not None:
            continue
        mark: Decimal | None
        if sym == symbol:
            mark = quote.last or quote.mid
        else:
            try:
                ticker = await trader.fetch_ticker(sym)
            except Exception as exc:  # a mark is best effort; validation refuses an unpriced position
                log.warning("no mark for position", extra={"symbol": sym, "error": type(exc).__name__})
                continue
            last, bid, ask = ticker.get("last"), ticker.get("bid"), ticker.get("ask")
            mark = to_decimal(last) if last else (to_decimal(bid) + to_decimal(ask)) / 2 if bid and ask else None
        if mark is not None:
            marked[sym] = PositionFact(sym, fact.amount, mark, fact.currency)
    return marked


async def _fee_rates(trader: BaseTrader, instrument: InstrumentSpec) -> FeeRates | None:
    try:
        return await trader.fetch_fee_rates(instrument.symbol)
    except NotSupported:  # a venue whose costs follow a schedule (IB)
        return None
    except Exception as exc:  # COMMISSION_OVERRIDES may still supply rates; else validation refuses
        log.warning("no fee rates from venue", extra={"symbol": instrument.symbol, "error": str(exc)})
        return None


async def _fx_table(trader: BaseTrader, base: str, currencies: set[str], stamp: datetime) -> FxTable:
    async def one(currency: str) -> FxRate | None:
        try:
            rate = await trader.fetch_fx_rate(currency, base)
        except FxRateUnavailable as exc:
            log.warning("FX rate unavailable", extra={"currency": currency, "base": base, "error": str(exc)})
            return None
        return FxRate(currency, base, to_decimal(rate), f"{trader.id} fetch_fx_rate({currency}, {base})", stamp)

    rates = await asyncio.gather(*(one(c) for c in sorted(currencies)))
    return FxTable.of(base, *(r for r in rates if r is not None))


async def _equity(trader: BaseTrader) -> Decimal | None:
    try:
        equity: Any = await trader.get_equity()
    except FxRateUnavailable as exc:
        log.warning("equity unavailable", extra={"error": str(exc)})
        return None
    return to_decimal(equity)
