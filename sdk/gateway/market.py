"""The replayed market: quotes at any simulated time, traded ranges for fills, FX rates for the account.

Prices come from the catalog (:mod:`sdk.data`): inside a session, the instrument's intraday path
(``Catalog.path``: samples every ``tick_seconds`` that stay inside the real bars' open, high, low and
close, so a daily-only instrument moves only within that day's real range); outside sessions, the last
real close. One session of one instrument is computed at a time, vectorised, and cached
(:class:`DayPath`): the quote at a time is then an index lookup.

* Quote: bid rounded down and ask rounded up onto the instrument's price ladder, one step apart
  (:func:`sdk.sim.fills.quote_for`, vectorised here); last = the nearest step. Sizes are seeded
  round lots. FX has no last or volume; indexes have a last only.
* Volume: the real bars' volume, spread evenly over each bar's samples (``Catalog.path``).
* Fills: :meth:`MarketReplay.segments` cuts an interval at session and native-bar edges into
  :class:`Segment` s, each with its :class:`~sdk.sim.fills.MarketSlice` and the bar whose volume
  bounds the fills in it.

Times are epoch seconds (UTC). Prices are floats here (numpy) and ``Decimal`` once they reach an order.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sdk.calendars import MarketCalendar, Session, get_calendar
from sdk.errors import FxRateUnavailable
from sdk.gateway.bar_cache import BarCache
from sdk.gateway.instruments import GatewayContract, InstrumentTable
from sdk.sim.fills import MarketSlice
from sdk.ticks import PriceLadder

__all__ = ["CatalogLike", "DayPath", "MarketReplay", "QuoteState", "Segment", "to_decimal"]


class CatalogLike(Protocol):
    """What the gateway reads from :class:`sdk.data.Catalog`."""

    synthetic: bool

    @property
    def instruments(self) -> Mapping[str, Any]: ...

    def bars(self, symbol: str, bar_size: str, start: datetime, end: datetime, *, rth_only: bool = ...) -> Any: ...

    def path(self, symbol: str, start: datetime, end: datetime, *, step: timedelta = ...) -> Any: ...

    def summary(self) -> list[str]: ...


def to_decimal(value: float) -> Decimal:
    """A replayed float price as the Decimal an order uses (shortest repr, so 45.13 stays 45.13)."""
    return Decimal(repr(float(value)))


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def ladder_arrays(prices: np.ndarray, ladder: PriceLadder) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised :func:`sdk.sim.fills.quote_for`: (bid, ask, last) on the ladder, one step apart."""
    inc = np.full(prices.shape, float(ladder.bands[0][1]))
    for low, step in ladder.bands[1:]:
        inc = np.where(prices >= float(low), float(step), inc)
    units = prices / inc
    bid = np.floor(units + 1e-9) * inc
    ask = np.ceil(units - 1e-9) * inc
    ask = np.where(ask <= bid + 1e-12, bid + inc, ask)
    last = np.round(units) * inc
    digits = _digits(ladder)
    return np.round(bid, digits), np.round(ask, digits), np.round(last, digits)


@dataclass(frozen=True, slots=True)
class QuoteState:
    """The market of one instrument at one time (floats; NaN where the venue has no such field).

    ``in_session`` False: the values are the last session's close (a frozen quote).
    ``volume``: the day's cumulative volume (base units); ``point_time``: the sample's time.
    """

    bid: float
    ask: float
    last: float
    bid_size: float
    ask_size: float
    last_size: float
    volume: float
    high: float
    low: float
    open: float
    prev_close: float
    in_session: bool
    point_time: float


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of an interval inside one session and one native bar: what an order can fill against.

    ``bar_key`` names the bar whose volume bounds fills (``bar_volume`` base units, None when the
    venue reports none); ``session_close`` lets the broker expire DAY orders after the segment.
    """

    symbol: str
    start: float
    end: float
    slice: MarketSlice
    bar_key: tuple[str, float]
    bar_volume: Decimal | None
    session_close: float


@functools.cache
def _tick_digits(ladder: PriceLadder) -> int:
    """The decimals of the ladder's finest step: rounding a price on the ladder to them is exact."""
    return max(0, -min(int(inc.as_tuple().exponent) for _, inc in ladder.bands))


@functools.cache
def _digits(ladder: PriceLadder) -> int:
    return _tick_digits(ladder) + 2


@functools.cache
def _float_bands(ladder: PriceLadder) -> tuple[tuple[float, float], ...]:
    return tuple((float(low), float(inc)) for low, inc in ladder.bands)


def quote_scalar(price: float, ladder: PriceLadder) -> tuple[float, float, float]:
    """:func:`ladder_arrays` for one price: (bid, ask, last) as floats on the ladder."""
    bands = _float_bands(ladder)
    inc = bands[0][1]
    for low, step in bands:
        if price >= low:
            inc = step
    units = price / inc
    bid = math.floor(units + 1e-9) * inc
    ask = math.ceil(units - 1e-9) * inc
    if ask <= bid + 1e-12:
        ask = bid + inc
    digits = _digits(ladder)
    return round(bid, digits), round(ask, digits), round(round(units) * inc, digits)


@dataclass
class DayPath:
    """One instrument's replay for one session, as compact arrays indexed by sample.

    ``prices`` are the raw path (quotes derive from them), ``last`` the same on the price ladder,
    ``high``/``low`` the running extremes of ``last``, ``cum_volume`` the day's volume so far;
    ``bar_idx`` points each sample at its real bar in ``bar_starts``/``bar_totals``.
    """

    symbol: str
    session: Session
    start: float
    step: float
    digits: int
    size_key: int
    lot: float
    prices: np.ndarray
    last: np.ndarray
    high: np.ndarray
    low: np.ndarray
    cum_volume: np.ndarray
    bar_idx: np.ndarray
    bar_starts: np.ndarray
    bar_totals: np.ndarray
    has_volume: bool

    @property
    def size(self) -> int:
        return int(self.prices.size)

    def index(self, ts: float) -> int:
        """The sample in force at ``ts`` (clipped into the session)."""
        return int(min(max(math.floor((ts - self.start) / self.step + 1e-9), 0), self.size - 1))

    def value(self, array: np.ndarray, i: int) -> float:
        """A price of ``array`` at sample ``i`` as a clean float (float32 storage rounded back)."""
        return round(float(array[i]), self.digits)

    def sizes(self, i: int) -> tuple[float, float]:
        """Seeded bid and ask sizes at sample ``i`` (round lots, 1..39 of them)."""
        h = (self.size_key ^ (i * 0x9E3779B1)) & 0xFFFFFFFF
        return float((h % 39) + 1) * self.lot, float(((h >> 8) % 39) + 1) * self.lot


class MarketReplay:
    """Quotes, fill segments and FX rates over a catalog, on simulated time.

    Args:
        catalog: the market data (real or synthetic).
        instruments: the gateway's instruments (ladders, markets).
        seed: seeds the quote sizes.
        tick_seconds: the spacing of replayed samples.
        cache_days: how many instrument-sessions to keep computed.
    """

    def __init__(
        self, catalog: CatalogLike, instruments: InstrumentTable, *, seed: int = 0, tick_seconds: float = 1.0,
        cache_days: int = 1024,
    ) -> None:  # fmt: skip
        self.catalog = catalog
        #: the catalog's bars in cached chunks (what historical answers are cut from)
        self.bar_cache = BarCache(catalog)
        self.instruments = instruments
        self.seed = seed
        self.step = float(tick_seconds)
        self._days: OrderedDict[tuple[str, float], DayPath | None] = OrderedDict()
        self._cache_days = cache_days
        self._daily: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        #: symbol -> (valid from, valid until, the session's path or None when closed, previous close)
        self._current: dict[str, tuple[float, float, DayPath | None, float]] = {}

    # --- calendars ---------------------------------------------------------------------------
    def calendar(self, inst: GatewayContract) -> MarketCalendar:
        return get_calendar(inst.market)

    def session_at(self, symbol: str, ts: float) -> Session | None:
        inst = self._inst(symbol)
        return self.calendar(inst).session_at(_dt(ts))

    def _inst(self, symbol: str) -> GatewayContract:
        inst = self.instruments.get(symbol)
        if inst is None:
            raise KeyError(f"{symbol} is not an instrument of this gateway")
        return inst

    # --- daily closes (quotes outside sessions, previous close) -------------------------------
    def daily(self, symbol: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(session open epoch seconds, close, volume) of every daily bar of ``symbol``."""
        found = self._daily.get(symbol)
        if found is None:
            info = self.catalog.instruments[symbol]
            frame = self.catalog.bars(symbol, "1D", info.first - timedelta(days=7), info.last + timedelta(days=7))
            opens = frame.index.asi8 / 1e9 if len(frame) else np.array([], dtype="float64")
            found = (
                np.asarray(opens, dtype="float64"),
                frame["close"].to_numpy(dtype="float64"),
                np.nan_to_num(frame["volume"].to_numpy(dtype="float64")),
            )
            self._daily[symbol] = found
        return found

    def last_close(self, symbol: str, ts: float, *, before_session: Session | None = None) -> float | None:
        """The close of the last daily bar whose session ended at or before ``ts`` (or before a session)."""
        opens, closes, _ = self.daily(symbol)
        limit = before_session.open.timestamp() if before_session is not None else ts
        i = int(np.searchsorted(opens, limit, side="left")) - 1
        if before_session is None:
            session = self.session_at(symbol, ts)
            if session is not None and i >= 0 and opens[i] >= session.open.timestamp() - 1:
                i -= 1  # the bar of the session in progress is not closed yet
        return float(closes[i]) if i >= 0 else None

    # --- one session's path -----------------------------------------------------------------
    def day(self, symbol: str, session: Session) -> DayPath | None:
        """The session's replay for ``symbol`` (None when the data has nothing for that session)."""
        key = (symbol, session.open.timestamp())
        if key in self._days:
            self._days.move_to_end(key)
            return self._days[key]
        day = self._build_day(symbol, session)
        self._days[key] = day
        while len(self._days) > self._cache_days:
            self._days.popitem(last=False)
        return day

    def _build_day(self, symbol: str, session: Session) -> DayPath | None:
        inst = self._inst(symbol)
        frame = self.catalog.path(symbol, session.open, session.close, step=timedelta(seconds=self.step))
        if frame is None or len(frame) == 0:
            return None
        times = frame.index.asi8 / 1e9
        start = session.open.timestamp()
        # Resample onto the regular grid of the session (the path may start at a later bar).
        count = max(1, math.ceil((session.close.timestamp() - start) / self.step - 1e-9))
        grid = start + np.arange(count) * self.step
        pos = np.clip(np.searchsorted(times, grid + 1e-6, side="right") - 1, 0, None)
        prices = frame["price"].to_numpy(dtype="float64")[pos]
        bar_of = (pd.DatetimeIndex(frame["bar_time"]).asi8 / 1e9)[pos]
        volume_in_bar = np.nan_to_num(frame["volume"].to_numpy(dtype="float64"))[pos]
        volume_in_bar = np.where(grid < times[0], 0.0, volume_in_bar)
        # Cumulative day volume: the bar's running volume plus every earlier bar's total.
        bar_starts, bar_idx = np.unique(bar_of, return_inverse=True)
        bar_totals = volume_in_bar[np.searchsorted(bar_of, bar_starts, side="right") - 1]
        offsets = np.concatenate(([0.0], np.cumsum(bar_totals)[:-1]))
        has_volume = bool(bar_totals.sum() > 0) and not inst.is_fx
        _, _, last = ladder_arrays(prices, inst.ladder)
        return DayPath(
            symbol=symbol,
            session=session,
            start=start,
            step=self.step,
            digits=_tick_digits(inst.ladder),  # float32 storage: more decimals would keep its residue
            size_key=(self.seed * 0x85EBCA6B ^ zlib.crc32(symbol.encode()) ^ int(start)) & 0xFFFFFFFF,
            lot=1_000_000.0 if inst.is_fx else 100.0,
            prices=prices.astype("float32"),
            last=last.astype("float32"),
            high=np.maximum.accumulate(last).astype("float32"),
            low=np.minimum.accumulate(last).astype("float32"),
            cum_volume=offsets[bar_idx] + volume_in_bar if has_volume else np.zeros(count),
            bar_idx=bar_idx.astype("int32"),
            bar_starts=bar_starts,
            bar_totals=bar_totals,
            has_volume=has_volume,
        )

    # --- quotes -------------------------------------------------------------------------------
    def _state_at(self, symbol: str, ts: float) -> tuple[float, float, DayPath | None, float]:
        """What a quote at ``ts`` needs, cached until the market opens or closes."""
        found = self._current.get(symbol)
        if found is not None and found[0] <= ts < found[1]:
            return found
        inst = self._inst(symbol)
        calendar = self.calendar(inst)
        when = _dt(ts)
        session = calendar.session_at(when)
        day = self.day(symbol, session) if session is not None else None
        state: tuple[float, float, DayPath | None, float]
        if session is not None and day is not None and ts >= day.start:
            prev = self.last_close(symbol, ts, before_session=session)
            state = (day.start, session.close.timestamp(), day, math.nan if prev is None else prev)
        else:
            close = self.last_close(symbol, ts)
            until = calendar.next_session(when).open.timestamp() if session is None else session.close.timestamp()
            state = (ts, max(until, ts + 1e-6), None, math.nan if close is None else close)
        self._current[symbol] = state
        return state

    def quote(self, symbol: str, ts: float) -> QuoteState | None:
        """The market of ``symbol`` at ``ts``; a frozen quote around the last close outside sessions."""
        inst = self._inst(symbol)
        _, _, day, prev = self._state_at(symbol, ts)
        if day is None:
            if math.isnan(prev):
                return None
            bid, ask, last = quote_scalar(prev, inst.ladder)
            nan = math.nan
            return QuoteState(bid, ask, last, nan, nan, nan, nan, nan, nan, nan, last, False, ts)
        i = day.index(ts)
        step_volume = day.cum_volume[i] - (day.cum_volume[i - 1] if i > 0 else 0.0)
        bid, ask, _ = quote_scalar(float(day.prices[i]), inst.ladder)
        bid_size, ask_size = day.sizes(i)
        return QuoteState(
            bid=bid,
            ask=ask,
            last=day.value(day.last, i),
            bid_size=bid_size,
            ask_size=ask_size,
            last_size=float(max(round(step_volume), 1.0)) if day.has_volume else math.nan,
            volume=float(round(day.cum_volume[i])) if day.has_volume else math.nan,
            high=day.value(day.high, i),
            low=day.value(day.low, i),
            open=day.value(day.last, 0),
            prev_close=quote_scalar(prev, inst.ladder)[2] if not math.isnan(prev) else math.nan,
            in_session=True,
            point_time=day.start + i * day.step,
        )

    def mark(self, symbol: str, ts: float) -> Decimal | None:
        """The price positions are valued at: the last trade in session, else the last close."""
        quote = self.quote(symbol, ts)
        if quote is None:
            return None
        return to_decimal(quote.last)

    # --- fills --------------------------------------------------------------------------------
    def point(self, symbol: str, ts: float) -> Segment | None:
        """The market at ``ts`` alone (an arriving order); None outside sessions or without data."""
        session = self.session_at(symbol, ts)
        day = self.day(symbol, session) if session is not None else None
        if day is None or session is None or ts < day.start:
            return None
        i = day.index(ts)
        return self._segment(day, i, i, ts, ts)

    def segments(self, symbol: str, t0: float, t1: float) -> list[Segment]:
        """The interval ``(t0, t1]`` cut into segments at session and native-bar edges, oldest first."""
        if t1 <= t0:
            return []
        inst = self._inst(symbol)
        out: list[Segment] = []
        for session in self.calendar(inst).sessions(_dt(t0), _dt(t1 + 1e-6)):
            day = self.day(symbol, session)
            if day is None:
                continue
            first = 0 if t0 < day.start else math.floor((t0 - day.start) / day.step + 1e-9) + 1
            last = min(day.size - 1, math.floor((t1 - day.start) / day.step + 1e-9))
            if last < first:
                continue
            bars = day.bar_idx[first : last + 1]
            cuts = np.flatnonzero(np.diff(bars)) + 1
            lo = 0
            for hi in [*cuts.tolist(), len(bars)]:
                a, b = first + lo, first + hi - 1
                out.append(self._segment(day, a, b, day.start + a * day.step, day.start + (b + 1) * day.step))
                lo = hi
        return out

    def _segment(self, day: DayPath, a: int, b: int, start: float, end: float) -> Segment:
        window = day.last[a : b + 1]
        bar = int(day.bar_idx[a])
        volume = to_decimal(float(day.bar_totals[bar])) if day.has_volume else None
        inst = self._inst(day.symbol)
        bid, ask, _ = quote_scalar(float(day.prices[a]), inst.ladder)
        digits = day.digits
        market = MarketSlice(
            bid=to_decimal(bid),
            ask=to_decimal(ask),
            open=to_decimal(round(float(window[0]), digits)),
            high=to_decimal(round(float(window.max()), digits)),
            low=to_decimal(round(float(window.min()), digits)),
            close=to_decimal(round(float(window[-1]), digits)),
            volume=volume,
        )
        key = (day.symbol, float(day.bar_starts[bar]))
        return Segment(day.symbol, start, end, market, key, volume, day.session.close.timestamp())

    # --- FX -----------------------------------------------------------------------------------
    def _pair_price(self, base: str, quote: str, ts: float) -> float | None:
        symbol = f"{base}/{quote}"
        if self.instruments.get(symbol) is None:
            return None
        q = self.quote(symbol, ts)
        if q is not None:
            return (q.bid + q.ask) / 2
        opens, closes, _ = self.daily(symbol)
        if len(opens) and ts >= opens[-1]:
            return float(closes[-1])
        return None

    def fx_rate(self, base: str, quote: str, ts: float) -> Decimal:
        """How many ``quote`` one ``base`` buys at ``ts`` (direct pair, inverse, or through USD).

        Raises:
            FxRateUnavailable: no pair in the data covers ``ts``; never guessed as 1.0.
        """
        if base == quote:
            return Decimal(1)
        direct = self._pair_price(base, quote, ts)
        if direct:
            return to_decimal(direct)
        inverse = self._pair_price(quote, base, ts)
        if inverse:
            return Decimal(1) / to_decimal(inverse)
        if "USD" not in (base, quote):
            try:
                return self.fx_rate(base, "USD", ts) * self.fx_rate("USD", quote, ts)
            except FxRateUnavailable:
                pass
        raise FxRateUnavailable(
            f"no {base}/{quote} rate at {_dt(ts).isoformat()}: the market data has no {base}/{quote} or "
            f"{quote}/{base} pair (nor both legs through USD) covering that time"
        )

    def daily_frame(self, symbol: str) -> pd.DataFrame:
        """Daily bars of ``symbol`` (the catalog's), for the scanner."""
        info = self.catalog.instruments[symbol]
        frame: pd.DataFrame = self.catalog.bars(
            symbol, "1D", info.first - timedelta(days=7), info.last + timedelta(days=7)
        )
        return frame
