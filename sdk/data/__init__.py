"""Market data: loaders for real exported files, a catalog of instruments, bars at any IB bar size,
intraday paths inside real bars, a Parquet cache and a seeded synthetic universe.

    from sdk.data import load_catalog

    catalog = load_catalog(settings.market_data_dir)     # or None for the synthetic universe
    catalog.instruments["BHP/AUD"]                       # CatalogEntry
    catalog.bars("SPY/USD", "5 mins", start, end)        # normalised frame, UTC index
    catalog.path("BHP/AUD", start, end, timedelta(seconds=1))   # ticks inside the real bars

Importing this package reads nothing; :func:`load_catalog` scans, and frames load on first use.
See ``docs/data.md``.
"""

from sdk.data.barsizes import BAR_SIZES, BarSize, parse_bar_size
from sdk.data.catalog import Catalog, load_catalog
from sdk.data.formats import UnsupportedFile
from sdk.data.instruments import CatalogEntry

__all__ = [
    "BAR_SIZES",
    "BarSize",
    "Catalog",
    "CatalogEntry",
    "UnsupportedFile",
    "load_catalog",
    "parse_bar_size",
]
