"""The simulated paper account: order rules, fills against the replay, cash, positions, commissions.

IB's rules kept here (``../shared/docs/ib-reference.md``; IB "Order Types", "Time in Force"):

* order ids are per client id and must increase; an id in use by a live order of that client is a
  modification (``placeOrder`` again), an id of a finished order is error 103 (104 once filled);
* ``MKT``, ``LMT``, ``STP``, ``STP LMT``; ``DAY`` (expires at the close of the session it was working
  in, or the next one when placed outside hours), ``GTC``, ``IOC`` (whatever does not fill on arrival
  is cancelled), ``FOK`` (fills whole on arrival, or is cancelled with nothing filled); a price off the
  instrument's ladder is error 110 and the order is not accepted;
* outside its market's session an order rests ``PreSubmitted`` and turns ``Submitted`` at the open;
  it only fills inside sessions (:mod:`sdk.calendars`), by the fill model of :mod:`sdk.sim.fills`,
  at most ``participation`` of each real bar's volume across all orders; a ``MKT`` order is protected as
  IB protects one: it never fills beyond a cap set at its arrival (:func:`sdk.sim.fills.protection_cap`);
* a fill moves cash in the instrument's currency (for FX both legs), the position, and realised PnL
  (average-cost method); its commission comes from IB's published schedules
  (:func:`sdk.costs.schedules.ib_commission`, fixed or tiered with month-to-date volume) and is
  charged when the commission report is sent (:meth:`Broker.settle_commission`), never guessed as 0;
* a new stock order, or a modification of one, whose post-trade initial margin (25% of gross stock
  value, IB's 4x intraday buying power) would exceed the equity with loan value is rejected with 201;
* a modification keeps the original's action and contract: changing either is error 105 ("Order being
  modified does not match original order") and the original order stays as it was;
* attached orders (``parentId``), untransmitted orders (``transmit=False``) and one-cancels-all groups
  follow IB's bracket pattern (:mod:`sdk.gateway.brackets`).

Times are simulated epoch seconds; quantities and prices ``Decimal``. The state file (JSON) is
rewritten atomically after every change, so account, orders and executions survive a restart.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol

from sdk.calendars import get_calendar
from sdk.costs.schedules import ib_commission
from sdk.gateway import brackets
from sdk.gateway.brackets import Held, HeldOrders
from sdk.gateway.instruments import GatewayContract, InstrumentTable
from sdk.gateway.market import MarketReplay, Segment
from sdk.gateway.order_answers import WhatIf
from sdk.gateway.records import ExecutionRecord, OrderRecord, PositionRecord, from_json, to_json
from sdk.gateway.requests import PlaceOrderRequest
from sdk.redaction import mask_account
from sdk.sim.account import Holding
from sdk.sim.fills import Fill, OrderSpec, match, protection_cap

__all__ = ["Broker", "BrokerListener", "OrderRejected", "PlaceOutcome"]

log = logging.getLogger(__name__)

ORDER_TYPES = ("MKT", "LMT", "STP", "STP LMT")
TIFS = ("DAY", "GTC", "IOC", "FOK")
#: Times in force whose order lives only on its arrival (FOK: all of it then, or nothing).
_IMMEDIATE = ("IOC", "FOK")
INITIAL_MARGIN_RATE = Decimal("0.25")
STATE_VERSION = 1
#: The keys every state file holds (``monthly``, ``pending_commissions`` and ``clock`` may be absent).
STATE_KEYS = ("account", "cash", "positions", "orders", "executions", "max_order_ids", "perm_seq", "exec_seq")


class OrderRejected(Exception):
    """An order IB would not accept: ``code`` is IB's error code, ``detail`` its reason; ``others`` the ids of
    untransmitted orders of the same client refused with it (a bracket's chain)."""

    def __init__(self, code: int, detail: str = "", others: tuple[int, ...] = ()) -> None:
        super().__init__(f"{code} {detail}")
        self.code = code
        self.detail = detail
        self.others = others


class BrokerListener(Protocol):
    """Who hears about account events (the gateway, which tells the clients)."""

    def order_changed(self, order: OrderRecord) -> None: ...
    def order_cancelled(self, order: OrderRecord, reason: str) -> None: ...
    def executed(self, order: OrderRecord, execution: ExecutionRecord) -> None: ...
    def account_changed(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PlaceOutcome:
    """What ``placeOrder`` did: a new or modified order, a what-if answer (no order created), or an order
    held untransmitted (``held``: nothing is told to the client)."""

    order: OrderRecord
    modified: bool = False
    what_if: WhatIf | None = None
    held: bool = False


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"))


class Broker:
    """The paper account: orders, executions, positions and cash (see the module docstring).

    Args:
        account: the account number.
        base_currency: the currency NetLiquidation and margins are in.
        cash: opening balances (ignored when the state file holds an account).
        instruments: the gateway's instruments.
        market: the replay (quotes, fill segments, FX rates).
        listener: told about every change.
        plan: IB commission plan, ``fixed`` or ``tiered``; ``gst`` adds 10% GST.
        participation: share of each bar's volume this account may take.
        state_file: JSON file to keep the account in across restarts (None: memory only).
    """

    def __init__(
        self,
        *,
        account: str,
        base_currency: str,
        cash: dict[str, Decimal],
        instruments: InstrumentTable,
        market: MarketReplay,
        listener: BrokerListener,
        plan: Literal["fixed", "tiered"] = "fixed",
        gst: bool = False,
        participation: float = 1.0,
        state_file: Path | None = None,
    ) -> None:
        self.account = account
        self.base_currency = base_currency
        self.instruments = instruments
        self.market = market
        self.listener = listener
        self.plan: Literal["fixed", "tiered"] = plan
        self.gst = gst
        self.participation = Decimal(repr(participation))
        self.state_file = state_file
        self.cash: dict[str, Decimal] = dict(cash)
        self.orders: dict[int, OrderRecord] = {}
        #: The working set: orders still active (a finished one leaves it at the next step), so the replay's
        #: work per step does not grow with the account's history of finished orders.
        self._live: dict[int, OrderRecord] = {}
        self.executions: list[ExecutionRecord] = []
        self.positions: dict[str, PositionRecord] = {}
        self._by_client: dict[tuple[int, int], int] = {}
        #: untransmitted orders (``transmit=False``), waiting for their chain's transmission
        self.held = HeldOrders()
        self._max_order_id: dict[int, int] = {}
        self._perm_seq = 1_000_000_000
        self._exec_seq = 0
        self._monthly: dict[str, dict[str, str]] = {}
        self._pending: dict[str, tuple[Decimal, str]] = {}
        self._consumed: dict[tuple[str, float], Decimal] = {}
        self.saved_clock: float | None = None
        #: Where the state file's ``clock`` comes from (the gateway's simulated clock).
        self.clock_fn: Callable[[], float] | None = None
        self._dirty = False
        if state_file is not None and state_file.exists():
            self._load(state_file)

    # --- ids ----------------------------------------------------------------------------------
    def next_valid_id(self, client_id: int) -> int:
        """The next order id for ``client_id`` (IB's nextValidId): above every id it used."""
        return self._max_order_id.get(client_id, 0) + 1

    def order_of(self, client_id: int, order_id: int) -> OrderRecord | None:
        perm = self._by_client.get((client_id, order_id))
        return self.orders.get(perm) if perm is not None else None

    # --- placing --------------------------------------------------------------------------------
    def place(
        self, client_id: int, req: PlaceOrderRequest, inst: GatewayContract, now: float, *,
        reject: Callable[[], bool] | None = None,
    ) -> PlaceOutcome:  # fmt: skip
        """Accept, modify, hold (untransmitted) or what-if an order (rules in the module docstring).

        Checks, in order: the order id (103, 104; a held order may be placed again); for a modification, that
        action and contract are the original's (105); the order's fields (110, 201, 321); an attached order's
        parent (201); the post-trade initial margin of a new or modified stock order, not of a child (201);
        then ``reject``, asked only about a new order (or chain) that passed every check (the ``reject_next``
        fault: True refuses it with 201 and uses up one of the fault's count).

        Raises:
            OrderRejected: with IB's code (103, 104, 105, 110, 201, 321) and the reason; nothing changes.
        """
        existing = self.order_of(client_id, req.order_id)
        held = self.held.get(client_id, req.order_id)
        if existing is not None and not req.what_if:
            if existing.status == "Filled":
                raise OrderRejected(104, f"order {req.order_id} is filled")
            if not existing.active:
                raise OrderRejected(103, f"order {req.order_id} is {existing.status}")
            self._check_same_order(existing, req, inst)
        elif not req.what_if and held is None and req.order_id <= self._max_order_id.get(client_id, 0):
            raise OrderRejected(
                103,
                f"order id {req.order_id} is not above {self._max_order_id[client_id]}, the last id this client used",
            )
        order_type, tif, quantity, lmt, aux = self._validate(req, inst)
        if req.what_if:
            return PlaceOutcome(self._preview(client_id, req, inst, now, order_type, tif, quantity, lmt, aux),
                                what_if=self._what_if(req, inst, quantity, lmt, now))  # fmt: skip
        if existing is not None:
            if not req.transmit:
                raise OrderRejected(201, f"order {req.order_id} is working; modify it with transmit=True")
            if inst.sec_type == "STK" and quantity > existing.filled and not existing.parent_perm:
                self._check_margin(req.action, inst, quantity - existing.filled, lmt, now)
            return self._modify(existing, order_type, tif, quantity, lmt, aux, now)
        if req.parent_id or not req.transmit or held is not None:
            order = self._preview(client_id, req, inst, now, order_type, tif, quantity, lmt, aux)
            return self._attach(client_id, Held(req, inst, order), now, reject)
        if inst.sec_type == "STK":
            self._check_margin(req.action, inst, quantity, lmt, now)
        if reject is not None and reject():
            raise OrderRejected(201, "Simulated rejection (fault reject_next)")
        order = self._preview(client_id, req, inst, now, order_type, tif, quantity, lmt, aux)
        self._register(order)
        self._start(order, inst, now)
        return PlaceOutcome(order)

    def _register(self, order: OrderRecord) -> None:
        self._perm_seq += 1
        order.perm_id = self._perm_seq
        self.orders[order.perm_id] = order
        self._live[order.perm_id] = order
        self._by_client[(order.client_id, order.order_id)] = order.perm_id
        self._max_order_id[order.client_id] = max(self._max_order_id.get(order.client_id, 0), order.order_id)

    def _attach(self, client_id: int, mine: Held, now: float, reject: Callable[[], bool] | None) -> PlaceOutcome:
        """Hold an untransmitted order, or transmit a chain: its held parent and held children, parent first
        (rules in :mod:`sdk.gateway.brackets`)."""
        req, order = mine.request, mine.order
        parent = self.order_of(client_id, req.parent_id) if req.parent_id else None
        problem = brackets.parent_problem(mine, parent, self.held.get(client_id, req.parent_id))
        if problem is not None:
            raise OrderRejected(201, problem)
        order.parent_id = req.parent_id
        self._max_order_id[client_id] = max(self._max_order_id.get(client_id, 0), req.order_id)
        if not req.transmit:
            self.held.hold(client_id, mine)
            return PlaceOutcome(order, held=True)
        chain = self.held.chain(client_id, mine)
        root = chain[0] if not chain[0].request.parent_id else None
        others = tuple(h.request.order_id for h in chain if h is not mine)
        try:
            if root is not None and root.inst.sec_type == "STK":
                self._check_margin(root.order.action, root.inst, root.order.total_quantity, root.order.lmt_price, now)
            if reject is not None and reject():
                raise OrderRejected(201, "Simulated rejection (fault reject_next)")
        except OrderRejected as exc:
            self.held.release(client_id, chain)
            raise OrderRejected(exc.code, exc.detail, others) from None
        self.held.release(client_id, chain)
        for h in chain:
            h.order.updated = now
            self._register(h.order)
        head = root.order if root is not None else parent
        assert head is not None
        kids = [h.order for h in chain if h.request.parent_id]
        for kid in kids:
            kid.parent_perm, kid.status = head.perm_id, "PreSubmitted"
            self._set_expiry(kid, mine.inst, now)
        if root is not None:
            self._start(root.order, root.inst, now, arrive=False)
        for kid in kids:
            if kid.active:
                self.listener.order_changed(kid)
        if root is not None and root.order.status == "Submitted":
            self._arrive(root.order, now)
        self.save()
        return PlaceOutcome(order)

    @staticmethod
    def _check_same_order(existing: OrderRecord, req: PlaceOrderRequest, inst: GatewayContract) -> None:
        """A modification may change price, quantity, type and TIF, not the side or the contract (IB's 105)."""
        if req.action != existing.action or inst.symbol != existing.symbol:
            changed = "action" if req.action != existing.action else "contract"
            raise OrderRejected(
                105,
                f"order {req.order_id} is {existing.action} {existing.symbol}; a modification cannot change its "
                f"{changed} (got {req.action} {inst.symbol}); cancel it and place a new order",
            )

    def _validate(
        self, req: PlaceOrderRequest, inst: GatewayContract
    ) -> tuple[str, str, Decimal, Decimal | None, Decimal | None]:
        if not inst.tradable:
            raise OrderRejected(201, f"{inst.ib_symbol} is an index ({inst.sec_type}); indexes cannot be traded")
        if not req.contract.exchange:
            raise OrderRejected(321, "Missing order exchange.")
        if req.action not in ("BUY", "SELL"):
            raise OrderRejected(321, f"Invalid action {req.action!r}; use BUY or SELL")
        quantity = req.total_quantity
        if quantity is None or quantity <= 0:
            raise OrderRejected(321, "The order size must be positive (totalQuantity in shares or base currency)")
        if inst.sec_type == "STK" and quantity != quantity.to_integral_value():
            raise OrderRejected(
                321, f"Fractional quantity {quantity} is not allowed for {inst.ib_symbol}; use whole shares"
            )
        order_type = req.order_type.upper().replace("STPLMT", "STP LMT")
        if order_type not in ORDER_TYPES:
            raise OrderRejected(201, f"order type {req.order_type!r} is not simulated; use MKT, LMT, STP or STP LMT")
        tif = (req.tif or "DAY").upper()
        if tif not in TIFS:
            raise OrderRejected(201, f"time in force {req.tif!r} is not simulated; use DAY, GTC, IOC or FOK")
        if req.account and req.account != self.account:
            raise OrderRejected(321, f"account {mask_account(req.account)} is not managed by this gateway")
        if req.has_conditions or req.algo_strategy:
            raise OrderRejected(201, "order conditions and algorithms are not simulated by the offline gateway")
        problem = brackets.oca_problem(req)
        if problem is not None:
            raise OrderRejected(201, problem)
        lmt = req.lmt_price if order_type in ("LMT", "STP LMT") else None
        aux = req.aux_price if order_type in ("STP", "STP LMT") else None
        if order_type in ("LMT", "STP LMT") and lmt is None:
            raise OrderRejected(321, f"a {order_type} order needs lmtPrice")
        if order_type in ("STP", "STP LMT") and aux is None:
            raise OrderRejected(321, f"a {order_type} order needs auxPrice (the stop price)")
        for price in (lmt, aux):
            if price is not None and not inst.ladder.is_on_ladder(price):
                step = inst.ladder.increment_at(price) if price > 0 else inst.ladder.bands[0][1]
                raise OrderRejected(110, f"{price} is not a multiple of {step} for {inst.ib_symbol}")
        return order_type, tif, quantity, lmt, aux

    def _preview(
        self, client_id: int, req: PlaceOrderRequest, inst: GatewayContract, now: float, order_type: str, tif: str,
        quantity: Decimal, lmt: Decimal | None, aux: Decimal | None,
    ) -> OrderRecord:  # fmt: skip
        return OrderRecord(
            order_id=req.order_id,
            client_id=client_id,
            perm_id=0,
            symbol=inst.symbol,
            con_id=inst.con_id,
            action=req.action,  # type: ignore[arg-type]
            total_quantity=quantity,
            order_type=order_type,
            lmt_price=lmt,
            aux_price=aux,
            tif=tif,
            order_ref=req.order_ref,
            account=self.account,
            created=now,
            outside_rth=req.outside_rth,
            updated=now,
            exchange=req.contract.exchange or inst.exchange,
            oca_group=req.oca_group,
            oca_type=brackets.CANCEL_OTHERS if req.oca_group else 0,
        )

    def _start(self, order: OrderRecord, inst: GatewayContract, now: float, *, arrive: bool = True) -> None:
        in_session = self._set_expiry(order, inst, now)
        order.status = "Submitted" if in_session else "PreSubmitted"
        self.listener.order_changed(order)
        if not in_session:
            if order.tif in _IMMEDIATE:
                self._cancel(order, now, f"{order.tif} order outside market hours")
        elif arrive:
            self._arrive(order, now)
        self._dirty = True
        self.flush()

    @staticmethod
    def _set_expiry(order: OrderRecord, inst: GatewayContract, now: float) -> bool:
        """Set a DAY order's expiry (the close of the session it is in, or of the next); whether ``now`` is in one."""
        calendar = get_calendar(inst.market)
        when = datetime.fromtimestamp(now, UTC)
        session = calendar.session_at(when)
        if order.tif == "DAY":
            order.expires = (session or calendar.next_session(when)).close.timestamp()
        return session is not None

    def _modify(
        self, order: OrderRecord, order_type: str, tif: str, quantity: Decimal, lmt: Decimal | None,
        aux: Decimal | None, now: float,
    ) -> PlaceOutcome:  # fmt: skip
        if quantity < order.filled:
            raise OrderRejected(201, f"new quantity {quantity} is below the {order.filled} already filled")
        order.order_type, order.tif, order.total_quantity = order_type, tif, quantity
        order.lmt_price, order.aux_price, order.protection = lmt, aux, None
        order.arrival, order.updated = True, now
        if quantity == order.filled:
            order.status = "Filled"
            order.completed_time = now
        self.listener.order_changed(order)
        if order.active and order.status == "Submitted":
            self._arrive(order, now)
        self._dirty = True
        self.flush()
        return PlaceOutcome(order, modified=True)

    def _arrive(self, order: OrderRecord, now: float) -> None:
        segment = self.market.point(order.symbol, now)
        if segment is not None:
            self._match(order, segment, now)
        if order.tif in _IMMEDIATE and order.active:
            self._cancel(order, now, f"{order.tif} order not filled on arrival")

    # --- cancelling -----------------------------------------------------------------------------
    def cancel(self, client_id: int, order_id: int, now: float) -> OrderRecord:
        """Cancel a live order of ``client_id``.

        Raises:
            OrderRejected: 10147 no such order; 10148 not cancellable (already filled or cancelled).
        """
        order = self.order_of(client_id, order_id)
        if order is None:
            raise OrderRejected(10147, f"OrderId {order_id} that needs to be cancelled is not found.")
        if not order.active:
            raise OrderRejected(
                10148, f"OrderId {order_id} that needs to be cancelled cannot be cancelled, state: {order.status}."
            )
        self._cancel(order, now, "")
        self.flush()
        return order

    def global_cancel(self, now: float) -> list[OrderRecord]:
        """Cancel every live order of every client (IB's reqGlobalCancel)."""
        cancelled = [o for o in self._live.values() if o.active]
        for order in cancelled:
            if order.active:  # not already cancelled with its parent or OCA group
                self._cancel(order, now, "global cancel")
        self.flush()
        return cancelled

    def _cancel(self, order: OrderRecord, now: float, reason: str, *, oca: bool = True) -> None:
        """Cancel ``order``, the children of an unfilled parent, and (``oca``) its one-cancels-all group."""
        order.status = "Cancelled"
        order.completed_time = order.updated = now
        order.completed_status = "Cancelled"
        self._dirty = True
        self.listener.order_changed(order)
        self.listener.order_cancelled(order, reason)
        live = list(self._live.values())
        for kid in brackets.shrink_children(order, live) if order.filled else []:
            if kid.remaining <= 0:
                kid.status, kid.completed_time, kid.completed_status = "Filled", now, "Filled"
            self.listener.order_changed(kid)
        doomed = [] if order.filled else brackets.children(order, live)
        doomed += [p for p in brackets.oca_peers(order, live) if oca and p not in doomed]
        for other in doomed:
            if other.active:
                what = "parent" if other.parent_perm == order.perm_id else "OCA group"
                self._cancel(other, now, f"{what} order {order.order_id} cancelled", oca=False)

    def _after_fill(self, order: OrderRecord, first: bool, until: float, now: float) -> None:
        """A fill: the children start working after ``until`` (at the first), the one-cancels-all group ends."""
        live = list(self._live.values())
        if first:
            for kid in brackets.children(order, live):
                kid.updated = max(kid.updated, until)
        for peer in brackets.oca_peers(order, live):
            self._cancel(peer, now, f"OCA group: order {order.order_id} filled", oca=False)

    # --- replay --------------------------------------------------------------------------------
    def process(self, t0: float, t1: float) -> None:
        """Work every live order through the market of ``(t0, t1]``: fills, opens, DAY expiries."""
        live = sorted((o for o in self._live.values() if o.active), key=lambda o: o.perm_id)
        symbols: dict[str, list[OrderRecord]] = {}
        for order in live:
            symbols.setdefault(order.symbol, []).append(order)
        for symbol, orders in symbols.items():
            start = min(max(t0, o.updated) for o in orders)
            for segment in self.market.segments(symbol, start, t1):
                for order in orders:
                    if not order.active or order.updated >= segment.end:
                        continue
                    if order.expires is not None and segment.start >= order.expires:
                        self._cancel(order, order.expires, "DAY order expired at the session close")
                        continue
                    if brackets.dormant(order, self.orders):
                        continue  # a child waits for its parent's first fill
                    if order.status == "PreSubmitted":
                        order.status, order.arrival = "Submitted", True
                        self.listener.order_changed(order)
                    self._match(order, segment, segment.start)
                    if order.tif in _IMMEDIATE and order.active:
                        self._cancel(order, segment.start, f"{order.tif} order not filled on arrival")
                    order.updated = max(order.updated, segment.end)
            for order in orders:
                if order.active and order.expires is not None and order.expires <= t1:
                    self._cancel(order, order.expires, "DAY order expired at the session close")
                elif order.active:
                    order.updated = max(order.updated, t1)
        self._forget_old_bars(t1)
        self._live = {perm: o for perm, o in self._live.items() if o.active}  # finished orders leave the working set
        self.flush()

    def _match(self, order: OrderRecord, segment: Segment, now: float) -> None:
        inst = self.instruments.get(order.symbol)
        assert inst is not None
        budget = None
        if segment.bar_volume is not None:
            budget = segment.bar_volume * self.participation - self._consumed.get(segment.bar_key, Decimal(0))
        quantity = brackets.workable(order, self.orders)
        if quantity <= 0:
            return
        if order.order_type == "MKT" and order.protection is None:  # IB's protection: a cap set at arrival
            order.protection = protection_cap(order.action, segment.slice, inst.ladder)
        spec = OrderSpec(
            side=order.action,
            order_type=order.order_type,  # type: ignore[arg-type]
            quantity=quantity,
            limit_price=order.protection if order.order_type == "MKT" else order.lmt_price,
            stop_price=order.aux_price,
            triggered=order.triggered,
        )
        decision = match(
            spec, segment.slice, volume_left=budget, arrival=order.arrival, ladder=inst.ladder,
            size_increment=Decimal(1),
        )  # fmt: skip
        order.arrival = False
        order.triggered = decision.triggered
        if order.tif == "FOK" and decision.filled < order.remaining:
            return  # fill or kill: not all of it at once, so none of it (the caller cancels it)
        first = order.filled == 0
        for fill in decision.fills:
            if segment.bar_volume is not None:
                self._consumed[segment.bar_key] = self._consumed.get(segment.bar_key, Decimal(0)) + fill.quantity
            self._execute(order, inst, fill, now)
        if decision.fills:
            self._after_fill(order, first, segment.end, now)

    def _forget_old_bars(self, now: float) -> None:
        if len(self._consumed) > 10_000:
            self._consumed = {k: v for k, v in self._consumed.items() if k[1] > now - 2 * 86_400}

    # --- executions -----------------------------------------------------------------------------
    def _execute(self, order: OrderRecord, inst: GatewayContract, fill: Fill, now: float) -> None:
        qty, price = fill.quantity, fill.price
        previous = order.filled
        order.filled += qty
        order.avg_fill_price = (order.avg_fill_price * previous + price * qty) / order.filled
        order.last_fill_price = price
        order.updated = max(order.updated, now)
        if order.remaining <= 0:
            order.status, order.completed_time, order.completed_status = "Filled", now, "Filled"
        self._exec_seq += 1
        execution = ExecutionRecord(
            exec_id=f"{self._exec_seq:08x}.{int(now):08x}.01.01",
            order_id=order.order_id,
            client_id=order.client_id,
            perm_id=order.perm_id,
            symbol=order.symbol,
            con_id=order.con_id,
            side=order.side,
            shares=qty,
            price=price,
            time=now,
            account=self.account,
            exchange=inst.primary_exchange if inst.exchange == "SMART" else inst.exchange,
            cum_qty=order.filled,
            avg_price=_money(order.avg_fill_price),
            order_ref=order.order_ref,
            liquidity=1 if fill.liquidity == "maker" else 2,
        )
        realized = self._book(inst, order.action, qty, price)
        execution.realized_pnl = realized
        self._pending[execution.exec_id] = self._commission(inst, order.action, qty, price, now)
        self.executions.append(execution)
        self._dirty = True
        self.listener.executed(order, execution)
        self.listener.account_changed()

    def _book(self, inst: GatewayContract, action: str, qty: Decimal, price: Decimal) -> Decimal | None:
        """Move cash and the position; return the realised PnL (quote currency) of a closing trade.

        The position moves at average cost by the simulation core's one implementation
        (:class:`sdk.sim.account.Holding`); the gateway keeps IB's precision (average cost to 6 places, realised PnL
        to 4) on its position record."""
        signed = qty if action == "BUY" else -qty
        base, quote = (inst.ib_symbol, inst.currency) if inst.is_fx else (None, inst.currency)
        self.cash[quote] = self.cash.get(quote, Decimal(0)) - signed * price
        if base is not None:
            self.cash[base] = self.cash.get(base, Decimal(0)) + signed
        pos = self.positions.setdefault(inst.symbol, PositionRecord(inst.symbol, inst.con_id))
        closing = pos.quantity != 0 and (pos.quantity > 0) != (signed > 0)
        holding = Holding(inst.symbol, pos.quantity, pos.avg_cost)
        realized_raw = holding.apply("buy" if action == "BUY" else "sell", qty, price)
        realized = _money(realized_raw) if closing else None
        if realized is not None:
            pos.realized_pnl += realized
        pos.avg_cost = holding.average.quantize(Decimal("0.000001"))
        pos.quantity = holding.amount
        return realized

    def _commission(
        self, inst: GatewayContract, action: str, qty: Decimal, price: Decimal, now: float
    ) -> tuple[Decimal, str]:
        month = datetime.fromtimestamp(now, UTC).strftime("%Y-%m")
        tally = self._monthly.setdefault(month, {})
        side: Literal["buy", "sell"] = "buy" if action == "BUY" else "sell"
        usd_per_quote: Decimal | None = None
        if inst.is_fx and inst.currency != "USD":
            usd_per_quote = self.market.fx_rate(inst.currency, "USD", now)
        quote = ib_commission(
            inst.sec_type, inst.currency, qty, price, side=side, plan=self.plan, gst=self.gst,
            usd_per_quote=usd_per_quote, monthly_value=Decimal(tally.get(f"value:{inst.market}", "0")),
            monthly_shares=Decimal(tally.get(f"shares:{inst.market}", "0")),
        )  # fmt: skip
        value = qty * price * (usd_per_quote or 1)
        tally[f"value:{inst.market}"] = str(Decimal(tally.get(f"value:{inst.market}", "0")) + value)
        tally[f"shares:{inst.market}"] = str(Decimal(tally.get(f"shares:{inst.market}", "0")) + qty)
        return quote.amount, quote.currency

    def settle_commission(self, exec_id: str) -> ExecutionRecord | None:
        """Charge a pending commission (when its report is sent); None when none is pending."""
        pending = self._pending.pop(exec_id, None)
        if pending is None:
            return None
        execution = next((e for e in reversed(self.executions) if e.exec_id == exec_id), None)
        if execution is None:
            return None
        amount, currency = pending
        execution.commission, execution.commission_currency = amount, currency
        self.cash[currency] = self.cash.get(currency, Decimal(0)) - amount
        if execution.realized_pnl is not None:
            execution.realized_pnl = _money(execution.realized_pnl - amount)
        self._dirty = True
        self.flush()
        self.listener.account_changed()
        return execution

    def pending_commissions(self) -> list[str]:
        """Exec ids whose commission report has not been sent yet."""
        return list(self._pending)

    # --- margin and what-if -------------------------------------------------------------------------
    def stock_value(self, now: float, extra: Iterable[tuple[str, Decimal, Decimal]] = ()) -> Decimal:
        """Gross value of stock positions in the base currency (plus hypothetical ``(symbol, qty, price)``)."""
        total = Decimal(0)
        quantities = {s: p.quantity for s, p in self.positions.items()}
        prices: dict[str, Decimal] = {}
        for symbol, qty, price in extra:
            quantities[symbol] = quantities.get(symbol, Decimal(0)) + qty
            prices[symbol] = price
        for symbol, qty in quantities.items():
            inst = self.instruments.get(symbol)
            if inst is None or inst.sec_type != "STK" or qty == 0:
                continue
            mark = prices.get(symbol) or self.market.mark(symbol, now)
            if mark is None:
                continue
            total += abs(qty) * mark * self.market.fx_rate(inst.currency, self.base_currency, now)
        return total

    def cash_value(self, now: float) -> Decimal:
        """All cash balances in the base currency."""
        return sum(
            (amount * self.market.fx_rate(ccy, self.base_currency, now) for ccy, amount in self.cash.items() if amount),
            Decimal(0),
        )

    def net_liquidation(self, now: float) -> Decimal:
        """Cash plus signed stock positions at market, in the base currency."""
        total = self.cash_value(now)
        for symbol, pos in self.positions.items():
            inst = self.instruments.get(symbol)
            if inst is None or inst.sec_type != "STK" or pos.quantity == 0:
                continue
            mark = self.market.mark(symbol, now)
            if mark is not None:
                total += pos.quantity * mark * self.market.fx_rate(inst.currency, self.base_currency, now)
        return total

    def _order_price(self, action: str, inst: GatewayContract, lmt: Decimal | None, now: float) -> Decimal:
        quote = self.market.quote(inst.symbol, now)
        if quote is None:
            if lmt is None:
                raise OrderRejected(201, f"no market data for {inst.ib_symbol} at this time; a price is needed")
            return lmt
        touch = Decimal(repr(quote.ask if action == "BUY" else quote.bid))
        return lmt if lmt is not None else touch

    def _check_margin(self, action: str, inst: GatewayContract, qty: Decimal, lmt: Decimal | None, now: float) -> None:
        price = self._order_price(action, inst, lmt, now)
        signed = qty if action == "BUY" else -qty
        after = self.stock_value(now, [(inst.symbol, signed, price)]) * INITIAL_MARGIN_RATE
        equity = self.net_liquidation(now)
        if after > equity:
            raise OrderRejected(
                201,
                f"YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN "
                f"VALUE [{_money(equity)} {self.base_currency}] MUST EXCEED THE INITIAL MARGIN "
                f"[{_money(after)} {self.base_currency}]",
            )

    def _what_if(
        self, req: PlaceOrderRequest, inst: GatewayContract, qty: Decimal, lmt: Decimal | None, now: float
    ) -> WhatIf:
        price = self._order_price(req.action, inst, lmt, now)
        signed = qty if req.action == "BUY" else -qty
        before = self.stock_value(now) * INITIAL_MARGIN_RATE
        after = (
            self.stock_value(now, [(inst.symbol, signed, price)]) * INITIAL_MARGIN_RATE
            if inst.sec_type == "STK"
            else before
        )
        equity = self.net_liquidation(now)
        side: Literal["buy", "sell"] = "buy" if req.action == "BUY" else "sell"
        usd = self.market.fx_rate(inst.currency, "USD", now) if inst.is_fx and inst.currency != "USD" else None
        commission = ib_commission(
            inst.sec_type, inst.currency, qty, price, side=side, plan=self.plan, gst=self.gst, usd_per_quote=usd
        )
        return WhatIf(_money(before), _money(before), _money(equity), _money(after - before), _money(after - before),
                      -_money(commission.amount * self.market.fx_rate(commission.currency, self.base_currency, now)),
                      _money(commission.amount), commission.currency)  # fmt: skip

    # --- queries --------------------------------------------------------------------------------
    def open_orders(self, client_id: int | None = None) -> list[OrderRecord]:
        return [o for o in self._live.values() if o.active and (client_id is None or o.client_id == client_id)]

    def completed_orders(self) -> list[OrderRecord]:
        return [o for o in self.orders.values() if not o.active]

    # --- state file -----------------------------------------------------------------------------
    def save(self) -> None:
        """Write the state file now (with the current simulated time), changed or not."""
        self._dirty = True
        self.flush()

    def flush(self) -> None:
        """Write the state file if anything changed (atomically: temp file then rename)."""
        if not self._dirty or self.state_file is None:
            self._dirty = False
            return
        self._dirty = False
        payload = self.to_state()
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(payload, indent=1, sort_keys=True))
        os.replace(tmp, self.state_file)

    def to_state(self, clock: float | None = None) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "account": self.account,
            "base_currency": self.base_currency,
            "cash": {k: str(v) for k, v in self.cash.items()},
            "positions": [to_json(p) for p in self.positions.values()],
            "orders": [to_json(o) for o in self.orders.values()],
            "executions": [to_json(e) for e in self.executions],
            "max_order_ids": {str(k): v for k, v in self._max_order_id.items()},
            "perm_seq": self._perm_seq,
            "exec_seq": self._exec_seq,
            "monthly": self._monthly,
            "pending_commissions": {k: [str(a), c] for k, (a, c) in self._pending.items()},
            "clock": clock if clock is not None else (self.clock_fn() if self.clock_fn else self.saved_clock),
        }

    def _load(self, path: Path) -> None:
        """Restore the account from the state file ``path``; nothing is changed when it is not usable.

        Raises:
            ValueError: the file is unreadable, not JSON, of another account, misses one of
                :data:`STATE_KEYS` or holds a malformed value; the message names the file, what is wrong
                and what to do.
        """
        fresh = "move it away (or pass another --state-file) to start a fresh account"
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"state file {path} is unreadable ({exc}); {fresh}") from None
        if not isinstance(data, dict):
            raise ValueError(
                f"state file {path} holds a JSON {type(data).__name__}, not this gateway's object; {fresh}"
            )
        missing = [key for key in STATE_KEYS if key not in data]
        if missing:
            raise ValueError(
                f"state file {path} has no {', '.join(repr(k) for k in missing)} (a state file of this gateway has "
                f"{', '.join(STATE_KEYS)}); restore it from a copy, or {fresh}"
            )
        if data.get("account") != self.account:
            raise ValueError(
                f"state file {path} belongs to account {mask_account(data.get('account'))}, not "
                f"{mask_account(self.account)}; pass --account to match or use another --state-file"
            )
        try:
            cash = {k: Decimal(v) for k, v in data["cash"].items()}
            positions = {p["symbol"]: from_json(PositionRecord, p) for p in data["positions"]}
            orders = {o["perm_id"]: from_json(OrderRecord, o) for o in data["orders"]}
            executions = [from_json(ExecutionRecord, e) for e in data["executions"]]
            max_order_ids = {int(k): int(v) for k, v in data["max_order_ids"].items()}
            perm_seq, exec_seq = int(data["perm_seq"]), int(data["exec_seq"])
            monthly = dict(data.get("monthly") or {})
            pending = {k: (Decimal(a), str(c)) for k, (a, c) in (data.get("pending_commissions") or {}).items()}
            clock = data.get("clock")
            if clock is not None and (
                isinstance(clock, bool) or not isinstance(clock, int | float) or not math.isfinite(clock)
            ):
                raise ValueError(f"clock {clock!r} is not epoch seconds")
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            what = f"misses {exc}" if isinstance(exc, KeyError) else f"holds a malformed value ({exc})"
            raise ValueError(f"state file {path} {what}; restore it from a copy, or {fresh}") from None
        self.cash, self.positions, self.orders, self.executions = cash, positions, orders, executions
        self._by_client = {(o.client_id, o.order_id): o.perm_id for o in self.orders.values()}
        self._live = {perm: o for perm, o in self.orders.items() if o.active}
        self._max_order_id, self._perm_seq, self._exec_seq = max_order_ids, perm_seq, exec_seq
        self._monthly, self._pending = monthly, pending
        self.saved_clock = float(clock) if clock is not None else None
        log.info("state file %s: %d orders, %d executions restored", path, len(self.orders), len(self.executions))
