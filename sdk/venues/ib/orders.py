"""Orders on IB: validation, idempotent client order ids, status tracking and reconciliation.

* Every order carries a client order id, ``CLIENT_ORDER_PREFIX`` + a unique suffix, in IB's
  ``orderRef`` (echoed in openOrder, orderStatus and execDetails). A caller may choose it with
  ``params={"clientOrderId": ...}``; a second ``create_order`` with an id already held never sends
  a second order: it returns (or re-raises) the first one's outcome.
* An order is registered before it is sent, so a connection drop between ``placeOrder`` and IB's
  acknowledgement loses nothing: after the reconnect, :meth:`OrderService.reconcile` finds it in
  IB's open or completed orders by ``orderRef``, or proves IB never got it (then, and only then,
  the same client order id may be sent again). The proof needs both of IB's answers in full, the
  open orders of every client id (``reqAllOpenOrders``) and the completed orders
  (``reqCompletedOrders``), read in that reconcile; when either does not arrive the order stays
  *unknown* (ccxt ``open``, ``info["reconcile"]`` says so), a retry of ``create_order`` with its
  id sends nothing, and the reconcile is retried (the connection's retry of a failed resync step).
* ``stopLossPrice``/``takeProfitPrice`` attach exits as IB's bracket (:mod:`sdk.venues.ib.brackets`): the
  children are orders of their own (``<id>-sl``, ``<id>-tp``), registered and reconciled like any other.
* Statuses map through :data:`sdk.venues.ib.parsing.ORDER_STATUS`; IB's raw status stays in
  ``info["status"]``. ``timeInForce`` is ccxt's (GTC, IOC, FOK); IB's DAY, OPG and GTD have no
  ccxt value, so it is None for them and IB's tif is ``info["tif"]``. ``id`` is IB's ``permId``
  (stable across sessions and client ids) once IB has acknowledged the order, the client order id
  before that.

* Memory stays flat over a long run: an order that is finished (terminal, every fill's commission
  known; never one proven lost) is kept for lookups while it is among the last
  :data:`RETAIN_FINISHED` finished ones, then dropped with its fills and ib_async's trade and fills of it.
  A dropped order is no longer found by ``fetch_order`` (the ledger holds it); a ``create_order``
  reusing its id (among the last :data:`REMEMBER_DROPPED`) is refused, never sent. IB's completed
  orders re-adopt it at the next reconnect, and it is dropped again.

Contract id, exchange and commission source are logged for every order and fill.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from ccxt.base.types import Order
from ib_async import CommissionReport, Fill, Trade
from ib_async import Order as IBOrder

from sdk.clock import Clock
from sdk.errors import (
    BadRequest,
    InvalidOrder,
    NetworkError,
    OrderNotFound,
    PermissionDenied,
    RequestTimeout,
)
from sdk.instruments import InstrumentSpec, refuse_market_order
from sdk.settings import Settings
from sdk.ticks import safe_direction
from sdk.venues.ib.brackets import Bracket, attach, check_bracket, child_records, parse_bracket
from sdk.venues.ib.connection import IBConnection, ResyncReason
from sdk.venues.ib.contracts import ContractResolver, ResolvedContract
from sdk.venues.ib.executions import ExecutionStore, FillRecord
from sdk.venues.ib.order_checks import check_params, check_size, same_request
from sdk.venues.ib.order_records import LOST, OrderRecord, order_structure
from sdk.venues.ib.parsing import (
    BRACKET_SUFFIXES,
    MAX_AMOUNT,
    MAX_PRICE,
    ORDER_REJECTION_CODES,
    ORDER_TYPES,
    TIME_IN_FORCE,
    clean_number,
    error_for,
    sane_price,
)

__all__ = ["LOST", "OrderRecord", "OrderService", "new_client_order_id"]

log = logging.getLogger(__name__)

_CLIENT_ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
#: Finished orders kept for lookups (``fetch_order``, a duplicate ``create_order``) before they are dropped.
RETAIN_FINISHED = 256
#: Client order ids of dropped orders remembered (a few dozen bytes each) so a reuse is refused, never sent.
REMEMBER_DROPPED = 50_000


def new_client_order_id(prefix: str) -> str:
    """``prefix`` + 16 random hex digits (``trd-3f9c2a1e0b7d4c55``)."""
    return f"{prefix}{uuid.uuid4().hex[:16]}"


PositionLookup = Callable[[str], Awaitable[float]]
InstrumentLookup = Callable[[str], Awaitable[InstrumentSpec]]
#: ``symbol -> (bid, ask)`` in the quote currency, None where there is no quote.
QuoteLookup = Callable[[str], Awaitable[tuple[float | None, float | None]]]


class OrderService:
    """Places, cancels, tracks and reconciles this SDK's orders on one :class:`IBConnection`.

    Args:
        settings: ``CLIENT_ORDER_PREFIX``.
        conn: the session (its ``ib`` and resync hooks).
        resolver: canonical symbol <-> contract.
        executions: the fill store shared with the trader.
        clock: timestamps of orders (the venue's clock in tests on the offline gateway).
        instrument: ``symbol -> InstrumentSpec`` (price ladder and size step checks).
        position: ``symbol -> signed position`` in base units (ccxt's ``reduceOnly`` check).
        quote: ``symbol -> (bid, ask)``: the entry of a market order with a bracket (its exits' side check).
    """

    def __init__(
        self,
        settings: Settings,
        conn: IBConnection,
        resolver: ContractResolver,
        executions: ExecutionStore,
        clock: Clock,
        instrument: InstrumentLookup,
        position: PositionLookup,
        quote: QuoteLookup | None = None,
        ack_timeout: float | None = None,
        reconcile_timeout: float | None = None,
    ) -> None:
        self.prefix = settings.client_order_prefix
        self.conn = conn
        self.resolver = resolver
        self.executions = executions
        #: whether the last :meth:`reconcile` read both of IB's order lists in full (:meth:`never_received`)
        self.last_reconcile_complete = False
        self.clock = clock
        self._instrument = instrument
        self._position = position
        self._quote = quote
        self.ack_timeout = ack_timeout or settings.ib_connect_timeout
        #: seconds reconcile waits for each of IB's order lists before the order states stay unknown
        self.reconcile_timeout = reconcile_timeout or min(self.ack_timeout, 5.0)
        self._orders: dict[str, OrderRecord] = {}
        self._by_perm: dict[int, OrderRecord] = {}
        self._by_ib_id: dict[tuple[int, int], OrderRecord] = {}
        self._id_locks: dict[str, asyncio.Lock] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()  # client order ids, oldest first
        self._dropped: OrderedDict[str, int | None] = OrderedDict()  # client order id -> permId
        self.retain_finished = RETAIN_FINISHED
        ib = conn.ib
        ib.openOrderEvent += self._on_trade
        ib.orderStatusEvent += self._on_trade
        ib.execDetailsEvent += self._on_exec
        ib.commissionReportEvent += self._on_commission
        ib.errorEvent += self._on_error
        conn.add_resync_hook("orders", self.reconcile)

    # --- lookup ---------------------------------------------------------------------------
    def records(self) -> list[OrderRecord]:
        """Every order held, oldest first."""
        return sorted(self._orders.values(), key=lambda r: (r.timestamp, r.client_order_id))

    def never_received(self, client_order_id: str) -> bool | None:
        """True when IB provably does not have ``client_order_id``: the last reconcile read both of IB's order lists
        in full (every order of this SDK in them is held here) and neither they nor the executions know it; False
        when IB has it; None when it cannot be proven (a reconcile read only part, or none ran yet)."""
        if self.find(client_order_id) is not None or self.executions.for_order(None, client_order_id):
            return False
        return True if self.last_reconcile_complete else None

    def find(self, id: str) -> OrderRecord | None:
        """An order by ``permId`` (as a string) or by client order id."""
        if id in self._orders:
            return self._orders[id]
        if id.isdigit():
            return self._by_perm.get(int(id))
        return None

    def owners(self) -> dict[int, list[str]]:
        """Client id -> client order ids of the open orders it placed (only that id may modify them)."""
        owners: dict[int, list[str]] = {}
        for record in self._orders.values():
            if not record.is_done and record.client_id is not None:
                owners.setdefault(record.client_id, []).append(record.client_order_id)
        return owners

    def _index(self, record: OrderRecord) -> None:
        self._orders[record.client_order_id] = record
        if record.perm_id:
            self._by_perm[record.perm_id] = record
        if record.client_id is not None and record.order_id:
            self._by_ib_id[(record.client_id, record.order_id)] = record

    def _record_for(self, trade: Trade) -> OrderRecord | None:
        order = trade.order
        if order.permId and order.permId in self._by_perm:
            return self._by_perm[order.permId]
        if order.orderRef and order.orderRef in self._orders:
            return self._orders[order.orderRef]
        return self._by_ib_id.get((order.clientId, order.orderId))

    # --- structures -----------------------------------------------------------------------
    def to_order(self, record: OrderRecord) -> Order:
        """The ccxt order structure of a record, with its fills as ``trades``."""
        return order_structure(record, self.executions.for_order(record.perm_id, record.client_order_id))

    # --- placing --------------------------------------------------------------------------
    async def create_order(
        self,
        symbol: str,
        type: str,
        side: str,
        amount: float,
        price: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> Order:
        """Validate, send once, and return the acknowledged order (see :meth:`IBTrader.create_order`)."""
        params = dict(params or {})
        check_params(params)
        client_order_id = self._client_order_id(params.get("clientOrderId"))
        bracket = parse_bracket(params, client_order_id)
        lock = self._id_locks.setdefault(client_order_id, asyncio.Lock())
        async with lock:
            if client_order_id in self._dropped:
                raise InvalidOrder(
                    f"clientOrderId {client_order_id} was already used for an order that finished (permId "
                    f"{self._dropped[client_order_id]}); its outcome is in the ledger. Use a new clientOrderId"
                )
            existing = self._orders.get(client_order_id)
            if existing is not None and not existing.lost:
                same_request(existing, symbol, type, side, amount, bracket)
                log.info(
                    "duplicate create_order: returning the order already sent",
                    extra={"orderRef": client_order_id, "permId": existing.perm_id},
                )
                return await self._await_ack(existing)
            record = await self._prepare(client_order_id, symbol, type, side, amount, price, params, bracket)
            children = child_records(record, bracket) if bracket is not None else []
            for child in children:
                held = self._orders.get(child.client_order_id)
                if child.client_order_id in self._dropped or (held is not None and not held.lost):
                    raise InvalidOrder(
                        f"clientOrderId {child.client_order_id}, which this bracket's child would take, is already "
                        f"used; use another clientOrderId than {client_order_id} (nothing was sent)"
                    )
            await self.conn.ensure_ready()
            self._send([record, *children], params)
            return await self._await_ack(record)

    def _client_order_id(self, given: Any) -> str:
        if given is None:
            return new_client_order_id(self.prefix)
        if not isinstance(given, str) or not _CLIENT_ORDER_ID.fullmatch(given):
            raise BadRequest(
                f"clientOrderId {given!r} must be 1-40 letters, digits, '-' or '_' (IB orderRef), "
                f"e.g. {new_client_order_id(self.prefix)!r}"
            )
        if not given.startswith(self.prefix):
            raise BadRequest(
                f"clientOrderId {given!r} must start with CLIENT_ORDER_PREFIX {self.prefix!r} so the SDK can "
                f"tell its orders from others, e.g. {self.prefix}{given}"
            )
        return given

    async def _prepare(
        self,
        client_order_id: str,
        symbol: str,
        type: str,
        side: str,
        amount: float,
        price: float | None,
        params: dict[str, Any],
        bracket: Bracket | None = None,
    ) -> OrderRecord:
        if type not in ORDER_TYPES:
            raise InvalidOrder(f"order type {type!r} is not supported on IB; use one of {', '.join(ORDER_TYPES)}")
        if side not in ("buy", "sell"):
            raise InvalidOrder(f"side {side!r} must be 'buy' or 'sell'")
        if not isinstance(amount, int | float) or not math.isfinite(amount) or not 0 < amount <= MAX_AMOUNT:
            raise InvalidOrder(
                f"amount {amount!r} must be a positive number of base units (shares, or FX base), "
                f"at most {MAX_AMOUNT:g}"
            )
        tif = str(params.get("timeInForce", "GTC")).upper()
        if tif not in TIME_IN_FORCE:
            raise InvalidOrder(f"timeInForce {tif!r} is not supported on IB; use one of {', '.join(TIME_IN_FORCE)}")
        stop_price = params.get("stopPrice", params.get("triggerPrice"))
        if type in ("limit", "stop_limit") and not sane_price(price):
            raise InvalidOrder(
                f"a {type} order needs a positive price in the quote currency (at most {MAX_PRICE:g}), got {price!r}"
            )
        if type in ("stop", "stop_limit") and not sane_price(stop_price):
            raise InvalidOrder(
                f"a {type} order needs params={{'stopPrice': <trigger price>}}, positive and at most {MAX_PRICE:g} "
                f"in the quote currency, got {stop_price!r}"
            )
        spec = await self._instrument(symbol)  # BadSymbol for unknown symbols
        check_size(spec, amount)
        for label, value in (("price", price if type in ("limit", "stop_limit") else None), ("stopPrice", stop_price)):
            if value is not None and not spec.ladder.is_on_ladder(value):
                good = spec.ladder.round(value, safe_direction(side))  # type: ignore[arg-type]
                raise InvalidOrder(
                    f"{label} {value} is not on {symbol}'s price ladder (step {spec.ladder.increment_at(value)} "
                    f"{spec.quote}; IB error 110 otherwise); the nearest safe price is {good}"
                )
        reduce_only = bool(params.get("reduceOnly", False))
        refuse_market_order(spec, type)  # the SDK's one market-order rule (ASX, MARKET_ORDERS_AS_LIMITS)
        if bracket is not None:
            entry = price if type in ("limit", "stop_limit") else stop_price if type == "stop" else None
            check_bracket(bracket, side, entry or await self._touch(symbol, side), spec, reduce_only)
        if reduce_only:
            await self._check_reduce_only(spec, side, amount)
        resolved = await self.resolver.resolve(symbol)
        return OrderRecord(
            client_order_id=client_order_id,
            symbol=symbol,
            type=type,
            side=side,
            amount=float(amount),
            price=float(price) if price is not None and type in ("limit", "stop_limit") else None,
            stop_price=float(stop_price) if stop_price is not None else None,
            time_in_force=tif,
            reduce_only=reduce_only,
            timestamp=int(self.clock.now() * 1000),
            con_id=resolved.con_id,
            exchange=resolved.contract.exchange or resolved.contract.primaryExchange,
            stop_loss_price=bracket.stop_loss if bracket is not None else None,
            take_profit_price=bracket.take_profit if bracket is not None else None,
        )

    async def _touch(self, symbol: str, side: str) -> float:
        """The price a market order of ``side`` would take now: the ask for a buy, the bid for a sell."""
        bid, ask = await self._quote(symbol) if self._quote is not None else (None, None)
        touch = ask if side == "buy" else bid
        if touch is None or not sane_price(touch):
            raise InvalidOrder(
                f"no {'ask' if side == 'buy' else 'bid'} for {symbol} to check the stop-loss and take-profit of a "
                "market order against; send a limit order with them instead (nothing was sent)"
            )
        return float(touch)

    async def _check_reduce_only(self, spec: InstrumentSpec, side: str, amount: float) -> None:
        """ccxt's ``reduceOnly`` for any order type: IB has no such flag for stocks and FX, so the order is
        refused unless it only reduces the position held now (``fetch_positions``)."""
        held = await self._position(spec.symbol)
        reduces = (held > 0 and side == "sell") or (held < 0 and side == "buy")
        if not reduces or amount > abs(held) + 1e-9:
            raise InvalidOrder(
                f"a reduceOnly {side} of {amount} {spec.base} would not only reduce the position "
                f"of {held} {spec.base} in {spec.symbol}; use at most {abs(held)} on the closing side"
            )

    def _send(self, records: list[OrderRecord], params: dict[str, Any]) -> None:
        """Place ``records`` (an order, or a bracket's parent then its children) in one go, without awaiting."""
        resolved = self.resolver.cached(records[0].symbol)
        assert resolved is not None  # resolved in _prepare
        orders = [self._ib_order(record, params) for record in records]
        for record in records:
            self._index(record)
        try:
            for record, order in zip(records, orders, strict=True):
                if record.parent is not None:
                    attach(order, orders[0], record.parent)  # the parent is placed: its orderId is known
                order.transmit = order is orders[-1]  # IB transmits a bracket with its last child
                trade = self.conn.ib.placeOrder(resolved.contract, order)
                record.order_id, record.client_id, record.lost = trade.order.orderId, trade.order.clientId, False
                self._index(record)
                _log_order("order sent", record, resolved)
        except ConnectionError as exc:
            for record in records:
                self._orders.pop(record.client_order_id, None)
            raise NetworkError(f"IB connection lost before order {records[0].client_order_id} was sent: {exc}") from exc

    def _ib_order(self, record: OrderRecord, params: dict[str, Any]) -> IBOrder:
        order = IBOrder(
            action="BUY" if record.side == "buy" else "SELL",
            totalQuantity=record.amount,
            orderType=ORDER_TYPES[record.type],
            tif=record.time_in_force,
            orderRef=record.client_order_id,
            transmit=True,
            outsideRth=bool(params.get("outsideRth", False)),
        )
        if self.conn.account:
            order.account = self.conn.account
        if record.price is not None:
            order.lmtPrice = record.price
        if record.stop_price is not None:
            order.auxPrice = record.stop_price
        return order

    async def _await_ack(self, record: OrderRecord, timeout: float | None = None) -> Order:  # noqa: ASYNC109
        """Wait until IB acknowledges, rejects, or proves it never got the order."""
        deadline = asyncio.get_running_loop().time() + (timeout or self.ack_timeout)
        while not (record.acknowledged or record.is_done or record.lost):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                state = (
                    "whether IB has it is unknown (IB's order lists could not be read after the reconnect; "
                    "reconciliation retries), and it is not sent again"
                    if record.unknown
                    else f"IB has not acknowledged it within {timeout or self.ack_timeout} s; it may be live"
                )
                raise RequestTimeout(
                    f"order {record.client_order_id} was sent but {state}: fetch_order({record.client_order_id!r}) "
                    "later, or retry create_order with the same clientOrderId (no second order is sent)"
                )
            try:
                await asyncio.wait_for(record.changed(), left)
            except TimeoutError:
                continue
        if record.lost:
            raise NetworkError(
                f"order {record.client_order_id} never reached IB (the connection dropped before IB acknowledged "
                "it); create_order with the same clientOrderId sends it again"
            )
        if record.status == "rejected":
            raise error_for(record.error_code or 201, record.error_message or "order rejected")
        return self.to_order(record)

    # --- cancelling -----------------------------------------------------------------------
    async def cancel_order(self, id: str) -> Order:
        """Cancel by permId or client order id; returns the order once IB confirms (or as last known).

        Raises:
            OrderNotFound: no order of this SDK has that id.
            InvalidOrder: the order is already filled or was rejected.
            PermissionDenied: another client id placed it (IB lets only that id cancel it).
        """
        record = self.find(id)
        if record is None:
            raise OrderNotFound(f"no order with id or clientOrderId {id!r} placed by this SDK")
        if record.status in ("canceled", "expired"):
            return self.to_order(record)
        if record.is_done:
            raise InvalidOrder(f"order {id} is {record.status}; there is nothing to cancel")
        await self.conn.ensure_ready()
        if record.client_id is not None and record.client_id != self.conn.client_id:
            raise PermissionDenied(
                f"order {id} belongs to IB client id {record.client_id} and this session holds "
                f"{self.conn.client_id}; IB lets only the owning client cancel it (reconnect with that id)"
            )
        ib_order = self._ib_trade_order(record)
        try:
            self.conn.ib.cancelOrder(ib_order)
        except ConnectionError as exc:
            raise NetworkError(f"IB connection lost while cancelling {id}: {exc}") from exc
        log.info("cancel sent", extra={"orderRef": record.client_order_id, "permId": record.perm_id})
        deadline = asyncio.get_running_loop().time() + self.ack_timeout
        while not record.is_done:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break  # IB confirms asynchronously; the caller sees PendingCancel in info
            try:
                await asyncio.wait_for(record.changed(), left)
            except TimeoutError:
                break
        if record.status == "rejected" and record.error_code not in ORDER_REJECTION_CODES:
            raise error_for(record.error_code or 10148, record.error_message)
        return self.to_order(record)

    def _ib_trade_order(self, record: OrderRecord) -> IBOrder:
        for trade in self.conn.ib.trades():
            if (record.perm_id and trade.order.permId == record.perm_id) or (
                trade.order.orderId == record.order_id and trade.order.clientId == record.client_id
            ):
                return trade.order
        return IBOrder(orderId=record.order_id or 0, clientId=record.client_id or 0, permId=record.perm_id or 0)

    # --- events ---------------------------------------------------------------------------
    def _on_trade(self, trade: Trade) -> None:
        record = self._record_for(trade)
        if record is None:
            return
        self._update_from_trade(record, trade)

    def _update_from_trade(self, record: OrderRecord, trade: Trade) -> None:
        order, status = trade.order, trade.orderStatus
        if order.permId:
            record.perm_id = order.permId
        if order.orderId:
            record.order_id = order.orderId
        if order.clientId or record.client_id is None:
            record.client_id = order.clientId
        if status.status and status.status != "ValidationError":
            record.ib_status = status.status
        if status.status not in ("PendingSubmit", "ApiPending", ""):
            record.acknowledged = True
        filled = clean_number(status.filled) or clean_number(order.filledQuantity)  # completed orders: the latter
        if filled is not None and filled >= record.filled:
            record.filled = filled
            remaining = clean_number(status.remaining)
            record.remaining = remaining if remaining is not None else record.remaining
        average = clean_number(status.avgFillPrice)
        if average and record.filled:
            record.average = average
        record.lost = record.unknown = False
        record.last_update = int(self.clock.now() * 1000)
        self._index(record)
        record.notify()
        self._settle(record)

    def _on_error(self, req_id: int, code: int, message: str, contract: Any) -> None:
        if req_id <= 0 or self.conn.client_id is None:
            return
        record = self._by_ib_id.get((self.conn.client_id, req_id))
        # ib_async marks the order Cancelled (orderStatusEvent) just before it emits the error that
        # says why: a "canceled" order without an error code still takes it (201 makes it rejected).
        if record is None or record.status == "closed" or (record.is_done and record.error_code is not None):
            return
        warning = code in (110, 321, 399, 404) and record.acknowledged
        if warning:
            record.error_message = message
            log.warning("IB order warning", extra={"orderRef": record.client_order_id, "code": code})
        else:
            record.error_code, record.error_message = code, message
            if code in ORDER_REJECTION_CODES or code == 202:
                record.ib_status = "Cancelled"
            (log.info if code == 202 else log.warning)(
                "IB order cancelled" if code == 202 else "IB order error",
                extra={"orderRef": record.client_order_id, "code": code, "ib_message": message},
            )
        record.notify()

    def _on_exec(self, trade: Trade, fill: Fill) -> None:
        self.ingest_fill(fill)
        record = self._record_for(trade)
        if record is not None:
            self._update_from_trade(record, trade)

    def ingest_fill(self, fill: Fill) -> FillRecord | None:
        """Add one execution to the store (no duplicates); logs a new fill with conId and exchange."""
        try:
            symbol = self.resolver.symbol_for(fill.contract)
        except Exception:  # a contract with no canonical symbol (options ...): not ours to report
            log.info("execution for an unsupported contract skipped", extra={"execId": fill.execution.execId})
            return None
        record, is_new = self.executions.ingest(fill, symbol)
        if is_new:
            log.info(
                "fill",
                extra={
                    "execId": record.exec_id,
                    "orderRef": record.order_ref,
                    "permId": record.perm_id,
                    "symbol": symbol,
                    "conId": record.con_id,
                    "exchange": record.exchange,
                    "amount": record.amount,
                    "price": record.price,
                    "commissionSource": record.commission_source,
                },
            )
            owner = self._by_perm.get(record.perm_id) or self._orders.get(record.order_ref)
            if owner is not None:
                owner.notify()
        return record

    def _on_commission(self, trade: Trade, fill: Fill, report: CommissionReport) -> None:
        self.apply_commission(report)

    def apply_commission(self, report: CommissionReport) -> None:
        """Attach IB's commission report to its fill; logs when a fee becomes known."""
        record = self.executions.apply_commission(report)
        if record is not None:
            owner = self._by_perm.get(record.perm_id) or self._orders.get(record.order_ref)
            if owner is not None:
                self._settle(owner)
            log.info(
                "commission",
                extra={
                    "execId": record.exec_id,
                    "orderRef": record.order_ref,
                    "conId": record.con_id,
                    "exchange": record.exchange,
                    "commission": record.commission,
                    "currency": record.commission_currency,
                    "commissionSource": record.commission_source,
                },
            )

    def refresh_commissions(self) -> None:
        """Pick up commission reports ib_async holds for fills still pending here."""
        known = {f.execution.execId: f for f in self.conn.ib.fills()}
        for record in self.executions.pending():
            fill = known.get(record.exec_id)
            if fill is not None and fill.commissionReport.execId:
                self.apply_commission(fill.commissionReport)

    # --- bookkeeping ----------------------------------------------------------------------
    def _settle(self, record: OrderRecord) -> None:
        """Count ``record`` as finished once it is terminal with every commission known; drop the oldest."""
        cid = record.client_order_id
        if cid in self._finished or not record.is_done or record.lost:
            return
        fills = self.executions.for_order(record.perm_id, cid)
        if any(f.commission is None for f in fills):
            return  # its fee is still to come: kept until it is known
        self._finished[cid] = None
        while len(self._finished) > self.retain_finished:
            old, _ = self._finished.popitem(last=False)
            dropped = self._orders.get(old)
            if dropped is not None and dropped.is_done and not dropped.lost:
                self._forget(dropped)

    def _forget(self, record: OrderRecord) -> None:
        """Drop a finished order from this service and from ib_async (its trade and fills)."""
        cid = record.client_order_id
        self._orders.pop(cid, None)
        self._dropped[cid] = record.perm_id
        while len(self._dropped) > REMEMBER_DROPPED:
            self._dropped.popitem(last=False)
        if record.perm_id:
            self._by_perm.pop(record.perm_id, None)
        if record.client_id is not None and record.order_id:
            self._by_ib_id.pop((record.client_id, record.order_id), None)
        lock = self._id_locks.get(cid)
        if lock is not None and not lock.locked():
            del self._id_locks[cid]
        self.executions.forget(record.perm_id, cid)
        wrapper = self.conn.ib.wrapper
        for key, trade in list(wrapper.trades.items()):
            if trade.order.orderRef == cid or (record.perm_id and trade.order.permId == record.perm_id):
                del wrapper.trades[key]
        if record.perm_id:
            wrapper.permId2Trade.pop(record.perm_id, None)
        for exec_id, fill in list(wrapper.fills.items()):
            if fill.execution.orderRef == cid or (record.perm_id and fill.execution.permId == record.perm_id):
                del wrapper.fills[exec_id]

    @property
    def held(self) -> int:
        """How many orders this service holds now (open, recent finished ones, and any proven lost)."""
        return len(self._orders)

    # --- reconciliation -------------------------------------------------------------------
    async def reconcile(self, reason: ResyncReason = "reconnect") -> None:
        """Match IB's open and completed orders and executions with what this SDK holds.

        Runs after every (re)connect, before the session is ready. IB is asked for the open orders
        of every client id (``reqAllOpenOrders``) and the completed orders (``reqCompletedOrders``),
        each within :attr:`reconcile_timeout` seconds. Orders of this SDK (``orderRef`` with
        ``CLIENT_ORDER_PREFIX``) that IB reports are updated or, when placed by an earlier process,
        adopted; executions are merged without duplicates.

        An order sent but never acknowledged that IB does not report, and has no fill of, is marked
        lost (sending its client order id again is then safe) only when both answers arrived in
        full in this reconcile. Otherwise it is *unknown*: not lost, not sent again, and this
        method raises so the connection retries it (a failed resync step, health ``degraded``).
        An acknowledged open order IB no longer reports is flagged (``info["reconcile"]``), never dropped.

        Raises:
            RequestTimeout: IB's open or completed orders did not arrive in time (nothing is marked lost).
            NetworkError: the connection dropped while asking.
        """
        ib = self.conn.ib
        open_answer, completed_answer = await asyncio.gather(
            self._ask("reqAllOpenOrders", ib.reqAllOpenOrdersAsync),
            self._ask("reqCompletedOrders", lambda: ib.reqCompletedOrdersAsync(False)),
        )
        complete = open_answer is not None and completed_answer is not None
        self.last_reconcile_complete = complete
        trades = [*ib.trades(), *(open_answer or []), *(completed_answer or [])]
        seen: set[str] = set()
        adopted = 0
        for trade in trades:
            ref = trade.order.orderRef or ""
            if not ref.startswith(self.prefix):
                continue
            record = self._record_for(trade)
            if record is None:
                record = self._adopt(trade)
                if record is None:
                    continue
                adopted += 1
            self._update_from_trade(record, trade)
            record.acknowledged = True
            record.unconfirmed_after_resync = False
            seen.add(record.client_order_id)
        for fill in ib.fills():
            self.ingest_fill(fill)
        self.refresh_commissions()
        lost = unknown = 0
        for record in self._orders.values():
            if record.client_order_id in seen or record.is_done:
                continue
            if not record.acknowledged:
                if self.executions.for_order(record.perm_id, record.client_order_id):
                    record.acknowledged, record.unknown = True, False  # IB executed it: IB has it
                elif complete:
                    record.lost, record.unknown = True, False
                    lost += 1
                else:
                    record.unknown = True
                    unknown += 1
            elif complete:
                record.unconfirmed_after_resync = True
            record.notify()
        log.info(
            "orders reconciled" if complete else "orders reconciled in part",
            extra={
                "reason": reason,
                "reported": len(seen),
                "adopted": adopted,
                "lost": lost,
                "unknown": unknown,
                "fills": len(self.executions),
            },
        )
        if not complete:
            missing = [
                name
                for name, answer in (("open orders", open_answer), ("completed orders", completed_answer))
                if answer is None
            ]
            raise RequestTimeout(
                f"IB's {' and '.join(missing)} did not arrive within {self.reconcile_timeout} s; "
                f"{unknown} unacknowledged order(s) stay unknown (never marked lost, never sent again) "
                "until a reconcile reads both lists"
            )

    async def _ask(self, name: str, request: Callable[[], Awaitable[list[Trade]]]) -> list[Trade] | None:
        """One of IB's order lists, in full, or None when it did not arrive within the reconcile timeout."""
        try:
            return await asyncio.wait_for(request(), self.reconcile_timeout)
        except (TimeoutError, ConnectionError) as exc:
            log.warning("IB order list not received during reconcile", extra={"request": name, "error": repr(exc)})
            return None

    def _adopt(self, trade: Trade) -> OrderRecord | None:
        try:
            symbol = self.resolver.symbol_for(trade.contract)
        except Exception:
            return None
        order = trade.order
        order_type = {v: k for k, v in ORDER_TYPES.items()}.get(order.orderType.replace("STPLMT", "STP LMT"), "limit")
        record = OrderRecord(
            client_order_id=order.orderRef,
            symbol=symbol,
            type=order_type,
            side="buy" if order.action.upper() == "BUY" else "sell",
            amount=float(order.totalQuantity),
            price=clean_number(order.lmtPrice) or None,
            stop_price=clean_number(order.auxPrice) or None,
            time_in_force=order.tif or "DAY",
            reduce_only=False,
            timestamp=int(self.clock.now() * 1000),
            con_id=trade.contract.conId,
            exchange=trade.contract.exchange,
            acknowledged=True,
        )
        for leg, suffix in BRACKET_SUFFIXES.items():  # a bracket's child: linked to its entry by its orderRef
            if record.client_order_id.endswith(suffix) and record.type == ("stop" if leg == "stopLoss" else "limit"):
                record.parent = record.client_order_id.removesuffix(suffix)
                exit_price = record.stop_price if leg == "stopLoss" else record.price
                for linked in (record, self._orders.get(record.parent)):
                    if linked is not None:
                        setattr(linked, "stop_loss_price" if leg == "stopLoss" else "take_profit_price", exit_price)
        self._index(record)
        return record


def _log_order(message: str, record: OrderRecord, resolved: ResolvedContract) -> None:
    log.info(
        message,
        extra={
            "orderRef": record.client_order_id,
            "symbol": record.symbol,
            "side": record.side,
            "amount": record.amount,
            "price": record.price,
            "type": record.type,
            "conId": resolved.con_id,
            "exchange": record.exchange,
            "clientId": record.client_id,
            "orderId": record.order_id,
            "commissionSource": "pending (IB commission report after each fill)",
        },
    )
