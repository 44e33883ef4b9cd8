"""FX rates into the base currency, as facts with a source and a time: :class:`FxRate`, :class:`FxTable`.

A rate says what one unit of a currency is worth in the account's base currency (``IB_BASE_CURRENCY``,
AUD by default): ``FxRate("USD", "AUD", Decimal("1.52"), ...)`` means USD 1 = AUD 1.52. The identity
(AUD in AUD) is exact and needs no quote; any other missing rate is an error
(:class:`sdk.errors.FxRateUnavailable`), never a silent 1.0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from sdk.errors import FxRateUnavailable

__all__ = ["FxRate", "FxTable", "to_decimal"]


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """A ``Decimal`` from a float by its shortest repr (``0.1`` -> ``Decimal("0.1")``), never binary noise."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True, slots=True)
class FxRate:
    """One unit of ``currency`` is worth ``rate`` units of ``base``.

    Attributes:
        currency: the currency converted from (``USD``).
        base: the currency converted into (the account's base currency, ``AUD``).
        rate: ``base`` units per one ``currency`` unit; positive.
        source: where the rate came from (``"IB AUD/USD mid"``, ``"fx/AUDUSD_daily.csv close"``).
        as_of: when the rate was observed (timezone-aware), or None for the identity.
    """

    currency: str
    base: str
    rate: Decimal
    source: str
    as_of: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.rate, Decimal):
            object.__setattr__(self, "rate", to_decimal(self.rate))
        if not self.rate.is_finite() or self.rate <= 0:
            raise ValueError(f"an FX rate must be a positive number, got {self.currency}->{self.base} = {self.rate}")
        if self.as_of is not None and self.as_of.tzinfo is None:
            raise ValueError(f"FxRate.as_of must be timezone-aware, got naive {self.as_of.isoformat()}")

    @classmethod
    def identity(cls, currency: str) -> FxRate:
        """The exact rate of a currency into itself."""
        return cls(currency, currency, Decimal(1), "identity")

    @classmethod
    def from_quote(
        cls, pair_base: str, pair_quote: str, price: float | str | Decimal, *, base: str, source: str, as_of: datetime
    ) -> FxRate:
        """The rate into ``base`` from a quoted pair ``pair_base/pair_quote`` at ``price`` (quote per base).

        ``FxRate.from_quote("AUD", "USD", 0.65, base="AUD", ...)`` gives USD -> AUD = 1 / 0.65.

        Raises:
            ValueError: ``base`` is neither leg of the pair, or ``price`` is not positive.
        """
        p = to_decimal(price)
        if p <= 0:
            raise ValueError(f"{pair_base}/{pair_quote} price must be positive, got {price}")
        if pair_quote == base:
            return cls(pair_base, base, p, source, as_of)
        if pair_base == base:
            return cls(pair_quote, base, Decimal(1) / p, source, as_of)
        raise ValueError(f"{pair_base}/{pair_quote} does not convert into {base}")

    def convert(self, amount: Decimal) -> Decimal:
        """``amount`` of :attr:`currency` expressed in :attr:`base`."""
        return amount * self.rate


@dataclass(frozen=True, slots=True)
class FxTable:
    """The FX rates into ``base`` known at one moment, keyed by currency.

    ``rates`` holds :class:`FxRate` objects whose ``base`` is ``base``; the identity is implicit.
    """

    base: str
    rates: Mapping[str, FxRate] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for currency, rate in self.rates.items():
            if rate.currency != currency or rate.base != self.base:
                raise ValueError(
                    f"FxTable[{currency!r}] holds {rate.currency}->{rate.base}; expected {currency}->{self.base}"
                )
        object.__setattr__(self, "rates", MappingProxyType(dict(self.rates)))

    @classmethod
    def of(cls, base: str, *rates: FxRate) -> FxTable:
        """Build from rates: ``FxTable.of("AUD", usd_rate, eur_rate)``."""
        return cls(base, {rate.currency: rate for rate in rates})

    def has(self, currency: str) -> bool:
        """True when ``currency`` converts into :attr:`base` (the identity always does)."""
        return currency == self.base or currency in self.rates

    def rate(self, currency: str) -> FxRate:
        """The rate of ``currency`` into :attr:`base`.

        Raises:
            FxRateUnavailable: no rate for ``currency``; the message says how to get one.
        """
        if currency == self.base:
            return FxRate.identity(currency)
        found = self.rates.get(currency)
        if found is None:
            raise FxRateUnavailable(
                f"no FX rate from {currency} to {self.base} is known; fetch one "
                f"(trader.fetch_fx_rate({currency!r}, {self.base!r})) before valuing {currency} amounts"
            )
        return found

    def to_base(self, amount: Decimal, currency: str) -> Decimal:
        """``amount`` of ``currency`` in :attr:`base`; raises :class:`FxRateUnavailable` when unknown."""
        return self.rate(currency).convert(amount)
