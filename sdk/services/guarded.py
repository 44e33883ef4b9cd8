"""The guarded trader: what ``create_trader()`` returns, the venue behind the guards ``.env`` promises.

``create_trader("IB")`` (:func:`sdk.registry.create_trader`) wraps the venue in a :class:`GuardedTrader`. Its read
methods are the venue's (markets, tickers, books, candles, balances, positions, equity, FX). Its order methods —
``create_order``, every ccxt convenience built on it (``create_limit_buy_order``, ``create_stop_order`` ...),
and ``cancel_order`` / ``fetch_order`` / ``fetch_open_orders`` / ``fetch_closed_orders`` / ``fetch_my_trades``
of the orders it made — go through the service layer the runner and the MCP server use (one order path:
:class:`~sdk.services.execution.ExecutionService` built by :func:`~sdk.services.build_services`):

* ``ALLOWED_SYMBOLS`` / ``ALLOWED_INSTRUMENT_TYPES``: a symbol outside them is refused with
  :class:`~sdk.errors.SymbolNotAllowed` (a ccxt ``BadSymbol``) naming the setting to change;
* the RiskManager's limits (``MAX_ORDER_VALUE``, ``MAX_POSITION_VALUE``, ``MAX_TOTAL_EXPOSURE``,
  ``MAX_PRICE_OFF_MARKET_PCT``, ``DAILY_LOSS_LIMIT``, market hours, tick ladder ...: :mod:`sdk.risk.manager`)
  refuse with :class:`~sdk.errors.RiskRejected` (a ccxt ``InvalidOrder``; :class:`~sdk.errors.RiskFxUnavailable`
  when the order cannot be valued in the base currency), each carrying the decision in ``rejection``;
* ``EXECUTE_ORDERS=false`` (the default): the order is filled by the shadow venue
  (:mod:`sdk.services.shadow`) against the venue's live quote and nothing is sent; the returned ccxt ``Order``
  says so: ``info["shadow"]`` True, ``info["sent"]`` False, ``id`` ``shadow:<clientOrderId>``;
* ``EXECUTE_ORDERS=true``: the order is sent, after the live gate (:mod:`sdk.services.live_gate`) when the facts
  say the account is live (``IB_ALLOW_LIVE`` / ``CCXT_ALLOW_LIVE`` and the checklist, program ``sdk``).

Every refusal happens before anything is sent. ``params`` the RiskManager knows are ``clientOrderId`` (a retry with
the same id never sends twice), ``timeInForce`` (DAY, GTC, IOC, FOK), ``stopPrice`` / ``triggerPrice`` and
``reduceOnly``; any other (IB's ``outsideRth``, a ccxt venue's own) is refused with ``NotSupported``.

**The opt-out**: ``create_trader("IB", raw=True)`` returns the venue itself: its ``create_order`` sends what it is
given, checked only by the venue. Programs that build their own services over the venue (the runner, the MCP
server, ``trader demo``, the benchmarks) take the raw venue, so nothing is checked twice.

**The ledger.** The execution service needs one: idempotency by ``clientOrderId`` reads it before anything is
sent, and the live gate reads earlier sessions from it. With ``DATABASE_URL`` set (environment, ``./.env`` or the
settings given), or unset while its default ledger (``./data/trader.db``) exists, the guarded trader records its
session (program ``sdk``), orders and fills there, as the runner does, so the dashboard shows them, a retry in
another process is still answered from it, and the kill switch (``trader killswitch on``) and the day's opening
equity are the ones every other process sees (the database must be migrated: ``trader db upgrade``). With
``DATABASE_URL`` unset and no default ledger it uses a private ledger: a SQLite file in a
temporary directory, migrated on the first order and deleted at :meth:`GuardedTrader.close` — nothing is written
in the working directory by a library call. (Not ``:memory:``: every pooled connection would see its own empty
database, and the service writes from worker threads; not "no ledger": that would be a second order path.) A
private ledger holds no validating paper run, so a live account is always refused there.

Usage::

    async with create_trader("IB") as trader:                         # EXECUTE_ORDERS=false: shadow
        order = await trader.create_limit_buy_order("BHP/AUD", 100, 45.10)
        order["info"]["shadow"], order["status"], order["filled"]      # True, "closed", 100.0
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ccxt.base.types import Balances, Order, Position, Trade
from pydantic import ValidationError

from sdk.base import BaseTrader, MarketData, OrderSide
from sdk.errors import (
    InvalidOrder,
    LiveTradingNotAllowed,
    NotSupported,
    RiskFxUnavailable,
    RiskRefusal,
    RiskRejected,
    SymbolNotAllowed,
)
from sdk.ledger import Ledger, LedgerError, open_ledger, upgrade
from sdk.ledger.urls import is_sqlite, normalise_url, sqlite_path
from sdk.logs import new_run_id
from sdk.risk import OrderIntent, RejectCode
from sdk.services import Services, build_services
from sdk.services.forwarding import VenueForwarder
from sdk.services.live_gate import REFUSED_EVENT, is_live, require_live_ready
from sdk.symbols import parse_symbol
from sdk.venues.mode import venue_mode

__all__ = ["ORDER_PARAMS", "ORIGIN", "PROGRAM", "REFUSALS", "GuardedTrader", "refusal_error"]

log = logging.getLogger(__name__)

#: The ledger program of a guarded trader's session (the live gate's validating paper run is one of the same program).
PROGRAM = "sdk"
#: The origin of its orders (:class:`~sdk.risk.OrderIntent`).
ORIGIN = "manual:sdk"
#: The ``create_order`` params the RiskManager checks; any other is refused (use ``raw=True`` for the venue's own).
ORDER_PARAMS = frozenset({"clientOrderId", "timeInForce", "stopPrice", "triggerPrice", "reduceOnly"})
#: The error of each rejection code that is not an ``InvalidOrder`` (:class:`~sdk.errors.RiskRejected`).
REFUSALS: dict[str, type[RiskRefusal]] = {
    RejectCode.SYMBOL_NOT_ALLOWED: SymbolNotAllowed,
    RejectCode.INSTRUMENT_TYPE_NOT_ALLOWED: SymbolNotAllowed,
    RejectCode.FX_UNAVAILABLE: RiskFxUnavailable,
}
#: Venue methods that would place, change or cancel orders around the guards: never reached through the wrapper.


#: ``has`` entries the guarded trader says False for whatever the venue says: it refuses them (NotSupported).
REFUSED_HAS = {"createOrderWithTakeProfitAndStopLoss": False}


def _ledger_exists(url: str) -> bool:
    """Whether the (default, SQLite) ledger at ``url`` was created: its file exists."""
    path = sqlite_path(normalise_url(url)) if is_sqlite(normalise_url(url)) else None
    return path is not None and path.is_file()


def refusal_error(rejection: Mapping[str, Any]) -> RiskRefusal:
    """The ccxt error of a RiskManager rejection (``Rejected.to_dict()``): :data:`REFUSALS`, else
    :class:`~sdk.errors.RiskRejected`; the message names the code, the reason (what to do instead) and the limit."""
    code = str(rejection.get("code"))
    error = REFUSALS.get(code, RiskRejected)
    unit = f" {rejection['currency']}" if rejection.get("currency") else ""
    limit = rejection.get("limit")
    compared = f" (limit {limit}{unit}; this order {rejection.get('value')}{unit})" if limit is not None else ""
    message = f"refused by the RiskManager [{code}]: {rejection.get('reason')}{compared}; nothing was sent"
    return error(message, rejection)


def _decimal(name: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidOrder(f"{name} {value!r} is not a number; nothing was sent") from None


def order_intent(
    symbol: str, type: str, side: str, amount: Any, price: Any, params: Mapping[str, Any] | None
) -> OrderIntent:
    """The :class:`~sdk.risk.OrderIntent` of a ccxt ``create_order`` call (``price`` ignored for market and stop
    orders, as ccxt does).

    Raises:
        BadSymbol: ``symbol`` is not canonical ``BASE/QUOTE``.
        NotSupported: a param outside :data:`ORDER_PARAMS`.
        InvalidOrder: a malformed order (the message says which field and why).
    """
    parse_symbol(symbol)
    given = dict(params or {})
    unknown = sorted(set(given) - ORDER_PARAMS)
    if unknown:
        raise NotSupported(
            f"create_order params {unknown} are not checked by the RiskManager (it knows {sorted(ORDER_PARAMS)}); "
            "drop them, or use the raw venue (create_trader(..., raw=True)) to send them unchecked; nothing was sent"
        )
    stop = given.get("stopPrice", given.get("triggerPrice"))
    tif = given.get("timeInForce")
    try:
        return OrderIntent(
            symbol=symbol, side=side, type=type, amount=_decimal("amount", amount),
            price=None if type in ("market", "stop") else _decimal("price", price),
            stop_price=_decimal("stopPrice", stop), tif=str(tif).upper() if tif is not None else None,
            reduce_only=bool(given.get("reduceOnly", False)), client_order_id=given.get("clientOrderId"),
            origin=ORIGIN,
        )  # fmt: skip
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'order'}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise InvalidOrder(f"{side} {type} order of {symbol} is malformed: {problems}; nothing was sent") from None


class GuardedTrader(VenueForwarder):
    """A venue whose orders go through ``ALLOWED_SYMBOLS``, the RiskManager and ``EXECUTE_ORDERS`` (module docstring).

    Args:
        venue: the venue (``create_trader(name, raw=True)``); closed with this trader.
        ledger: an opened, migrated ledger to record in (the caller closes it); None: ``DATABASE_URL`` when it is
            set, else a private ledger (module docstring).
        shadow: simulate fills instead of sending; None: ``not settings.execute_orders``.

    Attributes:
        venue: the raw venue (its ``create_order`` is unchecked: the documented opt-out).
        shadow: True when nothing is sent (fills are simulated against the venue's live quote).
    """

    def __init__(self, venue: BaseTrader, *, ledger: Ledger | None = None, shadow: bool | None = None) -> None:
        super().__init__(venue)
        #: the venue's, less what the RiskManager cannot check (attached stop-loss/take-profit are refused)
        self.has = {**self.has, **REFUSED_HAS}  # type: ignore[misc]
        self.shadow = (not venue.settings.execute_orders) if shadow is None else shadow
        self._given_ledger = ledger
        self._private_dir: Path | None = None
        self._services: Services | None = None
        self._building = asyncio.Lock()
        self._live_passed: set[str] = set()

    def __repr__(self) -> str:
        return f"GuardedTrader({self.venue!r}, shadow={self.shadow})"

    # --- the services -------------------------------------------------------------------------
    async def services(self) -> Services:
        """The service set the orders go through, built on first use (a ledger session, program ``sdk``).

        In shadow mode ``services.venue`` is the shadow account (its balances and positions move with the shadow
        fills; the guarded trader's own ``fetch_balance``/``fetch_positions`` stay the venue's).

        Raises:
            LedgerNotMigrated: ``DATABASE_URL`` names a ledger not migrated (``trader db upgrade``).
            ModeConflict: the venue's facts disagree on paper or live.
        """
        async with self._building:
            if self._services is None:
                given = self._given_ledger
                ledger = given if given is not None else await asyncio.to_thread(self._open_ledger)
                try:
                    self._services = await build_services(
                        self.settings, self.venue, ledger, session_id=new_run_id(), shadow=self.shadow, program=PROGRAM
                    )
                except BaseException:
                    await asyncio.to_thread(self._release_ledger, ledger)
                    raise
            return self._services

    def _open_ledger(self) -> Ledger:
        url = self.settings.database_url
        if "database_url" in self.settings.model_fields_set or _ledger_exists(url):
            # the configured ledger, or the default one once something made it: where the kill switch, the
            # day's opening equity and earlier runs live (a private ledger would not see them)
            return open_ledger(url, configured_url=True)
        self._private_dir = Path(tempfile.mkdtemp(prefix="trader-sdk-ledger-"))
        url = f"sqlite:///{self._private_dir / 'ledger.db'}"
        upgrade(url)
        return open_ledger(url)

    def _release_ledger(self, ledger: Ledger) -> None:
        if ledger is not self._given_ledger:
            ledger.close()
        if self._private_dir is not None:
            shutil.rmtree(self._private_dir, ignore_errors=True)
            self._private_dir = None

    async def _order_venue(self) -> BaseTrader:
        """Where this trader's orders live: the shadow account in shadow mode, else the venue."""
        if not self.shadow:
            return self.venue
        return (await self.services()).venue

    async def _live_gate(self, services: Services, symbol: str) -> None:
        """On a live account (the facts), nothing is sent until the live gate's checklist passes (program ``sdk``)."""
        if services.shadow or symbol in self._live_passed:
            return
        mode = venue_mode(self.venue, self.settings)
        if not is_live(mode, execute=True):
            return
        spec = await self.venue.fetch_instrument(symbol)
        try:
            await asyncio.to_thread(
                require_live_ready, self.settings, services.ledger, {symbol: spec.market}, mode=mode, program=PROGRAM
            )
        except LiveTradingNotAllowed as exc:
            await asyncio.to_thread(
                services.writer.record_event, REFUSED_EVENT, {"refusal": str(exc)}, message=str(exc), symbol=symbol,
                source=PROGRAM, run_id=services.session_id,
            )  # fmt: skip
            raise
        self._live_passed.add(symbol)

    # --- lifecycle ----------------------------------------------------------------------------
    async def connect(self) -> None:
        """Connect the venue (the services are built at the first order)."""
        await self.venue.connect()

    async def close(self) -> None:
        """End the ledger session (reason ``stopped``), release the ledger (a private one is deleted), close the venue.
        Idempotent."""
        services, self._services = self._services, None
        try:
            if services is not None:
                with contextlib.suppress(LedgerError):
                    await asyncio.to_thread(services.writer.end_session, services.session_id, reason="stopped")
                await asyncio.to_thread(self._release_ledger, services.ledger)
        finally:
            await self.venue.close()

    # --- account reads: the venue's (market data comes from VenueForwarder) ------------------------
    async def fetch_balance(self, params: dict[str, Any] | None = None) -> Balances:
        return await self.venue.fetch_balance(params)

    async def fetch_positions(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> list[Position]:
        return await self.venue.fetch_positions(symbols, params)

    async def get_equity(self) -> float:
        return await self.venue.get_equity()

    async def get_market_data(self, symbol: str) -> MarketData:
        return await self.venue.get_market_data(symbol)

    # --- orders: through the services ---------------------------------------------------------
    async def create_order(
        self,
        symbol: str,
        type: str,
        side: OrderSide,
        amount: float,
        price: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> Order:
        """Check the order like the runner does, then fill it in shadow (``EXECUTE_ORDERS=false``) or send it.

        Args: as :meth:`sdk.base.BaseTrader.create_order` (``amount`` base units, ``price`` quote currency);
            ``params``: :data:`ORDER_PARAMS` only.

        Returns:
            The ccxt ``Order``; ``info["shadow"]`` (True: simulated, nothing sent), ``info["sent"]`` and
            ``info["riskDecision"]`` (the RiskManager's approval: normalised order, notional in the base currency,
            cost estimate, warnings). A retry with the same ``clientOrderId`` returns the first order, sending nothing.

        Raises:
            SymbolNotAllowed (BadSymbol): outside ``ALLOWED_SYMBOLS`` / ``ALLOWED_INSTRUMENT_TYPES``.
            RiskRejected (InvalidOrder): a RiskManager limit; RiskFxUnavailable: no FX rate to value it.
            LiveTradingNotAllowed: a live account without ``*_ALLOW_LIVE=true`` and the live checklist.
            NotSupported: an unknown param. InvalidOrder: a malformed order. BadSymbol: the venue does not list it.
            The venue's errors when it refuses a sent order (InvalidOrder, InsufficientFunds ...).
            Nothing is sent in any refusal above.
        """
        intent = order_intent(symbol, type, side, amount, price, params)
        services = await self.services()
        await self._live_gate(services, symbol)
        result = await services.execution.submit(intent)
        if not result.approved or result.order is None:
            raise refusal_error(result.risk_decision)
        info = {**(result.order.get("info") or {}), "shadow": result.shadow, "sent": not result.shadow}
        info["riskDecision"] = result.risk_decision
        return {**result.order, "info": info}

    async def cancel_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """Cancel one of its orders (by id or clientOrderId; a shadow order in shadow mode), recorded in the ledger.
        Cancelling is never gated: it only lowers what is at stake.

        Raises:
            OrderNotFound: no such order. InvalidOrder: already filled.
        """
        if self._services is None and not self.shadow:
            return await self.venue.cancel_order(id, symbol, params)
        return await (await self.services()).execution.cancel(id)

    async def fetch_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        """One of its orders as it stands now (a resting shadow order is first worked against the live quote)."""
        order = await (await self._order_venue()).fetch_order(id, symbol, params)
        services = self._services
        if services is not None and order.get("clientOrderId") in services.execution.open_client_order_ids:
            await services.execution.reconcile_order(order)
        return order

    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Order]:
        """Its open orders (shadow orders in shadow mode; else the venue's orders of ``CLIENT_ORDER_PREFIX``)."""
        return await (await self._order_venue()).fetch_open_orders(symbol, since, limit, params)

    async def fetch_closed_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Order]:
        """Its finished orders (filled, cancelled, expired, rejected), oldest first.

        Raises:
            NotSupported: the venue has no ``fetchClosedOrders`` (executing mode).
        """
        return await (await self._order_venue()).fetch_closed_orders(symbol, since, limit, params)

    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Trade]:
        """Its fills (the shadow fills in shadow mode), oldest first; ``fee`` None while pending."""
        return await (await self._order_venue()).fetch_my_trades(symbol, since, limit, params)

    async def get_trades_from_timestamp(
        self, since: int, symbol: str | None = None, page_size: int = 100, max_pages: int = 1000
    ) -> list[Trade]:
        if self.shadow:
            return await super().get_trades_from_timestamp(since, symbol, page_size, max_pages)
        return await self.venue.get_trades_from_timestamp(since, symbol, page_size, max_pages)
