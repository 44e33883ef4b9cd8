"""Bars as the simulation reads them: one instrument's bars at one size, as arrays with their start and end times.

:class:`BarSeries` is built once from a market-data catalog (:meth:`BarSeries.from_catalog`) and read by index, so a
simulation that steps through 90,000 bars never touches pandas on its hot path. A bar covers ``[start, end)``:

* an intraday bar (``1min``, ``5min`` ...) ends ``start`` + its length;
* a daily bar is indexed by its session's open and ends at that session's close (:mod:`sdk.calendars`: 16:00
  Sydney for ASX, 16:00 New York for NYSE, 13:00 on its half days, 17:00 New York for FX), so it is closed, and
  may be shown, only from then on.

A bar's ccxt timestamp (:attr:`BarSeries.stamp`, the first field of :meth:`BarSeries.row`) is its start for an
intraday bar and 00:00 UTC of its session's date for a daily bar: IB dates a daily bar by its trading day
(``20250304``), the IB venue answers that day's 00:00 UTC, and the runner's bar schedule
(:class:`sdk.services.schedule.BarSchedule`) reads daily timestamps that way.

Times are integer ms UTC; prices float64 in the quote currency; volume float64 in base units, NaN where the data
holds none (FX, some vendors' index and ETF files).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np

from sdk.calendars import get_calendar
from sdk.data.barsizes import BarSize, parse_bar_size

__all__ = ["BarSeries"]


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True, slots=True)
class BarSeries:
    """One instrument's bars at one size, oldest first (see the module docstring).

    Attributes:
        symbol: canonical symbol.
        bar_size: the catalog's bar size.
        start, end: int64 ms UTC, each bar's ``[start, end)``.
        stamp: int64 ms UTC, each bar's ccxt timestamp (module docstring): ``start`` for intraday bars, 00:00 UTC
            of the session's date for daily bars.
        open, high, low, close, volume: float64 arrays.
        has_volume: False when the series reports no volume at all (every value NaN or 0, or an FX pair): its
            bars bound no fill.
    """

    symbol: str
    bar_size: BarSize
    start: np.ndarray
    end: np.ndarray
    stamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    has_volume: bool

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def from_catalog(
        cls,
        catalog: Any,
        symbol: str,
        bar_size: str | BarSize,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        rth_only: bool = True,
    ) -> BarSeries:
        """The bars of ``symbol`` with ``start <= bar start < end`` (:meth:`sdk.data.Catalog.bars`).

        Raises:
            ccxt.BadSymbol: the catalog holds no ``symbol``. ValueError: ``bar_size`` is finer than its data, or
                coarser than a day (weekly and monthly bars are not simulated).
        """
        size = parse_bar_size(bar_size)
        if size.seconds > 86_400:
            raise ValueError(f"{size.label} bars are not simulated; use daily or intraday bars")
        info = catalog.info(symbol)
        frame = catalog.bars(symbol, size, start, end, rth_only=rth_only)
        starts = frame.index.asi8 // 1_000_000 if len(frame) else np.zeros(0, dtype=np.int64)
        starts = starts.astype(np.int64)
        if size.intraday:
            ends, stamps = starts + size.seconds * 1000, starts
        else:
            ends, stamps = _session_ends(info.market, frame, starts)
        volume = frame["volume"].to_numpy(dtype="float64") if len(frame) else np.zeros(0)
        has_volume = info.sec_type != "CASH" and bool(np.nansum(volume) > 0)
        return cls(
            symbol=symbol,
            bar_size=size,
            start=starts,
            end=ends.astype(np.int64),
            stamp=stamps.astype(np.int64),
            open=frame["open"].to_numpy(dtype="float64") if len(frame) else np.zeros(0),
            high=frame["high"].to_numpy(dtype="float64") if len(frame) else np.zeros(0),
            low=frame["low"].to_numpy(dtype="float64") if len(frame) else np.zeros(0),
            close=frame["close"].to_numpy(dtype="float64") if len(frame) else np.zeros(0),
            volume=volume,
            has_volume=has_volume,
        )

    def closed_by(self, ms: int) -> int:
        """How many bars had closed (``end <= ms``) at ``ms``: the bars ``[0, n)`` may be shown then."""
        return int(np.searchsorted(self.end, ms, side="right"))

    def started_by(self, ms: int) -> int:
        """How many bars had started (``start <= ms``) at ``ms``."""
        return int(np.searchsorted(self.start, ms, side="right"))

    def stamped_by(self, ms: int) -> int:
        """How many bars have a timestamp (:attr:`stamp`) at or before ``ms``."""
        return int(np.searchsorted(self.stamp, ms, side="right"))

    def volume_at(self, i: int) -> Decimal | None:
        """Bar ``i``'s volume in base units, None where the series reports none (it then bounds no fill)."""
        if not self.has_volume:
            return None
        value = float(self.volume[i])
        return None if value != value else Decimal(repr(value))  # NaN: not reported

    def row(self, i: int) -> list[float]:
        """Bar ``i`` as a ccxt OHLCV row ``[timestamp ms, open, high, low, close, volume]`` (the timestamp is
        :attr:`stamp`; volume 0.0 where none)."""
        volume = float(self.volume[i])
        return [
            int(self.stamp[i]),
            float(self.open[i]),
            float(self.high[i]),
            float(self.low[i]),
            float(self.close[i]),
            0.0 if volume != volume else volume,
        ]


def _session_ends(market: str, frame: Any, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The close of each daily bar's session and 00:00 UTC of its date (by the frame's ``session`` date, else the
    session open at its start)."""
    if not len(starts):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    calendar = get_calendar(market)
    first, last = _utc(int(starts[0])), _utc(int(starts[-1]) + 7 * 86_400_000)
    closes: dict[date, int] = {s.day: int(s.close.timestamp() * 1000) for s in calendar.sessions(first, last)}
    days = list(frame["session"]) if "session" in frame.columns else [None] * len(starts)
    ends = np.empty(len(starts), dtype=np.int64)
    stamps = np.empty(len(starts), dtype=np.int64)
    for i, (ms, day) in enumerate(zip(starts, days, strict=True)):
        close = closes.get(day) if day is not None else None
        if close is None or day is None:
            session = calendar.next_session(_utc(int(ms)))
            close, day = int(session.close.timestamp() * 1000), session.day
        ends[i] = close
        stamps[i] = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return ends, stamps
