"""What the risk layer needs to know about an instrument, whatever the venue: :class:`InstrumentSpec`.

Every venue answers :meth:`sdk.base.BaseTrader.fetch_instrument`; the IB venue fills it from the
qualified contract (market rule -> price ladder, sizeIncrement, trading hours), a ccxt venue from its
market structure (``precision.price`` as the tick, ``limits.amount.min``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sdk.symbols import InstrumentType
from sdk.ticks import PriceLadder

__all__ = ["InstrumentSpec"]


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
