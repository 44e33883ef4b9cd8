"""Resampling normalised bars into coarser IB bar sizes, in market hours.

Aggregation (the OHLCV rules every charting package uses): ``open`` first, ``high`` max, ``low``
min, ``close`` last, ``volume`` sum, ``bar_count`` sum, ``wap`` volume-weighted mean of ``wap``.

* Intraday sizes are aligned to clock boundaries in the market's time zone (a 1-hour NYSE bar runs
  10:00-11:00 New York), counted from local midnight, so DST changes do not shift them. With
  ``rth_only`` only bars inside a session (:mod:`sdk.calendars`: ASX 10:00-16:00 Sydney, NYSE
  09:30-16:00 New York, early closes included, FX Sunday 17:00 - Friday 17:00 New York) are kept,
  a bar never spans two sessions, and a bar that starts before the session is labelled with the
  session's open (the 09:00-10:00 NYSE hour is the 09:30 bar), as IB labels them.
* ``1D``: one bar per session, indexed by the session's open (UTC). Without ``rth_only`` an
  intraday bar outside the session counts for the session of its local trading day.
* ``1W`` / ``1M``: daily bars grouped by the ISO week / calendar month of their session date,
  indexed by the first session's open.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from sdk.calendars import get_calendar
from sdk.data.barsizes import BAR_SIZES, BarSize
from sdk.data.frames import TIME_ZONES, session_dates

__all__ = ["SessionTable", "aggregate", "session_table"]

_DAY_NS = 86_400 * 1_000_000_000


class SessionTable:
    """The sessions of a market over a span, as int64 ns arrays (``opens``, ``closes``) and ``days``."""

    def __init__(self, market: str, opens: np.ndarray, closes: np.ndarray, days: np.ndarray) -> None:
        self.market = market
        self.opens = opens
        self.closes = closes
        self.days = days

    def locate(self, ns: np.ndarray) -> np.ndarray:
        """For each time (int64 ns UTC): the index of the session containing it, or -1."""
        i = np.searchsorted(self.opens, ns, side="right") - 1
        inside = (i >= 0) & (ns < self.closes[np.clip(i, 0, None)]) if len(self.opens) else np.zeros(len(ns), bool)
        return np.where(inside, i, -1)

    def by_day(self, day_ns: np.ndarray) -> np.ndarray:
        """For each local trading day (int64 ns of the naive date): the session index, or -1."""
        keys = np.array([np.datetime64(d, "ns").astype("int64") for d in self.days], dtype="int64")
        i = np.searchsorted(keys, day_ns)
        found = (i < len(keys)) & (keys[np.clip(i, 0, len(keys) - 1)] == day_ns) if len(keys) else np.zeros(0, bool)
        return np.where(found, i, -1)


def session_table(market: str, start: pd.Timestamp, end: pd.Timestamp) -> SessionTable:
    """Sessions of ``market`` overlapping ``[start - 1 day, end + 1 day]`` (:func:`sdk.calendars.get_calendar`)."""
    calendar = get_calendar(market)
    lo = max(start.to_pydatetime() - timedelta(days=1), datetime(1990, 1, 2, tzinfo=UTC))
    sessions = calendar.sessions(lo, end.to_pydatetime() + timedelta(days=1))
    opens = np.array([int(s.open.timestamp()) * 1_000_000_000 for s in sessions], dtype="int64")
    closes = np.array([int(s.close.timestamp()) * 1_000_000_000 for s in sessions], dtype="int64")
    days = np.array([s.day for s in sessions], dtype=object)
    return SessionTable(market, opens, closes, days)


def _local_wall_ns(index: pd.DatetimeIndex, market: str) -> np.ndarray:
    return np.asarray(index.tz_convert(TIME_ZONES[market]).tz_localize(None).asi8)


def _aggregate_groups(frame: pd.DataFrame, keys: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Aggregate rows sharing a key (rows sorted by time, keys non-decreasing); index = labels (ns)."""
    if len(frame) == 0:
        return frame.iloc[0:0]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    out: dict[str, np.ndarray] = {
        "open": frame["open"].to_numpy()[starts],
        "high": np.maximum.reduceat(frame["high"].to_numpy(), starts),
        "low": np.minimum.reduceat(frame["low"].to_numpy(), starts),
        "close": frame["close"].to_numpy()[ends - 1],
    }
    volume = frame["volume"].to_numpy()
    has_volume = np.add.reduceat((~np.isnan(volume)).astype("int64"), starts) > 0
    summed = np.add.reduceat(np.nan_to_num(volume), starts)
    out["volume"] = np.where(has_volume, summed, np.nan)
    if "wap" in frame.columns:
        wap = frame["wap"].to_numpy()
        weight = np.where(np.isnan(wap), 0.0, np.nan_to_num(volume))
        num = np.add.reduceat(np.nan_to_num(wap) * weight, starts)
        den = np.add.reduceat(weight, starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["wap"] = np.where(den > 0, num / den, np.nan)
    if "bar_count" in frame.columns:
        counts = frame["bar_count"].to_numpy()
        has = np.add.reduceat((~np.isnan(counts)).astype("int64"), starts) > 0
        out["bar_count"] = np.where(has, np.add.reduceat(np.nan_to_num(counts), starts), np.nan)
    if "authority" in frame.columns:  # the catalog's merge rank: a bar is as good as its weakest row
        out["authority"] = np.minimum.reduceat(frame["authority"].to_numpy(), starts)
    index = pd.DatetimeIndex(labels[starts].astype("int64")).tz_localize("UTC").rename("time")
    return pd.DataFrame(out, index=index)


def aggregate(frame: pd.DataFrame, bar: BarSize, native: BarSize, market: str, *, rth_only: bool) -> pd.DataFrame:
    """Resample a normalised frame of ``native`` bars into ``bar`` bars (rules in the module docstring).

    Returns a normalised frame; for ``1D``/``1W``/``1M`` an extra ``session`` column holds each bar's
    trading date (``datetime.date``), and for ``1D`` built from intraday bars a ``coverage`` column
    holds the share of the session's length the intraday bars cover (0..1).

    Raises:
        ValueError: ``bar`` is finer than ``native``, or does not divide into it.
    """
    if bar.seconds < native.seconds or (bar.intraday and bar.seconds % native.seconds):
        raise ValueError(f"cannot build {bar.label} bars from {native.label} bars")
    if isinstance(frame.index, pd.DatetimeIndex) and frame.index.unit != "ns":
        frame = frame.set_axis(frame.index.as_unit("ns"))
    if len(frame) == 0:
        out = frame.copy()
        if not bar.intraday:
            out["session"] = np.array([], dtype=object)
        return out
    if native.intraday and (bar.intraday or bar.label == "1D"):
        sessions = session_table(market, frame.index[0], frame.index[-1])
        return _from_intraday(frame, bar, native, sessions, rth_only=rth_only)
    daily = frame
    if native.intraday:  # 1W/1M from intraday: via daily bars
        sessions = session_table(market, frame.index[0], frame.index[-1])
        daily = _from_intraday(frame, BAR_SIZES["1D"], native, sessions, rth_only=rth_only).drop(columns="coverage")
    else:
        daily = daily.copy()
        daily["session"] = session_dates(daily.index, market)
    if bar.label == "1D":
        return daily
    days = pd.DatetimeIndex(pd.to_datetime(daily["session"].to_numpy().astype("datetime64[D]")))
    if bar.label == "1W":
        iso = days.isocalendar()
        keys = iso["year"].to_numpy().astype("int64") * 100 + iso["week"].to_numpy().astype("int64")
    else:
        keys = days.year.to_numpy().astype("int64") * 100 + days.month.to_numpy().astype("int64")
    out = _aggregate_groups(daily.drop(columns="session"), keys, daily.index.asi8)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    out["session"] = daily["session"].to_numpy()[starts]
    return out


def _from_intraday(
    frame: pd.DataFrame, bar: BarSize, native: BarSize, sessions: SessionTable, *, rth_only: bool
) -> pd.DataFrame:
    ns = frame.index.asi8
    sid = sessions.locate(ns)
    if bar.label == "1D":
        if not rth_only:
            shift = 7 * 3600 * 1_000_000_000 if sessions.market == "FX" else 0  # FX day closes 17:00 New York
            wall = _local_wall_ns(frame.index, sessions.market) + shift
            by_day = sessions.by_day(wall - wall % _DAY_NS)
            sid = np.where(sid >= 0, sid, by_day)
        keep = sid >= 0
        part, sid = frame[keep], sid[keep]
        out = _aggregate_groups(part, sid, sessions.opens[sid])
        starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]]) if len(sid) else np.array([], dtype="int64")
        used = sid[starts]
        inside = np.asarray(ns[keep] < sessions.closes[sid]) & np.asarray(ns[keep] >= sessions.opens[sid])
        covered = np.add.reduceat(inside.astype("int64"), starts) if len(sid) else np.array([], dtype="int64")
        length = (sessions.closes[used] - sessions.opens[used]) / 1e9
        out["coverage"] = np.minimum(covered * native.seconds / length, 1.0) if len(used) else np.array([])
        out["session"] = sessions.days[used]
        return out
    if rth_only:
        keep = sid >= 0
        frame, ns, sid = frame[keep], ns[keep], sid[keep]
    if bar.seconds == native.seconds:
        return frame
    bar_ns = bar.seconds * 1_000_000_000
    wall = _local_wall_ns(frame.index, sessions.market)
    bin_start = ns - wall % bar_ns
    if rth_only:
        labels = np.maximum(bin_start, sessions.opens[sid])
        keys = labels  # a bin cut by a session boundary splits into one bar per session
    else:
        labels = keys = bin_start
    return _aggregate_groups(frame, keys, labels)
