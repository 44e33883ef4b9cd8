"""Read tools about the account: cash, equity, positions, open orders, fills and plans."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from mcp_server.schemas import (
    Balance,
    BalanceOut,
    EquityOut,
    OrdersOut,
    PlansOut,
    PositionOut,
    PositionsOut,
    TradesOut,
)
from mcp_server.tools.common import SymbolArg, as_float, now_ms, symbol_of
from mcp_server.tools.convert import order_out, plan_out, quote_of, trade_out
from sdk.errors import FxRateUnavailable
from sdk.ledger import queries

if TYPE_CHECKING:
    from mcp_server.state import AppState

__all__ = [
    "MAX_TRADES",
    "get_balance",
    "get_equity",
    "get_open_orders",
    "get_plans",
    "get_positions",
    "get_trades",
]

#: The most fills ``get_trades`` answers.
MAX_TRADES = 500
_RESERVED = frozenset({"info", "free", "used", "total", "timestamp", "datetime", "debt"})


async def get_balance(state: AppState) -> BalanceOut:
    """Cash per currency: free, used (reserved by open orders) and total, each in its own currency.
    get_equity gives the account's value in the base currency."""
    balances = await state.account.fetch_balance()
    rows = []
    for currency in sorted(k for k in balances if k not in _RESERVED):
        entry: Any = balances[currency]
        if not isinstance(entry, dict):
            continue
        rows.append(
            Balance(
                currency=currency,
                free=as_float(entry.get("free")),
                used=as_float(entry.get("used")),
                total=as_float(entry.get("total")),
            )
        )
    return BalanceOut(base_currency=state.settings.base_currency, balances=rows)


async def get_equity(state: AppState) -> EquityOut:
    """The account's equity (IB: NetLiquidation) in the base currency."""
    equity = await state.account.get_equity()
    return EquityOut(equity=float(equity), currency=state.settings.base_currency, timestamp_ms=now_ms(state))


async def _to_base(state: AppState, currency: str) -> float | None:
    try:
        return await state.trader.fetch_fx_rate(currency, state.settings.base_currency)
    except FxRateUnavailable:
        return None


async def get_positions(state: AppState) -> PositionsOut:
    """Open positions: amount in base units, entry and mark prices and PnL in the quote currency, and the
    notional in the base currency (None when no FX rate is available now)."""
    base = state.settings.base_currency
    positions = await state.account.fetch_positions()
    currencies = sorted({quote_of(str(p.get("symbol")), base) for p in positions})
    rates = dict(zip(currencies, await asyncio.gather(*(_to_base(state, c) for c in currencies)), strict=True))
    out = []
    for position in positions:
        symbol = str(position.get("symbol"))
        quote = quote_of(symbol, base)
        amount = abs(as_float(position.get("contracts")) or 0.0) * (as_float(position.get("contractSize")) or 1.0)
        mark = as_float(position.get("markPrice"))
        notional = as_float(position.get("notional"))
        if notional is None and mark is not None:
            notional = amount * mark
        rate = rates.get(quote)
        out.append(
            PositionOut(
                symbol=symbol,
                side=str(position.get("side") or "long"),
                amount=amount,
                entry_price=as_float(position.get("entryPrice")),
                mark_price=mark,
                price_currency=quote,
                notional=notional,
                unrealized_pnl=as_float(position.get("unrealizedPnl")),
                notional_base=abs(notional) * rate if notional is not None and rate is not None else None,
            )
        )
    values = [p.notional_base for p in out]
    gross = sum(v for v in values if v is not None) if all(v is not None for v in values) else None
    return PositionsOut(base_currency=base, positions=out, gross_exposure_base=gross)


async def get_open_orders(
    state: AppState,
    symbol: Annotated[SymbolArg | None, Field(description="only this symbol; omit for all")] = None,
) -> OrdersOut:
    """Open orders this SDK placed (client order id with CLIENT_ORDER_PREFIX), oldest first: amounts in base
    units, prices in the quote currency, fee None while the venue's report is pending."""
    if symbol is not None:
        symbol_of(state, symbol)
    orders = await state.account.fetch_open_orders(symbol)
    return OrdersOut(orders=[order_out(o, state.settings.base_currency) for o in orders])


async def get_trades(
    state: AppState,
    symbol: Annotated[SymbolArg | None, Field(description="only this symbol; omit for all")] = None,
    since_ms: Annotated[
        int | None, Field(description="fills at or after this time, ms since the epoch UTC", ge=0)
    ] = None,
    limit: Annotated[int, Field(description=f"most recent fills to return, 1 to {MAX_TRADES}", ge=1)] = 50,
) -> TradesOut:
    """Own fills, oldest first (the most recent `limit`): amount in base units, price in the quote currency,
    fee in its currency and None while the venue's commission report is pending (never 0 for unknown)."""
    if symbol is not None:
        symbol_of(state, symbol)
    capped = limit > MAX_TRADES
    limit = min(limit, MAX_TRADES)
    trades = await state.account.fetch_my_trades(symbol, since_ms)
    return TradesOut(trades=[trade_out(t, state.settings.base_currency) for t in trades[-limit:]], limit_capped=capped)


async def get_plans(
    state: AppState,
    symbol: Annotated[SymbolArg | None, Field(description="only this symbol; omit for all")] = None,
) -> PlansOut:
    """Trade plans still in play (pending or active), oldest first: entry, stop and target in the quote currency,
    amount in base units; the PlanMonitor places their stops and targets."""
    if symbol is not None:
        symbol_of(state, symbol)
    rows = await asyncio.to_thread(queries.open_plans, state.ledger, symbol=symbol)
    return PlansOut(plans=[plan_out(row, state.settings.base_currency) for row in rows])
