"""trader-sdk: one async, ccxt-shaped interface over Interactive Brokers and ccxt venues.

    from sdk import create_trader

    async with create_trader("IB") as trader:          # settings from the environment
        print(await trader.fetch_ticker("BHP/AUD"))

Importing this package does no work: no settings are read and nothing connects.
"""

from sdk.base import BaseTrader, MarketData
from sdk.registry import create_trader, register_venue, register_venue_family
from sdk.settings import Settings, SettingsError, load_settings
from sdk.symbols import InstrumentType, Symbol, format_symbol, parse_symbol

__all__ = [
    "BaseTrader",
    "InstrumentType",
    "MarketData",
    "Settings",
    "SettingsError",
    "Symbol",
    "create_trader",
    "format_symbol",
    "load_settings",
    "parse_symbol",
    "register_venue",
    "register_venue_family",
]
