"""The DataFetchCoordinator: the one way strategies and tools get market data.

* **Candles** in ccxt's shape ``[timestamp_ms, open, high, low, close, volume]`` (prices in the quote
  currency, volume in base units), oldest first. :meth:`DataFetchCoordinator.backfill` loads history
  once; :meth:`DataFetchCoordinator.completed_bars` then asks only for what is new and returns the bars
  that are *final* (:class:`~sdk.services.schedule.BarSchedule`), each once, in order: a bar still forming is
  never handed to a strategy.
* **Order book, tickers, trades**: ``fetch_order_book``, ``fetch_ticker`` / ``fetch_tickers``,
  ``fetch_trades`` (NotSupported with a sentence when the venue has none, as IB).
* **Caching**: tickers and books for ``quote_ttl`` seconds of clock time; concurrent identical
  requests share one venue call; the candle series is kept per (symbol, timeframe).
* **Guardrails for IB**: a history request is planned in IB's maximum duration per bar size
  (:mod:`sdk.venues.ib.timeframes`); one that would take more than ``max_history_requests`` requests
  (e.g. 100,000 one-minute bars) is refused with the largest ``limit`` that fits, instead of queueing
  for an hour behind IB's 60-requests-per-10-minutes pacing rule.
* **Pacing**: IB requests wait on the venue's shared :class:`~sdk.venues.ib.pacing.PacingBudget`
  (inside ``IBTrader.fetch_ohlcv``); the coordinator adds at most ``concurrency`` requests in flight and
  never asks twice for the same thing at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from ccxt.base.types import OrderBook, Ticker, Trade

from sdk.base import OHLCV, BaseTrader
from sdk.errors import BadRequest, NotSupported
from sdk.services.schedule import BarSchedule
from sdk.timeframes import timeframe_seconds

__all__ = ["DataFetchCoordinator"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class DataFetchCoordinator:
    """Market data for the runner, its strategies and monitors, over one venue.

    Args:
        venue: the venue (market data always comes from the real one).
        clock: clock time in epoch seconds (cache ages, "now" for completeness).
        quote_ttl: seconds of clock time a ticker or book is reused.
        max_history_requests: most venue requests one IB history call may need.
        concurrency: venue requests in flight at once.
    """

    def __init__(
        self,
        venue: BaseTrader,
        clock: Callable[[], float],
        *,
        quote_ttl: float = 1.0,
        max_history_requests: int = 20,
        concurrency: int = 4,
    ) -> None:
        self.venue = venue
        self.clock = clock
        self.quote_ttl = quote_ttl
        self.max_history_requests = max_history_requests
        self._slots = asyncio.Semaphore(concurrency)
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}
        self._cache: dict[Hashable, tuple[float, Any]] = {}
        self._series: dict[tuple[str, str], list[OHLCV]] = {}
        self.requests = 0

    # --- plumbing ----------------------------------------------------------------------------
    async def _shared(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> T:
        """One venue call per key at a time; later callers await the first one's answer."""
        running = self._inflight.get(key)
        if running is not None:
            result: T = await asyncio.shield(running)
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            async with self._slots:
                self.requests += 1
                value = await call()
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            del self._inflight[key]

    async def _cached(self, key: Hashable, ttl: float, call: Callable[[], Awaitable[T]]) -> T:
        found = self._cache.get(key)
        now = self.clock()
        if found is not None and now - found[0] <= ttl:
            value: T = found[1]
            return value
        value = await self._shared(key, call)
        self._cache[key] = (self.clock(), value)
        return value

    # --- guardrails ----------------------------------------------------------------------------
    def check_history(self, timeframe: str, limit: int) -> None:
        """Refuse a history request that would need too many venue requests (a venue with a stated span).

        Raises:
            BadRequest: the timeframe is unknown, ``limit`` is not positive, or the request needs more
                than ``max_history_requests`` IB requests (the message gives the largest limit that fits).
        """
        seconds = timeframe_seconds(timeframe)
        if limit < 1:
            raise BadRequest(f"limit must be a positive number of bars, got {limit}")
        window = self.venue.ohlcv_request_span(timeframe)
        if window is None:
            return
        # calendar time covered: bars only trade in sessions, so allow for nights and weekends
        span = limit * seconds * (1 if seconds >= 86_400 else 3)
        needed = math.ceil(span / window)
        if needed > self.max_history_requests:
            fits = max(1, self.max_history_requests * window // (seconds * (1 if seconds >= 86_400 else 3)))
            raise BadRequest(
                f"{limit} {timeframe} bars from {self.venue.id} need about {needed} history requests (it serves at "
                f"most {window // 3600} h of {timeframe} bars per request, and paces them); "
                f"ask for at most {fits} bars, or a coarser timeframe"
            )

    # --- candles ------------------------------------------------------------------------------
    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, *, since: int | None = None, limit: int | None = None
    ) -> list[OHLCV]:
        """Candles from the venue (guarded, shared); no completeness filter."""
        self.check_history(timeframe, limit or 500)
        key = ("ohlcv", symbol, timeframe, since, limit)
        return await self._shared(key, lambda: self.venue.fetch_ohlcv(symbol, timeframe, since=since, limit=limit))

    def series(self, symbol: str, timeframe: str) -> list[OHLCV]:
        """The completed bars held for ``symbol`` (oldest first; a copy)."""
        return list(self._series.get((symbol, timeframe), []))

    async def backfill(
        self, symbol: str, timeframe: str, bars: int, schedule: BarSchedule, *, as_of: float | None = None
    ) -> list[OHLCV]:
        """Load the last ``bars`` bars completed at ``as_of`` (default now): a strategy's warm-up history.

        Bars that complete after ``as_of`` (during the backfill itself, on a fast clock) are left for
        :meth:`completed_bars` to deliver.
        """
        cutoff = self.clock() if as_of is None else as_of
        rows = await self.fetch_ohlcv(symbol, timeframe, limit=bars + 2)
        done = [row for row in rows if schedule.is_complete(int(row[0]), cutoff)][-bars:]
        self._series[(symbol, timeframe)] = done
        return list(done)

    async def completed_bars(
        self, symbol: str, timeframe: str, schedule: BarSchedule, *, as_of: float | None = None, keep: int = 500
    ) -> list[OHLCV]:
        """Bars that became final since the last call (or the backfill), by ``as_of`` (default now), oldest first,
        each once. The held series grows by them (trimmed to ``keep`` bars).
        """
        held = self._series.setdefault((symbol, timeframe), [])
        last = int(held[-1][0]) if held else None
        now = self.clock() if as_of is None else as_of
        if last is None:
            rows = await self.fetch_ohlcv(symbol, timeframe, limit=3)
        else:
            rows = await self.fetch_ohlcv(symbol, timeframe, since=last + 1)
        new = sorted(
            (row for row in rows if (last is None or int(row[0]) > last) and schedule.is_complete(int(row[0]), now)),
            key=lambda row: row[0],
        )
        held.extend(new)
        del held[:-keep]
        return new

    def rewind(self, symbol: str, timeframe: str, last_ts: int) -> None:
        """Forget held bars after ``last_ts`` (ms), so they are delivered again (a resumed run)."""
        held = self._series.get((symbol, timeframe))
        if held is not None:
            held[:] = [row for row in held if int(row[0]) <= last_ts]

    # --- quotes -------------------------------------------------------------------------------
    async def fetch_ticker(self, symbol: str) -> Ticker:
        """The venue's ticker (cached ``quote_ttl`` s): prices in the quote currency."""
        return await self._cached(("ticker", symbol), self.quote_ttl, lambda: self.venue.fetch_ticker(symbol))

    async def fetch_tickers(self, symbols: list[str]) -> dict[str, Ticker]:
        """Tickers of several symbols (one venue call each, at most ``concurrency`` at once)."""
        tickers = await asyncio.gather(*(self.fetch_ticker(s) for s in symbols))
        return dict(zip(symbols, tickers, strict=True))

    async def fetch_order_book(self, symbol: str, limit: int | None = None) -> OrderBook:
        """The order book (cached ``quote_ttl`` s): ``bids`` descending, ``asks`` ascending."""
        key = ("book", symbol, limit)
        return await self._cached(key, self.quote_ttl, lambda: self.venue.fetch_order_book(symbol, limit))

    async def fetch_trades(self, symbol: str, since: int | None = None, limit: int | None = None) -> list[Trade]:
        """Public trades of ``symbol``.

        Raises:
            NotSupported: the venue publishes no trades (IB: use ``fetch_ticker`` or 1-minute candles).
        """
        fetch = self.venue.fetch_trades
        if not self.venue.has.get("fetchTrades"):
            raise NotSupported(
                f"{self.venue.id} publishes no public trades through this SDK; use fetch_ticker (last trade) "
                "or fetch_ohlcv with a 1m timeframe"
            )
        trades: list[Trade] = await self._shared(("trades", symbol, since, limit), lambda: fetch(symbol, since, limit))
        return trades
