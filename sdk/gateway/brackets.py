"""Attached orders and OCA groups in the paper account: IB's bracket pattern.

IB's rules kept here (TWS API "Attaching Orders" and "Bracket Orders",
https://interactivebrokers.github.io/tws-api/bracket_order.html; "One Cancels All",
https://interactivebrokers.github.io/tws-api/oca.html; ib_async 2.1.0's ``IB.bracketOrder``):

* ``transmit=False``: TWS keeps the order without sending it on. Here it is *held*: validated on arrival
  (its id is used up, and a bad field is refused at once), but not working, not in the open orders, not
  in the state file, and the client hears nothing of it (ib_async shows it ``PendingSubmit``) until an
  order of the same client with ``transmit=True`` transmits its chain: the parent and every held child
  whose ``parentId`` is the parent's ``orderId``, parent first. A held order the gateway stops with is lost.
* An attached order (``parentId``) names its parent by the same client's ``orderId``; the parent must be
  held or working, on the same contract, and not itself a child (nested attachments are not simulated:
  201). A child rests ``PreSubmitted`` and does not work until its parent fills.
* Partial fills: a child works from its parent's first fill, for as much as the parent has filled so far
  (a parent filled 300 of 1,000 leaves each child working 300; every further fill adds to it), so a child
  never closes more than the parent opened. IB's pages say children are "submitted" once the parent
  executes and do not state the size on a partial fill; users of IB's brackets report a stop-loss
  triggering while its parent was still partly filled (nautilus_trader issue 2704). This is our reading,
  kept in one function, :func:`workable`.
* One cancels all (``ocaType`` 1, "cancel all remaining orders with block"): the children of one parent form
  a group (IB's bracket), and so do orders of the account sharing an ``ocaGroup``. When one of them fills,
  in part or in full, the other working ones are cancelled; an API cancel or expiry of one cancels the others.
  ``ocaType`` 0 with a group is taken as 1; 2 and 3 (the others reduced, not cancelled) are refused with 201.
* Cancelling a parent that has not filled cancels its children. Once it has filled in part, its children
  stay working, their quantity cut to what the parent filled: they protect the position it opened (also when
  a DAY or IOC parent ends unfilled in part); a child that has already closed that much is ``Filled``.

Pure functions over the broker's records plus :class:`HeldOrders`; :class:`~sdk.gateway.broker.Broker`
calls them at placement, after each fill and at each cancel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from sdk.gateway.instruments import GatewayContract
from sdk.gateway.records import OrderRecord
from sdk.gateway.requests import PlaceOrderRequest

__all__ = [
    "Held",
    "HeldOrders",
    "children",
    "dormant",
    "oca_peers",
    "oca_problem",
    "parent_problem",
    "shrink_children",
    "workable",
]

#: ocaType values simulated: 1 cancel the others with block (0 with a group is taken as 1).
CANCEL_OTHERS = 1


@dataclass(slots=True)
class Held:
    """An untransmitted order: its request and the record it becomes when its chain is transmitted."""

    request: PlaceOrderRequest
    inst: GatewayContract
    order: OrderRecord


class HeldOrders:
    """Untransmitted orders by ``(client_id, order_id)`` (memory only, as TWS keeps them in its window)."""

    def __init__(self) -> None:
        self._held: dict[tuple[int, int], Held] = {}

    def __len__(self) -> int:
        return len(self._held)

    def get(self, client_id: int, order_id: int) -> Held | None:
        return self._held.get((client_id, order_id))

    def hold(self, client_id: int, held: Held) -> None:
        """Keep (or replace: the same id placed again before transmission) an untransmitted order."""
        self._held[(client_id, held.request.order_id)] = held

    def chain(self, client_id: int, mine: Held) -> list[Held]:
        """The chain ``mine`` (an order with ``transmit=True``) transmits, parent first: the parent (``mine`` or
        its held parent, unless that one already works) and the held children, by order id."""
        req = mine.request
        root = req.parent_id or req.order_id
        parent = self._held.get((client_id, root)) if req.parent_id else mine
        kids = sorted(
            (
                h
                for (cid, oid), h in self._held.items()
                if cid == client_id and h.request.parent_id == root and oid != req.order_id
            ),
            key=lambda h: h.request.order_id,
        )
        if req.parent_id:
            kids = sorted([*kids, mine], key=lambda h: h.request.order_id)
        return ([parent] if parent is not None else []) + kids

    def release(self, client_id: int, held: Iterable[Held]) -> None:
        """Forget transmitted (or refused) held orders."""
        for h in held:
            self._held.pop((client_id, h.request.order_id), None)


def oca_problem(req: PlaceOrderRequest) -> str | None:
    """Why an order's OCA fields are not simulated (for a 201), or None."""
    if req.oca_group and req.oca_type not in (0, CANCEL_OTHERS):
        return (
            f"ocaType {req.oca_type} (the others reduced instead of cancelled) is not simulated; "
            "use ocaType 1 (cancel all remaining orders with block)"
        )
    return None


def parent_problem(mine: Held, working: OrderRecord | None, held: Held | None) -> str | None:
    """Why an attached order cannot attach to its parent (for a 201), or None (also for an order with no parent).

    ``working`` is the parent among the placed orders, ``held`` among the untransmitted ones.
    """
    req = mine.request
    if not req.parent_id:
        return None
    target = working if working is not None else (held.order if held is not None else None)
    if target is None or (working is not None and not working.active):
        return (
            f"parent order {req.parent_id} of this client is neither waiting for transmission nor working; "
            "attach children to a live parent"
        )
    if target.parent_id:
        return f"order {req.parent_id} is itself attached; nested attached orders are not simulated"
    if target.symbol != mine.order.symbol:
        return (
            f"an attached order on another contract ({mine.order.symbol}) than its parent's ({target.symbol}) "
            "is not simulated"
        )
    return None


def workable(order: OrderRecord, orders: Mapping[int, OrderRecord]) -> Decimal:
    """How much of ``order`` may fill now: its remaining quantity, or for a child the part of its parent's
    filled quantity it has not closed yet (0 while the parent has not filled)."""
    if not order.parent_perm:
        return order.remaining
    parent = orders.get(order.parent_perm)
    covered = parent.filled if parent is not None else order.total_quantity
    return max(min(order.total_quantity, covered) - order.filled, Decimal(0))


def dormant(order: OrderRecord, orders: Mapping[int, OrderRecord]) -> bool:
    """A child whose parent has not filled yet (it rests ``PreSubmitted`` and does not work)."""
    parent = orders.get(order.parent_perm) if order.parent_perm else None
    return parent is not None and parent.filled == 0


def shrink_children(parent: OrderRecord, live: Iterable[OrderRecord]) -> list[OrderRecord]:
    """A parent ended filled in part: cut its working children's quantity to what it filled; returns them."""
    cut = [kid for kid in children(parent, live) if kid.total_quantity > parent.filled]
    for kid in cut:
        kid.total_quantity = parent.filled
    return cut


def children(parent: OrderRecord, live: Iterable[OrderRecord]) -> list[OrderRecord]:
    """The working children of ``parent`` among ``live``, by permId."""
    return sorted((o for o in live if o.parent_perm == parent.perm_id and o.active), key=lambda o: o.perm_id)


def oca_peers(order: OrderRecord, live: Iterable[OrderRecord]) -> list[OrderRecord]:
    """The other working orders in a one-cancels-all group with ``order``: its siblings (children of the same
    parent) and the account's orders sharing its ``ocaGroup``, by permId."""
    return sorted(
        (
            o
            for o in live
            if o.perm_id != order.perm_id
            and o.active
            and (
                (order.parent_perm and o.parent_perm == order.parent_perm)
                or (order.oca_group and o.oca_group == order.oca_group and o.account == order.account)
            )
        ),
        key=lambda o: o.perm_id,
    )
