"""The market-data catalog: what instruments a data directory holds, their bars at any IB bar size,
and intraday price paths inside those bars. The offline gateway and the demo replay through it.

:func:`load_catalog` scans a directory (first and last lines of each file, :mod:`sdk.data.files`) or
a Parquet cache (:mod:`sdk.data.cache`); frames are read on first use, once per file, and kept in
memory. With no directory, or one holding no market data, it builds the seeded synthetic universe
(:mod:`sdk.data.synthetic`) and says so (:attr:`Catalog.synthetic`, :meth:`Catalog.summary`).

Merge rule (several sources of one symbol): rows are united by time; where two sources have a bar
at the same time, the more authoritative wins (3: a real IB export, 2: the index publisher's own
file (CBOE), 1: any other vendor), then the finer native resolution (a daily bar built from complete
1-minute bars beats a vendor's daily bar of equal authority, so daily and intraday bars agree), then
the file that sorts first by path. A daily bar built from intraday bars that cover less than 90% of
the session ranks below every vendor daily bar.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeAlias

import numpy as np
import pandas as pd

from sdk.data.barsizes import BAR_SIZES, BarSize, parse_bar_size
from sdk.data.cache import cache_path, file_stamps, read_manifest, scan_parquet, write_frame, write_manifest
from sdk.data.files import PriceSource, SourceFile, SymbolSpan, candidate_files, load_source, scan_file
from sdk.data.formats import UnsupportedFile
from sdk.data.frames import REGULAR_HOURS, TIME_ZONES, session_dates
from sdk.data.instruments import CatalogEntry
from sdk.data.path import generate_path, symbol_key
from sdk.data.resample import aggregate, session_table
from sdk.data.synthetic import UNIVERSE, default_span, meta_of, synthetic_minutes, synthetic_sessions
from sdk.errors import BadSymbol
from sdk.symbols import suggest_symbol

__all__ = ["Catalog", "load_catalog"]

log = logging.getLogger(__name__)

TimeArg: TypeAlias = datetime | pd.Timestamp | str | None
_COVERAGE_FLOOR: Final = 0.9
_DAY_NS: Final = 86_400 * 1_000_000_000
_OHLCV: Final = ["open", "high", "low", "close", "volume"]


def _timestamp(value: TimeArg, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise ValueError(f"{name}={value!r} has no time zone; pass an aware datetime, e.g. 2024-03-01T00:00Z")
    return ts.tz_convert("UTC")


class Catalog:
    """Instruments and their bars; built by :func:`load_catalog`.

    Attributes:
        data_dir: the directory read, or None for the synthetic universe.
        synthetic: True when the bars are the seeded synthetic universe, not real data.
        seed: the seed of the synthetic universe and of every intraday path.
        instruments: canonical symbol -> :class:`CatalogEntry`, sorted by symbol.
        cache_dir: the Parquet cache the frames are read from, or None when read from the files.
        skipped: files (relative paths) that were not loaded -> the reason.

    Thread-safe: frames are loaded under a lock, once.
    """

    def __init__(
        self,
        sources: list[SourceFile],
        *,
        data_dir: Path | None,
        synthetic: bool,
        seed: int = 0,
        skipped: Mapping[str, str] | None = None,
        synthetic_span: tuple[date, date] | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.cache_dir = cache_dir
        self.synthetic = synthetic
        self.seed = seed
        self.synthetic_span = synthetic_span
        self.skipped: Mapping[str, str] = MappingProxyType(dict(skipped or {}))
        self._sources = sorted(sources, key=lambda s: s.rel)
        self._by_symbol: dict[str, list[SourceFile]] = {}
        for source in self._sources:
            for symbol in source.symbols:
                self._by_symbol.setdefault(symbol, []).append(source)
        self._apart: dict[str, list[tuple[SourceFile, str]]] = {}
        self.kept_apart: Mapping[str, str] = MappingProxyType(_keep_adjusted_apart(self._by_symbol, self._apart))
        self.instruments: Mapping[str, CatalogEntry] = MappingProxyType(
            {symbol: self._describe(symbol) for symbol in sorted(self._by_symbol)}
        )
        self._lock = threading.RLock()
        self._source_frames: dict[str, dict[str, pd.DataFrame]] = {}
        self._tiers: dict[tuple[str, str], pd.DataFrame] = {}
        self._path_bars: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def __repr__(self) -> str:
        where = "synthetic" if self.synthetic else str(self.data_dir)
        return f"Catalog({where}, {len(self.instruments)} instruments, seed={self.seed})"

    # --- describing ------------------------------------------------------------------------
    def _describe(self, symbol: str) -> CatalogEntry:
        sources = self._by_symbol[symbol]
        spans: list[SymbolSpan] = [s.symbols[symbol] for s in sources]
        best = max(sources, key=lambda s: s.authority).symbols[symbol].meta
        sizes = sorted({s.bar_size for s in sources})
        listed = tuple(sorted({name for s in sources for name in s.listed}))
        adjusted = tuple(sorted({name for s in sources for name in s.listed_adjusted}))
        return CatalogEntry(
            symbol=symbol,
            instrument_type=best.instrument_type,
            sec_type=best.sec_type,
            ib_symbol=best.ib_symbol,
            currency=best.currency,
            exchange=best.exchange,
            market=best.market,
            long_name=best.long_name,
            bar_sizes=tuple(b.label for b in sizes),
            first=min(sp.first for sp in spans).astimezone(UTC),
            last=max(sp.last for sp in spans).astimezone(UTC),
            daily_only=not any(b.intraday for b in sizes),
            sources=listed,
            adjusted_sources=adjusted,
        )

    def info(self, symbol: str) -> CatalogEntry:
        """The instrument's facts.

        Raises:
            ccxt.BadSymbol: no data for ``symbol``; the message names the close matches.
        """
        found = self.instruments.get(symbol)
        if found is not None:
            return found
        where = "the synthetic universe" if self.synthetic else f"{self.data_dir}"
        candidates = list(self.instruments)
        hint = suggest_symbol(symbol) if isinstance(symbol, str) else None
        matches = [hint] if hint is not None and hint in self.instruments else []
        matches += difflib.get_close_matches(str(symbol).upper(), candidates, n=5, cutoff=0.6)
        matches = list(dict.fromkeys(matches))
        close = f"; close matches: {', '.join(matches)}" if matches else ""
        raise BadSymbol(
            f"no market data for {symbol!r} in {where}{close}. `trader data list` shows the "
            f"{len(candidates)} instruments available."
        )

    def price_sources(self, symbol: str) -> tuple[PriceSource, ...]:
        """Every file holding bars of ``symbol`` with its price basis and span, those kept apart included
        (``merged=False``, see :func:`_keep_adjusted_apart`), sorted by file.

        A file's basis is :func:`sdk.data.formats.price_basis` of its name and the catalog's adjusted flag.
        A catalog read from a cache lists the cache's origin files with the cached frame's span, and
        knows nothing of files kept apart when the cache was written (they were not cached).

        Raises:
            ccxt.BadSymbol: unknown symbol (one whose only files were kept apart is unknown too).
        """
        self.info(symbol)
        found = [p for s in self._by_symbol[symbol] for p in s.price_sources(symbol)]
        for source, clash in self._apart.get(symbol, []):
            found += source.price_sources(symbol, merged=False, overlaps=clash)
        return tuple(sorted(found, key=lambda p: (p.rel, p.first)))

    def native_spans(self, symbol: str) -> dict[str, tuple[datetime, datetime]]:
        """For each native bar size of ``symbol``: (first, last) bar start in UTC."""
        self.info(symbol)
        spans: dict[str, tuple[datetime, datetime]] = {}
        for source in self._by_symbol[symbol]:
            span = source.symbols[symbol]
            label = source.bar_size.label
            lo, hi = spans.get(label, (span.first, span.last))
            spans[label] = (min(lo, span.first), max(hi, span.last))
        return {k: spans[k] for k in sorted(spans, key=lambda k: BAR_SIZES[k])}

    def summary(self) -> list[str]:
        """Plain lines saying what is served, for a start-up log: real or synthetic, daily-only, skipped."""
        n = len(self.instruments)
        if self.synthetic:
            span = f" {self.synthetic_span[0]}..{self.synthetic_span[1]}" if self.synthetic_span else ""
            lines = [
                f"market data: SYNTHETIC seeded universe (seed {self.seed},{span}), NOT real prices: "
                + ", ".join(self.instruments)
            ]
        else:
            files = len({name for s in self._sources for name in s.listed})
            lines = [f"market data: {n} instruments from {files} files in {self.data_dir}"]
        daily = [s for s, i in self.instruments.items() if i.daily_only]
        if daily:
            shown = ", ".join(daily[:12]) + (f" and {len(daily) - 12} more" if len(daily) > 12 else "")
            lines.append(
                f"daily-only instruments ({len(daily)} of {n}): intraday ticks are a seeded path inside each "
                f"day's real open/high/low/close, in session hours: {shown}"
            )
        lines += [f"skipped {rel}: {reason}" for rel, reason in self.skipped.items()]
        lines += [f"kept apart {rel}: {reason}" for rel, reason in self.kept_apart.items()]
        return lines

    # --- loading ---------------------------------------------------------------------------
    def _load(self, source: SourceFile) -> dict[str, pd.DataFrame]:
        with self._lock:
            cached = self._source_frames.get(source.rel)
            if cached is not None:
                return cached
            if source.format == "synthetic":
                frames = self._load_synthetic(source)
            else:
                try:
                    frames = load_source(source)
                except (UnsupportedFile, OSError, ValueError) as exc:
                    log.warning("market data: %s could not be read (%s); its bars are left out", source.rel, exc)
                    frames = {}
                for frame in frames.values():
                    if "authority" not in frame.columns:
                        frame["authority"] = np.int8(source.authority)
            self._source_frames[source.rel] = frames
            return frames

    def _load_synthetic(self, source: SourceFile) -> dict[str, pd.DataFrame]:
        symbol = next(iter(source.symbols))
        spec = next(s for s in UNIVERSE if s.symbol == symbol)
        assert self.synthetic_span is not None
        minute_rel = f"synthetic:{symbol}:1min"
        minutes = self._source_frames.get(minute_rel, {}).get(symbol)
        if minutes is None:
            start, end = self.synthetic_span
            minutes = synthetic_minutes(spec, seed=self.seed, start=start, end=end)
            minutes["authority"] = np.int8(1)
            self._source_frames[minute_rel] = {symbol: minutes}
        if source.bar_size.intraday:
            return {symbol: minutes}
        market = source.symbols[symbol].meta.market
        daily = aggregate(minutes, BAR_SIZES["1D"], BAR_SIZES["1min"], market, rth_only=True)
        return {symbol: daily.drop(columns=["coverage", "session"])}

    def native(self, symbol: str, bar_size: str | BarSize) -> pd.DataFrame:
        """The merged native frame of one bar size the data holds (merge rule in the module docstring).

        Returns a normalised frame plus an int8 ``authority`` column (the winning source's rank): a
        shallow copy of the frame kept in memory (copy-on-write: changing it leaves the catalog's alone).

        Raises:
            ccxt.BadSymbol: unknown symbol. ValueError: ``bar_size`` is not native to it.
        """
        return self._native(symbol, bar_size).copy(deep=False)

    def _native(self, symbol: str, bar_size: str | BarSize) -> pd.DataFrame:
        info = self.info(symbol)
        size = parse_bar_size(bar_size)
        if size.label not in info.bar_sizes:
            raise ValueError(f"{symbol} has no native {size.label} bars; it has {', '.join(info.bar_sizes)}")
        key = (symbol, size.label)
        with self._lock:
            tier = self._tiers.get(key)
            if tier is not None:
                return tier
            frames = [
                f
                for source in self._by_symbol[symbol]
                if source.bar_size == size
                for f in [self._load(source).get(symbol)]
                if f is not None and len(f)
            ]
            if not frames:
                tier = pd.DataFrame({c: pd.Series([], dtype="float64") for c in _OHLCV})
                tier.index = pd.DatetimeIndex([], dtype="datetime64[ns, UTC]", name="time")
                tier["authority"] = pd.Series([], dtype="int8")
            elif len(frames) == 1:
                tier = frames[0]
            else:
                stacked = pd.concat(frames)
                order = np.lexsort((-stacked["authority"].to_numpy(dtype="int64"), stacked.index.asi8))
                stacked = stacked.iloc[order]
                tier = stacked[~stacked.index.duplicated(keep="first")]
            self._tiers[key] = tier
            return tier

    # --- bars ------------------------------------------------------------------------------
    def available_bar_sizes(self, symbol: str) -> tuple[str, ...]:
        """Every IB bar size :meth:`bars` can answer for ``symbol`` (equal to or coarser than its data)."""
        natives = [BAR_SIZES[b] for b in self.info(symbol).bar_sizes]
        return tuple(b.label for b in BAR_SIZES.values() if any(_builds(b, n) for n in natives))

    def bars(
        self, symbol: str, bar_size: str | BarSize, start: TimeArg = None, end: TimeArg = None, *, rth_only: bool = True
    ) -> pd.DataFrame:
        """Bars of ``symbol`` at ``bar_size`` with ``start <= time < end`` (UTC; None = unbounded).

        Args:
            symbol: canonical symbol (``"BHP/AUD"``).
            bar_size: an IB bar size, IB's spelling or a label (``"5 mins"``, ``"5min"``, ``"1 day"``, ``"1D"``).
            start, end: timezone-aware bounds on the bar start.
            rth_only: only bars inside sessions (regular trading hours), IB's ``useRTH=1``.

        Returns:
            A normalised frame (index ``time`` = bar start, UTC; float64 ``open, high, low, close,
            volume`` in the quote currency and shares, plus ``wap``/``bar_count`` when the data has
            them). Daily and coarser bars are indexed by the session open and carry ``session``
            (``datetime.date``, the trading day; FX days run 17:00-17:00 New York, named for the
            closing day). Empty when the data has no bars in the window.

        Raises:
            ccxt.BadSymbol: no data for ``symbol`` (the message names close matches).
            ValueError: ``bar_size`` is not an IB bar size, or is finer than the data (the message
                says what is available; :meth:`path` gives intraday prices inside daily bars); a naive bound.
        """
        info = self.info(symbol)
        size = parse_bar_size(bar_size)
        lo, hi = _timestamp(start, "start"), _timestamp(end, "end")
        natives = [BAR_SIZES[b] for b in info.bar_sizes]
        usable = [n for n in natives if _builds(size, n)]
        if not usable:
            spans = self.native_spans(symbol)
            have = "; ".join(f"{k} {a:%Y-%m-%d}..{b:%Y-%m-%d}" for k, (a, b) in spans.items())
            raise ValueError(
                f"{symbol} has no data fine enough for {size.label} ({size.ib}) bars: it holds {have}. "
                f"Ask for one of {', '.join(self.available_bar_sizes(symbol))}, or use Catalog.path() "
                "for intraday prices inside daily bars."
            )
        margin = pd.Timedelta(days=40 if size.seconds > 86_400 else 2)
        if size.intraday:
            parts = [self._aggregated(symbol, n, size, lo, hi, margin, rth_only) for n in usable]
            out = _prefer(parts)
        else:
            daily_parts = [
                self._aggregated(symbol, n, BAR_SIZES["1D"], lo, hi, margin, rth_only)
                for n in usable
                if n.seconds <= 86_400
            ]
            out = _prefer(daily_parts)
            if size.label != "1D":
                out = aggregate(out.drop(columns="session"), size, BAR_SIZES["1D"], info.market, rth_only=rth_only)
        if lo is not None:
            out = out[out.index >= lo]
        if hi is not None:
            out = out[out.index < hi]
        return out.drop(columns=[c for c in ("authority", "coverage", "_fine") if c in out.columns])

    def _aggregated(
        self,
        symbol: str,
        native: BarSize,
        size: BarSize,
        lo: pd.Timestamp | None,
        hi: pd.Timestamp | None,
        margin: pd.Timedelta,
        rth_only: bool,
    ) -> pd.DataFrame:
        tier = self._native(symbol, native)
        a = 0 if lo is None else int(tier.index.searchsorted(lo - margin))
        b = len(tier) if hi is None else int(tier.index.searchsorted(hi + margin))
        out = aggregate(tier.iloc[a:b], size, native, self.instruments[symbol].market, rth_only=rth_only)
        if "coverage" in out.columns:  # a daily bar from too few intraday bars ranks below vendor daily bars
            out["authority"] = np.where(out["coverage"] >= _COVERAGE_FLOOR, out["authority"], 0).astype("int8")
        out["_fine"] = native.seconds
        return out

    # --- intraday paths --------------------------------------------------------------------
    def path(self, symbol: str, start: TimeArg, end: TimeArg, step: timedelta = timedelta(seconds=1)) -> pd.DataFrame:
        """Seeded intraday prices inside the real bars of ``symbol``, every ``step``, in ``[start, end)``.

        Each session uses the finest bars the data holds for it: 1-minute (or other intraday) bars
        where present, else the day's bar spread over the session's hours (ASX 10:00-16:00 Sydney,
        NYSE 09:30-16:00 New York, early closes included; FX 24 h). Samples are aligned to each bar's
        start; the path model (touches open, high, low, close; never leaves [low, high]) is in
        :mod:`sdk.data.path`.

        Returns:
            A frame indexed by ``time`` (UTC) with ``price`` (quote currency), ``volume`` (the bar's
            cumulative volume so far) and ``bar_time`` (the start of the real bar).

        Raises:
            ccxt.BadSymbol: unknown symbol. ValueError: naive or missing bounds, a non-positive step.
        """
        self.info(symbol)
        lo, hi = _timestamp(start, "start"), _timestamp(end, "end")
        if lo is None or hi is None:
            raise ValueError("path() needs both start and end")
        step_ns = int(step / timedelta(microseconds=1)) * 1000
        if step_ns <= 0:
            raise ValueError(f"step must be positive, got {step}")
        starts, ends, ohlcv = self._path_source(symbol)
        return generate_path(
            starts, ends, ohlcv, window_start=lo.value, window_end=hi.value, step=step_ns, key=self._key(symbol)
        )

    def _key(self, symbol: str) -> int:
        return symbol_key(self.seed, symbol)

    def _path_source(self, symbol: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with self._lock:
            cached = self._path_bars.get(symbol)
            if cached is not None:
                return cached
            info = self.instruments[symbol]
            market = info.market
            shift = 7 * 3600 * 1_000_000_000 if market == "FX" else 0
            claimed = np.array([], dtype="int64")
            starts: list[np.ndarray] = []
            ends: list[np.ndarray] = []
            values: list[np.ndarray] = []
            for native in sorted(BAR_SIZES[b] for b in info.bar_sizes):
                tier = self._native(symbol, native)
                if len(tier) == 0:
                    continue
                ns = tier.index.asi8
                if native.intraday:
                    wall = tier.index.tz_convert(TIME_ZONES[market]).tz_localize(None).asi8 + shift
                    day = wall - wall % _DAY_NS
                    end = ns + native.seconds * 1_000_000_000
                elif native.label == "1D":
                    day = np.array([np.datetime64(d, "ns").astype("int64") for d in session_dates(tier.index, market)])
                    table = session_table(market, tier.index[0], tier.index[-1])
                    sid = table.locate(ns)
                    regular = _regular_length_ns(market)
                    end = np.where(sid >= 0, table.closes[np.clip(sid, 0, None)], ns + regular)
                else:
                    continue  # weekly/monthly data add nothing finer than daily bars
                fresh = ~np.isin(day, claimed)
                starts.append(ns[fresh])
                ends.append(end[fresh])
                values.append(tier[_OHLCV].to_numpy(dtype="float64")[fresh])
                claimed = np.union1d(claimed, day[fresh])
            s = np.concatenate(starts) if starts else np.array([], dtype="int64")
            order = np.argsort(s, kind="stable")
            result = (
                s[order],
                (np.concatenate(ends) if ends else np.array([], dtype="int64"))[order],
                (np.concatenate(values) if values else np.zeros((0, 5)))[order],
            )
            self._path_bars[symbol] = result
            return result

    # --- cache -----------------------------------------------------------------------------
    def write_cache(self, out_dir: Path) -> int:
        """Write every symbol's native frames as Parquet under ``out_dir`` (layout: :mod:`sdk.data.cache`).

        Reads every source in full (seconds for a large directory). Returns the number of files written.
        """
        written = 0
        for symbol, info in self.instruments.items():
            for label in info.bar_sizes:
                frame = self._native(symbol, label)
                if len(frame) == 0:
                    continue
                sources = [s for s in self._by_symbol[symbol] if s.bar_size.label == label]
                meta = max(sources, key=lambda s: s.authority).symbols[symbol].meta
                write_frame(
                    cache_path(out_dir, symbol, label),
                    frame,
                    meta=meta,
                    bar_label=label,
                    sources=[n for s in sources for n in s.listed],
                    adjusted_sources=[n for s in sources for n in s.listed_adjusted],
                )
                written += 1
        stamps: dict[str, list[int]] = {}
        if self.data_dir is not None and not self.synthetic:
            stamps = file_stamps(candidate_files(self.data_dir)[0], self.data_dir)
        write_manifest(out_dir, data_dir=None if self.synthetic else self.data_dir, stamps=stamps,
                       synthetic=self.synthetic, skipped=dict(self.skipped))  # fmt: skip
        return written


def _keep_adjusted_apart(
    by_symbol: dict[str, list[SourceFile]], apart: dict[str, list[tuple[SourceFile, str]]]
) -> dict[str, str]:
    """Take out of ``by_symbol`` (in place) every adjusted source whose span overlaps a raw source of the
    same symbol; returns ``{rel: reason}`` for them, and fills ``apart`` with ``symbol -> [(source, the
    raw file it overlaps)]``.

    A back-adjusted series (dividends or splits) and a raw one disagree on every bar before the last
    adjustment, so uniting them by time would mix two price scales in one series (a dividend-adjusted
    SPY 5-minute file beside raw SPY minutes). Where the spans are disjoint (older raw history, newer
    adjusted history) the union stays and :attr:`CatalogEntry.adjusted_sources` names the adjusted files.
    """
    kept_apart: dict[str, str] = {}
    for symbol, sources in by_symbol.items():
        raw = [s for s in sources if not s.adjusted]
        for source in [s for s in sources if s.adjusted]:
            span = source.symbols[symbol]
            clash = next(
                (r for r in raw if r.symbols[symbol].first <= span.last and span.first <= r.symbols[symbol].last), None
            )
            if clash is None:
                continue
            sources.remove(source)
            apart.setdefault(symbol, []).append((source, clash.rel))
            kept_apart[source.rel] = (
                f"{symbol}: adjusted prices overlap the raw series of {clash.rel}; not merged into {symbol} "
                "(read it on its own: a data directory holding only this file)"
            )
    for symbol in [s for s, sources in by_symbol.items() if not sources]:
        del by_symbol[symbol]
    return kept_apart


def _builds(size: BarSize, native: BarSize) -> bool:
    """True when ``size`` bars can be built from ``native`` bars."""
    if size.seconds < native.seconds:
        return False
    if size.intraday:
        return size.seconds % native.seconds == 0
    return native.seconds <= 86_400 or native == size


def _prefer(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Unite aggregated frames by time; on a tie the higher authority, then the finer source, wins."""
    if len(parts) == 1:
        return parts[0]
    stacked = pd.concat(parts)
    order = np.lexsort((stacked["_fine"].to_numpy(), -stacked["authority"].to_numpy(dtype="int64"), stacked.index.asi8))
    stacked = stacked.iloc[order]
    return stacked[~stacked.index.duplicated(keep="first")]


def _regular_length_ns(market: str) -> int:
    open_t, close_t = REGULAR_HOURS[market]
    minutes = (close_t.hour * 60 + close_t.minute) - (open_t.hour * 60 + open_t.minute)
    return (minutes if minutes > 0 else 24 * 60) * 60 * 1_000_000_000


def _synthetic_sources(start: date, end: date) -> list[SourceFile]:
    sources: list[SourceFile] = []
    for spec in UNIVERSE:
        meta = meta_of(spec)
        opens, closes = synthetic_sessions(meta.market, start, end)
        if len(opens) == 0:
            continue
        first = pd.Timestamp(opens[0], tz="UTC").to_pydatetime()
        last_minute = pd.Timestamp(closes[-1] - 60_000_000_000, tz="UTC").to_pydatetime()
        last_day = pd.Timestamp(opens[-1], tz="UTC").to_pydatetime()
        for size, last in ((BAR_SIZES["1min"], last_minute), (BAR_SIZES["1D"], last_day)):
            sources.append(
                SourceFile(
                    f"synthetic:{spec.symbol}:{size.label}",
                    None,
                    "synthetic",
                    size,
                    1,
                    {spec.symbol: SymbolSpan(meta, first, last)},
                )
            )
    return sources


def load_catalog(
    data_dir: Path | str | None,
    *,
    seed: int = 0,
    cache_dir: Path | str | None = None,
    synthetic_start: date | None = None,
    synthetic_end: date | None = None,
) -> Catalog:
    """Scan ``data_dir`` (or a valid Parquet cache of it) into a :class:`Catalog`.

    Args:
        data_dir: the market-data directory (``MARKET_DATA_DIR``), or None for the synthetic universe.
        seed: seeds the synthetic universe and every intraday path.
        cache_dir: a cache written by :meth:`Catalog.write_cache` for this directory; used when its
            manifest matches the directory's files (size and mtime), else ignored with a log line.
        synthetic_start, synthetic_end: trading days of the synthetic universe (default: the year
            ending yesterday, UTC).

    Returns:
        The catalog. When ``data_dir`` holds no readable market data, the synthetic universe, with
        a warning; files that cannot be read are listed in :attr:`Catalog.skipped` and logged.

    Raises:
        FileNotFoundError: ``data_dir`` does not exist or is not a directory.
    """
    if data_dir is None:
        return _synthetic_catalog(None, seed, synthetic_start, synthetic_end, {})
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(
            f"market data directory {root} does not exist or is not a directory; set MARKET_DATA_DIR "
            "(e.g. ../shared/data) or pass --data DIR, or load without a directory for the synthetic universe"
        )
    readable, _other = candidate_files(root)
    if cache_dir is not None:
        cached = _from_cache(root, Path(cache_dir), readable, seed)
        if cached is not None:
            return cached
    sources: list[SourceFile] = []
    skipped: dict[str, str] = {}
    for path in readable:
        rel = path.relative_to(root).as_posix()
        try:
            source = scan_file(path, rel)
        except (UnsupportedFile, OSError, UnicodeError) as exc:
            reason = str(exc).removeprefix(f"{path.name}: ").removeprefix(f"{rel}: ")
            log.debug("market data: skipped %s: %s", rel, reason)
            skipped[rel] = reason
            continue
        for ticker, why in source.skipped.items():
            log.info("market data: %s: left out %s (%s)", rel, ticker, why)
        sources.append(source)
    if skipped:  # one line, not one per file: a data folder also holds notes, captures and event lists
        names = list(skipped)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        log.warning(
            "market data: skipped %d files that hold no bars the catalog reads: %s "
            "(Catalog.skipped and `trader data list --data DIR` say why for each)",
            len(names), shown,
        )  # fmt: skip
    if not sources:
        log.warning("market data: no readable market data in %s; serving the SYNTHETIC universe", root)
        return _synthetic_catalog(root, seed, synthetic_start, synthetic_end, skipped)
    return Catalog(sources, data_dir=root, synthetic=False, seed=seed, skipped=skipped)


def _from_cache(root: Path, cache: Path, readable: list[Path], seed: int) -> Catalog | None:
    manifest = read_manifest(cache)
    if manifest is None:
        log.info("market data: no usable cache manifest in %s; reading %s", cache, root)
        return None
    if manifest.get("files") != file_stamps(readable, root):
        log.info("market data: the cache in %s is stale (files changed in %s); reading the files", cache, root)
        return None
    sources: list[SourceFile] = []
    for path in sorted(cache.rglob("*.parquet")):
        rel = path.relative_to(cache).as_posix()
        try:
            sources.append(scan_parquet(path, rel, use_origin=True))
        except UnsupportedFile as exc:
            log.warning("market data: cache file %s unusable (%s); reading %s instead", rel, exc, root)
            return None
    if not sources:
        return None
    skipped = manifest.get("skipped") or {}
    return Catalog(sources, data_dir=root, synthetic=False, seed=seed, skipped=skipped, cache_dir=cache)


def _synthetic_catalog(
    root: Path | None, seed: int, start: date | None, end: date | None, skipped: dict[str, str]
) -> Catalog:
    default_start, default_end = default_span()
    span = (start or (default_start if end is None else end - timedelta(days=365)), end or default_end)
    if span[0] > span[1]:
        raise ValueError(f"synthetic_start {span[0]} is after synthetic_end {span[1]}")
    return Catalog(
        _synthetic_sources(*span), data_dir=root, synthetic=True, seed=seed, skipped=skipped, synthetic_span=span
    )
