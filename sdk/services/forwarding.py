"""A trader over another venue that answers :class:`~sdk.base.BaseTrader`'s optional capabilities as that venue.

The shadow venue (:mod:`sdk.services.shadow`) and the guarded trader (:mod:`sdk.services.guarded`) wrap a real
venue: they decide orders themselves but must report the venue's clock, account, client id, mode, fee rates,
connectivity and request limits. ``BaseTrader`` defines each capability with a default, so an attribute
lookup never falls through to a wrapper's ``__getattr__``: without these forwards a wrapper would answer the
defaults (no account, the wall clock) instead of the venue's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ccxt.base.types import Market, OrderBook, Ticker, Trade

from sdk.base import OHLCV, BaseTrader, Connectivity
from sdk.costs.model import FeeRates
from sdk.instruments import InstrumentSpec

__all__ = ["READ_EXTRAS", "VenueForwarder"]

#: The venue's own extras (not on ``BaseTrader``) a wrapper passes through: reads only. Anything else, such as IB's
#: ``orders`` service, its ``connection`` (whose ``ib`` places orders) or a ccxt ``exchange``, is refused: a
#: wrapper that decides orders itself must not hand out a way around it.
READ_EXTRAS = frozenset({
    "health", "markets", "watch_ohlcv", "fetch_order_trades",
    "mode", "resolver",
})  # fmt: skip


class VenueForwarder(BaseTrader):
    """Base of a trader wrapping ``venue``: its id, ``has``, clock and every optional capability are the venue's.

    Market data (markets, tickers, books, candles, instruments, FX) is the venue's; subclasses implement the
    account and order primitives their own way.
    """

    def __init__(self, venue: BaseTrader) -> None:
        super().__init__(venue.settings, clock=venue.clock)
        self.venue = venue
        self.id = venue.id  # type: ignore[misc]
        self.has = dict(venue.has)  # type: ignore[misc]
        self.fx_bridge_currencies = venue.fx_bridge_currencies  # type: ignore[misc]
        self.fee_currencies = venue.fee_currencies  # type: ignore[misc]
        self.default_clock = venue.default_clock  # type: ignore[misc]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "venue" or name not in READ_EXTRAS:
            raise AttributeError(
                f"{type(self).__name__} has no {name!r}: only the venue's reads pass through it "
                f"({', '.join(sorted(READ_EXTRAS))}); orders go through create_order, and the raw venue "
                "(create_trader(..., raw=True)) is the documented way around the checks"
            )
        return getattr(self.venue, name)

    # --- market data: the venue's -----------------------------------------------------------
    async def load_markets(self, reload: bool = False) -> dict[str, Market]:
        return await self.venue.load_markets(reload)

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> Ticker:
        return await self.venue.fetch_ticker(symbol, params)

    async def fetch_tickers(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Ticker]:
        return await self.venue.fetch_tickers(symbols, params)

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> OrderBook:
        return await self.venue.fetch_order_book(symbol, limit, params)

    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[OHLCV]:
        return await self.venue.fetch_ohlcv(symbol, timeframe, since, limit, params)

    async def fetch_instrument(self, symbol: str) -> InstrumentSpec:
        return await self.venue.fetch_instrument(symbol)

    async def fetch_fx_rate(self, base: str, quote: str) -> float:
        return await self.venue.fetch_fx_rate(base, quote)

    # --- capabilities: the venue's ----------------------------------------------------------
    @property
    def account_id(self) -> str | None:
        return self.venue.account_id

    @property
    def client_id(self) -> int | None:
        return self.venue.client_id

    async def fetch_time(self, params: dict[str, Any] | None = None) -> int:
        return await self.venue.fetch_time(params)

    async def fetch_account_summary(self) -> dict[str, float]:
        return await self.venue.fetch_account_summary()

    def mode_facts(self) -> dict[str, Any]:
        return self.venue.mode_facts()

    async def fetch_fee_rates(self, symbol: str) -> FeeRates:
        return await self.venue.fetch_fee_rates(symbol)

    async def fetch_trades(
        self, symbol: str, since: int | None = None, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> list[Trade]:
        return await self.venue.fetch_trades(symbol, since, limit, params)

    def add_connectivity_listener(self, listener: Callable[[Connectivity], None]) -> Callable[[], None]:
        return self.venue.add_connectivity_listener(listener)

    async def maybe_reconnect(self) -> bool:
        return await self.venue.maybe_reconnect()

    def ohlcv_request_span(self, timeframe: str) -> int | None:
        return self.venue.ohlcv_request_span(timeframe)

    async def order_never_received(self, client_order_id: str) -> bool | None:
        return await self.venue.order_never_received(client_order_id)
