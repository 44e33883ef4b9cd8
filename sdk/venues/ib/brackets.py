"""Attached stop-loss and take-profit orders on IB: ccxt's params sent as IB's bracket.

``create_order(..., params={"stopLossPrice": sl, "takeProfitPrice": tp})`` (either or both; ccxt's attached
form ``{"stopLoss": {"triggerPrice": sl}, "takeProfit": {"triggerPrice": tp}}``, which ccxt's
``create_order_with_take_profit_and_stop_loss`` builds, is the same) sends IB's bracket
(https://interactivebrokers.github.io/tws-api/bracket_order.html; ib_async 2.1.0 ``IB.bracketOrder``):

* the entry (the parent) with ``transmit=False``, then its children with ``parentId`` = the parent's
  ``orderId``, the opposite side and the parent's amount, the last one with ``transmit=True``: IB
  transmits the three together, so the entry cannot fill before its exits exist;
* the stop-loss is a ``STP`` at ``stopLossPrice`` (IB ``auxPrice``), the take-profit a ``LMT`` at
  ``takeProfitPrice``; they share an ``ocaGroup`` (the parent's client order id, ``ocaType`` 1): when one
  fills IB cancels the other, and cancelling the parent before it fills cancels both;
* the children's client order ids (IB ``orderRef``) are the parent's plus ``-sl`` / ``-tp``
  (:data:`~sdk.venues.ib.parsing.BRACKET_SUFFIXES`), so ``fetch_order("<id>-sl")`` finds them and a
  reconcile after a reconnect adopts them; they are ccxt orders of type ``stop`` and ``limit``;
* the children are ``GTC`` whatever the entry's ``timeInForce`` (they protect the position the entry opens,
  which outlives a DAY entry) and take the entry's ``outsideRth``. IB works them from the entry's first fill.

Checked before anything is sent (``InvalidOrder`` naming the price and the side it must be on): a buy's
stop-loss below its entry and take-profit above it, a sell's the other way round; the entry is the limit
price (``limit``, ``stop_limit``), the stop price (``stop``) or, for a ``market`` order, the touch it would
take (the ask for a buy, the bid for a sell); both prices on the instrument's ladder (the nearest price that
keeps the loss no larger and the profit no smaller is named). A marketable limit (how the RiskManager sends
a market order on ASX) takes a bracket like any limit: the children close what fills.

Refused with ``NotSupported`` (nothing sent): a bracket with ``reduceOnly`` (its children would close more
than the reduce-only entry opens: place the exits as their own orders), and a ``stopLoss``/``takeProfit``
dict with keys other than ``triggerPrice`` (stop-limit losses, market take-profits and partial amounts are
not sent).

Note for ccxt users: ccxt also uses ``stopLossPrice``/``takeProfitPrice`` alone for a *standalone* trigger
order that closes a position (``create_stop_loss_order``); on IB they always attach exits to the order being
created (``has["createStopLossOrder"]`` is False). A standalone stop is ``create_stop_order``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ib_async import Order as IBOrder

from sdk.errors import BadRequest, InvalidOrder, NotSupported
from sdk.instruments import InstrumentSpec
from sdk.venues.ib.order_records import OrderRecord
from sdk.venues.ib.parsing import BRACKET_SUFFIXES, MAX_PRICE, sane_price

__all__ = ["BRACKET_PARAMS", "Bracket", "attach", "check_bracket", "child_records", "parse_bracket"]

#: The ``create_order`` params that ask for a bracket (flat ccxt names and ccxt's attached dicts).
BRACKET_PARAMS = frozenset({"stopLossPrice", "takeProfitPrice", "stopLoss", "takeProfit"})
#: IB's ocaType "cancel all remaining orders with block" (https://interactivebrokers.github.io/tws-api/oca.html).
OCA_CANCEL_WITH_BLOCK = 1
#: The longest client order id that still leaves room for a child's suffix within IB's 40 (``orderRef``).
MAX_PARENT_ID = 40 - max(len(s) for s in BRACKET_SUFFIXES.values())


@dataclass(frozen=True, slots=True)
class Bracket:
    """The exits asked for, prices in the quote currency (None: not asked)."""

    stop_loss: float | None
    take_profit: float | None


def parse_bracket(params: dict[str, Any], client_order_id: str) -> Bracket | None:
    """The bracket ``params`` ask for, or None.

    Raises:
        NotSupported: a ``stopLoss``/``takeProfit`` dict with keys other than ``triggerPrice``.
        BadRequest: both forms of one exit, a malformed dict, or a ``client_order_id`` too long for a suffix.
        InvalidOrder: a price that is not a positive number of at most ``MAX_PRICE``.
    """
    stop_loss = _price(params, "stopLossPrice", "stopLoss", "a STP (stop) order")
    take_profit = _price(params, "takeProfitPrice", "takeProfit", "a LMT (limit) order")
    if stop_loss is None and take_profit is None:
        return None
    if len(client_order_id) > MAX_PARENT_ID:
        raise BadRequest(
            f"clientOrderId {client_order_id!r} is {len(client_order_id)} characters; with stopLossPrice or "
            f"takeProfitPrice it may have at most {MAX_PARENT_ID}, so its children's ids (+'-sl', +'-tp') fit IB's "
            "40-character orderRef"
        )
    return Bracket(stop_loss, take_profit)


def _price(params: dict[str, Any], flat: str, nested: str, kind: str) -> float | None:
    if params.get(flat) is not None and params.get(nested) is not None:
        raise BadRequest(f"give params['{flat}'] or params['{nested}'] (ccxt's attached form), not both")
    value = params.get(flat)
    if params.get(nested) is not None:
        attached = params[nested]
        if not isinstance(attached, dict) or "triggerPrice" not in attached:
            raise BadRequest(
                f"params['{nested}'] must be {{'triggerPrice': price}} (ccxt's attached form), got {attached!r}"
            )
        extra = sorted(set(attached) - {"triggerPrice"})
        if extra:
            raise NotSupported(
                f"IB create_order does not honour params['{nested}'] keys {extra}: the attached exit is {kind} at "
                f"triggerPrice for the entry's amount; pass only triggerPrice, or place the exit as its own order "
                "(nothing was sent)"
            )
        value = attached["triggerPrice"]
    if value is None:
        return None
    if not sane_price(value):
        raise InvalidOrder(
            f"{flat} must be a positive price in the quote currency (at most {MAX_PRICE:g}), got {value!r}"
        )
    return float(value)


def check_bracket(bracket: Bracket, side: str, entry: float, spec: InstrumentSpec, reduce_only: bool) -> None:
    """Refuse a bracket IB would not take or that would not protect the entry (module docstring).

    Raises:
        NotSupported: with ``reduceOnly``.
        InvalidOrder: a price on the wrong side of ``entry`` or off the ladder (the message names which).
    """
    if reduce_only:
        raise NotSupported(
            "IB create_order does not honour stopLossPrice/takeProfitPrice with params['reduceOnly']: the exits "
            "would close more than a reduce-only entry opens; place the stop and the limit as their own orders "
            "(nothing was sent)"
        )
    below, above = ("below", "above") if side == "buy" else ("above", "below")
    for label, value, where in (
        ("stopLossPrice", bracket.stop_loss, below),
        ("takeProfitPrice", bracket.take_profit, above),
    ):
        if value is None:
            continue
        if (value < entry) != (where == "below") or value == entry:
            raise InvalidOrder(
                f"{label} {value} of a {side} must be {where} its entry {entry} {spec.quote} (the "
                f"{'stop-loss' if label == 'stopLossPrice' else 'take-profit'} of a {side} sits {where} the price it "
                f"opens at); nothing was sent"
            )
        if not spec.ladder.is_on_ladder(value):
            good = spec.ladder.round(value, "up" if side == "buy" else "down")
            raise InvalidOrder(
                f"{label} {value} is not on {spec.symbol}'s price ladder (step {spec.ladder.increment_at(value)} "
                f"{spec.quote}; IB error 110 otherwise); the nearest price keeping the loss no larger and the profit "
                f"no smaller is {good}"
            )


def child_records(parent: OrderRecord, bracket: Bracket) -> list[OrderRecord]:
    """The stop-loss and take-profit children of ``parent`` (the opposite side, its amount, GTC)."""
    side = "sell" if parent.side == "buy" else "buy"
    legs = (("stopLoss", "stop", bracket.stop_loss), ("takeProfit", "limit", bracket.take_profit))
    return [
        OrderRecord(
            client_order_id=parent.client_order_id + BRACKET_SUFFIXES[leg],
            symbol=parent.symbol,
            type=kind,
            side=side,
            amount=parent.amount,
            price=price if kind == "limit" else None,
            stop_price=price if kind == "stop" else None,
            time_in_force="GTC",
            reduce_only=False,
            timestamp=parent.timestamp,
            con_id=parent.con_id,
            exchange=parent.exchange,
            parent=parent.client_order_id,
            stop_loss_price=price if leg == "stopLoss" else None,
            take_profit_price=price if leg == "takeProfit" else None,
        )
        for leg, kind, price in legs
        if price is not None
    ]


def attach(child: IBOrder, parent: IBOrder, parent_ref: str) -> None:
    """Attach ``child`` to ``parent`` (already placed: its ``orderId`` is known) in the bracket's OCA group."""
    child.parentId = parent.orderId
    child.ocaGroup = parent_ref
    child.ocaType = OCA_CANCEL_WITH_BLOCK
