"""What an instrument in the market data is: canonical symbol, IB contract terms, market hours, span.

Vendor tickers map to canonical symbols (:mod:`sdk.symbols`) by the vendor's conventions:

* Yahoo ``BHP.AX`` -> ``BHP/AUD`` (the suffix names the listing, :func:`sdk.symbols.suggest_symbol`);
  a bare Yahoo or IB ticker (``SPY``, ``AAPL``) is a US listing in USD; IB's share-class space
  (``BRK B``) and Yahoo's dash (``BRK-B``) become the canonical dot (``BRK.B/USD``);
* FX tickers ``AUDUSD=X``, ``AUDUSD``, ``AUD.USD`` -> ``AUD/USD`` (IB ``CASH`` on ``IDEALPRO``);
* index tickers: ``^AXJO``/``AXJO``/``XJO`` -> ``XJO/AUD`` (S&P/ASX 200, IB ``IND`` ``XJO`` on ASX),
  ``^VIX``/``VIX`` -> ``VIX/USD`` and ``VIX3M`` -> ``VIX3M/USD`` (IB ``IND`` on CBOE).

Primary exchanges come from :data:`US_PRIMARY_EXCHANGE` for well-known US listings; any other US
ticker gets ``"SMART"`` (the file does not say where it lists, and IB routes SMART without one).
Market hours: ASX for AUD instruments, NYSE for USD ones (VIX too: its cash index is computed in
NYSE hours), FX for currency pairs (:mod:`sdk.calendars`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sdk.symbols import INDEXES, InstrumentType, is_fiat, parse_symbol, suggest_symbol

__all__ = ["INDEXES", "US_ETFS", "US_PRIMARY_EXCHANGE", "CatalogEntry", "TickerFacts", "describe_ticker"]


@dataclass(frozen=True, slots=True)
class TickerFacts:
    """What a vendor ticker says of an instrument (canonical symbol, IB contract terms, market hours):
    :func:`describe_ticker`'s answer, before any data span is known (the rest of :class:`CatalogEntry`)."""

    symbol: str
    instrument_type: InstrumentType
    sec_type: str
    ib_symbol: str
    currency: str
    exchange: str
    market: str
    long_name: str


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One entry of a :class:`sdk.data.Catalog`: an instrument's facts and the data files held for it.

    Attributes:
        symbol: canonical, e.g. ``"BHP/AUD"``, ``"SPY/USD"``, ``"AUD/USD"``, ``"XJO/AUD"``, ``"VIX/USD"``.
        instrument_type: ``STOCK``, ``ETF``, ``FX`` or ``INDEX``.
        sec_type: IB secType: ``"STK"``, ``"CASH"`` or ``"IND"``.
        ib_symbol: IB's symbol: ``"BHP"``, ``"AUD"`` (for ``AUD.USD``), ``"BRK B"``, ``"XJO"``.
        currency: the quote currency (prices are in it).
        exchange: primary exchange: ``"ASX"``, ``"ARCA"``, ``"NASDAQ"``, ``"NYSE"``, ``"IDEALPRO"``,
            ``"CBOE"``, or ``"SMART"`` when unknown (see the module docstring).
        market: whose hours apply: ``"ASX"``, ``"NYSE"`` or ``"FX"`` (:func:`sdk.calendars.get_calendar`).
        long_name: a human name (the ticker when none is known).
        bar_sizes: native resolutions present, finest first: ``("1min", "1D")``.
        first: start of the first bar (UTC).
        last: start of the last bar (UTC).
        daily_only: no intraday bars exist; intraday prices come from :meth:`Catalog.path` only.
        sources: the files holding the data, relative to the data directory (or ``synthetic:...``).
        adjusted_sources: those of ``sources`` whose prices are dividend-adjusted (yfinance
            ``history()`` exports with Dividends/Stock Splits columns and no Adj Close).
    """

    symbol: str
    instrument_type: InstrumentType
    sec_type: str
    ib_symbol: str
    currency: str
    exchange: str
    market: str
    long_name: str
    bar_sizes: tuple[str, ...]
    first: datetime
    last: datetime
    daily_only: bool
    sources: tuple[str, ...]
    adjusted_sources: tuple[str, ...] = ()


#: US ETFs seen in the data and commonly traded, with their primary listing (IB primaryExchange).
US_ETFS: Final[dict[str, tuple[str, str]]] = {
    "SPY": ("ARCA", "SPDR S&P 500 ETF Trust"),
    "QQQ": ("NASDAQ", "Invesco QQQ Trust"),
    "IWM": ("ARCA", "iShares Russell 2000 ETF"),
    "DIA": ("ARCA", "SPDR Dow Jones Industrial Average ETF"),
    "VOO": ("ARCA", "Vanguard S&P 500 ETF"),
    "VTI": ("ARCA", "Vanguard Total Stock Market ETF"),
    "GLD": ("ARCA", "SPDR Gold Shares"),
    "TLT": ("NASDAQ", "iShares 20+ Year Treasury Bond ETF"),
    "EEM": ("ARCA", "iShares MSCI Emerging Markets ETF"),
    "XLF": ("ARCA", "Financial Select Sector SPDR Fund"),
}

#: Primary listings of well-known US stocks (NASDAQ listings of the S&P 500 and a few NYSE names).
US_PRIMARY_EXCHANGE: Final[dict[str, str]] = {
    **dict.fromkeys(
        "AAL AAPL ADBE ADI ADP ADSK AKAM ALGN ALXN AMAT AMD AMGN AMZN ANSS ATVI AVGO BIIB BKNG CDNS CELG CERN "
        "CHRW CHTR CINF CMCSA CME COST CPRT CSCO CSX CTAS CTSH CTXS DISCA DISCK DISH DLTR EA EBAY ETFC EXC "
        "EXPD EXPE FANG FAST FB FFIV FISV FITB FLIR FOX FOXA GILD GOOG GOOGL HAS HBAN HOLX HSIC IDXX ILMN "
        "INCY INTC INTU IPGP ISRG JBHT JKHY KHC KLAC LKQ LNT LRCX MAR MCHP MDLZ META MNST MSFT MU MXIM MYL "
        "NDAQ NFLX NTAP NTRS NVDA NWS NWSA ORLY PAYX PBCT PCAR PEP PYPL QCOM QRVO REGN ROST SBUX SIVB SNPS "
        "STX SWKS SYMC TMUS TRIP TSLA TTWO TXN UAL ULTA VRSK VRSN VRTX WBA WDC WLTW WYNN XEL XLNX XRAY ZION".split(),
        "NASDAQ",
    ),
    **dict.fromkeys(
        "A ABBV ABT ACN AIG ALL AMT AXP BA BAC BK BLK BMY BRK.B C CAT CL COP CRM CVS CVX DHR DIS DUK F GE GM "
        "GS HD HON IBM JNJ JPM KO LIN LLY LMT LOW MA MCD MDT MMM MO MRK MS NEE NKE ORCL PFE PG PM SLB SO T "
        "TGT TMO UNH UNP UPS USB V VZ WFC WMT XOM".split(),
        "NYSE",
    ),
}

_LONG_NAMES: Final[dict[str, str]] = {
    "BHP/AUD": "BHP Group Ltd", "CBA/AUD": "Commonwealth Bank of Australia", "CSL/AUD": "CSL Ltd",
    "NAB/AUD": "National Australia Bank Ltd", "WBC/AUD": "Westpac Banking Corp",
    "ANZ/AUD": "ANZ Group Holdings Ltd", "FMG/AUD": "Fortescue Ltd", "WES/AUD": "Wesfarmers Ltd",
    "RIO/AUD": "Rio Tinto Ltd", "AAPL/USD": "Apple Inc", "MSFT/USD": "Microsoft Corp", "TSLA/USD": "Tesla Inc",
    "AMZN/USD": "Amazon.com Inc", "GOOGL/USD": "Alphabet Inc Class A", "NVDA/USD": "NVIDIA Corp",
}  # fmt: skip


_MARKET_BY_CURRENCY: Final[dict[str, str]] = {"AUD": "ASX", "USD": "NYSE"}
#: Yahoo suffixes of exchanges outside ASX and the US (a share class such as BRK.B is not among them).
_FOREIGN_YAHOO_SUFFIXES: Final = frozenset(
    {"L", "TO", "V", "HK", "T", "NZ", "SI", "DE", "PA", "AS", "MI", "SW", "F", "KS", "SS", "SZ", "NS", "BO"}
)


def _fx(base: str, quote: str) -> TickerFacts:
    return TickerFacts(
        f"{base}/{quote}", InstrumentType.FX, "CASH", base, quote, "IDEALPRO", "FX", f"{base}/{quote} spot"
    )


def describe_ticker(ticker: str) -> TickerFacts | None:
    """The instrument a vendor's ticker names, or None when it names nothing this SDK trades.

    ``ticker``: as written in a file or file name (``BHP.AX``, ``^AXJO``, ``AUDUSD=X``, ``BRK B``,
    ``SPY``). Returns None for listings outside ASX/US/FX (their hours are not in :mod:`sdk.calendars`)
    and for anything that does not look like a ticker.
    """
    raw = ticker.strip().upper()
    if raw in INDEXES:
        symbol, ib_symbol, exchange, name = INDEXES[raw]
        currency = symbol.partition("/")[2]
        return TickerFacts(
            symbol, InstrumentType.INDEX, "IND", ib_symbol, currency, exchange, _MARKET_BY_CURRENCY[currency], name
        )
    fx = re.fullmatch(r"([A-Z]{3})[./_-]?([A-Z]{3})(=X)?", raw)
    if fx and is_fiat(fx[1]) and is_fiat(fx[2]):
        return _fx(fx[1], fx[2])
    if raw.endswith(".AX"):
        guess = suggest_symbol(raw)
    elif "." in raw and raw.rpartition(".")[2] in _FOREIGN_YAHOO_SUFFIXES:
        return None  # VOD.L, SHOP.TO: listings whose hours sdk.calendars does not know
    else:
        base = re.sub(r"[ -]([A-Z])$", r".\1", raw)  # IB "BRK B", Yahoo "BRK-B" -> BRK.B
        if not re.fullmatch(r"[A-Z0-9]{1,12}(\.[A-Z])?", base) or is_fiat(base):
            return None
        guess = f"{base}/USD"
    if guess is None:
        return None
    try:
        parsed = parse_symbol(guess)
    except Exception:  # not canonical after all: not a ticker we trade
        return None
    market = _MARKET_BY_CURRENCY.get(parsed.quote)
    if market is None:
        return None
    symbol = str(parsed)
    ib_symbol = parsed.base.replace(".", " ")
    if parsed.quote == "AUD":
        return TickerFacts(
            symbol, InstrumentType.STOCK, "STK", ib_symbol, "AUD", "ASX", "ASX", _LONG_NAMES.get(symbol, parsed.base)
        )
    if parsed.base in US_ETFS:
        exchange, name = US_ETFS[parsed.base]
        return TickerFacts(symbol, InstrumentType.ETF, "STK", ib_symbol, "USD", exchange, "NYSE", name)
    exchange = US_PRIMARY_EXCHANGE.get(parsed.base, "SMART")
    name = _LONG_NAMES.get(symbol, parsed.base)
    return TickerFacts(symbol, InstrumentType.STOCK, "STK", ib_symbol, "USD", exchange, "NYSE", name)
