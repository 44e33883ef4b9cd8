"""FX rates for a simulation: what one unit of a currency is worth in the base currency at a simulated time.

The caller chooses the source (the core never guesses one, and a missing rate is
:class:`~sdk.errors.FxRateUnavailable`, never 1.0):

* :class:`FixedRates` -- constant rates (a test, or a shadow run that fetched today's rates);
* :class:`CatalogRates` -- the FX pairs of a market-data catalog (``AUD/USD`` daily or intraday bars): the close of
  the last bar that had *closed* by the time asked (no look-ahead), direct, inverted, or bridged through USD.

Rates are ``Decimal``: base-currency units per one unit of the currency (USD -> AUD ~ 1.5).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

from sdk.errors import FxRateUnavailable
from sdk.sim.bars import BarSeries

__all__ = ["CatalogRates", "FixedRates", "RateSource"]


class RateSource(Protocol):
    """Where a simulation gets FX rates."""

    def rate(self, currency: str, base: str, at: int) -> Decimal:
        """Units of ``base`` per one ``currency`` at ``at`` (ms UTC).

        Raises:
            FxRateUnavailable: no rate is known then.
        """
        ...


class FixedRates:
    """Constant rates: ``FixedRates({"USD": Decimal("1.52")}, base="AUD")`` (USD 1 = AUD 1.52).

    Inverse and USD-bridged rates are derived; the identity is exact.
    """

    def __init__(self, rates: Mapping[str, Decimal | float | str], base: str) -> None:
        self.base = base
        self._rates = {k: Decimal(str(v)) for k, v in rates.items()}
        for currency, value in self._rates.items():
            if not value.is_finite() or value <= 0:
                raise ValueError(f"FX rate {currency}->{base} must be positive, got {value}")

    def rate(self, currency: str, base: str, at: int) -> Decimal:
        if currency == base:
            return Decimal(1)
        if base == self.base and currency in self._rates:
            return self._rates[currency]
        if currency == self.base and base in self._rates:
            return Decimal(1) / self._rates[base]
        if currency in self._rates and base in self._rates:
            return self._rates[currency] / self._rates[base]
        raise FxRateUnavailable(f"no fixed FX rate from {currency} to {base}; known: {', '.join(sorted(self._rates))}")


class CatalogRates:
    """Rates from a catalog's FX pairs, as of the last closed bar (the offline gateway's and a backtest's FX).

    Args:
        catalog: a :class:`sdk.data.Catalog` (anything with ``instruments``, ``info`` and ``bars``).
        bar_size: the bars read (``"1D"``: one rate a day, the previous day's close until today's bar closes).
        bridge: the currency through which a pair without a direct quote is crossed.
    """

    def __init__(self, catalog: Any, *, bar_size: str = "1D", bridge: str = "USD") -> None:
        self.catalog = catalog
        self.bar_size = bar_size
        self.bridge = bridge
        self._series: dict[str, tuple[list[int], list[Decimal]] | None] = {}

    def _closes(self, pair: str) -> tuple[list[int], list[Decimal]] | None:
        if pair in self._series:
            return self._series[pair]
        found: tuple[list[int], list[Decimal]] | None = None
        if pair in self.catalog.instruments:
            bars = BarSeries.from_catalog(self.catalog, pair, self.bar_size, rth_only=False)
            if len(bars):
                found = ([int(e) for e in bars.end], [Decimal(repr(float(c))) for c in bars.close])
        self._series[pair] = found
        return found

    def _direct(self, currency: str, base: str, at: int) -> Decimal | None:
        for pair, invert in ((f"{currency}/{base}", False), (f"{base}/{currency}", True)):
            series = self._closes(pair)
            if series is None:
                continue
            ends, closes = series
            i = bisect.bisect_right(ends, at) - 1
            if i < 0:
                continue
            price = closes[i]
            if price > 0:
                return Decimal(1) / price if invert else price
        return None

    def rate(self, currency: str, base: str, at: int) -> Decimal:
        if currency == base:
            return Decimal(1)
        direct = self._direct(currency, base, at)
        if direct is not None:
            return direct
        if self.bridge not in (currency, base):
            first = self._direct(currency, self.bridge, at)
            second = self._direct(self.bridge, base, at) if first is not None else None
            if first is not None and second is not None:
                return first * second
        raise FxRateUnavailable(
            f"no {currency}/{base} rate in the market data closed by {at} ms (bars {self.bar_size}); add the pair's "
            f"bars (e.g. fx/{base}{currency}_daily.csv) or pass FixedRates"
        )
