"""The simulated paper account: IB's order book and statuses over the simulation core.

The fills, times in force, cash and commissions follow the one rule set of :mod:`sdk.sim` (``docs/sim.md``), as the
shadow venue and the simulated venue do: every working order has a twin in the core's
:class:`~sdk.sim.matching.MatchingEngine` (:mod:`sdk.gateway.twins`), fed the replay's :class:`Segment` s (several
segments of one bar share its volume), and every fill is booked in the core's :class:`~sdk.sim.account.Account`.
What stays here is IB's side of it (``../shared/docs/ib-reference.md``; IB "Order Types", "Time in Force"):

* order ids are per client id and must increase; an id in use by a live order of that client is a
  modification (``placeOrder`` again), an id of a finished order is error 103 (104 once filled);
* what is refused, with IB's codes (:mod:`sdk.gateway.order_rules`): ``MKT``, ``LMT``, ``STP``, ``STP LMT``;
  ``DAY``, ``GTC``, ``IOC``, ``FOK``, and ``OPG`` on markets with an opening auction (ASX, NYSE/Nasdaq);
* IB's statuses: outside its market's session an order rests ``PreSubmitted`` and turns ``Submitted`` at the
  open; an ``OPG`` order rests ``PreSubmitted`` until its opening auction; an order the core ends (an ``IOC``
  or ``FOK`` not filled on arrival, a ``DAY`` order at its session's close, an ``OPG`` order after its auction)
  is ``Cancelled`` with the core's reason (error 202);
* the core decides fills by :mod:`sdk.sim.fills`, at most ``participation`` of each real bar's volume across all
  orders; a ``MKT`` order never fills beyond the protection cap set at its arrival;
* a fill moves cash in the instrument's currency (for FX both legs), the position and realised PnL (average
  cost, IB's precision: 6 places for the average, 4 for PnL); its commission comes from IB's published schedules
  (:func:`sdk.costs.schedules.ib_commission`, fixed or tiered with month-to-date volume), is pending in the core's
  account and charged when the commission report is sent (:meth:`Broker.settle_commission`), never guessed as 0;
* the margin check of a new or modified stock order (:mod:`sdk.gateway.margin`, error 201);
* a modification keeps the original's action and contract: changing either is error 105 ("Order being
  modified does not match original order") and the original order stays as it was;
* attached orders (``parentId``), untransmitted orders (``transmit=False``) and one-cancels-all groups
  follow IB's bracket pattern (:mod:`sdk.gateway.brackets`).

Times are simulated epoch seconds; quantities and prices ``Decimal``. The state file (:mod:`sdk.gateway.state`) is
rewritten atomically after every change, so account, orders and executions survive a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol

from sdk.calendars import get_calendar
from sdk.costs.schedules import ib_commission
from sdk.errors import InvalidOrder
from sdk.gateway import brackets, margin, twins
from sdk.gateway.brackets import Held, HeldOrders
from sdk.gateway.instruments import GatewayContract, InstrumentTable
from sdk.gateway.market import MarketReplay, Segment
from sdk.gateway.order_answers import WhatIf
from sdk.gateway.order_rules import OrderRejected, Terms, preview, validate
from sdk.gateway.records import ExecutionRecord, OrderRecord, PositionRecord, to_json
from sdk.gateway.requests import PlaceOrderRequest
from sdk.gateway.state import STATE_VERSION, read_state, write_state
from sdk.instruments import InstrumentSpec
from sdk.sim.account import Account, Holding
from sdk.sim.matching import FillConfig, MatchingEngine
from sdk.sim.orders import Execution, Fee, SimOrder, validate_order

__all__ = ["Broker", "BrokerListener", "OrderRejected", "PlaceOutcome"]

log = logging.getLogger(__name__)

INITIAL_MARGIN_RATE = margin.INITIAL_MARGIN_RATE
#: Times in force whose order lives only on its arrival (FOK: all of it then, or nothing).
_IMMEDIATE = ("IOC", "FOK")
#: IB keeps a position's average cost to 6 decimal places.
_AVERAGE_PLACES = Decimal("0.000001")
_money = margin.money
#: IB's reason for a DAY order its session's close ended (the IB venue reads "expired" in it: ccxt's ``expired``).
_EXPIRED = "DAY order expired at the session close"


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
        participation: share of each bar's volume this account may take, in (0, 1].
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
        #: The simulation core: the working orders' twins and their rules; cash, positions and commissions.
        self.engine = MatchingEngine(FillConfig(fill_volume_share=self.participation))
        self.book = Account(base_currency, cash)
        self.orders: dict[int, OrderRecord] = {}
        #: The working set: orders still active (a finished one leaves it at the next step), so the replay's
        #: work per step does not grow with the account's history of finished orders.
        self._live: dict[int, OrderRecord] = {}
        #: The twins of the working orders, by permId.
        self._twins: dict[int, SimOrder] = {}
        self._specs: dict[str, InstrumentSpec] = {}
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
        self.saved_clock: float | None = None
        #: Where the state file's ``clock`` comes from (the gateway's simulated clock).
        self.clock_fn: Callable[[], float] | None = None
        self._dirty = False
        if state_file is not None and state_file.exists():
            self._load(state_file)

    @property
    def cash(self) -> dict[str, Decimal]:
        """Cash per currency (the core account's; commissions charged)."""
        return self.book.cash

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
        terms = validate(req, inst, self.account)
        try:  # the core's own refusals, should the gateway's miss one: one rule set
            validate_order(
                self._spec(inst), twins.CCXT_TYPES[terms.order_type], req.action.lower(), terms.quantity, terms.lmt,
                terms.aux, terms.tif,
            )  # fmt: skip
        except InvalidOrder as exc:
            raise OrderRejected(201, str(exc)) from None
        if req.what_if:
            answer = margin.what_if(self, req.action, inst, terms.quantity, terms.lmt, now)
            return PlaceOutcome(preview(client_id, req, inst, now, terms, self.account), what_if=answer)
        if existing is not None:
            if not req.transmit:
                raise OrderRejected(201, f"order {req.order_id} is working; modify it with transmit=True")
            if inst.sec_type == "STK" and terms.quantity > existing.filled and not existing.parent_perm:
                margin.check_margin(self, req.action, inst, terms.quantity - existing.filled, terms.lmt, now)
            return self._modify(existing, inst, terms, now)
        if req.parent_id or not req.transmit or held is not None:
            order = preview(client_id, req, inst, now, terms, self.account)
            return self._attach(client_id, Held(req, inst, order), now, reject)
        if inst.sec_type == "STK":
            margin.check_margin(self, req.action, inst, terms.quantity, terms.lmt, now)
        if reject is not None and reject():
            raise OrderRejected(201, "Simulated rejection (fault reject_next)")
        order = preview(client_id, req, inst, now, terms, self.account)
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
                head_order = root.order
                margin.check_margin(
                    self, head_order.action, root.inst, head_order.total_quantity, head_order.lmt_price, now
                )
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
        kids = [h for h in chain if h.request.parent_id]
        for kid in kids:
            kid.order.parent_perm, kid.order.status = head.perm_id, "PreSubmitted"
            self._submit(kid.order, kid.inst, now)
        if root is not None:
            self._start(root.order, root.inst, now, arrive=False)
        for kid in kids:
            self._ended(kid.order)  # an IOC/FOK child placed while its market is shut
            if kid.order.active:
                self.listener.order_changed(kid.order)
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

    def _submit(self, order: OrderRecord, inst: GatewayContract, now: float) -> SimOrder:
        """Give ``order`` its twin in the core (which schedules its time in force) and keep the twin's schedule."""
        sim = self.engine.submit(twins.twin(order, now), self._spec(inst))
        self._twins[order.perm_id] = sim
        self._schedule(order, sim)
        return sim

    def _spec(self, inst: GatewayContract) -> InstrumentSpec:
        spec = self._specs.get(inst.symbol)
        if spec is None:
            spec = self._specs[inst.symbol] = twins.instrument_spec(inst)
        return spec

    def _reopen(self, sim: SimOrder) -> None:
        """Put a twin the core closed (an attached order that filled all its parent had filled) back to work."""
        if sim.status == "closed" and sim.remaining > 0:
            sim.status = "open"
            if all(o is not sim for o in self.engine.open_orders(sim.symbol)):
                self.engine.restore(sim)

    @staticmethod
    def _schedule(order: OrderRecord, sim: SimOrder) -> None:
        order.expires = sim.expires_at / 1000 if sim.expires_at is not None else None
        order.opens = sim.opens_at / 1000 if sim.opens_at is not None else None

    def _start(self, order: OrderRecord, inst: GatewayContract, now: float, *, arrive: bool = True) -> None:
        sim = self._submit(order, inst, now)
        in_session = get_calendar(inst.market).session_at(datetime.fromtimestamp(now, UTC)) is not None
        order.status = "Submitted" if in_session and sim.opens_at is None else "PreSubmitted"
        self.listener.order_changed(order)
        if sim.is_done:
            self._ended(order)  # an IOC/FOK order placed while its market is shut
        elif arrive and order.status == "Submitted":
            self._arrive(order, now)
        self._dirty = True
        self.flush()

    def _modify(self, order: OrderRecord, inst: GatewayContract, terms: Terms, now: float) -> PlaceOutcome:
        if terms.quantity < order.filled:
            raise OrderRejected(201, f"new quantity {terms.quantity} is below the {order.filled} already filled")
        sim = self._twins[order.perm_id]
        sim.amount = max(sim.amount, terms.quantity)
        self._reopen(sim)
        try:
            self.engine.amend(
                sim.id, twins.ms(now), type=twins.CCXT_TYPES[terms.order_type], amount=terms.quantity,
                price=terms.lmt, stop_price=terms.aux, time_in_force=terms.tif,
            )  # fmt: skip
        except InvalidOrder as exc:
            raise OrderRejected(201, str(exc)) from None
        order.order_type, order.tif, order.total_quantity = terms.order_type, terms.tif, terms.quantity
        order.lmt_price, order.aux_price, order.protection = terms.lmt, terms.aux, None
        order.arrival, order.updated = True, now
        self._schedule(order, sim)
        if terms.quantity == order.filled:
            order.status = "Filled"
            order.completed_time = now
            self._retire(order)
        elif not order.parent_perm:
            in_session = get_calendar(inst.market).session_at(datetime.fromtimestamp(now, UTC)) is not None
            order.status = "Submitted" if in_session and sim.opens_at is None else "PreSubmitted"
        self.listener.order_changed(order)
        self._ended(order)  # a modification to IOC/FOK while the market is shut
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
        """Cancel ``order`` (and its twin), the children of an unfilled parent, and (``oca``) its one-cancels-all
        group."""
        sim = self._twins.pop(order.perm_id, None)
        if sim is not None:
            self.engine.cancel(sim.id, twins.ms(now), reason or "cancelled")
            self.engine.forget(sim.id)  # the record keeps the history
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
                self._retire(kid)
            self.listener.order_changed(kid)
        doomed = [] if order.filled else brackets.children(order, live)
        doomed += [p for p in brackets.oca_peers(order, live) if oca and p not in doomed]
        for other in doomed:
            if other.active:
                what = "parent" if other.parent_perm == order.perm_id else "OCA group"
                self._cancel(other, now, f"{what} order {order.order_id} cancelled", oca=False)

    def _retire(self, order: OrderRecord) -> None:
        """End a filled order's twin (a child cut to what its parent filled)."""
        sim = self._twins.pop(order.perm_id, None)
        if sim is not None:
            sim.end("closed", "filled", sim.last_update or sim.timestamp)
            self.engine.forget(sim.id)  # the record keeps the history

    def _ended(self, order: OrderRecord) -> None:
        """Tell IB's side that the core ended ``order``'s twin (time in force up, IOC/FOK): ``Cancelled``, with the
        core's reason (IB's wording for an expired DAY order), at the time the core ended it."""
        sim = self._twins.get(order.perm_id)
        if sim is None or not order.active or sim.status not in ("canceled", "expired", "rejected"):
            return
        at = sim.last_update / 1000 if sim.last_update is not None else order.updated
        self._cancel(order, at, _EXPIRED if sim.status == "expired" else sim.reason)

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
        """Work every live order through the market of ``(t0, t1]``: fills, opens, expiries (by the core)."""
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
                    self._work(order, segment)
                    order.updated = max(order.updated, segment.end)
            for order in orders:
                sim = self._twins.get(order.perm_id)
                if order.active and sim is not None and self.engine.expire(twins.ms(t1), [sim]):
                    self._ended(order)
                elif order.active:
                    order.updated = max(order.updated, t1)
        self._live = {perm: o for perm, o in self._live.items() if o.active}  # finished orders leave the working set
        for perm in [perm for perm in self._twins if perm not in self._live]:
            sim = self._twins.pop(perm)
            if sim.is_done:
                self.engine.forget(sim.id)  # the record keeps the history
        self.flush()

    def _work(self, order: OrderRecord, segment: Segment) -> None:
        """One order meets one segment: its expiry, a child's wait for its parent, the open, then the core."""
        sim = self._twins.get(order.perm_id)
        if sim is None:
            return  # restored from the state file for an instrument the data no longer holds
        at = twins.ms(segment.start)
        if self.engine.expire(at, [sim]):
            self._ended(order)
            return
        if brackets.dormant(order, self.orders):
            return  # a child waits for its parent's first fill
        if order.status == "PreSubmitted" and (sim.opens_at is None or at >= sim.opens_at):
            order.status, order.arrival, sim.arrival = "Submitted", True, True
            self.listener.order_changed(order)
        self._match(order, segment, segment.start)

    def _match(self, order: OrderRecord, segment: Segment, now: float) -> None:
        """Feed ``segment`` to ``order``'s twin (bounded by its bar's volume, shared by every segment of the bar)
        and book what the core fills; a cancel by the core (IOC, FOK, OPG) is told after the fills."""
        sim = self._twins.get(order.perm_id)
        workable = brackets.workable(order, self.orders)
        if sim is None or workable <= 0:
            return
        self._release(order, sim, workable)
        first = order.filled == 0
        executions = self.engine.on_slice(
            order.symbol, segment.slice, twins.ms(segment.start), twins.ms(segment.end),
            bar_key=twins.ms(segment.bar_key[1]), orders=[sim],
        )  # fmt: skip
        order.arrival, order.triggered, order.protection = sim.arrival, sim.triggered, sim.cap
        if executions:
            inst = self.instruments.get(order.symbol)
            assert inst is not None
            for execution in executions:
                self._execute(order, inst, execution, now)
            self._after_fill(order, first, segment.end, now)
        self._ended(order)

    def _release(self, order: OrderRecord, sim: SimOrder, workable: Decimal) -> None:
        """An attached order's twin works what its parent has filled so far (:func:`brackets.workable`); one that
        had filled all of that is opened again for the rest."""
        if not order.parent_perm:
            return
        sim.amount = order.filled + workable
        self._reopen(sim)

    # --- executions -----------------------------------------------------------------------------
    def _execute(self, order: OrderRecord, inst: GatewayContract, fill: Execution, now: float) -> None:
        qty, price = fill.amount, fill.price
        previous = order.filled
        order.filled += qty
        order.avg_fill_price = (order.avg_fill_price * previous + price * qty) / order.filled
        order.last_fill_price = price
        order.updated = max(order.updated, now)
        if order.remaining <= 0:
            order.status, order.completed_time, order.completed_status = "Filled", now, "Filled"
            self._retire(order)
        self._exec_seq += 1
        fill.id = f"{self._exec_seq:08x}.{int(now):08x}.01.01"  # IB's execution id names the core's execution
        execution = ExecutionRecord(
            exec_id=fill.id,
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
        execution.realized_pnl = self._book(inst, fill)
        self._pending[execution.exec_id] = self._commission(inst, order.action, qty, price, now)
        self.executions.append(execution)
        self._dirty = True
        self.listener.executed(order, execution)
        self.listener.account_changed()

    def _book(self, inst: GatewayContract, fill: Execution) -> Decimal | None:
        """Book ``fill`` in the core's account (cash of both legs for FX, the position at average cost, its
        commission pending) and mirror the position on IB's record; the realised PnL (quote currency) of a closing
        trade, None for one that opens or adds."""
        pos = self.positions.setdefault(inst.symbol, PositionRecord(inst.symbol, inst.con_id))
        signed = fill.amount if fill.side == "buy" else -fill.amount
        closing = pos.quantity != 0 and (pos.quantity > 0) != (signed > 0)
        realized_raw = self.book.book(fill)
        holding = self.book.holding(inst.symbol)
        holding.average = holding.average.quantize(_AVERAGE_PLACES)
        realized = _money(realized_raw) if closing else None
        if realized is not None:
            pos.realized_pnl += realized
        pos.avg_cost, pos.quantity = holding.average, holding.amount
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
        """Charge a pending commission in the core's account (when its report is sent); None when none is pending."""
        pending = self._pending.pop(exec_id, None)
        if pending is None:
            return None
        execution = next((e for e in reversed(self.executions) if e.exec_id == exec_id), None)
        if execution is None:
            return None
        amount, currency = pending
        if exec_id not in self.book.pending_fees:  # booked before this account was restored: pending again
            self.book.pending_fees[exec_id] = twins.execution_of(execution, self.orders[execution.perm_id])
        self.book.settle_fee(exec_id, Fee(amount, currency, "actual"))
        execution.commission, execution.commission_currency = amount, currency
        if execution.realized_pnl is not None:
            execution.realized_pnl = _money(execution.realized_pnl - amount)
        self._dirty = True
        self.flush()
        self.listener.account_changed()
        return execution

    def pending_commissions(self) -> list[str]:
        """Exec ids whose commission report has not been sent yet."""
        return list(self._pending)

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
        write_state(self.state_file, self.to_state())

    def to_state(self, clock: float | None = None) -> dict[str, Any]:
        """The state file's content (:mod:`sdk.gateway.state`)."""
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
        """Restore the account from the state file ``path`` (:func:`sdk.gateway.state.read_state`): the records,
        the core's account (cash, positions, pending commissions) and the working orders' twins.

        Raises:
            ValueError: the file is not usable (nothing is changed then).
        """
        saved = read_state(path, self.account)
        self.positions, self.orders, self.executions = saved.positions, saved.orders, saved.executions
        self.book = Account(
            self.base_currency,
            saved.cash,
            [Holding(s, p.quantity, p.avg_cost, p.realized_pnl) for s, p in saved.positions.items()],
        )
        self._by_client = {(o.client_id, o.order_id): o.perm_id for o in self.orders.values()}
        self._live = {perm: o for perm, o in self.orders.items() if o.active}
        self._max_order_id, self._perm_seq, self._exec_seq = saved.max_order_ids, saved.perm_seq, saved.exec_seq
        self._monthly, self._pending = saved.monthly, saved.pending
        self._restore_twins(self._live)
        by_id = {e.exec_id: e for e in self.executions}
        for exec_id in self._pending:
            record = by_id.get(exec_id)
            if record is not None:
                self.book.pending_fees[exec_id] = twins.execution_of(record, self.orders[record.perm_id])
        self.saved_clock = saved.clock
        log.info("state file %s: %d orders, %d executions restored", path, len(self.orders), len(self.executions))

    def _restore_twins(self, live: Mapping[int, OrderRecord]) -> None:
        for perm, order in sorted(live.items()):
            inst = self.instruments.get(order.symbol)
            if inst is None:
                log.warning("order %d on %s: no such instrument in the data; it will not work", perm, order.symbol)
                continue
            sim = twins.restored_twin(order)
            self.engine.restore(sim, self._spec(inst))
            self._twins[perm] = sim
