"""What the paper account refuses in a ``placeOrder``, with IB's codes, and the record a valid one becomes.

IB's rules kept here (``../shared/docs/ib-reference.md``; IB "Order Types"; IB "Time in Force for Orders",
https://www.interactivebrokers.com.hk/php/webhelp/Making_Trades/Create_Order_Types/timeinforce.htm):

* an index cannot be traded (201); a missing exchange, an action other than BUY/SELL, a quantity that is not
  positive, fractional shares, a missing limit or stop price, or another account's order is 321;
* order types ``MKT``, ``LMT``, ``STP``, ``STP LMT``; times in force ``DAY``, ``GTC``, ``IOC``, ``FOK`` and ``OPG``;
  another type or TIF, conditions and algorithms are not simulated (201);
* ``OPG`` (market-on-open, limit-on-open) is a ``MKT`` or ``LMT`` order for a market with an opening auction
  (the ASX, NYSE/Nasdaq listings: :data:`sdk.sim.orders.AUCTION_MARKETS`); IDEALPRO FX runs no auction, and TWS
  refuses the TIF there ("Not all TIFs are available for all orders", the TIF page above): 201 with the reason;
* a price off the instrument's ladder is 110; OCA types other than 1 are 201 (:mod:`sdk.gateway.brackets`).

Quantities and prices are ``Decimal`` (base units; the instrument's quote currency).
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from sdk.gateway import brackets
from sdk.gateway.instruments import GatewayContract
from sdk.gateway.records import OrderRecord
from sdk.gateway.requests import PlaceOrderRequest
from sdk.redaction import mask_account
from sdk.sim.orders import AUCTION_MARKETS

__all__ = ["ORDER_TYPES", "TIFS", "OrderRejected", "Terms", "preview", "validate"]

ORDER_TYPES = ("MKT", "LMT", "STP", "STP LMT")
TIFS = ("DAY", "GTC", "IOC", "FOK", "OPG")


class OrderRejected(Exception):
    """An order IB would not accept: ``code`` is IB's error code, ``detail`` its reason; ``others`` the ids of
    untransmitted orders of the same client refused with it (a bracket's chain)."""

    def __init__(self, code: int, detail: str = "", others: tuple[int, ...] = ()) -> None:
        super().__init__(f"{code} {detail}")
        self.code = code
        self.detail = detail
        self.others = others


class Terms(NamedTuple):
    """A valid order's terms: IB's order type and TIF, quantity (base units), limit and stop (quote currency)."""

    order_type: str
    tif: str
    quantity: Decimal
    lmt: Decimal | None
    aux: Decimal | None


def validate(req: PlaceOrderRequest, inst: GatewayContract, account: str) -> Terms:
    """The terms of ``req`` for ``inst`` in ``account`` (rules in the module docstring).

    Raises:
        OrderRejected: 110, 201 or 321 with the reason and what to send instead.
    """
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
        raise OrderRejected(201, f"time in force {req.tif!r} is not simulated; use DAY, GTC, IOC, FOK or OPG")
    if tif == "OPG":
        _check_opening(order_type, inst)
    if req.account and req.account != account:
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
    return Terms(order_type, tif, quantity, lmt, aux)


def _check_opening(order_type: str, inst: GatewayContract) -> None:
    if inst.market not in AUCTION_MARKETS:
        raise OrderRejected(
            201,
            f"time in force OPG is not available for {inst.ib_symbol} on {inst.exchange}: it runs no opening auction; "
            "use DAY, GTC or IOC",
        )
    if order_type not in ("MKT", "LMT"):
        raise OrderRejected(
            201, f"an OPG order is a MKT or LMT order for the opening auction, not {order_type}; use MKT or LMT"
        )


def preview(
    client_id: int, req: PlaceOrderRequest, inst: GatewayContract, now: float, terms: Terms, account: str
) -> OrderRecord:
    """The record ``req`` becomes (``permId`` 0 until it is registered), created at ``now`` (epoch seconds)."""
    return OrderRecord(
        order_id=req.order_id,
        client_id=client_id,
        perm_id=0,
        symbol=inst.symbol,
        con_id=inst.con_id,
        action=req.action,  # type: ignore[arg-type]
        total_quantity=terms.quantity,
        order_type=terms.order_type,
        lmt_price=terms.lmt,
        aux_price=terms.aux,
        tif=terms.tif,
        order_ref=req.order_ref,
        account=account,
        created=now,
        outside_rth=req.outside_rth,
        updated=now,
        exchange=req.contract.exchange or inst.exchange,
        oca_group=req.oca_group,
        oca_type=brackets.CANCEL_OTHERS if req.oca_group else 0,
    )
