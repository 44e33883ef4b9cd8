"""Download a venue's history into the Parquet cache: planned, paced, resumable (``trader data download``).

For each symbol, :func:`download`:

1. checks the request before anything is asked of the venue (a bar size IB offers, a whatToShow IB knows, start not
   after end, a writable cache) and resolves the symbol (``fetch_instrument``: an unknown one is ``BadSymbol``);
2. asks the venue where its history starts (``fetch_head_timestamp``, IB's ``reqHeadTimeStamp``) and clips the start
   to it, saying so; a range wholly before the listing is refused;
3. plans the range as windows of one request each on a grid fixed in time (multiples of the venue's longest request
   for the bar size, :meth:`~sdk.base.BaseTrader.ohlcv_request_span`, from the epoch), so two runs over overlapping
   ranges plan the same windows; a window its exchange calendar has no session in is ``closed``, never requested;
4. requests the open windows oldest first through ``fetch_ohlcv`` (the venue's pacing budget admits each request);
   a window's bars are stored, then the plan records it (:mod:`sdk.data.download_plan`). A transient failure
   (timeout, lost connection, pacing) is retried with backoff and, if it persists, left ``pending`` with its error
   for the next run; a refusal (bad request, unknown contract) is ``failed`` with IB's words. A window reaching past
   the venue's "now" is stored but stays ``pending``: the next run asks for it again;
5. merges the stored windows into the cache's month files (:mod:`sdk.data.partitions`), touching only the months
   the new windows fall in;
6. verifies the cache's bars of the range against the exchange calendar (:mod:`sdk.data.verify`) and records the
   counts in the plan (``verify``).

The same command after a kill, a gateway restart or a pacing penalty continues from the plan: a finished window is
never requested again, and the month files come out byte-identical to an uninterrupted download's.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pandas as pd

from sdk.base import BaseTrader
from sdk.calendars import get_calendar
from sdk.data.barsizes import BAR_SIZES, BarSize, parse_bar_size
from sdk.data.cache import read_frame
from sdk.data.download_plan import DownloadPlan, PlannedChunk
from sdk.data.gap_fill import fill_gaps
from sdk.data.partitions import month_of, partition_dir, ticker_facts, to_frame, write_months
from sdk.data.verify import VerifyReport, verify_frame
from sdk.errors import BadRequest, ExchangeNotAvailable, NetworkError, RateLimitExceeded, RequestTimeout
from sdk.instruments import InstrumentSpec
from sdk.symbols import InstrumentType

__all__ = ["WHAT_TO_SHOW", "DownloadProgress", "DownloadRequest", "DownloadResult", "check_request", "download"]

log = logging.getLogger(__name__)

#: IB's ``whatToShow`` values for historical bars this command serves (IB "Historical Data Types").
WHAT_TO_SHOW = ("TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST")
#: Attempts per window within one run for a transient failure, and the first backoff (seconds, doubling).
ATTEMPTS, BACKOFF = 3, 1.0
_TRANSIENT = (RequestTimeout, RateLimitExceeded, ExchangeNotAvailable, NetworkError)


@dataclass(frozen=True, slots=True)
class DownloadRequest:
    """One symbol's download: bars of ``bar_size`` (IB's spelling, ``"1 min"``, or a label, ``"1min"``) on the
    trading dates ``start`` to ``end`` inclusive, of ``what_to_show`` (None: TRADES, MIDPOINT for FX), regular hours
    only (``rth``) or all hours, into ``cache``; bars IB could not give are taken from the local files in
    ``fill_from`` where they pass the checks (:mod:`sdk.data.gap_fill`)."""

    symbol: str
    bar_size: str
    start: date
    end: date
    cache: Path
    what_to_show: str | None = None
    rth: bool = True
    fill_from: Path | None = None


@dataclass(slots=True)
class DownloadResult:
    """What a download did: its plan, the month files written, bars stored, requests made, and notes (a clipped
    start, windows left pending or failed)."""

    plan: DownloadPlan
    files: list[Path] = field(default_factory=list)
    bars: int = 0
    requests: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(c.finished and c.status != "failed" for c in self.plan.chunks)


class DownloadProgress(Protocol):
    """Told as a download goes (a progress bar on a terminal, log lines otherwise)."""

    def planned(self, plan: DownloadPlan, todo: int) -> None: ...

    def advanced(self, plan: DownloadPlan, chunk: PlannedChunk) -> None: ...

    def note(self, plan: DownloadPlan, message: str) -> None: ...


def check_request(request: DownloadRequest) -> BarSize:
    """Refuse a request that cannot be right before anything is asked of the venue; returns its bar size.

    Raises:
        BadRequest: a bar size IB does not offer (the message lists them), an unknown whatToShow, start after end,
            a cache that cannot be written.
    """
    try:
        size = parse_bar_size(request.bar_size)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if size.seconds > 86_400:
        offered = ", ".join(b.ib for b in BAR_SIZES.values() if b.seconds <= 86_400)
        raise BadRequest(f"bar size {request.bar_size!r}: download daily or finer bars ({offered})")
    if request.what_to_show is not None and request.what_to_show.upper() not in WHAT_TO_SHOW:
        raise BadRequest(
            f"whatToShow {request.what_to_show!r} is not one IB serves; use one of {', '.join(WHAT_TO_SHOW)}"
        )
    if request.start > request.end:
        raise BadRequest(f"start {request.start} is after end {request.end}; give start <= end (both inclusive)")
    try:
        request.cache.mkdir(parents=True, exist_ok=True)
        probe = request.cache / f".write-probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise BadRequest(f"the cache {request.cache} cannot be written ({exc.strerror}); give --cache DIR") from None
    return size


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _range(spec: InstrumentSpec, start: date, end: date) -> tuple[int, int]:
    """``[start, end]`` trading dates as ms UTC: midnight of ``start`` to midnight after ``end`` in the market's time
    zone (UTC without a calendar)."""
    tz = get_calendar(spec.market).tz if spec.market else UTC
    lo = datetime(start.year, start.month, start.day, tzinfo=tz)
    hi = datetime(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1)
    return _ms(lo), _ms(hi)


def _windows(start: int, end: int, span_ms: int) -> list[tuple[int, int]]:
    first = start - start % span_ms
    return [(t, t + span_ms) for t in range(first, end, span_ms)]


def _closed(spec: InstrumentSpec, window: tuple[int, int], rth: bool) -> bool:
    """No session of the symbol's market meets the window (with all hours, none within a day of it)."""
    if not spec.market:
        return False
    margin = timedelta(0) if rth else timedelta(days=1)
    lo = datetime.fromtimestamp(window[0] / 1000, UTC)
    hi = datetime.fromtimestamp(window[1] / 1000, UTC)
    sessions = get_calendar(spec.market).sessions(lo - margin, hi + margin)
    return not any(s.open - margin < hi and s.close + margin > lo for s in sessions)


async def _plan(trader: BaseTrader, request: DownloadRequest, size: BarSize, spec: InstrumentSpec) -> DownloadResult:
    what = (request.what_to_show or ("MIDPOINT" if spec.instrument_type == InstrumentType.FX else "TRADES")).upper()
    start, end = _range(spec, request.start, request.end)
    key = DownloadPlan.key_of(spec.symbol, size.label, what, request.rth)
    path = request.cache / ".downloads" / f"{key}.json"
    plan = DownloadPlan.load(path) if path.exists() else None
    notes: list[str] = []
    head = plan.head if plan is not None else None
    if plan is None:
        head = await trader.fetch_head_timestamp(spec.symbol, {"whatToShow": what, "useRTH": request.rth})
    if head is not None and head >= end:
        first = datetime.fromtimestamp(head / 1000, UTC)
        raise BadRequest(f"{spec.symbol}: the venue's history starts {first:%Y-%m-%d %H:%M} UTC, after {request.end}")
    if head is not None and start < head:
        notes.append(f"start clipped from {request.start} to the first bar the venue holds, "
                     f"{datetime.fromtimestamp(head / 1000, UTC):%Y-%m-%d %H:%M} UTC")  # fmt: skip
        start = head
    span = trader.ohlcv_request_span(size.timeframe) or size.max_request_seconds
    windows = _windows(start, end, span * 1000)
    if plan is None:
        plan = DownloadPlan(spec.symbol, size.ib, size.label, what, request.rth, start, end, head=head)
    plan.extend(windows, start, end)
    for chunk in plan.chunks:
        if chunk.status == "pending" and _closed(spec, (chunk.start, chunk.end), request.rth):
            chunk.status = "closed"
    return DownloadResult(plan, notes=notes)


async def download(
    trader: BaseTrader,
    request: DownloadRequest,
    *,
    progress: DownloadProgress | None = None,
    now_ms: Callable[[], int] | None = None,
) -> DownloadResult:
    """Download one symbol (module docstring); returns what was done. ``now_ms``: the time stamped on the plan
    (default: the venue's clock).

    Raises:
        BadRequest: the request is wrong (:func:`check_request`), or the range lies wholly before the listing.
        BadSymbol: the venue does not know the symbol.
    """
    size = check_request(request)
    spec = await trader.fetch_instrument(request.symbol)
    clock = now_ms or (lambda: int(trader.clock.now() * 1000))
    result = await _plan(trader, request, size, spec)
    plan, cache = result.plan, request.cache
    plan.pid, plan.finished_at, plan.started_at = os.getpid(), None, plan.started_at or clock()
    plan.save(cache, clock())
    todo = [c for c in plan.chunks if not c.finished]
    for note in result.notes:
        log.info(note, extra={"symbol": spec.symbol})
        if progress is not None:
            progress.note(plan, note)
    if progress is not None:
        progress.planned(plan, len(todo))
    venue_now = await trader.fetch_time() if trader.has.get("fetchTime") else clock()
    for chunk in todo:
        if plan.chunk_path(cache, chunk).exists():  # stored before a kill, not yet recorded: not asked again
            chunk.status = "done" if chunk.end <= venue_now else "pending"
        else:
            await _fetch(trader, plan, chunk, cache, venue_now, result)
        plan.save(cache, clock())
        if progress is not None:
            progress.advanced(plan, chunk)
    bars = plan.read_chunks(cache)  # this run's windows, and any a killed run stored and did not merge
    frame = to_frame(bars, daily=not size.intraday, market=spec.market)
    touched = {month_of(int(t)) for t in bars["time"]}
    directory = partition_dir(cache, spec.symbol, size.label, plan.what_to_show, plan.rth)
    extra = {"source": "IB", "what_to_show": plan.what_to_show, "rth": plan.rth,
             "adjusted": plan.what_to_show == "ADJUSTED_LAST", "tz": "UTC"}  # fmt: skip
    result.files = write_months(directory, frame, months=touched, meta=ticker_facts(spec), bar_label=size.label,
                                coverage=plan.coverage(), extra=extra)  # fmt: skip
    for stored in sorted(plan.chunk_dir(cache).glob("*.parquet")) if plan.chunk_dir(cache).exists() else []:
        stored.unlink()  # merged into the month files; the plan keeps the record
    result.bars = len(frame)
    left = [c for c in plan.chunks if not c.finished or c.status == "failed"]
    if left:
        result.notes.append(f"{len(left)} windows not finished (pending or failed): run the command again or see "
                            "`trader data status`")  # fmt: skip
    report = await asyncio.to_thread(_verify, directory, plan, size, spec)
    if report is not None and report.missing_spans and request.fill_from is not None and spec.market:
        market, adjusted = spec.market, plan.what_to_show == "ADJUSTED_LAST"
        fill = await asyncio.to_thread(fill_gaps, request.fill_from, spec.symbol, size, market=market, rth=plan.rth,
                                       adjusted=adjusted, gaps=report.missing_spans)  # fmt: skip
        result.notes += fill.notes
        if len(fill.frame):
            months = {month_of(int(t.value // 1_000_000)) for t in fill.frame.index}
            result.files = sorted({*result.files, *write_months(
                directory, fill.frame, months=months, meta=ticker_facts(spec), bar_label=size.label,
                coverage=plan.coverage(), extra=extra, sources=["IB", *fill.sources], filled=fill.spans)})  # fmt: skip
            result.notes.append(f"filled {len(fill.frame)} bars IB did not give from {request.fill_from} "
                                f"({len(fill.spans)} spans; marked with their source)")  # fmt: skip
            report = await asyncio.to_thread(_verify, directory, plan, size, spec)
    plan.verify = report.counts() if report is not None else None
    plan.pid, plan.finished_at = None, clock()
    plan.save(cache, clock())
    return result


def _verify(directory: Path, plan: DownloadPlan, size: BarSize, spec: InstrumentSpec) -> VerifyReport | None:
    """The cache's bars of the plan's range checked against the exchange calendar (:func:`sdk.data.verify.
    verify_frame`; windows IB answered "no data" marked); None without a calendar."""
    if not spec.market:
        return None
    first, last = month_of(plan.start), month_of(plan.end - 1)
    frames = [read_frame(p)[1] for p in sorted(directory.glob("*.parquet")) if first <= p.stem <= last]
    frame = (
        pd.concat(frames).sort_index() if frames else pd.DataFrame(columns=["open", "high", "low", "close", "volume"])
    )
    if not frames:
        frame.index = pd.DatetimeIndex([], tz="UTC", name="time")

    def at(ms: int) -> pd.Timestamp:
        return pd.Timestamp(ms, unit="ms", tz="UTC")

    no_data = [(at(c.start), at(c.end)) for c in plan.chunks if c.status == "no_data"]
    head = at(plan.head) if plan.head is not None else None
    report = verify_frame(frame, market=spec.market, bar_size=size, rth=plan.rth, start=at(plan.start),
                          end=at(plan.end), head=head, no_data=no_data)  # fmt: skip
    return report


async def _fetch(
    trader: BaseTrader, plan: DownloadPlan, chunk: PlannedChunk, cache: Path, venue_now: int, result: DownloadResult
) -> None:
    params = {"until": chunk.end, "whatToShow": plan.what_to_show, "useRTH": plan.rth}
    delay = BACKOFF
    for attempt in range(1, ATTEMPTS + 1):
        chunk.attempts += 1
        result.requests += 1
        try:
            rows = await trader.fetch_ohlcv(plan.symbol, _timeframe(plan), since=chunk.start, params=params)
        except _TRANSIENT as exc:
            chunk.error = f"{type(exc).__name__}: {exc}"
            extra = {"symbol": plan.symbol, "window": chunk.start, "attempt": attempt, "error": chunk.error}
            log.warning("history window failed; retrying", extra=extra)
            if attempt < ATTEMPTS:
                await asyncio.sleep(delay)
                delay *= 2
            continue
        except BadRequest as exc:
            chunk.status, chunk.error = "failed", f"{type(exc).__name__}: {exc}"
            return
        inside = [r for r in rows if chunk.start <= r[0] < chunk.end]
        plan.write_chunk(cache, chunk, [list(map(float, r)) for r in inside])
        chunk.bars, chunk.error = len(inside), None
        chunk.status = ("done" if inside else "no_data") if chunk.end <= venue_now else "pending"
        return
    # transient every time: left pending with its error for the next run


def _timeframe(plan: DownloadPlan) -> str:
    return parse_bar_size(plan.bar_size).timeframe
