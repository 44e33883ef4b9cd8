"""The bars a market's calendar expects over a range: a grid of bar starts, each labelled by what the calendar
says of it (a regular session's bar, a holiday's, or one cut off by an early close).

The grid is *nominal*: every weekday (Monday to Friday in the market's time zone; for FX the day a session
closes on) contributes its regular hours (:data:`sdk.data.frames.REGULAR_HOURS`: ASX 10:00-16:00 Sydney,
NYSE 09:30-16:00 New York, FX 17:00-17:00 New York from the day before), whether or not the exchange opened.
The calendar (:mod:`sdk.calendars`, ``exchange_calendars`` XASX/XNYS) then labels each slot:

* :data:`SESSION`: inside the day's actual session (``open <= start < close``);
* :data:`HOLIDAY`: a weekday without a session (ASX: Australia Day, Anzac Day ...; NYSE: Good Friday ...);
* :data:`SHORTENED`: a session day, but outside its actual hours: after an early close (NYSE 13:00 New York on
  the day after Thanksgiving, ASX 14:10 Sydney on Christmas Eve) or before a late open.

Slots follow :mod:`sdk.data.resample` and IB's labels: intraday bars are aligned on the clock from local
midnight and a bar cut by the session's open is labelled with the open (the 09:00-10:00 NYSE hour is the
09:30 bar); a ``1D`` bar starts at the session's open; ``1W``/``1M`` bars at the first session's open of the
ISO week / calendar month. No session of these markets spans a daylight-saving change (the 02:00 changes fall
on a weekend), so a day's slots are its UTC open plus fixed offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from sdk.data.barsizes import BarSize
from sdk.data.frames import REGULAR_HOURS, TIME_ZONES
from sdk.data.resample import session_table

__all__ = ["HOLIDAY", "SESSION", "SHORTENED", "ExpectedGrid", "expected_grid"]

SESSION: Final = 0
HOLIDAY: Final = 1
SHORTENED: Final = 2

_NS: Final = 1_000_000_000
_DAY_NS: Final = 86_400 * _NS


@dataclass(frozen=True, slots=True)
class ExpectedGrid:
    """Nominal bar starts in ``[start, end)``: ``times`` (int64 ns UTC, ascending, unique), ``kinds`` (int8:
    :data:`SESSION`, :data:`HOLIDAY`, :data:`SHORTENED`), ``bar_ns`` (a bar's length in ns; a day for ``1D`` and
    coarser), and the sessions met: ``session_days`` (local ``datetime64[D]`` of each session day in the range).
    """

    times: np.ndarray
    kinds: np.ndarray
    bar_ns: int
    session_days: np.ndarray


def _hours_ns(market: str) -> tuple[int, int]:
    """(open, close) of the regular hours in ns from the local midnight of the session's day (FX opens at -7 h)."""
    open_t, close_t = REGULAR_HOURS[market]
    open_ns = (open_t.hour * 3600 + open_t.minute * 60) * _NS
    close_ns = (close_t.hour * 3600 + close_t.minute * 60) * _NS
    if close_ns <= open_ns:  # FX: 17:00 the day before to 17:00
        open_ns -= _DAY_NS
    return open_ns, close_ns


def _nominal_days(market: str, start: pd.Timestamp, end: pd.Timestamp, before: int) -> pd.DatetimeIndex:
    """Local weekdays (naive midnights) from ``before`` days ahead of ``start`` to two days after ``end``."""
    tz = TIME_ZONES[market]
    first = start.tz_convert(tz).tz_localize(None).normalize() - pd.Timedelta(days=before)
    last = end.tz_convert(tz).tz_localize(None).normalize() + pd.Timedelta(days=2)
    days = pd.date_range(first, last, freq="D")
    return days[days.day_of_week < 5]


def _utc_of(days: pd.DatetimeIndex, offset_ns: int, tz: str) -> np.ndarray:
    """``days`` (naive local midnights) + ``offset_ns`` of wall time, as int64 ns UTC."""
    wall = days + pd.Timedelta(offset_ns, unit="ns")
    return np.asarray(wall.tz_localize(tz).tz_convert("UTC").as_unit("ns").asi8)


def expected_grid(market: str, bar: BarSize, start: pd.Timestamp, end: pd.Timestamp) -> ExpectedGrid:
    """The nominal grid of ``bar`` bars of ``market`` with ``start <= bar start < end`` (module docstring).

    Args:
        market: ``"ASX"``, ``"NYSE"`` or ``"FX"`` (:data:`sdk.calendars.MARKETS`).
        bar: any IB bar size (:data:`sdk.data.barsizes.BAR_SIZES`).
        start, end: timezone-aware bounds.

    Raises:
        ValueError: an unknown market, or ``start`` after ``end``.
    """
    if market not in TIME_ZONES:
        raise ValueError(f"unknown market {market!r}; known: {', '.join(TIME_ZONES)}")
    if start > end:
        raise ValueError(f"start {start.isoformat()} is after end {end.isoformat()}")
    tz = TIME_ZONES[market]
    days = _nominal_days(market, start, end, 1 if bar.intraday else 40)  # whole weeks and months for 1W/1M
    open_ns, close_ns = _hours_ns(market)
    nominal_open = _utc_of(days, open_ns, tz)
    table = session_table(market, pd.Timestamp(nominal_open[0], tz="UTC"), pd.Timestamp(nominal_open[-1], tz="UTC"))
    day_keys = np.asarray(days.asi8)
    sid = table.by_day(day_keys) if len(table.opens) else np.full(len(days), -1)
    has_session = sid >= 0
    safe = np.clip(sid, 0, None)
    session_open = np.where(has_session, table.opens[safe] if len(table.opens) else 0, nominal_open)
    session_close = np.where(has_session, table.closes[safe] if len(table.closes) else 0, nominal_open)
    lo, hi = start.value, end.value
    if bar.intraday:
        bar_ns = bar.seconds * _NS
        k = np.arange(open_ns // bar_ns, -(-close_ns // bar_ns))
        offsets = np.maximum(k * bar_ns, open_ns) - open_ns  # from the nominal open
        times = (nominal_open[:, None] + offsets[None, :]).ravel()
        opens = np.repeat(session_open, len(offsets))
        closes = np.repeat(session_close, len(offsets))
        kinds = np.where(
            ~np.repeat(has_session, len(offsets)),
            HOLIDAY,
            np.where((times >= opens) & (times < closes), SESSION, SHORTENED),
        ).astype("int8")
    else:
        bar_ns = _DAY_NS
        times, kinds = _daily_slots(bar, days, session_open, has_session)
    keep = (times >= lo) & (times < hi)
    in_range_days = has_session & (session_open >= lo) & (session_open < hi)
    return ExpectedGrid(times[keep], kinds[keep], bar_ns, np.asarray(days[in_range_days]).astype("datetime64[D]"))


def _daily_slots(
    bar: BarSize, days: pd.DatetimeIndex, session_open: np.ndarray, has_session: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One slot per day (``1D``), ISO week (``1W``) or month (``1M``): the first session's open, or for a group
    without a session (a holiday weekday, a week of holidays) the first weekday's nominal open."""
    if bar.label == "1D":
        return session_open, np.where(has_session, SESSION, HOLIDAY).astype("int8")
    if bar.label == "1W":
        iso = days.isocalendar()
        keys = iso["year"].to_numpy().astype("int64") * 100 + iso["week"].to_numpy().astype("int64")
    else:
        keys = days.year.to_numpy().astype("int64") * 100 + days.month.to_numpy().astype("int64")
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    group = np.cumsum(np.r_[True, keys[1:] != keys[:-1]]) - 1
    any_session = np.zeros(len(starts), dtype=bool)
    np.logical_or.at(any_session, group, has_session)
    # the first session of each group: the smallest position holding a session (len(days) when none)
    position = np.where(has_session, np.arange(len(days)), len(days))
    first = np.full(len(starts), len(days))
    np.minimum.at(first, group, position)
    label = np.where(any_session, session_open[np.clip(first, 0, len(days) - 1)], session_open[starts])
    return label, np.where(any_session, SESSION, HOLIDAY).astype("int8")
