"""The facts a risk decision rests on, frozen at decision time: :class:`RiskContext`.

Everything :meth:`sdk.risk.RiskManager.validate` reads is here (the instrument, the top of book,
positions with their marks, FX rates into the base currency with source and time, equity and today's
PnL, the clock), so the decision is a pure function of facts that can be logged and replayed.
:func:`sdk.risk.build_risk_context` gathers them from any :class:`~sdk.base.BaseTrader`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from sdk.costs.fx import FxTable, to_decimal
from sdk.costs.model import FeeRates, MonthlyVolume
from sdk.instruments import InstrumentSpec

__all__ = ["PositionFact", "Quote", "RiskContext"]


def _opt(value: Any) -> Decimal | None:
    return None if value is None else to_decimal(value)


@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book of one instrument, prices in its quote currency, sizes in base units.

    ``timestamp`` is milliseconds UTC of the quote. A field the venue did not give is None.
    """

    bid: Decimal | None = None
    ask: Decimal | None = None
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    last: Decimal | None = None
    timestamp: int | None = None

    def __post_init__(self) -> None:
        for name in ("bid", "ask", "bid_size", "ask_size", "last"):
            value = getattr(self, name)
            if value is not None:
                value = to_decimal(value)
                object.__setattr__(self, name, value if value.is_finite() and value > 0 else None)

    @classmethod
    def from_market_data(cls, data: Mapping[str, Any]) -> Quote:
        """From :meth:`sdk.base.BaseTrader.get_market_data` (``bid``, ``ask``, sizes, ``price`` as last)."""
        return cls(
            bid=_opt(data.get("bid")),
            ask=_opt(data.get("ask")),
            bid_size=_opt(data.get("bid_size")),
            ask_size=_opt(data.get("ask_size")),
            last=_opt(data.get("price")),
            timestamp=data.get("timestamp"),
        )

    @property
    def mid(self) -> Decimal | None:
        """(bid + ask) / 2 when both sides are quoted."""
        return (self.bid + self.ask) / 2 if self.bid is not None and self.ask is not None else None

    @property
    def spread_pct(self) -> Decimal | None:
        """(ask - bid) / mid × 100 when both sides are quoted."""
        mid = self.mid
        if mid is None or self.bid is None or self.ask is None:
            return None
        return (self.ask - self.bid) / mid * 100


@dataclass(frozen=True, slots=True)
class PositionFact:
    """A held position: ``amount`` signed in base units (short is negative), ``mark_price`` in ``currency``.

    ``mark_price`` is None when the venue gave no mark; exposure then cannot be valued.
    """

    symbol: str
    amount: Decimal
    mark_price: Decimal | None
    currency: str


@dataclass(frozen=True, slots=True)
class RiskContext:
    """Frozen facts at decision time.

    Attributes:
        instrument: the instrument ordered (tick ladder, size step, hours, market-order rule).
        quote: its top of book, or None when the venue has none.
        positions: current positions by canonical symbol.
        fx: rates into the base currency (``fx.base``) for the instrument's quote currency, every
            position's currency and the cost's currency, each with source and time.
        now: the decision time (timezone-aware); market hours are checked at it.
        pnl_today: realized plus unrealized PnL today in the base currency (a loss is negative);
            supplied by the caller (the portfolio tracker or ledger).
        equity: account equity in the base currency, when known.
        fee_rates: a ccxt venue's maker/taker rates for the instrument (None for IB).
        monthly_volume: month-to-date volume picking an IB Tiered tier.
    """

    instrument: InstrumentSpec
    quote: Quote | None
    positions: Mapping[str, PositionFact]
    fx: FxTable
    now: datetime
    pnl_today: Decimal = Decimal(0)
    equity: Decimal | None = None
    fee_rates: FeeRates | None = None
    monthly_volume: MonthlyVolume = field(default_factory=MonthlyVolume)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError(f"RiskContext.now must be timezone-aware, got naive {self.now.isoformat()}")
        object.__setattr__(self, "positions", MappingProxyType(dict(self.positions)))
        object.__setattr__(self, "pnl_today", to_decimal(self.pnl_today))

    @property
    def base_currency(self) -> str:
        """The currency every limit is in."""
        return self.fx.base

    def position(self, symbol: str) -> Decimal:
        """The signed position in ``symbol`` (base units), 0 when flat."""
        fact = self.positions.get(symbol)
        return fact.amount if fact is not None else Decimal(0)
