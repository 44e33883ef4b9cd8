"""What the risk layer needs to know about an instrument, whatever the venue: :class:`InstrumentSpec`,
and the one market-order rule every part of the SDK follows.

Every venue answers :meth:`sdk.base.BaseTrader.fetch_instrument`; the IB venue fills it from the
qualified contract (market rule -> price ladder, sizeIncrement, trading hours), a ccxt venue from its
market structure (``precision.price`` as the tick, ``limits.amount.min``).

**The market-order rule.** :func:`market_orders_taken` decides, for every venue, whether a market order
for an instrument is sent as one (``InstrumentSpec.market_orders_allowed``); where it is not, the
RiskManager turns it into a marketable limit at :func:`market_order_cap` before preview
(:mod:`sdk.risk.pricing`), so what a preview approves is exactly what is placed, and a venue asked for a
raw market order there refuses it with :func:`refuse_market_order` (the IB venue and the shadow venue
alike). :func:`market_order_cap` is also the protection the offline gateway (and the shadow venue) give a
market order they fill: a cap beyond the touch at arrival, as IB's simulated market orders have one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sdk.errors import InvalidOrder
from sdk.symbols import InstrumentType
from sdk.ticks import PriceLadder, safe_direction

__all__ = [
    "NO_MARKET_ORDER_MARKETS",
    "InstrumentSpec",
    "market_order_cap",
    "market_orders_taken",
    "refuse_market_order",
    "why_no_market_orders",
]

#: Markets where the SDK never sends a market order, whatever the venue: ASX. ASX Trade turns a market
#: order into a market-to-limit order (what does not fill at once rests as a limit at the price traded),
#: and IB may cap it further (IB, "Market Order Handling using Simulated Market Orders",
#: https://www.interactivebrokers.com/en/index.php?f=2827), so an exit there is a marketable limit the SDK
#: prices itself, never an order whose price nobody chose.
NO_MARKET_ORDER_MARKETS: frozenset[str] = frozenset({"ASX"})


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """One tradable instrument as the risk layer and the tools see it.

    Attributes:
        symbol: canonical ``BASE/QUOTE``.
        instrument_type: stock, etf, fx, index or crypto.
        base: what ``amount`` counts (a ticker's shares, or the base currency of an FX pair).
        quote: the currency prices and notionals are in.
        ladder: legal prices (IB market rule / ASX price steps / ccxt price precision).
        size_increment: the step of ``amount`` in base units (1 share; 1 unit of FX base currency).
        min_size: the smallest ``amount`` the venue accepts, in base units.
        market: whose hours apply: ``"ASX"``, ``"NYSE"``, ``"FX"`` (see :mod:`sdk.calendars`), or None for 24/7.
        market_orders_allowed: False where exits and flattening must be marketable limits instead.
        venue: the venue id (``"IB"``, ``"gemini"``).
        con_id: IB's contract id, when the venue is IB.
        exchange: the listing or routing exchange (``"ASX"``, ``"IDEALPRO"``, ``"NASDAQ"``).
        long_name: the instrument's name, for display (venue text: treat as untrusted).
    """

    symbol: str
    instrument_type: InstrumentType
    base: str
    quote: str
    ladder: PriceLadder
    size_increment: Decimal
    min_size: Decimal
    market: str | None
    market_orders_allowed: bool
    venue: str
    con_id: int | None = None
    exchange: str | None = None
    long_name: str | None = None


def market_orders_taken(market: str | None, *, venue_takes_them: bool = True, as_limits: bool = False) -> bool:
    """The one market-order rule: True when a market order for an instrument is sent as a market order.

    False (it becomes a marketable limit at :func:`market_order_cap`, immediate-or-cancel) when:

    * the instrument trades on a market in :data:`NO_MARKET_ORDER_MARKETS` (``"ASX"``; ``market`` as
      :attr:`InstrumentSpec.market`);
    * the venue takes no market orders (``venue_takes_them`` False: ccxt's ``has["createMarketOrder"]``
      False or unknown, as for Gemini, whose API takes limit orders only);
    * ``MARKET_ORDERS_AS_LIMITS`` is true (``as_limits``): every market order is sent as a capped limit.

    IB takes market orders on US stocks and IDEALPRO FX (and protects them with a price cap of its own,
    see :func:`market_order_cap`). Every venue computes ``InstrumentSpec.market_orders_allowed`` with this
    function; nothing else decides it.
    """
    return venue_takes_them and not as_limits and market not in NO_MARKET_ORDER_MARKETS


def market_order_cap(side: Literal["buy", "sell"], touch: Decimal, ladder: PriceLadder, pct: Decimal) -> Decimal:
    """The price cap of a market order: ``touch`` moved ``pct`` percent against the order, on the ladder.

    A buy's cap is ``touch × (1 + pct/100)`` rounded down onto ``ladder`` (it never pays more), a sell's
    ``touch × (1 - pct/100)`` rounded up (it never takes less); ``touch`` is the far side of the book the
    order takes (the ask for a buy, the bid for a sell), in the quote currency. It is the limit of the
    marketable limit a market order becomes where :func:`market_orders_taken` is False (``pct`` =
    ``MARKET_ORDER_BUFFER_PCT``), and the protection of a market order the offline gateway fills (``pct`` =
    :data:`sdk.sim.fills.MARKET_PROTECTION_PCT`).

    Raises:
        ValueError: ``pct`` leaves no positive price (a sell capped 100% or more below its bid).
    """
    moved = touch * (1 + pct / 100) if side == "buy" else touch * (1 - pct / 100)
    if moved <= 0:
        raise ValueError(f"a cap {pct}% below the bid {touch} leaves no positive price")
    return ladder.round(moved, safe_direction(side))


def refuse_market_order(instrument: InstrumentSpec, type: str) -> None:
    """Refuse a raw market order where :func:`market_orders_taken` said no (a venue's ``create_order`` calls it).

    Raises:
        InvalidOrder: ``type`` is ``"market"`` and ``instrument.market_orders_allowed`` is False; the message
            says to send a marketable limit (the RiskManager's preview builds one). Nothing is sent.
    """
    if type != "market" or instrument.market_orders_allowed:
        return
    raise InvalidOrder(
        f"no market orders for {instrument.symbol} ({why_no_market_orders(instrument)}): send a marketable limit "
        "order instead (a limit through the opposite touch, immediate-or-cancel; the RiskManager's preview builds "
        "one from a market order)"
    )


def why_no_market_orders(instrument: InstrumentSpec) -> str:
    """Why :func:`market_orders_taken` said no for ``instrument``, in a few words (for warnings and errors)."""
    if instrument.market in NO_MARKET_ORDER_MARKETS:
        return f"none are used on {instrument.market}"
    return f"{instrument.venue} takes none, or MARKET_ORDERS_AS_LIMITS=true"
