"""Account, balances, positions and equity, in the account's base currency (AUD by default).

IB streams account values (``reqAccountUpdates``; TWS API "Account Updates":
https://interactivebrokers.github.io/tws-api/account_updates.html) that ib_async keeps current:
``CashBalance`` per currency, ``NetLiquidation`` in the base currency, and a portfolio with market
price, value, average cost and unrealized PnL per position.

* ``fetch_balance``: ccxt balances per currency (``total`` = IB's ``CashBalance``; ``used`` = what
  this SDK's open orders reserve: remaining × limit price for buys, remaining base units for FX
  sells; ``free`` = total - used). A negative cash balance (a loan in that currency) stays negative.
* ``get_equity``: IB's ``NetLiquidation`` in the base currency; reported in another currency it is
  converted with the FX cache; missing, it is cash plus positions converted one by one
  (:func:`equity_from_holdings`), and a position without a mark makes it an error, never a 0.
* Positions: ccxt structures, ``contracts`` positive with ``side`` short/long (IB's signed
  quantity stays in ``info["position"]``, negative for shorts); prices, notional and PnL in the
  position's currency. IB stock positions are unlevered here: ``leverage`` 1, ``collateral`` = notional.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ccxt.base.types import Balances, Position
from ib_async import AccountValue, Contract, PortfolioItem
from ib_async import Position as IBPosition

from sdk.clock import Clock
from sdk.errors import BadSymbol, ExchangeError, NetworkError
from sdk.redaction import mask_account, redact
from sdk.venues.ib.connection import IBConnection
from sdk.venues.ib.contracts import ContractResolver
from sdk.venues.ib.executions import iso8601
from sdk.venues.ib.fx import FxCache
from sdk.venues.ib.market_data import MarketDataService
from sdk.venues.ib.orders import OrderRecord
from sdk.venues.ib.parsing import clean_number

__all__ = ["SUMMARY_TAGS", "AccountService", "equity_from_holdings"]

log = logging.getLogger(__name__)

#: Account values reported by :meth:`AccountService.fetch_account_summary`, converted to the base currency.
SUMMARY_TAGS = (
    "NetLiquidation",
    "TotalCashValue",
    "SettledCash",
    "AvailableFunds",
    "ExcessLiquidity",
    "BuyingPower",
    "EquityWithLoanValue",
    "GrossPositionValue",
    "InitMarginReq",
    "MaintMarginReq",
    "UnrealizedPnL",
    "RealizedPnL",
)

OpenOrders = Callable[[], list[OrderRecord]]


class AccountService:
    """Balances, positions and equity of the session's account.

    Args:
        conn: the session (``conn.account`` is the account in use; the number is never logged whole).
        resolver: contract -> canonical symbol.
        fx: conversions into the base currency.
        market: marks for positions IB reports without a market price.
        clock: timestamps of positions and balances.
        base_currency: ``IB_BASE_CURRENCY``.
        open_orders: this SDK's orders (what they reserve is ``used``).
    """

    def __init__(
        self,
        conn: IBConnection,
        resolver: ContractResolver,
        fx: FxCache,
        market: MarketDataService,
        clock: Clock,
        base_currency: str,
        open_orders: OpenOrders,
    ) -> None:
        self.conn = conn
        self.resolver = resolver
        self.fx = fx
        self.market = market
        self.clock = clock
        self.base_currency = base_currency
        self._open_orders = open_orders

    def account_values(self) -> list[AccountValue]:
        """IB's account values of the session's account (kept current by IB's account updates)."""
        return [v for v in self.conn.ib.accountValues(self.conn.account or "") if v.account == self.conn.account]

    def _value(self, tag: str) -> list[tuple[float, str]]:
        found = []
        for item in self.account_values():
            if item.tag == tag and item.currency and item.currency != "BASE":
                try:
                    found.append((float(item.value), item.currency))
                except ValueError:
                    continue
        return found

    async def _to_base(self, amount: float, currency: str) -> float:
        return amount * await self.fx.rate(currency, self.base_currency)

    # --- balances -------------------------------------------------------------------------
    async def fetch_balance(self) -> Balances:
        """ccxt balances per currency (see the module doc); ``info`` holds IB's account values.

        Raises:
            NetworkError: IB has sent no account values for the account (not connected, or no account).
        """
        await self.conn.ensure_ready()
        cash = self._value("CashBalance")
        if not cash and not self.account_values():
            raise NetworkError("IB has sent no account values yet; check IB_ACCOUNT_ID and the connection")
        reserved = self._reserved()
        values = [
            {**v._asdict(), "account": mask_account(v.account), "value": redact(v.value)} for v in self.account_values()
        ]  # AccountCode's value is the account number too
        balances: dict[str, Any] = {"info": {"account_values": values}}
        free: dict[str, float] = {}
        used: dict[str, float] = {}
        total: dict[str, float] = {}
        for amount, currency in cash:
            held = reserved.get(currency, 0.0)
            in_use = min(held, amount) if amount > 0 else 0.0
            total[currency] = amount
            used[currency] = in_use
            free[currency] = amount - in_use
            balances[currency] = {"free": free[currency], "used": in_use, "total": amount}
        balances.update({"free": free, "used": used, "total": total})
        stamp = int(self.clock.now() * 1000)
        balances["timestamp"], balances["datetime"] = stamp, iso8601(stamp)
        balances["info"]["account"] = mask_account(self.conn.account)  # never the full number
        return balances

    def _reserved(self) -> dict[str, float]:
        reserved: dict[str, float] = {}
        for record in self._open_orders():
            if record.is_done or record.lost:
                continue
            remaining = record.remaining if record.remaining is not None else record.amount - record.filled
            base, _, quote = record.symbol.partition("/")
            if record.side == "buy" and record.price:
                reserved[quote] = reserved.get(quote, 0.0) + remaining * record.price
            elif record.side == "sell" and self.resolver.instrument_type(record.symbol) == "fx":
                reserved[base] = reserved.get(base, 0.0) + remaining
        return reserved

    async def fetch_account_summary(self) -> dict[str, float]:
        """IB's headline account values (:data:`SUMMARY_TAGS`) in the base currency.

        Raises:
            FxRateUnavailable: a value IB reports in another currency cannot be converted.
        """
        await self.conn.ensure_ready()
        summary: dict[str, float] = {}
        for tag in SUMMARY_TAGS:
            for amount, currency in self._value(tag):
                converted = amount if currency == self.base_currency else await self._to_base(amount, currency)
                summary[tag] = summary.get(tag, 0.0) + converted
        return summary

    async def get_equity(self) -> float:
        """Net liquidation value in the base currency (IB's ``NetLiquidation``).

        Raises:
            FxRateUnavailable: NetLiquidation is in another currency, or a holding's currency, has no quote.
            ExchangeError: NetLiquidation is not reported and a position has no mark to value it at.
        """
        await self.conn.ensure_ready()
        for amount, currency in self._value("NetLiquidation"):
            return amount if currency == self.base_currency else await self._to_base(amount, currency)
        log.info("NetLiquidation not reported; summing cash and positions", extra={"account_values": 0})
        return await equity_from_holdings(self._value("CashBalance"), await self.fetch_positions(), self._to_base)

    # --- positions ------------------------------------------------------------------------
    async def fetch_positions(self, symbols: list[str] | None = None) -> list[Position]:
        """ccxt positions of the account (see the module doc), optionally only ``symbols``.

        Raises:
            FxRateUnavailable: never (positions stay in their own currency); marks missing from IB's
                portfolio are taken from the live ticker, else left None.
        """
        held = await self._fresh_positions()
        account = self.conn.account or ""
        items: dict[int, PortfolioItem] = {p.contract.conId: p for p in self.conn.ib.portfolio(account)}
        positions: list[Position] = []
        for pos in held:
            if not pos.position:
                continue
            symbol = _symbol_of(self.resolver, pos.contract)
            if symbol is None or (symbols is not None and symbol not in symbols):
                continue
            positions.append(await self._position(symbol, pos.contract.currency, pos.position, pos.avgCost, items))
        return sorted(positions, key=lambda p: p["symbol"])

    async def position_of(self, symbol: str) -> float:
        """Signed position in base units (negative when short); 0.0 when flat. Asked of IB now."""
        for pos in await self._fresh_positions():
            if _symbol_of(self.resolver, pos.contract) == symbol:
                return float(pos.position)
        return 0.0

    async def _fresh_positions(self) -> list[IBPosition]:
        """The account's positions as IB holds them now (``reqPositions``).

        IB pushes account and portfolio updates coalesced (every few seconds, up to minutes on real
        IB), so a fill may not be in them yet; the position request answers from the current book.
        """
        await self.conn.ensure_ready()
        account = self.conn.account or ""
        try:
            answer = await asyncio.wait_for(self.conn.ib.reqPositionsAsync(), self.conn.timeout)
        except TimeoutError:
            log.warning("reqPositions timed out; using the last pushed positions")
            answer = self.conn.ib.positions(account)
        # reqPositions is a subscription: TWS pushes each later change (a fill's new position) as another
        # ``position`` message, and one that lands while an answer is being collected is in that answer too, so
        # one contract can appear twice. Messages carry the absolute position: the last one per contract wins.
        latest = {(p.account, p.contract.conId): p for p in answer}
        return [p for p in latest.values() if not account or p.account == account]

    async def _position(
        self, symbol: str, currency: str, quantity: float, avg_cost: float, items: dict[int, PortfolioItem]
    ) -> Position:
        resolved = self.resolver.cached(symbol)
        con_id = resolved.con_id if resolved else 0
        item = items.get(con_id) if con_id else None
        if item is None:
            item = next((p for p in items.values() if _same(self.resolver, p, symbol)), None)
        multiplier = float(resolved.contract.multiplier or 1) if resolved and resolved.contract.multiplier else 1.0
        contracts = abs(float(quantity))
        entry = clean_number(avg_cost)
        entry = entry / multiplier if entry is not None else None
        mark = clean_number(item.marketPrice) if item is not None else None
        if not mark:
            try:
                mark = await self.market.mid(symbol)
            except Exception as exc:
                log.info("no mark for position", extra={"symbol": symbol, "error": str(exc)})
                mark = None
        notional = contracts * multiplier * mark if mark else None
        unrealized = clean_number(item.unrealizedPNL) if item is not None else None
        if unrealized is None and mark and entry:
            unrealized = (mark - entry) * float(quantity) * multiplier
        basis = entry * contracts * multiplier if entry else None
        stamp = int(self.clock.now() * 1000)
        info: dict[str, Any] = {
            "position": float(quantity),
            "avgCost": avg_cost,
            "currency": currency,
            "conId": con_id or None,
            "marketPrice": item.marketPrice if item else None,
            "marketValue": item.marketValue if item else None,
            "realizedPNL": item.realizedPNL if item else None,
        }
        position: dict[str, Any] = {
            "info": info,
            "id": None,
            "symbol": symbol,
            "timestamp": stamp,
            "datetime": iso8601(stamp),
            "side": "short" if quantity < 0 else "long",
            "contracts": contracts,
            "contractSize": multiplier,
            "entryPrice": entry,
            "markPrice": mark,
            "notional": notional,
            "unrealizedPnl": unrealized,
            "realizedPnl": clean_number(item.realizedPNL) if item else None,
            "percentage": unrealized / basis * 100 if unrealized is not None and basis else None,
            "leverage": 1,
            "collateral": notional,
            "initialMargin": None,
            "initialMarginPercentage": None,
            "maintenanceMargin": None,
            "maintenanceMarginPercentage": None,
            "marginRatio": None,
            "liquidationPrice": None,
            "marginMode": "cross",
            "hedged": False,
            "positionMargin": None,
        }
        return position


async def equity_from_holdings(
    cash: list[tuple[float, str]],
    positions: list[Position],
    to_base: Callable[[float, str], Awaitable[float]],
) -> float:
    """Equity in the base currency from cash and positions, when IB reports no ``NetLiquidation``.

    Args:
        cash: ``(amount, currency)`` per currency (IB ``CashBalance``; negative when borrowed).
        positions: ccxt positions (``notional`` positive, ``side`` short or long, ``info["currency"]``).
        to_base: converts an amount of a currency into the base currency.

    Raises:
        ExchangeError: a position has no ``notional`` (no mark from IB's portfolio nor the live quote):
            it is never counted as 0, which would understate a long and overstate a short.
        FxRateUnavailable: a currency cannot be converted (from ``to_base``).
    """
    unpriced = [str(p["symbol"]) for p in positions if p.get("notional") is None]
    if unpriced:
        raise ExchangeError(
            f"equity unavailable: IB reported no NetLiquidation and {', '.join(unpriced)} has no mark price "
            "(IB portfolio or live quote); retry when the quote is back"
        )
    equity = 0.0
    for amount, currency in cash:
        equity += await to_base(amount, currency)
    for position in positions:
        sign = -1.0 if position["side"] == "short" else 1.0
        equity += sign * await to_base(float(position["notional"]), str(position["info"]["currency"]))
    return equity


def _same(resolver: ContractResolver, item: PortfolioItem, symbol: str) -> bool:
    return _symbol_of(resolver, item.contract) == symbol


def _symbol_of(resolver: ContractResolver, contract: Contract) -> str | None:
    """The canonical symbol of a contract IB reports, or None for instruments the SDK does not map."""
    try:
        return resolver.symbol_for(contract)
    except BadSymbol:
        return None
