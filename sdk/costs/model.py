"""The shapes of trading costs: :class:`Cost` (an estimate or an actual), :class:`FeeRates` (a ccxt venue's
maker/taker rates) and :class:`MonthlyVolume` (what picks an IB Tiered tier).

A :class:`Cost` is in its own currency (``amount``, ``currency``) and in the base currency
(``amount_base``) with the :class:`~sdk.costs.fx.FxRate` used; an actual whose report has not arrived
is *pending*: ``amount`` and ``amount_base`` are None, never 0.0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sdk.costs.fx import FxRate, to_decimal

__all__ = ["Cost", "CostKind", "FeeRates", "FeeSide", "Liquidity", "MonthlyVolume"]

CostKind = Literal["estimate", "actual"]
Liquidity = Literal["maker", "taker"]
#: ccxt's ``market["feeSide"]``: the fee is in the quote or base currency, or in what you get / give.
FeeSide = Literal["quote", "base", "get", "give"]


@dataclass(frozen=True, slots=True)
class MonthlyVolume:
    """Month-to-date volume that picks an IB Tiered tier (from the ledger; zero means the first tier).

    ``asx_value_aud``: ASX trade value in AUD; ``us_shares``: US shares traded; ``fx_value_usd``: IDEALPRO
    trade value in USD.
    """

    asx_value_aud: Decimal = Decimal(0)
    us_shares: Decimal = Decimal(0)
    fx_value_usd: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class FeeRates:
    """A ccxt venue's trading fee rates for one market, as fractions of trade value (0.004 = 0.4%).

    Attributes:
        maker: rate for orders that add liquidity (a negative maker rate, a rebate, is never counted on
            in an estimate: estimates take it as 0).
        taker: rate for orders that take liquidity.
        fee_side: ccxt's ``feeSide`` rule; the currency the fee is charged in.
        source: where the rates come from (``"gemini market BTC/USD"``, ``"COMMISSION_OVERRIDES"``).
    """

    maker: Decimal
    taker: Decimal
    fee_side: FeeSide = "quote"
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "maker", to_decimal(self.maker))
        object.__setattr__(self, "taker", to_decimal(self.taker))
        if self.taker < 0:
            raise ValueError(f"a taker fee rate cannot be negative, got {self.taker}")
        if self.fee_side not in ("quote", "base", "get", "give"):
            raise ValueError(f"fee_side must be quote, base, get or give, got {self.fee_side!r}")

    def rate(self, liquidity: Liquidity) -> Decimal:
        """The rate for ``liquidity``."""
        return self.maker if liquidity == "maker" else self.taker

    def charged_in_quote(self, side: Literal["buy", "sell"]) -> bool:
        """ccxt's rule (``Exchange.calculate_fee``): is the fee charged in the quote currency?"""
        if self.fee_side == "get":
            return side == "sell"
        if self.fee_side == "give":
            return side == "buy"
        return self.fee_side == "quote"


@dataclass(frozen=True, slots=True)
class Cost:
    """The cost of one order or fill.

    Attributes:
        kind: ``"estimate"`` (before an order) or ``"actual"`` (from the venue after a fill).
        venue: ``"IB"`` or a ccxt exchange id.
        symbol: canonical symbol, when known.
        amount: the cost in :attr:`currency`; None while pending (never 0.0 for "unknown").
        currency: the currency the venue charges in (``AUD`` for ASX, ``USD`` for US stocks and IDEALPRO);
            None only when pending and the venue has not said.
        base_currency: the account's base currency.
        amount_base: the cost in :attr:`base_currency` (estimates include :attr:`fx_buffer_pct`);
            None while pending.
        fx: the rate used to convert into the base currency (identity when the currencies match);
            None while pending.
        fx_buffer_pct: percent added for the FX spread on a cross-currency estimate (0 for actuals and
            for costs already in the base currency).
        schedule: the schedule applied (``"IB ASX fixed"``, ``"gemini taker"``, ``"IB commission report"``).
        source: the page or report the rates or amount come from.
        parts: itemised third-party fees (``exchange``, ``clearing``, ``sec``, ``finra_taf``, ``gst``, ...)
            in :attr:`currency`.
        liquidity: ``"maker"`` or ``"taker"`` when the schedule depends on it.
    """

    kind: CostKind
    venue: str
    symbol: str | None
    amount: Decimal | None
    currency: str | None
    base_currency: str
    amount_base: Decimal | None
    fx: FxRate | None
    fx_buffer_pct: Decimal
    schedule: str
    source: str
    parts: Mapping[str, Decimal] = field(default_factory=dict)
    liquidity: Liquidity | None = None

    def __post_init__(self) -> None:
        if (self.amount is None) != (self.amount_base is None):
            raise ValueError("a cost is pending in both currencies or in neither")
        if self.amount is not None and self.currency is None:
            raise ValueError("a known cost needs its currency")

    @property
    def pending(self) -> bool:
        """True while the venue's report has not arrived: the amount is unknown, not zero."""
        return self.amount is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: decimals as strings, the FX rate with its source and time (for the ledger and MCP)."""

        def dec(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "kind": self.kind,
            "venue": self.venue,
            "symbol": self.symbol,
            "pending": self.pending,
            "amount": dec(self.amount),
            "currency": self.currency,
            "amount_base": dec(self.amount_base),
            "base_currency": self.base_currency,
            "fx_rate": dec(self.fx.rate) if self.fx else None,
            "fx_source": self.fx.source if self.fx else None,
            "fx_as_of": self.fx.as_of.isoformat() if self.fx and self.fx.as_of else None,
            "fx_buffer_pct": str(self.fx_buffer_pct),
            "schedule": self.schedule,
            "source": self.source,
            "parts": {k: str(v) for k, v in self.parts.items()},
            "liquidity": self.liquidity,
        }
