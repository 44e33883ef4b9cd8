"""Simulated orders and their executions, in ccxt's vocabulary: :class:`SimOrder`, :class:`Execution`, :class:`Fee`.

An order is what a strategy asked for (ccxt's ``type``: ``market``, ``limit``, ``stop``, ``stop_limit``; its
``side``, ``amount`` in base units, ``price`` and ``stop_price`` in the quote currency) plus the state the matching
engine (:mod:`sdk.sim.matching`) keeps while it works it: status (ccxt's ``open``, ``closed``, ``canceled``,
``expired``, ``rejected``), what filled and at what cost, whether a stop has triggered, a market order's
protection cap, a ``DAY`` order's expiry and an ``OPG`` order's opening auction.

Times in force (IB, "Time in Force for Orders",
https://www.interactivebrokers.com.hk/php/webhelp/Making_Trades/Create_Order_Types/timeinforce.htm):

* ``GTC``: works until filled or cancelled;
* ``DAY``: expires at the close of the session it is placed in, or of the next one when placed outside hours;
* ``IOC``: what does not fill on arrival (the first slice of the market it meets inside a session) is cancelled;
  one placed while its market is shut is cancelled at once, as IB (and the offline gateway) cancel it;
* ``FOK``: fills whole on arrival, or is cancelled with nothing filled;
* ``OPG``: a market or limit order for the next opening auction (market-on-open, limit-on-open); what the auction
  does not fill is cancelled. Only where the market runs an opening auction (:data:`AUCTION_MARKETS`).

Pure data: no clock, no I/O. Times are integer milliseconds UTC; money is ``Decimal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from sdk.errors import InvalidOrder
from sdk.instruments import InstrumentSpec
from sdk.sim.fills import Liquidity, OrderType

__all__ = [
    "AUCTION_MARKETS",
    "DONE_STATUSES",
    "ORDER_TYPES",
    "TIMES_IN_FORCE",
    "Execution",
    "Fee",
    "OrderStatus",
    "SimOrder",
    "validate_order",
]

OrderStatus = Literal["open", "closed", "canceled", "expired", "rejected"]
#: ccxt order type -> the fill model's (IB's) order type.
ORDER_TYPES: dict[str, OrderType] = {"market": "MKT", "limit": "LMT", "stop": "STP", "stop_limit": "STP LMT"}
TIMES_IN_FORCE: tuple[str, ...] = ("GTC", "DAY", "IOC", "FOK", "OPG")
#: Statuses an order never leaves.
DONE_STATUSES: frozenset[str] = frozenset({"closed", "canceled", "expired", "rejected"})
#: Markets (:mod:`sdk.calendars` names) that run opening and closing auctions: the ASX (an opening auction at about
#: 10:00 and a closing auction at 16:10 Sydney; ``../shared/docs/ib-reference.md``, "ASX market rules") and NYSE/Nasdaq
#: listings (NYSE "Opening and Closing Auctions": Market on Open and Limit on Open orders at the 09:30 open, Market
#: on Close and Limit on Close at the 16:00 close; the Nasdaq Opening and Closing Crosses). IDEALPRO FX trades
#: around the clock with no auction, so ``OPG`` and market-on-close are refused there (IB: "Not all TIFs are
#: available for all orders", the TIF page cited in the module docstring).
AUCTION_MARKETS: frozenset[str] = frozenset({"ASX", "NYSE"})


@dataclass(frozen=True, slots=True)
class Fee:
    """A commission: ``amount`` in ``currency``; both None while it is pending (unknown, never 0.0)."""

    amount: Decimal | None
    currency: str | None
    #: Where the figure comes from (``estimate``: the CostTracker's schedule; ``actual``: the venue's report).
    source: str = "estimate"

    @property
    def pending(self) -> bool:
        return self.amount is None or self.currency is None

    @classmethod
    def unknown(cls, currency: str | None = None, source: str = "estimate") -> Fee:
        """A pending fee (no schedule, no FX rate, no report yet)."""
        return cls(None, currency, source)


@dataclass(slots=True)
class Execution:
    """One fill of a simulated order (ccxt's trade, before it is rendered by :mod:`sdk.sim.ccxt_shapes`).

    ``price`` quote currency per base unit; ``amount`` base units; ``timestamp`` ms UTC (the start of the market
    slice it traded in); ``fee`` None until the caller prices it (then a :class:`Fee`, maybe pending);
    ``realized`` the PnL it realised in the quote currency (set by the account when booked, before fees).
    """

    id: str
    order_id: str
    client_order_id: str | None
    symbol: str
    side: Literal["buy", "sell"]
    type: str
    price: Decimal
    amount: Decimal
    liquidity: Liquidity
    timestamp: int
    fee: Fee | None = None
    realized: Decimal | None = None

    @property
    def cost(self) -> Decimal:
        """``price`` × ``amount``, in the quote currency."""
        return self.price * self.amount


@dataclass(slots=True)
class SimOrder:
    """One simulated order and its working state (see the module docstring).

    ``amount``/``filled`` base units; ``price`` (a limit), ``stop_price`` (a stop's trigger), ``cap`` (a market
    order's protection cap, set at its arrival) and ``cost`` (sum of fills' price × amount) in the quote currency;
    ``timestamp``, ``last_update``, ``expires_at`` (a ``DAY`` order's session close) and ``opens_at`` (the opening
    auction an ``OPG`` order waits for) in ms UTC. ``arrival`` is True until the order first meets its market inside
    a session. ``reason`` says why it ended other than filled.
    """

    id: str
    client_order_id: str | None
    symbol: str
    type: str
    side: Literal["buy", "sell"]
    amount: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str
    timestamp: int
    reduce_only: bool = False
    status: OrderStatus = "open"
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    triggered: bool = False
    cap: Decimal | None = None
    arrival: bool = True
    expires_at: int | None = None
    opens_at: int | None = None
    last_update: int | None = None
    reason: str = ""
    fills: list[Execution] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATUSES

    @property
    def average(self) -> Decimal | None:
        """The average fill price (quote currency), None before the first fill."""
        return self.cost / self.filled if self.filled else None

    @property
    def fill_type(self) -> OrderType:
        """The fill model's name of :attr:`type` (``MKT``, ``LMT``, ``STP``, ``STP LMT``)."""
        return ORDER_TYPES[self.type]

    def end(self, status: OrderStatus, reason: str, at: int) -> None:
        """Finish the order with ``status`` (a no-op on a finished one)."""
        if self.is_done:
            return
        self.status, self.reason, self.last_update = status, reason, at


def validate_order(
    instrument: InstrumentSpec,
    type: str,
    side: str,
    amount: Decimal,
    price: Decimal | None,
    stop_price: Decimal | None,
    time_in_force: str,
) -> None:
    """Refuse what a venue would refuse, before anything is booked.

    Checks: a known ``type`` and ``side``; ``amount`` positive, at least ``instrument.min_size`` and a whole number
    of ``size_increment`` steps (whole shares, IB's "fractional quantity" refusal); a positive limit for
    ``limit``/``stop_limit`` and a positive stop for ``stop``/``stop_limit``, each on the instrument's price ladder
    (IB error 110); a known time in force; ``OPG`` only for a market or limit order on a market with an opening
    auction (:data:`AUCTION_MARKETS`).

    Raises:
        InvalidOrder: the first problem found, with what to send instead.
    """
    if type not in ORDER_TYPES:
        raise InvalidOrder(f"order type {type!r} is not simulated; use one of {', '.join(ORDER_TYPES)}")
    if side not in ("buy", "sell"):
        raise InvalidOrder(f"order side {side!r} is not buy or sell")
    if not amount.is_finite() or amount <= 0:
        raise InvalidOrder(f"amount must be a positive number of base units, got {amount}")
    if amount < instrument.min_size:
        raise InvalidOrder(f"amount {amount} is below {instrument.symbol}'s minimum size {instrument.min_size}")
    step = instrument.size_increment
    if step > 0 and amount % step != 0:
        raise InvalidOrder(f"amount {amount} is not a whole number of {instrument.symbol}'s size steps ({step})")
    if type in ("limit", "stop_limit") and price is None:
        raise InvalidOrder(f"a {type} order needs a price (its limit, in {instrument.quote})")
    if type in ("stop", "stop_limit") and stop_price is None:
        raise InvalidOrder(f"a {type} order needs params={{'stopPrice': ...}} (its trigger, in {instrument.quote})")
    for name, value in (("price", price if type in ("limit", "stop_limit") else None), ("stopPrice", stop_price)):
        if value is None:
            continue
        if not value.is_finite() or value <= 0:
            raise InvalidOrder(f"{name} must be a positive price in {instrument.quote}, got {value}")
        if not instrument.ladder.is_on_ladder(value):
            step_at = instrument.ladder.increment_at(value)
            raise InvalidOrder(
                f"{name} {value} is not a multiple of {step_at} for {instrument.symbol}; round it onto the ladder "
                f"(e.g. {instrument.ladder.round(value, 'nearest')})"
            )
    if time_in_force not in TIMES_IN_FORCE:
        raise InvalidOrder(f"time in force {time_in_force!r} is not simulated; use one of {', '.join(TIMES_IN_FORCE)}")
    if time_in_force == "OPG":
        if type not in ("market", "limit"):
            raise InvalidOrder(f"an OPG order is a market or limit order for the opening auction, not a {type} order")
        if instrument.market not in AUCTION_MARKETS:
            where = instrument.market or "a market without sessions"
            raise InvalidOrder(
                f"{instrument.symbol} trades on {where}, which has no opening auction: OPG is only for ASX and "
                "NYSE/Nasdaq listings; send a DAY or GTC order instead"
            )
