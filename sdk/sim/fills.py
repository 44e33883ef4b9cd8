"""The fill model: when and at what price an order trades against replayed market data.

A pure module (no protocol, no clock, no I/O): the offline gateway fills its orders with it, and the
runner's shadow mode fills its simulated orders with the same functions, so both agree.

The market over one interval is a :class:`MarketSlice`: the quote at the start of the interval
(``bid``/``ask``, one price step apart, see :func:`quote_for`), the traded range (``open``, ``high``,
``low``, ``close``) and the volume traded in it. :func:`match` decides an order against one slice:

* **Arrival** (the first slice after the order is accepted or modified): a ``MKT`` order, and a
  ``LMT`` order whose limit reaches the far touch, fill at the touch (buy at ``ask``, sell at
  ``bid``) as the taker.
* **Protected ``MKT``**: a market order carries a price cap (``OrderSpec.limit_price``), set at its
  arrival at :data:`MARKET_PROTECTION_PCT` beyond the touch (:func:`sdk.instruments.market_order_cap`),
  as IB simulates market orders with marketable limits capped "percentage points beyond the inside
  bid/ask" (IB, "Handling of market orders"; "Market Order Handling using Simulated Market Orders",
  https://www.interactivebrokers.com/en/index.php?f=2827). It takes the touch of each slice while the
  touch is within the cap; once the market has run past the cap, its rest fills only where the slice's
  traded range reaches the cap (at the cap, or at the open when the slice opens inside it), like a
  resting limit: never beyond the cap, never more than the volume left. A ``MKT`` without a cap takes
  the touch, whatever it is.
* **Resting ``LMT``**: a buy fills at its limit when the slice trades at or below it (a sell at or
  above), at the slice's ``open`` instead when the interval opens through the limit (a gap gives the
  better price); liquidity is ``maker``.
* **``STP``**: a buy stop triggers when the slice trades at or above the stop (a sell at or below) and
  then fills as a market order at the worse of the stop and the open, plus half the spread, moved
  onto the price ladder against the order; liquidity ``taker``.
* **``STP LMT``**: triggers like ``STP``; the trigger price fills at once when it is within the limit,
  otherwise the order rests as a ``LMT`` at its limit from the next slice on.
* **Auction** (:func:`auction`): an opening (``OPG``) or closing (market-on-close) order trades at the
  auction's single price: a ``MKT`` whole at it, a ``LMT`` at it when the price is at or better than the
  limit, never beyond; liquidity ``taker``. The price is the session's first bar's open (the opening
  auction) or the last bar's close (the closing auction), as the ASX and NYSE/Nasdaq run them (their
  sources: :data:`sdk.sim.orders.AUCTION_MARKETS`); IDEALPRO FX has no auction.
* **Slippage** (:func:`slipped`): an optional charge of ``bps`` basis points on a taker fill, moved onto
  the ladder against the order and never beyond its limit or cap.
* **Quantity**: at most ``volume_left`` (the slice's volume not yet taken by earlier orders; ``None``
  where the venue reports no volume, as for IDEALPRO FX), rounded down to whole ``size_increment``
  steps (shares), so a large order fills partially over several slices.

Prices and quantities are ``Decimal`` in the instrument's quote currency and base units. The rules
follow IB's paper-trading simulation (fills at the NBBO, limit orders when the market trades
through them: https://www.interactivebrokers.com/en/software/tws/usersguidebook/papertrader/limitations.htm)
with the bar-based conventions of common backtesters.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from sdk.instruments import market_order_cap
from sdk.ticks import PriceLadder

__all__ = [
    "MARKET_PROTECTION_PCT",
    "Fill",
    "FillDecision",
    "MarketSlice",
    "OrderSpec",
    "Quote",
    "auction",
    "match",
    "protection_cap",
    "quote_for",
    "slipped",
]

Side = Literal["BUY", "SELL"]
OrderType = Literal["MKT", "LMT", "STP", "STP LMT"]
Liquidity = Literal["maker", "taker"]
ORDER_TYPES: tuple[str, ...] = ("MKT", "LMT", "STP", "STP LMT")
#: How far beyond the touch at its arrival a market order may fill, in percent (its protection cap). IB
#: does not publish the cap of its simulated stock and FX market orders ("an execution cap percentage
#: points beyond the inside bid/ask", IB "Handling of market orders"); the one figure it publishes is for
#: simulated futures market orders, "submitted at .3% better than the best bid or offer" (TWS help, "Cap to
#: NBBO range", https://www.interactivebrokers.com.hk/php/webhelp/options3.htm), used here. It is below the
#: RiskManager's default ``MARKET_ORDER_BUFFER_PCT`` (0.5), so a protected market order never fills beyond
#: the price the RiskManager checked it at.
MARKET_PROTECTION_PCT = Decimal("0.3")


@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book: ``bid`` < ``ask``, one price step apart; ``last`` the nearest price on the ladder."""

    bid: Decimal
    ask: Decimal
    last: Decimal


def quote_for(price: float | Decimal, ladder: PriceLadder) -> Quote:
    """The quote around a replayed price: bid rounded down, ask up (one step above if on a step).

    The spread is one price step of the instrument's ladder (ASX price steps, US 0.01, IDEALPRO
    0.00005), the tightest a real book shows.
    """
    p = price if isinstance(price, Decimal) else Decimal(repr(float(price)))
    bid = ladder.round(p, "down")
    ask = ladder.round(p, "up")
    if ask <= bid:
        ask = ladder.round(bid + ladder.increment_at(bid), "up")
    return Quote(bid, ask, ladder.round(p, "nearest"))


@dataclass(frozen=True, slots=True)
class MarketSlice:
    """The market over one interval: quote at its start, traded range, volume (base units or None)."""

    bid: Decimal
    ask: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """What the fill model needs of an order: ``quantity`` is what is still open, in base units.

    ``limit_price``: a ``LMT``'s or ``STP LMT``'s limit; a ``MKT``'s protection cap (:func:`protection_cap`),
    or None for an unprotected one.
    """

    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    triggered: bool = False


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution: ``price`` in the quote currency, ``quantity`` in base units."""

    price: Decimal
    quantity: Decimal
    liquidity: Liquidity


@dataclass(frozen=True, slots=True)
class FillDecision:
    """The fills of one slice (possibly none) and whether a stop order is now triggered."""

    fills: tuple[Fill, ...] = ()
    triggered: bool = False

    @property
    def filled(self) -> Decimal:
        return sum((f.quantity for f in self.fills), Decimal(0))


def protection_cap(
    side: Side, market: MarketSlice, ladder: PriceLadder, pct: Decimal = MARKET_PROTECTION_PCT
) -> Decimal:
    """The protection cap of a market order arriving in ``market``: its touch (the ask for a buy, the bid for a
    sell) ``pct`` percent against the order, on ``ladder`` (:func:`sdk.instruments.market_order_cap`)."""
    touch = market.ask if side == "BUY" else market.bid
    return market_order_cap("buy" if side == "BUY" else "sell", touch, ladder, pct)


def _size(order: OrderSpec, volume_left: Decimal | None, increment: Decimal | None) -> Decimal:
    size = order.quantity if volume_left is None else max(Decimal(0), min(order.quantity, volume_left))
    if increment is not None and increment > 0 and size < order.quantity:
        size = (size / increment).to_integral_value(rounding=ROUND_FLOOR) * increment
    return size


def _decide(
    price: Decimal, liquidity: Liquidity, order: OrderSpec, volume_left: Decimal | None, triggered: bool,
    increment: Decimal | None = None,
) -> FillDecision:  # fmt: skip
    size = _size(order, volume_left, increment)
    if size <= 0:
        return FillDecision((), triggered)
    return FillDecision((Fill(price, size, liquidity),), triggered)


def _stop_fill_price(order: OrderSpec, market: MarketSlice, ladder: PriceLadder | None) -> Decimal:
    assert order.stop_price is not None
    half_spread = (market.ask - market.bid) / 2
    if order.side == "BUY":
        raw = max(order.stop_price, market.open) + half_spread
        return ladder.round(raw, "up") if ladder else raw
    raw = min(order.stop_price, market.open) - half_spread
    if raw <= 0:
        raw = min(order.stop_price, market.open)
    return ladder.round(raw, "down") if ladder else raw


def _limit_rests(
    order: OrderSpec, market: MarketSlice, volume_left: Decimal | None, triggered: bool, increment: Decimal | None
) -> FillDecision:
    limit = order.limit_price
    assert limit is not None
    if order.side == "BUY" and market.low <= limit:
        return _decide(min(limit, market.open), "maker", order, volume_left, triggered, increment)
    if order.side == "SELL" and market.high >= limit:
        return _decide(max(limit, market.open), "maker", order, volume_left, triggered, increment)
    return FillDecision((), triggered)


def match(
    order: OrderSpec,
    market: MarketSlice,
    *,
    volume_left: Decimal | None,
    arrival: bool,
    ladder: PriceLadder | None = None,
    size_increment: Decimal | None = None,
) -> FillDecision:
    """Decide ``order`` against one interval of the market (rules in the module docstring).

    Args:
        order: the open part of the order.
        market: the interval's quote, range and volume.
        volume_left: base units still available in this interval (None: unbounded).
        arrival: True for the first interval after the order was accepted or modified.
        ladder: the instrument's price ladder, to keep stop fills on legal prices.
        size_increment: the smallest tradable step of quantity (1 share); a partial fill is rounded
            down to it (None: no rounding).

    Returns:
        The fills (at most one per call) and the stop-trigger state to keep on the order.

    Raises:
        ValueError: an order type other than MKT, LMT, STP, STP LMT, or a missing limit/stop price.
    """
    if order.order_type not in ORDER_TYPES:
        raise ValueError(f"order type {order.order_type!r} is not simulated; use one of {', '.join(ORDER_TYPES)}")
    if order.order_type in ("LMT", "STP LMT") and order.limit_price is None:
        raise ValueError(f"a {order.order_type} order needs a limit price")
    if order.order_type in ("STP", "STP LMT") and order.stop_price is None:
        raise ValueError(f"a {order.order_type} order needs a stop (aux) price")
    if order.quantity <= 0:
        return FillDecision((), order.triggered)
    touch = market.ask if order.side == "BUY" else market.bid

    if order.order_type == "MKT":
        cap = order.limit_price
        if cap is None or (touch <= cap if order.side == "BUY" else touch >= cap):
            return _decide(touch, "taker", order, volume_left, False, size_increment)
        return _limit_rests(order, market, volume_left, False, size_increment)  # past its cap: a limit at it

    if order.order_type == "LMT":
        limit = order.limit_price
        assert limit is not None
        marketable = limit >= touch if order.side == "BUY" else limit <= touch
        if arrival and marketable:
            return _decide(touch, "taker", order, volume_left, False, size_increment)
        return _limit_rests(order, market, volume_left, False, size_increment)

    # stop orders
    triggered = order.triggered
    stop = order.stop_price
    assert stop is not None
    just_triggered = False
    if not triggered:
        reached = market.high >= stop if order.side == "BUY" else market.low <= stop
        if not reached:
            return FillDecision((), False)
        triggered = just_triggered = True
    if order.order_type == "STP":
        return _decide(_stop_fill_price(order, market, ladder), "taker", order, volume_left, True, size_increment)
    limit = order.limit_price
    assert limit is not None
    if just_triggered:
        trigger_price = max(stop, market.open) if order.side == "BUY" else min(stop, market.open)
        within = trigger_price <= limit if order.side == "BUY" else trigger_price >= limit
        if within:
            return _decide(trigger_price, "taker", order, volume_left, True, size_increment)
        return FillDecision((), True)
    return _limit_rests(order, market, volume_left, triggered, size_increment)


def auction(
    order: OrderSpec, price: Decimal, *, volume_left: Decimal | None, size_increment: Decimal | None = None
) -> FillDecision:
    """Decide ``order`` in a single-price auction at ``price`` (rules in the module docstring).

    Args:
        order: a ``MKT`` (market-on-open/close: any protection cap is ignored, an auction has one price) or a
            ``LMT`` (limit-on-open/close) order; its open quantity in base units.
        price: the auction's price in the quote currency (the session's first open, or the last close).
        volume_left: base units the auction may still give (None: unbounded).
        size_increment: a partial fill is rounded down to whole steps of it.

    Returns:
        At most one fill, ``taker``, at ``price``.

    Raises:
        ValueError: a stop order (stops take no part in an auction), or a ``LMT`` without a limit.
    """
    if order.order_type not in ("MKT", "LMT"):
        raise ValueError(f"a {order.order_type} order takes no part in an auction; use MKT or LMT")
    if order.quantity <= 0:
        return FillDecision()
    if order.order_type == "LMT":
        limit = order.limit_price
        if limit is None:
            raise ValueError("a LMT order needs a limit price")
        if (price > limit) if order.side == "BUY" else (price < limit):
            return FillDecision()
    return _decide(price, "taker", order, volume_left, False, size_increment)


def slipped(price: Decimal, side: Side, bps: Decimal, ladder: PriceLadder, bound: Decimal | None = None) -> Decimal:
    """``price`` moved ``bps`` basis points against a ``side`` order, onto ``ladder`` (a buy up, a sell down), and
    never past ``bound`` (the order's limit or a market order's cap; None: unbounded). ``bps`` 0 returns ``price``.

    Raises:
        ValueError: a negative ``bps``.
    """
    if bps < 0:
        raise ValueError(f"slippage must be zero or more basis points, got {bps}")
    if bps == 0:
        return price
    if side == "BUY":
        moved = ladder.round(price * (1 + bps / 10_000), "up")
        return min(moved, bound) if bound is not None else moved
    moved = ladder.round(price * (1 - bps / 10_000), "down")
    return max(moved, bound) if bound is not None else moved
