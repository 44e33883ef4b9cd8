"""Canonical symbols: one ``BASE/QUOTE`` form for every venue, the ledger, the tools and the dashboard.

The form is ccxt's unified symbol (``BTC/USD``) applied to every instrument:

* ``BHP/AUD``  -- a stock listed in AUD (ASX by default), quantity in shares, price in AUD;
* ``AAPL/USD`` -- a US stock or ETF, quantity in shares, price in USD;
* ``AUD/USD``  -- an FX pair (IB ``CASH`` on IDEALPRO), quantity in AUD, price in USD per AUD;
* ``BTC/USD``  -- a crypto spot market on a ccxt venue.

A share class keeps its letter after a dot (``BRK.B/USD``; IB spells it ``BRK B``). Venue spellings
(IB local symbols such as ``AUD.USD``, Yahoo tickers such as ``BHP.AX``) never appear in stored
symbols: :func:`parse_symbol` rejects them and :func:`suggest_symbol` names the canonical form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ccxt.base.errors import BadSymbol

__all__ = [
    "FIAT_CURRENCIES",
    "INDEXES",
    "InstrumentType",
    "Symbol",
    "format_symbol",
    "index_contract",
    "is_fiat",
    "parse_symbol",
    "suggest_symbol",
]

#: Currencies IB trades on IDEALPRO (IB "Forex" product listing). Used to tell an FX pair
#: (``AUD/USD``) from a stock quoted in a currency (``BHP/AUD``).
FIAT_CURRENCIES: frozenset[str] = frozenset(
    {
        "AUD", "CAD", "CHF", "CNH", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS", "JPY",
        "KRW", "MXN", "NOK", "NZD", "PLN", "SEK", "SGD", "TRY", "USD", "ZAR",
    }
)  # fmt: skip

#: Yahoo Finance exchange suffixes seen in exported data, mapped to the listing currency.
_YAHOO_SUFFIX_CURRENCY: dict[str, str] = {
    "AX": "AUD", "L": "GBP", "TO": "CAD", "V": "CAD", "HK": "HKD", "T": "JPY", "NZ": "NZD",
    "SI": "SGD", "DE": "EUR", "PA": "EUR", "AS": "EUR", "MI": "EUR", "SW": "CHF",
}  # fmt: skip

#: Exchange codes that sometimes prefix or suffix a ticker (``ASX:BHP``), mapped to a currency.
_EXCHANGE_CURRENCY: dict[str, str] = {
    "ASX": "AUD", "NYSE": "USD", "NASDAQ": "USD", "ARCA": "USD", "AMEX": "USD", "BATS": "USD",
    "SMART": "USD", "LSE": "GBP", "TSE": "CAD", "SEHK": "HKD",
}  # fmt: skip

_BASE_RE = r"[A-Z0-9]{1,12}(?:\.[A-Z])?"
_QUOTE_RE = r"[A-Z]{3,5}"
_CANONICAL = re.compile(rf"^(?P<base>{_BASE_RE})/(?P<quote>{_QUOTE_RE})$")

_EXAMPLES = "BHP/AUD (ASX stock), AAPL/USD (US stock), AUD/USD (FX)"


class InstrumentType(StrEnum):
    """What kind of instrument a symbol names; the values are what ``ALLOWED_INSTRUMENT_TYPES`` lists."""

    STOCK = "stock"
    ETF = "etf"
    FX = "fx"
    INDEX = "index"
    CRYPTO = "crypto"


#: Index tickers (Yahoo, IB, file names) -> (canonical symbol, IB symbol, exchange, long name): the indexes the SDK
#: knows without a ``SYMBOL_OVERRIDES`` entry (IB ``IND`` contracts: CBOE's VIX family and SPX, ASX's XJO).
INDEXES: dict[str, tuple[str, str, str, str]] = {
    "^AXJO": ("XJO/AUD", "XJO", "ASX", "S&P/ASX 200"),
    "AXJO": ("XJO/AUD", "XJO", "ASX", "S&P/ASX 200"),
    "XJO": ("XJO/AUD", "XJO", "ASX", "S&P/ASX 200"),
    "^VIX": ("VIX/USD", "VIX", "CBOE", "CBOE Volatility Index"),
    "VIX": ("VIX/USD", "VIX", "CBOE", "CBOE Volatility Index"),
    "^VIX3M": ("VIX3M/USD", "VIX3M", "CBOE", "CBOE S&P 500 3-Month Volatility Index"),
    "VIX3M": ("VIX3M/USD", "VIX3M", "CBOE", "CBOE S&P 500 3-Month Volatility Index"),
    "^GSPC": ("SPX/USD", "SPX", "CBOE", "S&P 500 Index"),
    "GSPC": ("SPX/USD", "SPX", "CBOE", "S&P 500 Index"),  # Yahoo's ^GSPC in a file name, caret dropped
    "SPX": ("SPX/USD", "SPX", "CBOE", "S&P 500 Index"),
    "^VIX1D": ("VIX1D/USD", "VIX1D", "CBOE", "CBOE 1-Day Volatility Index"),
    "VIX1D": ("VIX1D/USD", "VIX1D", "CBOE", "CBOE 1-Day Volatility Index"),
}


def index_contract(symbol: str) -> tuple[str, str] | None:
    """``(IB symbol, exchange)`` of a canonical index symbol (``VIX/USD`` -> ``("VIX", "CBOE")``), else None."""
    for canonical, ib_symbol, exchange, _ in INDEXES.values():
        if canonical == symbol:
            return ib_symbol, exchange
    return None


def is_fiat(code: str) -> bool:
    """True when ``code`` is a currency IB trades on IDEALPRO (``AUD``, ``USD``, ...)."""
    return code in FIAT_CURRENCIES


@dataclass(frozen=True, slots=True)
class Symbol:
    """A parsed canonical symbol.

    ``base``: the instrument (ticker or currency bought/sold); ``quote``: the currency prices are in.
    """

    base: str
    quote: str

    def __str__(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def is_fx(self) -> bool:
        """Both legs are fiat currencies: an FX pair such as ``AUD/USD``."""
        return is_fiat(self.base) and is_fiat(self.quote)


def format_symbol(base: str, quote: str) -> str:
    """Join a base and a quote into the canonical form; raises ``BadSymbol`` if the result is not canonical."""
    return str(parse_symbol(f"{base}/{quote}"))


def parse_symbol(text: str, *, default_quote: str = "AUD") -> Symbol:
    """Parse a canonical ``BASE/QUOTE`` symbol.

    Args:
        text: the symbol, exactly in canonical form (upper case, one slash).
        default_quote: the currency suggested for a bare ticker in the error message
            (the account's base currency).

    Returns:
        The parsed :class:`Symbol`.

    Raises:
        ccxt.BadSymbol: ``text`` is not canonical; the message names the likely intended form
            (``'BHP.AX' is not a canonical symbol; did you mean 'BHP/AUD'?``).
    """
    match = _CANONICAL.match(text) if isinstance(text, str) else None
    if match is None:
        hint = suggest_symbol(text, default_quote=default_quote) if isinstance(text, str) else None
        did_you_mean = f"; did you mean {hint!r}?" if hint else "."
        raise BadSymbol(
            f"{text!r} is not a canonical symbol{did_you_mean} "
            f"Canonical symbols are BASE/QUOTE in upper case, e.g. {_EXAMPLES}."
        )
    return Symbol(match["base"], match["quote"])


def suggest_symbol(text: str, *, default_quote: str = "AUD") -> str | None:
    """The canonical symbol a mis-specified one most likely meant, or None.

    Recognises lower case (``bhp/aud``), Yahoo tickers (``BHP.AX``, ``AUDUSD=X``), IB FX local
    symbols (``AUD.USD``), concatenated or separated FX pairs (``AUDUSD``, ``AUD-USD``, ``AUD_USD``),
    exchange-qualified tickers (``ASX:BHP``) and bare tickers (``bhp`` -> ``BHP/<default_quote>``).
    """
    raw = text.strip().upper()
    if not raw:
        return None
    if _CANONICAL.match(raw):
        return raw
    raw = raw.removesuffix("=X")  # Yahoo FX tickers: AUDUSD=X
    for sep in ("-", "_", " ", "."):
        left, found, right = raw.partition(sep)
        if found and is_fiat(left) and is_fiat(right):
            return f"{left}/{right}"
    if len(raw) == 6 and is_fiat(raw[:3]) and is_fiat(raw[3:]):
        return f"{raw[:3]}/{raw[3:]}"
    ticker, dot, suffix = raw.rpartition(".")
    if dot and suffix in _YAHOO_SUFFIX_CURRENCY and re.fullmatch(_BASE_RE, ticker):
        return f"{ticker}/{_YAHOO_SUFFIX_CURRENCY[suffix]}"
    left, colon, right = raw.partition(":")
    if colon:
        if left in _EXCHANGE_CURRENCY and re.fullmatch(_BASE_RE, right):
            return f"{right}/{_EXCHANGE_CURRENCY[left]}"
        if right in _EXCHANGE_CURRENCY and re.fullmatch(_BASE_RE, left):
            return f"{left}/{_EXCHANGE_CURRENCY[right]}"
    if re.fullmatch(_BASE_RE, raw) and not is_fiat(raw):
        return f"{raw}/{default_quote}"
    return None
