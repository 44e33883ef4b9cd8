"""FX conversion for the IB venue: cached IDEALPRO quotes, refreshed when stale, never a silent 1.0.

IDEALPRO lists each currency pair once, in the market's convention (``AUD.USD``, ``USD.JPY``,
``EUR.AUD``; IB "Forex" product listing). To convert ``USD`` to ``AUD`` the cache asks for
``USD/AUD``; when IB has no such contract (error 200) it uses ``AUD/USD`` and inverts it, and
remembers which way works. A pair with no quote at all is bridged through USD, and failing that
:class:`~sdk.errors.FxRateUnavailable` is raised: money is never converted at a guessed rate.

A rate's age is the age of the IB quote it came from (:attr:`FxMid.at`, when IB last updated it),
not of the moment it was read: a quote older than ``IB_FX_MAX_AGE`` is refreshed (the source asks
IB for a snapshot) or, failing that, treated as missing; it is never served as a fresh rate.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sdk.clock import Clock, SystemClock
from sdk.errors import BadSymbol, FxRateUnavailable
from sdk.symbols import is_fiat

__all__ = ["FxCache", "FxMid", "FxQuote", "MidFetcher"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FxMid:
    """One IB quote of an FX pair: ``price`` units of quote per base, last updated at ``at`` (epoch s).

    ``origin``: ``stream`` (the live ``reqMktData`` stream) or ``snapshot`` (a one-off snapshot
    requested because the stream had gone quiet).
    """

    price: float
    at: float
    origin: str = "stream"


#: Fetches the mid (else last) price of a canonical FX symbol such as ``AUD/USD`` with the time IB
#: last updated it, given the maximum age (seconds) the caller accepts. Returns None when IB has no
#: price that recent; raises ``BadSymbol`` when IB lists no such pair.
MidFetcher = Callable[[str, float], Awaitable[FxMid | None]]


@dataclass(frozen=True, slots=True)
class FxQuote:
    """A cached conversion rate: ``rate`` units of ``quote`` per one ``base``.

    ``at``: when IB last updated the quote it came from (epoch seconds, the trader's clock);
    ``source``: the IB pair, e.g. ``"AUD/USD"`` (inverted when base/quote differ); ``origin``:
    ``stream`` or ``snapshot`` (:class:`FxMid`).
    """

    base: str
    quote: str
    rate: float
    at: float
    source: str
    origin: str = "stream"


class FxCache:
    """Conversion rates from IB's own FX quotes, cached for ``max_age`` seconds.

    Args:
        fetch_mid: how to price one IB FX pair (the trader's stream, refreshed by a snapshot when stale).
        max_age: the age (``IB_FX_MAX_AGE`` seconds) past which a quote is not used: a cached rate
            whose quote is older is fetched again, and a fetched quote that old is refused.
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
        cached = self._quotes.get((base, quote))
        if cached is not None and self.clock.now() - cached.at <= self.max_age:
            return cached.rate
        for symbol, inverted in ((f"{base}/{quote}", False), (f"{quote}/{base}", True)):
            if symbol in self._missing_pairs:
                continue
            try:
                mid = await self._fetch_mid(symbol, self.max_age)
            except BadSymbol:
                self._missing_pairs.add(symbol)  # IB lists the pair the other way round
                continue
            if mid is None or not mid.price > 0:
                continue
            age = self.clock.now() - mid.at
            if age > self.max_age:
                log.warning(
                    "FX quote older than IB_FX_MAX_AGE refused",
                    extra={"pair": symbol, "age_s": round(age, 1), "max_age_s": self.max_age},
                )
                continue
            rate = 1.0 / mid.price if inverted else mid.price
            self._quotes[(base, quote)] = FxQuote(base, quote, rate, mid.at, symbol, mid.origin)
            self._quotes[(quote, base)] = FxQuote(quote, base, 1.0 / rate, mid.at, symbol, mid.origin)
            if cached is not None:
                log.debug("FX rate refreshed", extra={"pair": symbol, "origin": mid.origin, "age_s": round(age, 1)})
            return rate
        return None
