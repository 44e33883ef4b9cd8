"""Historical bars: ``fetch_ohlcv`` chunked by IB's maximum durations, paced, stitched without gaps.

A range longer than one request may cover (:mod:`sdk.venues.ib.timeframes`) becomes several
``reqHistoricalData`` calls, newest first; each waits on the shared
:class:`~sdk.venues.ib.pacing.PacingBudget` so a backfill never trips IB's pacing (error 162), and a
162 that still comes back is recorded in the budget and retried after its wait
(:func:`paced_request`, shared with ``reqHeadTimeStamp`` and the keepUpToDate series of
:mod:`sdk.venues.ib.bars`). Windows in which the instrument's
market has no session at all (weekends, holidays; :mod:`sdk.calendars`) are not requested;
sessions are widened by the hours in which bars exist outside continuous trading
(:data:`EXTENDED_HOURS`). Bars are merged by timestamp: none duplicated, none
missing, oldest first.

Rows are ccxt's ``[timestamp_ms, open, high, low, close, volume]``; prices in the quote currency,
volume in base units as IB reports it (IB's -1, "no volume" for MIDPOINT bars, becomes 0.0).
Daily and longer bars are stamped at 00:00 UTC of their trading date (ccxt's convention).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from ib_async import BarData, BarDataList, Contract, RequestError

from sdk.base import OHLCV
from sdk.calendars import get_calendar, market_for
from sdk.clock import Clock
from sdk.errors import BadRequest, RateLimitExceeded, RequestTimeout
from sdk.venues.ib.connection import IBConnection
from sdk.venues.ib.contracts import ContractResolver, ResolvedContract
from sdk.venues.ib.pacing import PacingBudget
from sdk.venues.ib.parsing import error_for, is_no_data, is_pacing_violation
from sdk.venues.ib.timeframes import Chunk, bar_size_for, plan_chunks, timeframe_seconds

__all__ = ["EXTENDED_HOURS", "HistoryService", "bar_row", "default_what_to_show", "identity_of", "paced_request"]

log = logging.getLogger(__name__)

#: Market -> (before the open, after the close) in which IB still has bars with ``useRTH=0``:
#: NYSE pre-market from 04:00 and after-hours to 20:00 New York; ASX has no trades before the
#: opening auction at 10:00 and its closing auction ends about 16:12 Sydney; FX sessions are whole days.
EXTENDED_HOURS: dict[str, tuple[timedelta, timedelta]] = {
    "NYSE": (timedelta(hours=5, minutes=30), timedelta(hours=4)),
    "ASX": (timedelta(0), timedelta(minutes=20)),
    "FX": (timedelta(0), timedelta(0)),
}
_UNKNOWN_MARKET_MARGIN = (timedelta(hours=6), timedelta(hours=6))
_INTRADAY_LIMIT_S = 3600  # below this bar length, closed windows are skipped
DEFAULT_LIMIT = 500
FALLBACK_LOOKBACK_MS = 30 * 86_400_000  # when IB gives no head timestamp
PACING_RETRIES = 4  # holds of 2 s, 15 s and 10 minutes between them (PacingBudget.record_violation)

T = TypeVar("T")


def default_what_to_show(resolved: ResolvedContract) -> str:
    """``MIDPOINT`` for FX (IB has no TRADES for CASH), ``TRADES`` otherwise."""
    return "MIDPOINT" if resolved.contract.secType == "CASH" else "TRADES"


def bar_row(bar: BarData) -> OHLCV:
    """ccxt OHLCV row of an ib_async bar (intraday dates are UTC with ``formatDate=2``)."""
    when = bar.date
    if isinstance(when, datetime):
        stamp = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
        ms = round(stamp.timestamp() * 1000)
    else:
        assert isinstance(when, date)
        ms = int(datetime(when.year, when.month, when.day, tzinfo=UTC).timestamp() * 1000)
    volume = float(bar.volume) if bar.volume is not None and bar.volume >= 0 else 0.0
    return [ms, float(bar.open), float(bar.high), float(bar.low), float(bar.close), volume]


def identity_of(contract: Contract, end: str, duration: str, bar_size: str, what: str, rth: bool) -> Hashable:
    """What makes two history requests "identical" for IB's 15-second rule."""
    return (contract.conId, contract.exchange, end, duration, bar_size, what.upper(), rth)


async def paced_request(
    conn: IBConnection,
    budget: PacingBudget,
    identity: Hashable,
    series: Hashable,
    what: str,
    send: Callable[[], Awaitable[T]],
    *,
    label: str,
    wait_ready: bool = True,
) -> T:
    """Send one historical-data request (``reqHistoricalData``, keepUpToDate or not, ``reqHeadTimeStamp``)
    through the shared budget, retrying IB's 162 pacing violation.

    Each attempt waits for a slot of ``budget`` (``identity`` for the 15-second rule, ``series``,
    the contract, exchange and tick type, for the two-second rule). A pacing violation IB still
    reports is recorded (:meth:`PacingBudget.record_violation`: every request then holds back 2 s,
    15 s, then 10 minutes) and the request is sent again, up to :data:`PACING_RETRIES` times.
    An answer, or IB's "no data" (also a served request), resets that escalation.

    Args:
        send: makes the ib_async call and awaits it (called once per attempt).
        label: what the request is for, in the error message (``"BHP/AUD head timestamp"``).
        wait_ready: wait for the session to be ready before each attempt; False inside a resync
            hook, which runs before the session is declared ready.

    Raises:
        RateLimitExceeded: IB reported a pacing violation on every attempt.
        RequestError: any other IB error (the caller translates it; 162 "no data" included).
    """
    for attempt in range(1, PACING_RETRIES + 1):
        if wait_ready:
            await conn.ensure_ready()
        async with budget.slot(identity, series, what):
            try:
                result = await send()
            except RequestError as exc:
                if is_pacing_violation(exc.code, exc.message):
                    await budget.record_violation()
                    if attempt < PACING_RETRIES:
                        continue
                    raise RateLimitExceeded(
                        f"IB kept reporting pacing violations for {label} ({PACING_RETRIES} attempts): "
                        f"IB error {exc.code}: {exc.message}"
                    ) from exc
                if is_no_data(exc.code, exc.message):
                    await budget.record_success()
                raise
        await budget.record_success()
        return result
    raise AssertionError("unreachable: the last attempt returns or raises")


class HistoryService:
    """``fetch_ohlcv`` for one :class:`IBConnection`, paced by a shared budget.

    Args:
        conn: the session.
        resolver: canonical symbol -> contract.
        budget: the process's pacing budget (its clock is the time pacing is measured in).
        clock: "now" for requests without an end (the venue's clock on the offline gateway).
        request_timeout: seconds one request may take before ``RequestTimeout``.
    """

    def __init__(
        self,
        conn: IBConnection,
        resolver: ContractResolver,
        budget: PacingBudget,
        clock: Clock,
        request_timeout: float = 60.0,
    ) -> None:
        self.conn = conn
        self.resolver = resolver
        self.budget = budget
        self.clock = clock
        self.request_timeout = request_timeout
        self.requests = 0  #: historical requests sent (for benchmarks and logs)
        self._heads: dict[tuple[int, str, bool], int | None] = {}

    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[OHLCV]:
        """Bars of ``symbol`` (see the module doc); ``since``/``until`` are ms UTC.

        Args:
            since: first bar's open time; None means the most recent ``limit`` bars.
            limit: at most this many bars (default 500 when ``since`` is None; all when given).
            params: ``until`` (ms UTC, exclusive end; default now), ``whatToShow`` (default TRADES,
                MIDPOINT for FX), ``useRTH`` (default False: every bar IB has).

        Raises:
            BadRequest: an unsupported timeframe (the message lists the supported ones), or a bad range.
            BadSymbol: IB does not know ``symbol``.
            RequestTimeout: IB did not answer a request in time.
        """
        params = dict(params or {})
        bar_size = bar_size_for(timeframe)
        step_ms = timeframe_seconds(timeframe) * 1000
        if limit is not None and limit <= 0:
            raise BadRequest(f"limit must be a positive number of bars, got {limit}")
        resolved = await self.resolver.resolve(symbol)
        what = str(params.get("whatToShow") or default_what_to_show(resolved))
        rth = bool(params.get("useRTH", False))
        now_ms = int(self.clock.now() * 1000)
        until = int(params.get("until") or now_ms)
        if since is None:
            # Walk back from the end, one window at a time, until enough bars (closed hours,
            # weekends and holidays hold none), but never past the first bar IB holds.
            want = limit or DEFAULT_LIMIT
            head = await self._head(resolved, what, rth)
            floor = head if head is not None else until - max(want * step_ms * 50, FALLBACK_LOOKBACK_MS)
            if floor >= until:
                return []
            rows = await self._collect(resolved, timeframe, bar_size, what, rth, floor, until, want, newest_first=True)
            return rows[-want:]
        head = await self._head(resolved, what, rth)
        if head is not None and since < head:
            # nothing before IB's first bar: no request for it (a since of 0 stays cheap); from the start of the bar
            # holding it (a daily bar is stamped 00:00 UTC of its day, before a head at that day's open)
            since = head - head % min(step_ms, 86_400_000)
        if since >= until:
            return []
        # Oldest window first, so that with a limit the walk stops once the first `limit` bars are in.
        rows = await self._collect(resolved, timeframe, bar_size, what, rth, since, until, limit, newest_first=False)
        return rows[:limit] if limit is not None else rows

    async def _collect(
        self,
        resolved: ResolvedContract,
        timeframe: str,
        bar_size: str,
        what: str,
        rth: bool,
        since: int,
        until: int,
        enough: int | None,
        *,
        newest_first: bool,
    ) -> list[OHLCV]:
        merged: dict[int, OHLCV] = {}
        skipped = 0
        chunks = plan_chunks(timeframe, since, until)
        for chunk in chunks if newest_first else reversed(chunks):
            if self._market_closed(resolved, timeframe, chunk):
                skipped += 1
                continue
            for row in await self._request(resolved, chunk, bar_size, what, rth):
                if since <= row[0] < until:
                    merged[int(row[0])] = row
            if enough is not None and len(merged) >= enough:
                break
        if skipped:
            log.debug("closed windows not requested", extra={"symbol": resolved.symbol, "skipped": skipped})
        return [merged[ts] for ts in sorted(merged)]

    def _market_closed(self, resolved: ResolvedContract, timeframe: str, chunk: Chunk) -> bool:
        if timeframe_seconds(timeframe) >= _INTRADAY_LIMIT_S:
            return False
        contract = resolved.contract
        try:
            market = market_for(contract.secType, contract.currency, contract.primaryExchange)
            calendar = get_calendar(market)
            before, after = EXTENDED_HOURS.get(market, _UNKNOWN_MARKET_MARGIN)
            start = datetime.fromtimestamp(chunk.start_ms / 1000, UTC)
            end = datetime.fromtimestamp(chunk.end_ms / 1000, UTC)
            sessions = calendar.sessions(start - after, end + before)
            return not any(s.open - before < end and s.close + after > start for s in sessions)
        except ValueError:  # no calendar for this instrument, or outside its range: ask IB
            return False

    async def _request(
        self, resolved: ResolvedContract, chunk: Chunk, bar_size: str, what: str, rth: bool
    ) -> list[OHLCV]:
        contract = resolved.contract
        end = chunk.end_date_time.strftime("%Y%m%d %H:%M:%S UTC")
        identity = identity_of(contract, end, chunk.duration, bar_size, what, rth)
        series = (contract.conId, contract.exchange, what.upper())

        async def send() -> BarDataList:
            self.requests += 1
            return await self.conn.ib.reqHistoricalDataAsync(
                contract,
                endDateTime=end,
                durationStr=chunk.duration,
                barSizeSetting=bar_size,
                whatToShow=what,
                useRTH=rth,
                formatDate=2,
                timeout=self.request_timeout,
            )

        label = f"{resolved.symbol} ({chunk.duration} to {end})"
        try:
            bars = await paced_request(self.conn, self.budget, identity, series, what, send, label=label)
        except RequestError as exc:
            if is_no_data(exc.code, exc.message):
                return []
            raise error_for(exc.code, exc.message) from exc
        if _timed_out(self.conn, bars):
            raise RequestTimeout(
                f"IB did not answer reqHistoricalData for {resolved.symbol} ({chunk.duration} to {end}) "
                f"within {self.request_timeout} s"
            )
        return [bar_row(bar) for bar in bars]

    async def head_timestamp(self, symbol: str, what: str | None = None, rth: bool = False) -> int | None:
        """The earliest bar IB holds for ``symbol`` (``reqHeadTimeStamp``), ms UTC, or None if IB has none."""
        resolved = await self.resolver.resolve(symbol)
        return await self._head(resolved, what or default_what_to_show(resolved), rth)

    async def _head(self, resolved: ResolvedContract, what: str, rth: bool) -> int | None:
        key = (resolved.con_id, what.upper(), rth)
        if key not in self._heads:
            self._heads[key] = await self._request_head(resolved, what, rth)
        return self._heads[key]

    async def _request_head(self, resolved: ResolvedContract, what: str, rth: bool) -> int | None:
        symbol = resolved.symbol
        contract = resolved.contract
        identity = ("head", contract.conId, what, rth)
        series = (contract.conId, contract.exchange, what.upper())

        async def send() -> datetime:
            return await asyncio.wait_for(
                self.conn.ib.reqHeadTimeStampAsync(contract, what, rth, 2), self.request_timeout
            )

        try:
            when = await paced_request(
                self.conn, self.budget, identity, series, what, send, label=f"{symbol} head timestamp"
            )
        except RequestError as exc:
            if is_no_data(exc.code, exc.message):
                return None
            raise error_for(exc.code, exc.message) from exc
        except TimeoutError:
            raise RequestTimeout(f"IB did not answer reqHeadTimeStamp for {symbol}") from None
        if isinstance(when, datetime):
            return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)
        return None


def _timed_out(conn: IBConnection, bars: BarDataList) -> bool:
    """ib_async answers a timed-out request with an empty list; its request is then still pending."""
    futures = conn.ib.wrapper._futures
    if bars.reqId in futures:
        futures.pop(bars.reqId, None)
        return True
    return False
