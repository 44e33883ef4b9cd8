"""Verify a bar frame against its exchange calendar and count its faults; fix the safe ones.

    from sdk.data.verify import fix_minor, verify_frame

    fixed, log = fix_minor(frame)                      # exact duplicates dropped, rows sorted; log says what
    report = verify_frame(fixed, market="NYSE", bar_size="1 min", rth=True, start=lo, end=hi, head=first_bar)
    report.counts()                                    # {"expected": 8580, "present": 8010, ...}
    report.missing_spans                               # [MissingSpan(start, end, bars)], merged runs

``frame`` is a bar frame in the shape of :mod:`sdk.data.frames` (index ``time``: the bar's start, UTC; float
columns ``open, high, low, close, volume``, optionally ``wap``), as ``Catalog.bars`` or the download cache
gives it, but it may hold the very faults counted here (unsorted rows, repeated times).

**Expected bars.** The grid of :mod:`sdk.data.expected`: the regular hours of every weekday in ``[start, end)``
at the bar size. Each slot is exactly one of

* ``present``: in the day's actual session, and the frame has a bar starting there;
* ``holiday``: a weekday the exchange did not open (``exchange_calendars``);
* ``half_day``: a session day, but after its early close (or before a late open): expected absent (intraday
  bar sizes only: the daily bar of a half day is expected, and ``present`` when there);
* ``before_listing``: in a session, no bar, and before the listing: ``head`` (IB's ``reqHeadTimeStamp``, the
  first bar IB has) when given, else the frame's first bar;
* ``missing``: in a session, after the listing, and no bar.

so ``expected == present + holiday + half_day + before_listing + missing``. **RTH or all hours**: the calendar
knows only the regular session, so with ``rth=False`` the *expected* grid is the same and bars in extended hours
(pre-market, after the close, after an early close) are accepted without being expected; with ``rth=True`` they
are not the frame's business and are listed in :attr:`VerifyReport.outside_spans`. In both modes a bar on a day
without a session (a weekend, a holiday) is listed there.

**Faults** (counted over the frame's rows with ``start <= time < end``, in the frame's row order):

* ``duplicates``: rows whose time an earlier row already has (identical or not);
* ``out_of_order``: rows whose time is earlier than the row before (a swapped pair counts 1);
* ``ohlc_violations``: rows with ``high < max(open, close)``, ``low > min(open, close)`` or ``volume < 0``
  (a row with several counts once);
* ``wap_outside_range``: rows whose ``wap`` is outside ``[low, high]`` (no ``wap`` column: 0; NaN is not counted);
* ``stale_repeats``: in time order, rows with ``volume == 0`` whose open, high, low and close equal those of
  the row just before, which has ``volume == 0`` too: the repetitions of a run of identical zero-volume bars,
  the run's first bar not counted (3 identical zero-volume bars in a row count 2). A NaN volume (an index) is
  never stale.

:func:`fix_minor` fixes what is safe (exact duplicate rows, row order) and says so; everything else is reported
and never guessed (two different bars at one time are both kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from sdk.data.barsizes import BarSize, parse_bar_size
from sdk.data.expected import HOLIDAY, SESSION, SHORTENED, expected_grid
from sdk.data.frames import TIME_ZONES
from sdk.data.resample import session_table

if TYPE_CHECKING:
    from sdk.data.catalog import Catalog

__all__ = ["COUNT_NAMES", "MissingSpan", "TimeSpan", "VerifyReport", "fix_minor", "stored_bars", "verify_frame"]

#: The names of :meth:`VerifyReport.counts`, in order (issue 15's JSON report).
COUNT_NAMES: Final = (
    "expected",
    "present",
    "missing",
    "holiday",
    "half_day",
    "before_listing",
    "duplicates",
    "out_of_order",
    "ohlc_violations",
    "wap_outside_range",
    "stale_repeats",
)
_FAULTS: Final = ("missing", "duplicates", "out_of_order", "ohlc_violations", "wap_outside_range", "stale_repeats")
_DAY_NS: Final = 86_400 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class TimeSpan:
    """A run of bars: ``start`` (first bar's start, UTC), ``end`` (last bar's start + one bar, exclusive), ``bars``."""

    start: pd.Timestamp
    end: pd.Timestamp
    bars: int

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "bars": self.bars}


@dataclass(frozen=True, slots=True)
class MissingSpan(TimeSpan):
    """Consecutive missing bars of the grid; ``no_data``: IB answered "no data" for the whole span."""

    no_data: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**TimeSpan.to_dict(self), "no_data": self.no_data}


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What :func:`verify_frame` found (counts: module docstring; bars of ``bar_size``).

    ``missing_spans``: the missing bars merged into runs of consecutive grid slots; ``outside_spans``: runs of
    rows outside the expected grid that should not be there (module docstring, "RTH or all hours"); ``rows``:
    the frame's rows in the range.
    """

    market: str
    bar_size: str
    rth: bool
    start: pd.Timestamp
    end: pd.Timestamp
    expected: int
    present: int
    missing: int
    holiday: int
    half_day: int
    before_listing: int
    duplicates: int
    out_of_order: int
    ohlc_violations: int
    wap_outside_range: int
    stale_repeats: int
    rows: int = 0
    missing_spans: list[MissingSpan] = field(default_factory=list)
    outside_spans: list[TimeSpan] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The counts under :data:`COUNT_NAMES`, exactly those keys."""
        return {name: int(getattr(self, name)) for name in COUNT_NAMES}

    @property
    def faults(self) -> dict[str, int]:
        """The non-zero fault counts (missing bars and row faults; holidays and half days are not faults)."""
        return {name: getattr(self, name) for name in _FAULTS if getattr(self, name)}

    @property
    def ok(self) -> bool:
        """True when nothing is missing and no row fault was counted."""
        return not self.faults

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, timestamps as ISO 8601, spans as lists of dicts."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, pd.Timestamp):
                value = value.isoformat()
            elif isinstance(value, list):
                value = [span.to_dict() for span in value]
            out[f.name] = value
        return out


def _bound(value: datetime | pd.Timestamp | str | None, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise ValueError(f"{name}={value!r} has no time zone; pass an aware time, e.g. 2024-03-01T00:00Z")
    return ts.tz_convert("UTC").as_unit("ns")


def _local_midnight(ns: int, market: str, *, after: bool) -> pd.Timestamp:
    local = pd.Timestamp(ns, tz="UTC").tz_convert(TIME_ZONES[market]).tz_localize(None).normalize()
    if after:
        local += pd.Timedelta(days=1)
    return local.tz_localize(TIME_ZONES[market]).tz_convert("UTC").as_unit("ns")


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) positions of the runs of True in ``mask``."""
    edges = np.diff(np.r_[0, mask.astype("int8"), 0])
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _spans(times: np.ndarray, mask: np.ndarray, bar_ns: int) -> list[tuple[int, int, int]]:
    starts, ends = _runs(mask)
    return [(int(times[a]), int(times[b - 1]) + bar_ns, int(b - a)) for a, b in zip(starts, ends, strict=True)]


def _sorted_unique(ns: np.ndarray) -> np.ndarray:
    """``np.unique`` of int64 times, by one sort (skipped when already sorted): faster than its hash table."""
    ordered = ns if len(ns) < 2 or bool(np.all(ns[1:] >= ns[:-1])) else np.sort(ns, kind="stable")
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _row_faults(frame: pd.DataFrame, ns: np.ndarray, unique: np.ndarray) -> dict[str, int]:
    """duplicates, out_of_order, ohlc_violations, wap_outside_range, stale_repeats of rows in frame order
    (``unique``: the sorted distinct times of ``ns``)."""
    o, h, lo, c, v = (frame[k].to_numpy(dtype="float64") for k in ("open", "high", "low", "close", "volume"))
    duplicates = len(ns) - len(unique)
    out_of_order = int(np.count_nonzero(ns[1:] < ns[:-1]))
    bad = (h < np.maximum(o, c)) | (lo > np.minimum(o, c)) | (v < 0)
    wap_out = 0
    if "wap" in frame.columns:
        w = frame["wap"].to_numpy(dtype="float64")
        wap_out = int(np.count_nonzero((w < lo) | (w > h)))
    order = np.argsort(ns, kind="stable")
    so, sh, sl, sc, sv = o[order], h[order], lo[order], c[order], v[order]
    same = (so[1:] == so[:-1]) & (sh[1:] == sh[:-1]) & (sl[1:] == sl[:-1]) & (sc[1:] == sc[:-1])
    stale = int(np.count_nonzero(same & (sv[1:] == 0) & (sv[:-1] == 0)))
    return {
        "duplicates": int(duplicates),
        "out_of_order": out_of_order,
        "ohlc_violations": int(np.count_nonzero(bad)),
        "wap_outside_range": wap_out,
        "stale_repeats": stale,
    }


def _outside(
    ns_unique: np.ndarray,
    grid_times: np.ndarray,
    grid_kinds: np.ndarray,
    session_days: np.ndarray,
    market: str,
    rth: bool,
) -> np.ndarray:
    """Which of the (sorted, unique) row times lie where no bar belongs (module docstring)."""
    if rth:
        i = np.searchsorted(grid_times, ns_unique)
        hit = i < len(grid_times)
        hit[hit] = grid_times[i[hit]] == ns_unique[hit]
        on_session_slot = hit.copy()
        on_session_slot[hit] = grid_kinds[i[hit]] == SESSION
        return ~on_session_slot
    shift = 7 * 3600 * 1_000_000_000 if market == "FX" else 0  # an FX day closes at 17:00 New York
    wall = pd.DatetimeIndex(ns_unique).tz_localize("UTC").tz_convert(TIME_ZONES[market]).tz_localize(None).asi8 + shift
    day = (wall - wall % _DAY_NS).astype("datetime64[ns]").astype("datetime64[D]")
    return ~np.isin(day, session_days)


def verify_frame(
    frame: pd.DataFrame,
    *,
    market: str,
    bar_size: str | BarSize,
    rth: bool,
    start: datetime | pd.Timestamp | str | None,
    end: datetime | pd.Timestamp | str | None,
    head: datetime | pd.Timestamp | str | None = None,
    no_data: Sequence[tuple[datetime | pd.Timestamp, datetime | pd.Timestamp]] = (),
) -> VerifyReport:
    """Classify every expected bar of ``[start, end)`` and count the frame's faults (rules: module docstring).

    Args:
        frame: bars (index: bar start, tz-aware; columns ``open, high, low, close, volume``, optionally ``wap``).
        market: ``"ASX"``, ``"NYSE"`` or ``"FX"`` (whose calendar: :func:`sdk.calendars.market_for`).
        bar_size: an IB bar size (``"1 min"``, ``"1min"``, ``"1 day"`` ...).
        rth: the frame holds regular trading hours only (IB's ``useRTH=1``); False: all hours.
        start, end: tz-aware bounds on the bar start (end exclusive). None: the local midnight before the frame's
            first bar / after its last bar (an empty frame then needs both).
        head: IB's head timestamp (the first bar IB has); bars expected before it are ``before_listing``.
            None: the frame's first bar is taken as the listing.
        no_data: windows IB answered "HMDS query returned no data" for; a missing span inside one is marked.

    Returns:
        A :class:`VerifyReport`; ``report.counts()`` has exactly :data:`COUNT_NAMES`. Runs in well under a
        second for a year of 1-minute bars (vectorised; ``make bench``: ``data.verify_1y_1min_seconds``).

    Raises:
        ValueError: an unknown market or bar size, a naive bound, ``start`` after ``end``, a frame without a
            tz-aware DatetimeIndex or the price columns, or no bounds for an empty frame.
    """
    if market not in TIME_ZONES:
        raise ValueError(f"unknown market {market!r}; use one of {', '.join(TIME_ZONES)}")
    bar = parse_bar_size(bar_size)
    if not isinstance(frame.index, pd.DatetimeIndex) or frame.index.tz is None:
        raise ValueError("frame: the index must be a timezone-aware DatetimeIndex of bar starts")
    absent = [c for c in ("open", "high", "low", "close", "volume") if c not in frame.columns]
    if absent:
        raise ValueError(f"frame: missing column(s) {', '.join(absent)}")
    ns_all = np.asarray(frame.index.tz_convert("UTC").as_unit("ns").asi8)
    lo, hi, head_ts = _bound(start, "start"), _bound(end, "end"), _bound(head, "head")
    if (lo is None or hi is None) and len(ns_all) == 0:
        raise ValueError("an empty frame needs both start and end")
    lo = lo if lo is not None else _local_midnight(int(ns_all.min()), market, after=False)
    hi = hi if hi is not None else _local_midnight(int(ns_all.max()), market, after=True)
    if lo > hi:
        raise ValueError(f"start {lo.isoformat()} is after end {hi.isoformat()}; swap them")

    in_range = (ns_all >= lo.value) & (ns_all < hi.value)
    rows = frame[in_range]
    ns = ns_all[in_range]
    unique = _sorted_unique(ns)
    faults = _row_faults(rows, ns, unique)

    grid = expected_grid(market, bar, lo, hi)
    i = np.searchsorted(unique, grid.times)
    has_bar = i < len(unique)
    has_bar[has_bar] = unique[i[has_bar]] == grid.times[has_bar]
    session = grid.kinds == SESSION
    present = session & has_bar
    listing = head_ts.value if head_ts is not None else (int(ns_all.min()) if len(ns_all) else None)
    early = session & ~has_bar & (grid.times < listing) if listing is not None else np.zeros(len(session), bool)
    missing = session & ~has_bar & ~early

    runs = _spans(grid.times, missing, grid.bar_ns)
    inside = _inside_windows(runs, no_data)
    spans = [
        MissingSpan(pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC"), n, no_data=bool(flag))
        for (a, b, n), flag in zip(runs, inside, strict=True)
    ]
    outside = _outside(unique, grid.times, grid.kinds, grid.session_days, market, rth)
    outside_spans = [
        TimeSpan(pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC"), n)
        for a, b, n in _outside_runs(unique, outside, grid.bar_ns)
    ]
    return VerifyReport(
        market=market,
        bar_size=bar.label,
        rth=rth,
        start=lo,
        end=hi,
        expected=len(grid.times),
        present=int(np.count_nonzero(present)),
        missing=int(np.count_nonzero(missing)),
        holiday=int(np.count_nonzero(grid.kinds == HOLIDAY)),
        half_day=int(np.count_nonzero(grid.kinds == SHORTENED)),
        before_listing=int(np.count_nonzero(early)),
        rows=len(rows),
        missing_spans=spans,
        outside_spans=outside_spans,
        **faults,
    )


def _inside_windows(
    runs: list[tuple[int, int, int]], windows: Sequence[tuple[datetime | pd.Timestamp, datetime | pd.Timestamp]]
) -> np.ndarray:
    """For each run ``(start, end, bars)``: whether one window ``(start, end)`` holds it whole."""
    if not runs or not windows:
        return np.zeros(len(runs), dtype=bool)
    bounds = []
    for a, b in windows:
        lo, hi = _bound(a, "no_data start"), _bound(b, "no_data end")
        if lo is None or hi is None:
            raise ValueError(f"a no_data window needs both ends, got ({a!r}, {b!r})")
        bounds.append((lo.value, hi.value))
    w = np.array(sorted(bounds), dtype="int64")
    reach = np.maximum.accumulate(w[:, 1])  # the furthest end of the windows opening at or before each
    starts = np.array([r[0] for r in runs], dtype="int64")
    ends = np.array([r[1] for r in runs], dtype="int64")
    i = np.searchsorted(w[:, 0], starts, side="right") - 1
    return (i >= 0) & (reach[np.clip(i, 0, None)] >= ends)


def _outside_runs(unique: np.ndarray, outside: np.ndarray, bar_ns: int) -> list[tuple[int, int, int]]:
    """Runs of outside rows, a run broken where two outside rows are more than one bar apart."""
    times = unique[outside]
    if len(times) == 0:
        return []
    cut = np.flatnonzero(np.diff(times) > bar_ns) + 1
    starts, ends = np.r_[0, cut], np.r_[cut, len(times)]
    return [(int(times[a]), int(times[b - 1]) + bar_ns, int(b - a)) for a, b in zip(starts, ends, strict=True)]


def fix_minor(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Fix the faults that are safe to fix, and say what was done.

    * exact duplicates: a row equal to an earlier one in its time and every column (NaN equals NaN) is dropped;
    * order: rows are sorted by time (stable, so the rows of one time keep their order).

    Two *different* rows at one time are both kept (which one is right is not guessed; :func:`verify_frame`
    counts them as ``duplicates``), and so is every other fault.

    Returns:
        ``(fixed, log)``: a new frame (the input is not changed) and one plain line per fix made (empty when
        the frame needed none), e.g. ``"dropped 2 exact duplicate rows (first at 2024-03-11T13:31:00+00:00)"``.
    """
    log: list[str] = []
    keyed = frame.reset_index(names="__time__") if frame.index.name is None else frame.reset_index()
    exact = np.asarray(keyed.duplicated(keep="first"))
    out = frame
    if exact.any():
        first = pd.Timestamp(frame.index[np.flatnonzero(exact)[0]])
        log.append(f"dropped {int(exact.sum())} exact duplicate row(s) (first at {first.isoformat()})")
        out = frame[~exact]
    ns = np.asarray(out.index.asi8)
    descents = int(np.count_nonzero(ns[1:] < ns[:-1]))
    if descents:
        out = out.iloc[np.argsort(ns, kind="stable")]
        log.append(f"sorted the rows by time ({descents} row(s) were earlier than the row before)")
    conflicting = len(ns) - len(_sorted_unique(ns))
    if conflicting:
        log.append(f"kept {conflicting} row(s) sharing a time with a different row: not fixed, review the source")
    return (out.copy() if out is frame else out), log


def stored_bars(
    catalog: Catalog,
    symbol: str,
    bar_size: str | BarSize,
    start: datetime | pd.Timestamp | None,
    end: datetime | pd.Timestamp | None,
    *,
    rth_only: bool,
) -> pd.DataFrame:
    """The bars to verify: the rows as stored when ``bar_size`` is native to ``symbol`` (one file of a download
    cache is read exactly as written, faults included: unsorted rows, repeated times), else ``Catalog.bars``.

    Rows are kept with ``start <= time < end``; with ``rth_only`` only those inside a session of the
    instrument's market (:func:`sdk.data.resample.session_table`), in their stored order.

    Raises:
        ccxt.BadSymbol: unknown symbol. ValueError: not an IB bar size, or finer than the data.
    """
    info = catalog.info(symbol)
    bar = parse_bar_size(bar_size)
    if bar.label not in info.bar_sizes:
        return catalog.bars(symbol, bar, start, end, rth_only=rth_only)
    frame = catalog.native(symbol, bar)
    frame = frame.drop(columns=[c for c in ("authority",) if c in frame.columns])
    lo, hi = _bound(start, "start"), _bound(end, "end")
    ns = np.asarray(frame.index.asi8)
    keep = np.ones(len(ns), dtype=bool)
    if lo is not None:
        keep &= ns >= lo.value
    if hi is not None:
        keep &= ns < hi.value
    if rth_only and keep.any():
        kept = ns[keep]
        table = session_table(info.market, pd.Timestamp(kept.min(), tz="UTC"), pd.Timestamp(kept.max(), tz="UTC"))
        keep[keep] = table.locate(kept) >= 0
    return frame[keep]
