"""FX conversion for the IB venue: cached IDEALPRO quotes, refreshed when stale, never a silent 1.0.

IDEALPRO lists each currency pair once, in the market's convention (``AUD.USD``, ``USD.JPY``,
``EUR.AUD``; IB "Forex" product listing). To convert ``USD`` to ``AUD`` the cache asks for
``USD/AUD``; when IB has no such contract (error 200) it uses ``AUD/USD`` and inverts it, and
remembers which way works. A pair with no quote at all is bridged through USD, and failing that
:class:`~sdk.errors.FxRateUnavailable` is raised: money is never converted at a guessed rate.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sdk.errors import BadSymbol, FxRateUnavailable
from sdk.symbols import is_fiat
from sdk.venues.ib.clock import Clock, SystemClock

__all__ = ["FxCache", "FxQuote", "MidFetcher"]

log = logging.getLogger(__name__)

#: Fetches the mid (else last) price of a canonical FX symbol such as ``AUD/USD``: quote currency
#: per one unit of base. Returns None when IB has no price; raises ``BadSymbol`` when IB lists no
#: such pair.
MidFetcher = Callable[[str], Awaitable[float | None]]


@dataclass(frozen=True, slots=True)
class FxQuote:
    """A cached conversion rate: ``rate`` units of ``quote`` per one ``base``; ``at`` epoch seconds."""

    base: str
    quote: str
    rate: float
    at: float
    source: str  # the IB pair it came from, e.g. "AUD/USD" (inverted when base/quote differ)


class FxCache:
    """Conversion rates from IB's own FX quotes, cached for ``max_age`` seconds.

    Args:
        fetch_mid: how to price one IB FX pair (the trader's streaming ticker).
        max_age: seconds a cached rate may be used (``IB_FX_MAX_AGE``) before it is fetched again.
        clock: the time ages are measured in.
        bridges: currencies tried as an intermediate when no pair links two currencies.
    """

    def __init__(
        self,
        fetch_mid: MidFetcher,
        max_age: float,
        clock: Clock | None = None,
        bridges: tuple[str, ...] = ("USD",),
    ) -> None:
        self._fetch_mid = fetch_mid
        self.max_age = max_age
        self.clock: Clock = clock or SystemClock()
        self._bridges = bridges
        self._quotes: dict[tuple[str, str], FxQuote] = {}
        self._missing_pairs: set[str] = set()

    def cached(self, base: str, quote: str) -> FxQuote | None:
        """The cached rate for ``base -> quote`` if one is held (fresh or not)."""
        return self._quotes.get((base, quote))

    def invalidate(self) -> None:
        """Forget every cached rate (after a reconnect the next conversion asks IB again)."""
        self._quotes.clear()

    async def rate(self, base: str, quote: str) -> float:
        """Units of ``quote`` per one ``base`` (``rate("USD", "AUD")`` is about 1.5).

        Raises:
            FxRateUnavailable: neither the pair, its inverse nor a bridge through USD has a quote.
            BadSymbol: a currency code IB does not trade.
        """
        if base == quote:
            return 1.0
        for code in (base, quote):
            if not is_fiat(code):
                raise BadSymbol(f"{code!r} is not a currency IB trades on IDEALPRO; cannot convert {base} to {quote}")
        direct = await self._pair_rate(base, quote)
        if direct is not None:
            return direct
        for bridge in self._bridges:
            if bridge in (base, quote):
                continue
            first = await self._pair_rate(base, bridge)
            second = await self._pair_rate(bridge, quote) if first is not None else None
            if first is not None and second is not None:
                return first * second
        raise FxRateUnavailable(
            f"IB: no FX quote to convert {base} to {quote} (tried {base}/{quote}, {quote}/{base} and bridges "
            f"through {', '.join(self._bridges)}); check the market-data farm or subscribe to the pair"
        )

    async def _pair_rate(self, base: str, quote: str) -> float | None:
        now = self.clock.now()
        cached = self._quotes.get((base, quote))
        if cached is not None and now - cached.at <= self.max_age:
            return cached.rate
        for symbol, inverted in ((f"{base}/{quote}", False), (f"{quote}/{base}", True)):
            if symbol in self._missing_pairs:
                continue
            try:
                price = await self._fetch_mid(symbol)
            except BadSymbol:
                self._missing_pairs.add(symbol)  # IB lists the pair the other way round
                continue
            if price is None or price <= 0:
                continue
            rate = 1.0 / price if inverted else price
            stamp = self.clock.now()
            self._quotes[(base, quote)] = FxQuote(base, quote, rate, stamp, symbol)
            self._quotes[(quote, base)] = FxQuote(quote, base, 1.0 / rate, stamp, symbol)
            if cached is not None:
                log.debug("FX rate refreshed", extra={"pair": symbol, "age_s": round(now - cached.at, 1)})
            return rate
        return None
