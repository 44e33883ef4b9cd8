"""Streaming market data: one ``reqMktData`` subscription per contract, shared by every caller.

``fetch_ticker`` and ``get_market_data`` read the same live ib_async ``Ticker``; the first call for
a symbol subscribes and waits for the first quote, later calls cost no request. Each stream keeps
the time of its last update (on the trader's clock): :meth:`MarketDataService.fx_mid`, the FX
cache's source, answers a stream silent for longer than the caller's maximum age with a one-off
snapshot (``reqMktData`` with ``snapshot=True``), and with None when that brings no quote either. After a reconnect
or IB's 1101 ("connectivity restored, data lost") :meth:`MarketDataService.resubscribe` requests
every stream again. ``fetch_order_book`` uses market depth (``reqMktDepth``) when the venue serves it
and otherwise top of book as one-level ``bids``/``asks``.

IB tick semantics (TWS API "Tick Types": https://interactivebrokers.github.io/tws-api/tick_types.html):
``close`` is the previous session's close (ccxt ``previousClose``); ``open``/``high``/``low``/``volume``
are today's; sizes are in shares (FX: base currency).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from ccxt.base.types import OrderBook, Ticker
from ib_async import RequestError
from ib_async import Ticker as IBTicker

from sdk.clock import Clock
from sdk.errors import BadSymbol, ExchangeError
from sdk.venues.ib.connection import IBConnection, ResyncReason
from sdk.venues.ib.contracts import ContractResolver, ResolvedContract
from sdk.venues.ib.executions import iso8601
from sdk.venues.ib.fx import FxMid
from sdk.venues.ib.parsing import clean_number, error_for, is_informational

__all__ = ["MarketDataService"]

log = logging.getLogger(__name__)

#: Codes answering a market-data request that mean "no stream for you" (raised to the caller).
_MARKET_DATA_ERRORS = frozenset({200, 354, 10090, 10167, 10168, 10186, 300, 321, 322})
#: Codes answering reqMktDepth that mean "no depth here": fall back to top of book.
_DEPTH_UNAVAILABLE = frozenset({309, 310, 316, 317, 354, 10092, 321, 505, 10090})


def _num(value: float | None) -> float | None:
    number = clean_number(value)
    return None if number is None or number < 0 else number


def _price(value: float | None) -> float | None:
    number = _num(value)
    return number if number else None


@dataclass(slots=True)
class _Stream:
    symbol: str
    resolved: ResolvedContract
    ticker: IBTicker | None = None
    req_id: int | None = None
    epoch: int = -1  # the connection's resync epoch in which the stream was requested
    updated_ms: int | None = None
    error: tuple[int, str] | None = None
    has_data: asyncio.Event = field(default_factory=asyncio.Event)


class MarketDataService:
    """Live tickers and order books for canonical symbols on one :class:`IBConnection`.

    Args:
        conn: the session; streams are renewed on its ``reconnect`` and ``data_lost`` resyncs.
        resolver: canonical symbol -> qualified contract.
        clock: stamps each update (the venue's clock on the offline gateway).
        quote_timeout: seconds the first call for a symbol waits for its first quote.
    """

    def __init__(
        self, conn: IBConnection, resolver: ContractResolver, clock: Clock, quote_timeout: float = 5.0
    ) -> None:
        self.conn = conn
        self.resolver = resolver
        self.clock = clock
        self.quote_timeout = quote_timeout
        self._streams: dict[str, _Stream] = {}
        self._subscribing: dict[str, asyncio.Lock] = {}
        self._depth_unavailable: set[str] = set()
        conn.ib.errorEvent += self._on_error
        conn.add_resync_hook("market data", self.resubscribe, frozenset({"reconnect", "data_lost"}))

    def subscriptions(self) -> list[str]:
        """Symbols with a live stream."""
        return sorted(self._streams)

    # --- subscription ---------------------------------------------------------------------
    async def stream(self, symbol: str) -> _Stream:
        """The live stream of ``symbol`` (subscribing on first use), after its first data or timeout.

        Raises:
            BadSymbol: IB has no such contract.
            ExchangeError: IB refused the stream (e.g. 354 not subscribed).
        """
        stream = self._streams.get(symbol)
        if stream is None:
            lock = self._subscribing.setdefault(symbol, asyncio.Lock())
            async with lock:
                stream = self._streams.get(symbol)
                if stream is None:
                    await self.conn.ensure_ready()
                    resolved = await self.resolver.resolve(symbol)
                    stream = _Stream(symbol, resolved)
                    self._subscribe(stream)
                    self._streams[symbol] = stream
        if not stream.has_data.is_set() and stream.error is None:
            try:
                await asyncio.wait_for(stream.has_data.wait(), self.quote_timeout)
            except TimeoutError:
                missing = _missing_sides(stream.ticker) if stream.ticker is not None else ["bid", "ask"]
                log.info(
                    "no two-sided quote yet",
                    extra={"symbol": symbol, "waited_s": self.quote_timeout, "missing": ",".join(missing)},
                )
        if stream.error is not None:
            code, message = stream.error
            self._streams.pop(symbol, None)
            raise error_for(code, message)
        return stream

    def _subscribe(self, stream: _Stream) -> None:
        ib = self.conn.ib
        stream.has_data = asyncio.Event()
        stream.error = None
        ticker = ib.reqMktData(stream.resolved.contract, "", False, False)
        stream.ticker = ticker
        stream.epoch = self.conn.resync_epoch
        stream.req_id = next((rid for rid, t in ib.wrapper.reqId2Ticker.items() if t is ticker), None)

        def on_update(updated: IBTicker, stream: _Stream = stream) -> None:
            if updated is not stream.ticker:
                return
            stream.updated_ms = int(self.clock.now() * 1000)
            if _has_quote(updated):
                stream.has_data.set()

        ticker.updateEvent += on_update
        log.info(
            "market data subscribed",
            extra={"symbol": stream.symbol, "conId": stream.resolved.con_id, "reqId": stream.req_id},
        )

    async def resubscribe(self, reason: ResyncReason = "reconnect") -> None:
        """Request every stream again (after a reconnect, or IB 1101 "data lost").

        Streams already renewed in this resync (:attr:`IBConnection.resync_epoch`: the step is being
        retried) are left alone.
        """
        ib = self.conn.ib
        epoch = self.conn.resync_epoch
        for stream in list(self._streams.values()):
            if stream.epoch == epoch:
                continue
            if reason == "data_lost" and stream.ticker is not None and stream.req_id is not None:
                try:
                    ib.cancelMktData(stream.resolved.contract)
                except ConnectionError:
                    pass
            self._subscribe(stream)
        if self._streams:
            log.info("market data resubscribed", extra={"reason": reason, "streams": len(self._streams)})

    def _on_error(self, req_id: int, code: int, message: str, contract: Any) -> None:
        if is_informational(code) or req_id <= 0:
            return
        for stream in self._streams.values():
            if stream.req_id == req_id and code in _MARKET_DATA_ERRORS:
                stream.error = (code, message)
                stream.has_data.set()

    async def close(self) -> None:
        """Cancel every stream (best effort: the session may already be gone)."""
        ib = self.conn.ib
        for stream in self._streams.values():
            if ib.isConnected():
                try:
                    ib.cancelMktData(stream.resolved.contract)
                except ConnectionError:
                    pass
        self._streams.clear()

    # --- ccxt structures ------------------------------------------------------------------
    async def fetch_ticker(self, symbol: str) -> Ticker:
        """ccxt ticker of ``symbol`` from its live stream; prices in the quote currency.

        ``last`` == ``close`` (ccxt); IB's ``close`` (previous session) is ``previousClose``;
        ``change``/``percentage`` are against today's ``open``; ``baseVolume`` in base units;
        ``quoteVolume`` = ``baseVolume`` × ``vwap`` when IB sends a VWAP. Fields IB has not sent are None.
        The first call waits (up to ``quote_timeout``) for a bid AND an ask, which TWS sends as separate
        messages, so a bid is never served as a complete quote; a side still missing then is None and named
        in ``info["missing"]`` (an index has neither: its last is enough).
        """
        stream = await self.stream(symbol)
        return _ticker(symbol, stream)

    async def mid(self, symbol: str) -> float | None:
        """Bid/ask midpoint of ``symbol``'s live stream, else its last price, else None (position marks).

        Raises:
            BadSymbol: IB does not list ``symbol`` (IB error 200).
        """
        try:
            stream = await self.stream(symbol)
        except BadSymbol:
            raise
        except ExchangeError as exc:
            log.warning("no stream", extra={"symbol": symbol, "error": str(exc)})
            return None
        return _mid_of(stream.ticker)

    async def fx_mid(self, symbol: str, max_age: float) -> FxMid | None:
        """The mid (else last) of ``symbol`` with the time IB last updated it (the FX cache's source).

        The stream's quote is used while its last update is at most ``max_age`` seconds old (on the
        trader's clock). An older one is never passed on as current: a snapshot is requested
        (``reqMktData`` with ``snapshot=True``, waiting at most ``quote_timeout`` seconds) and its
        quote is stamped when it arrived; without an answer, or without a price in it, None.

        Raises:
            BadSymbol: IB does not list the pair (IB error 200).
        """
        try:
            stream = await self.stream(symbol)
        except BadSymbol:
            raise
        except ExchangeError as exc:
            log.warning("no FX stream", extra={"symbol": symbol, "error": str(exc)})
            return None
        price = _mid_of(stream.ticker)
        updated = stream.updated_ms / 1000 if stream.updated_ms is not None else None
        if price is not None and updated is not None and self.clock.now() - updated <= max_age:
            return FxMid(price, updated, "stream")
        return await self._snapshot_mid(stream, updated)

    async def _snapshot_mid(self, stream: _Stream, updated: float | None) -> FxMid | None:
        ib = self.conn.ib
        now = self.clock.now()
        log.info(
            "stream quote stale; asking IB for a snapshot",
            extra={"symbol": stream.symbol, "age_s": None if updated is None else round(now - updated, 1)},
        )
        try:
            tickers = await asyncio.wait_for(ib.reqTickersAsync(stream.resolved.contract), self.quote_timeout)
        except (TimeoutError, ConnectionError, RequestError) as exc:
            log.warning("no snapshot quote", extra={"symbol": stream.symbol, "error": repr(exc)})
            return None
        price = _mid_of(tickers[0]) if tickers else None
        if price is None:
            log.warning("snapshot without a price", extra={"symbol": stream.symbol})
            return None
        return FxMid(price, self.clock.now(), "snapshot")

    async def fetch_order_book(self, symbol: str, limit: int | None = None) -> OrderBook:
        """ccxt order book: market depth when IB serves it, else top of book as one level per side.

        ``bids`` descending and ``asks`` ascending ``[price, amount]``; amounts in base units. A side
        whose price or size IB has not sent is empty (never a guessed size).
        """
        stream = await self.stream(symbol)
        rows = max(1, min(limit or 5, 10))
        if symbol not in self._depth_unavailable and rows > 1:
            book = await self._depth(stream, rows)
            if book is not None:
                return book
        ticker = stream.ticker
        bids: list[list[float]] = []
        asks: list[list[float]] = []
        if ticker is not None:
            bid, bid_size = _price(ticker.bid), _price(ticker.bidSize)
            ask, ask_size = _price(ticker.ask), _price(ticker.askSize)
            if bid and bid_size:
                bids.append([bid, bid_size])
            if ask and ask_size:
                asks.append([ask, ask_size])
        return _book(symbol, bids, asks, stream.updated_ms, {"source": "top_of_book"})

    async def _depth(self, stream: _Stream, rows: int) -> OrderBook | None:
        ib = self.conn.ib
        failed: list[int] = []

        def on_error(req_id: int, code: int, message: str, contract: Any) -> None:
            if code in _DEPTH_UNAVAILABLE:
                failed.append(code)

        ib.errorEvent += on_error
        try:
            depth = ib.reqMktDepth(stream.resolved.contract, numRows=rows)
            for _ in range(20):
                if failed or depth.domBids or depth.domAsks:
                    break
                await asyncio.sleep(0.05)
            bids = [[lvl.price, lvl.size] for lvl in depth.domBids if lvl.price > 0 and lvl.size > 0][:rows]
            asks = [[lvl.price, lvl.size] for lvl in depth.domAsks if lvl.price > 0 and lvl.size > 0][:rows]
            try:
                ib.cancelMktDepth(stream.resolved.contract)
            except ConnectionError:
                pass
        finally:
            ib.errorEvent -= on_error
        if failed or not (bids or asks):
            self._depth_unavailable.add(stream.symbol)
            log.info("market depth unavailable; using top of book", extra={"symbol": stream.symbol, "codes": failed})
            return None
        return _book(stream.symbol, bids, asks, int(self.clock.now() * 1000), {"source": "market_depth"})


def _mid_of(ticker: IBTicker | None) -> float | None:
    """Bid/ask midpoint, else the last price, else None (a crossed or one-sided quote has no mid)."""
    if ticker is None:
        return None
    bid, ask, last = _price(ticker.bid), _price(ticker.ask), _price(ticker.last)
    if bid and ask and ask >= bid:
        return (bid + ask) / 2
    return last


def _has_quote(ticker: IBTicker) -> bool:
    """A quote that belongs together: both bid and ask (TWS sends them as separate messages, so a bid alone
    is half a quote); an index (``IND``) has no bid or ask, so its last (or close) is enough."""
    if ticker.contract is not None and ticker.contract.secType == "IND":
        return _price(ticker.last) is not None or _price(ticker.close) is not None
    return _price(ticker.bid) is not None and _price(ticker.ask) is not None


def _missing_sides(ticker: IBTicker) -> list[str]:
    """The sides of a two-sided quote IB has not sent (empty for an index or a full quote)."""
    if ticker.contract is not None and ticker.contract.secType == "IND":
        return []
    return [side for side in ("bid", "ask") if _price(getattr(ticker, side)) is None]


def _book(
    symbol: str, bids: list[list[float]], asks: list[list[float]], ms: int | None, info: dict[str, Any]
) -> OrderBook:
    book: dict[str, Any] = {
        "symbol": symbol,
        "bids": sorted(bids, key=lambda row: -row[0]),
        "asks": sorted(asks, key=lambda row: row[0]),
        "timestamp": ms,
        "datetime": iso8601(ms),
        "nonce": None,
        "info": info,
    }
    return book


def _ticker(symbol: str, stream: _Stream) -> Ticker:
    t = stream.ticker
    assert t is not None
    last = _price(t.last)
    open_ = _price(t.open)
    vwap = _price(t.vwap)
    volume = _num(t.volume)
    change = last - open_ if last is not None and open_ is not None else None
    info = {
        "conId": stream.resolved.con_id,
        "bid": t.bid,
        "ask": t.ask,
        "last": t.last,
        "close": t.close,
        "open": t.open,
        "high": t.high,
        "low": t.low,
        "volume": t.volume,
        "vwap": t.vwap,
        "marketDataType": t.marketDataType,
        "halted": None if math.isnan(t.halted) else t.halted,
        "missing": _missing_sides(t),  # e.g. ["ask"]: IB sent no ask (none, or not yet), so bid and ask are not a pair
    }
    ticker: dict[str, Any] = {
        "symbol": symbol,
        "info": info,
        "timestamp": stream.updated_ms,
        "datetime": iso8601(stream.updated_ms),
        "high": _price(t.high),
        "low": _price(t.low),
        "bid": _price(t.bid),
        "bidVolume": _num(t.bidSize),
        "ask": _price(t.ask),
        "askVolume": _num(t.askSize),
        "vwap": vwap,
        "open": open_,
        "close": last,
        "last": last,
        "previousClose": _price(t.close),
        "change": change,
        "percentage": change / open_ * 100 if change is not None and open_ else None,
        "average": (last + open_) / 2 if last is not None and open_ is not None else None,
        "baseVolume": volume,
        "quoteVolume": volume * vwap if volume is not None and vwap is not None else None,
    }
    if vwap is not None and volume is None:
        ticker["vwap"] = None  # ccxt: a VWAP needs both volumes
    return ticker
