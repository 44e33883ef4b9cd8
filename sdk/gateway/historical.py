"""Historical bars as ``reqHistoricalData`` answers them: windows, IB's limits, whatToShow, dates.

Rules (IB "Historical Bar Data", https://interactivebrokers.github.io/tws-api/historical_bars.html,
and ``../shared/docs/ib-reference.md``):

* ``durationStr`` is ``N S|D|W|M|Y``; the window ends at ``endDateTime`` (empty: now) and is never
  later than the simulated now, so no bar from the future is ever served. ``N D`` covers the last
  N x 24 hours and at least the last N sessions (a Saturday's ``1 D`` is Friday's session).
* Maximum duration per bar size (error 162 "Time length exceed max."): each bar size's
  ``max_request_seconds`` (:mod:`sdk.data.barsizes`, the table the IB venue chunks by): 1 secs 1800 S;
  5 secs 3600 S; 10-15 secs 14400 S; 30 secs 28800 S; 1 min 1 D; 2 mins 2 D; 3-20 mins 1 W; 30 mins-8
  hours 1 M; 1 day-1 month 1 Y (a requested month counts 30 days, a year 365).
* Bars come from the catalog (:meth:`sdk.data.Catalog.bars`, IB's alignment); the bar in progress
  at now is rebuilt from the replayed path up to now. Prices are put on the instrument's price
  ladder. ``TRADES`` carries volume, WAP and trade count; ``MIDPOINT``, ``BID``, ``ASK`` are the
  quote of each price (one step wide); ``BID_ASK`` is IB's (time-average bid, max ask, min bid,
  time-average ask); the quote kinds carry -1 for volume, WAP and count, as IB's do. FX has no
  ``TRADES``; indexes have only ``TRADES``.
* Dates: ``formatDate=1`` intraday ``20240301 09:31:00 US/Eastern`` (the contract's time zone),
  ``2`` epoch seconds; daily and coarser bars are the session date ``20240301``.
"""

from __future__ import annotations

import itertools
import math
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from sdk.calendars import get_calendar
from sdk.data.barsizes import BAR_SIZES, BarSize
from sdk.gateway.hours import IB_TIME_ZONE_IDS
from sdk.gateway.instruments import GatewayContract
from sdk.gateway.market import MarketReplay, ladder_arrays
from sdk.gateway.messages import Out
from sdk.timeframes import TIMEFRAME_SECONDS

__all__ = [
    "WHAT_TO_SHOW",
    "Bars",
    "HistoricalError",
    "build_bars",
    "check_duration",
    "format_dates",
    "historical_data",
    "historical_update",
    "parse_duration",
    "parse_end",
    "window_start",
]

WHAT_TO_SHOW = ("TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK")
_DAY = TIMEFRAME_SECONDS["1d"]
#: A ``durationStr`` unit -> its length counted against a bar size's ``max_request_seconds``.
_UNIT_SECONDS = {"S": 1, "D": _DAY, "W": TIMEFRAME_SECONDS["1w"], "M": TIMEFRAME_SECONDS["1M"], "Y": 365 * _DAY}
_DURATION = re.compile(r"^\s*(\d+)\s*([SDWMY])\s*$")
_DAILY = BAR_SIZES["1D"]
#: The prefix of TWS's error texts from the Historical Market Data Service (error 162).
HMDS = "Historical Market Data Service error message:"


class HistoricalError(Exception):
    """A historical request IB would refuse: ``code`` (162) and the whole error text."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{code} {detail}")
        self.code = code
        self.detail = detail


def parse_duration(text: str) -> tuple[int, str]:
    """``"30 D"`` -> ``(30, "D")``.

    Raises:
        HistoricalError: 162 when malformed (the Historical Market Data Service's code, which ends the
            client's request; TWS's 321 is a warning to ib_async, whose request would then never end).
    """
    found = _DURATION.match(text.upper())
    if found is None or int(found[1]) <= 0:
        raise HistoricalError(
            162,
            f"{HMDS}Historical data query duration {text!r} is invalid; use e.g. '1 D', '3600 S', '1 Y'",
        )
    return int(found[1]), found[2]


def check_duration(size: BarSize, count: int, unit: str) -> None:
    """Raise 162 "Time length exceed max." when the duration is over IB's maximum for the bar size."""
    if count * _UNIT_SECONDS[unit] > size.max_request_seconds:
        raise HistoricalError(162, "Historical Market Data Service error message:Time length exceed max.")


def parse_end(text: str, now: float) -> float:
    """``endDateTime`` to epoch seconds; empty is now, a later time is clamped to now.

    Accepted: ``20240301 16:00:00 UTC`` (or any IANA zone name), ``20240301-16:00:00`` (UTC),
    ``20240301 16:00:00`` (UTC, this gateway's "TWS time zone"), ``20240301`` (end of that day, UTC).

    Raises:
        HistoricalError: 162 for an unreadable time (see :func:`parse_duration` for why not 321).
    """
    raw = text.strip()
    if not raw:
        return now
    try:
        if re.fullmatch(r"\d{8}", raw):
            when = datetime.strptime(raw, "%Y%m%d").replace(tzinfo=UTC) + timedelta(days=1)
        elif re.fullmatch(r"\d{8}-\d{2}:\d{2}:\d{2}", raw):
            when = datetime.strptime(raw, "%Y%m%d-%H:%M:%S").replace(tzinfo=UTC)
        else:
            day, clock, *zone = raw.split()
            when = datetime.strptime(f"{day} {clock}", "%Y%m%d %H:%M:%S").replace(
                tzinfo=ZoneInfo(zone[0]) if zone else UTC
            )
    except (ValueError, KeyError) as exc:
        raise HistoricalError(
            162,
            f"{HMDS}Historical data query end date/time string [{raw}] is invalid ({exc}); "
            "use e.g. 20240301 16:00:00 UTC",
        ) from None
    return min(when.timestamp(), now)


def window_start(end: float, count: int, unit: str, inst: GatewayContract) -> float:
    """The start of a request's window (rules in the module docstring)."""
    end_dt = datetime.fromtimestamp(end, UTC)
    if unit == "S":
        return end - count
    if unit == "D":
        calendar = get_calendar(inst.market)
        sessions = calendar.sessions(end_dt - timedelta(days=count + 14), end_dt)
        started = [s for s in sessions if s.open.timestamp() < end]
        by_sessions = started[-count].open.timestamp() if len(started) >= count else end - count * _DAY
        return min(end - count * _DAY, by_sessions)
    if unit == "W":
        return end - count * 7 * _DAY
    offset = pd.DateOffset(months=count) if unit == "M" else pd.DateOffset(years=count)
    return float((pd.Timestamp(end_dt) - offset).timestamp())


@dataclass(frozen=True, slots=True)
class Bars:
    """Bars ready to send: ``times`` (bar start, epoch s), prices, volume, wap, count, session dates."""

    times: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    wap: np.ndarray
    count: np.ndarray
    sessions: list[Any] | None

    def __len__(self) -> int:
        return int(self.times.size)


def _bar_end(label: float, size: BarSize, inst: GatewayContract) -> float:
    calendar = get_calendar(inst.market)
    session = calendar.session_at(datetime.fromtimestamp(label, UTC))
    close = session.close.timestamp() if session is not None else math.inf
    if size.label == "1D":
        return close
    tz = ZoneInfo(IB_TIME_ZONE_IDS[inst.market])
    local = datetime.fromtimestamp(label, tz)
    into = (local.hour * 3600 + local.minute * 60 + local.second) % size.seconds
    return min(label - into + size.seconds, close)


def bar_end(label: float, size: BarSize, inst: GatewayContract) -> float | None:
    """When the bar labelled ``label`` ends (None for weekly and monthly bars)."""
    if size.label in ("1W", "1M"):
        return None
    return _bar_end(label, size, inst)


def in_progress(market: MarketReplay, inst: GatewayContract, size: BarSize, label: float, now: float) -> pd.DataFrame:
    """The one bar labelled ``label`` rebuilt from the replayed path up to ``now`` (empty without samples)."""
    part = _partial(market, inst.symbol, label, now)
    stamps = np.array([round(label * 1e9)] if part else [], dtype="int64").astype("datetime64[ns]")
    index = pd.DatetimeIndex(stamps).tz_localize("UTC").rename("time")
    columns = dict(zip(("open", "high", "low", "close", "volume"), ([p] for p in part), strict=True)) if part else {}
    frame = pd.DataFrame({k: columns.get(k, []) for k in ("open", "high", "low", "close", "volume")}, index=index)
    if part and not size.intraday:
        session = get_calendar(inst.market).session_at(datetime.fromtimestamp(label, UTC))
        frame["session"] = [session.day if session is not None else datetime.fromtimestamp(label, UTC).date()]
    return frame


def _partial(market: MarketReplay, symbol: str, start: float, end: float) -> tuple[float, ...] | None:
    """OHLCV of the replayed path over ``[start, end)`` (one session), or None without samples."""
    session = market.session_at(symbol, start)
    day = market.day(symbol, session) if session is not None else None
    if day is None:
        return None
    a = max(0, math.ceil((start - day.start) / day.step - 1e-9))
    b = min(day.size, math.ceil((end - day.start) / day.step - 1e-9))
    if b <= a:
        return None
    window = day.last[a:b]
    volume = round(day.cum_volume[b - 1] - (day.cum_volume[a - 1] if a > 0 else 0.0))
    d = day.digits
    return (round(float(window[0]), d), round(float(window.max()), d), round(float(window.min()), d),
            round(float(window[-1]), d), float(volume))  # fmt: skip


def build_bars(
    market: MarketReplay, inst: GatewayContract, size: BarSize, start: float, end: float, now: float, *,
    use_rth: bool,
) -> pd.DataFrame:  # fmt: skip
    """TRADES bars with ``start <= time < end``; the bar in progress at ``now`` rebuilt up to now."""
    lo, hi = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(min(end, now), UTC)
    try:
        frame: pd.DataFrame = market.bar_cache.bars(inst.symbol, size, lo, hi, rth_only=use_rth).copy()
    except ValueError:  # no native data this fine: every session comes from the replayed path
        frame = pd.DataFrame(columns=["open", "high", "low", "close", "volume"], dtype="float64")
        frame.index = pd.DatetimeIndex([], dtype="datetime64[ns, UTC]", name="time")
    if size.intraday:
        frame = _with_synthesized(market, inst, size, frame, start, min(end, now))
    if len(frame) == 0 or size.label in ("1W", "1M"):
        if size.label in ("1W", "1M") and len(frame):
            return _coarse_in_progress(market, inst, frame, now, use_rth)
        return frame
    label = frame.index[-1].timestamp()
    bar_end = _bar_end(label, size, inst)
    if bar_end > now:
        part = _partial(market, inst.symbol, label, min(bar_end, now))
        if part is None:
            frame = frame.iloc[:-1]
        else:
            row = frame.index[-1]
            for column, value in zip(("open", "high", "low", "close", "volume"), part, strict=True):
                frame.loc[row, column] = value
            if "wap" in frame.columns:
                frame.loc[row, "wap"] = (part[1] + part[2] + part[3]) / 3
    return frame


def _with_synthesized(
    market: MarketReplay, inst: GatewayContract, size: BarSize, frame: pd.DataFrame, start: float, end: float
) -> pd.DataFrame:
    """Add intraday bars built from the replayed path for the sessions the data has no such bars for."""
    calendar = get_calendar(inst.market)
    times = frame.index.asi8 / 1e9
    parts = [frame]
    for session in calendar.sessions(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)):
        o, c = session.open.timestamp(), session.close.timestamp()
        if np.any((times >= o) & (times < c)):
            continue
        built = _path_bars(market, inst, size, session, max(start, o), min(end, c))
        if built is not None:
            parts.append(built)
    if len(parts) == 1:
        return frame
    merged = pd.concat([p for p in parts if len(p)]) if any(len(p) for p in parts) else frame
    return merged.sort_index()


def _path_bars(
    market: MarketReplay, inst: GatewayContract, size: BarSize, session: Any, start: float, end: float
) -> pd.DataFrame | None:
    """Bars of ``size`` from one session's replayed path over ``[start, end)``, aligned as the catalog's
    (local clock boundaries, the first labelled with the session open)."""
    day = market.day(inst.symbol, session)
    if day is None:
        return None
    a = max(0, math.ceil((start - day.start) / day.step - 1e-9))
    b = min(day.size, math.ceil((end - day.start) / day.step - 1e-9))
    if b <= a:
        return None
    t = day.start + np.arange(a, b) * day.step
    tz = ZoneInfo(IB_TIME_ZONE_IDS[inst.market])
    offset = datetime.fromtimestamp(day.start, tz).utcoffset()
    local = t + (offset.total_seconds() if offset is not None else 0.0)
    labels = np.maximum(t - np.mod(local, size.seconds), day.start)
    cuts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    prices = np.round(day.last[a:b].astype("float64"), day.digits)
    volume = day.cum_volume[a:b]
    before = np.r_[day.cum_volume[a - 1] if a > 0 else 0.0, volume[:-1]]
    step_volume = volume - before
    index = pd.DatetimeIndex((labels[cuts] * 1e9).astype("int64")).tz_localize("UTC").rename("time")
    return pd.DataFrame(
        {
            "open": prices[cuts],
            "high": np.maximum.reduceat(prices, cuts),
            "low": np.minimum.reduceat(prices, cuts),
            "close": prices[np.r_[cuts[1:] - 1, len(prices) - 1]],
            "volume": np.round(np.add.reduceat(step_volume, cuts)) if day.has_volume else np.zeros(len(cuts)),
        },
        index=index,
    )


def _coarse_in_progress(
    market: MarketReplay, inst: GatewayContract, frame: pd.DataFrame, now: float, use_rth: bool
) -> pd.DataFrame:
    """A weekly/monthly frame whose last bar is rebuilt from daily bars up to now."""
    label = frame.index[-1]
    daily = build_bars(market, inst, _DAILY, label.timestamp(), now + 1, now, use_rth=use_rth)
    if len(daily) == 0:
        return frame.iloc[:-1]
    row = frame.index[-1]
    frame.loc[row, "open"] = daily["open"].iloc[0]
    frame.loc[row, "high"] = daily["high"].max()
    frame.loc[row, "low"] = daily["low"].min()
    frame.loc[row, "close"] = daily["close"].iloc[-1]
    frame.loc[row, "volume"] = daily["volume"].sum()
    return frame


def transform(frame: pd.DataFrame, what: str, inst: GatewayContract) -> Bars:
    """TRADES bars to the ``whatToShow`` kind, on the instrument's ladder (rules in the module docstring)."""
    o, h, low, c = (frame[k].to_numpy(dtype="float64") for k in ("open", "high", "low", "close"))
    ohlc = np.stack((o, h, low, c))  # (4, n): one ladder pass for the four prices
    ladder = inst.ladder
    n = len(frame)
    minus = np.full(n, -1.0)
    sessions = list(frame["session"]) if "session" in frame.columns else None
    times = frame.index.asi8 / 1e9
    if what == "TRADES":
        so, sh, sl, sc = ladder_arrays(ohlc, ladder)[2]
        volume = np.nan_to_num(frame["volume"].to_numpy(dtype="float64"), nan=0.0)
        wap = frame["wap"].to_numpy(dtype="float64") if "wap" in frame.columns else (h + low + c) / 3
        wap = np.where(np.isnan(wap), (h + low + c) / 3, wap)
        if "bar_count" in frame.columns:
            count = np.nan_to_num(frame["bar_count"].to_numpy(dtype="float64"), nan=0.0)
        else:
            count = np.maximum(np.round(volume / 100.0), np.where(volume > 0, 1.0, 0.0))
        return Bars(times, so, sh, sl, sc, volume, np.round(wap, 6), count, sessions)
    if what == "BID_ASK":
        avg = (o + h + low + c) / 4
        bid_avg, ask_avg, _ = ladder_arrays(avg, ladder)
        _, ask_high, _ = ladder_arrays(h, ladder)
        bid_low, _, _ = ladder_arrays(low, ladder)
        return Bars(times, bid_avg, ask_high, bid_low, ask_avg, minus, minus, minus, sessions)
    bids, asks, _ = ladder_arrays(ohlc, ladder)
    if what == "BID":
        po, ph, pl, pc = bids
    elif what == "ASK":
        po, ph, pl, pc = asks
    else:
        po, ph, pl, pc = np.round((bids + asks) / 2, 8)
    return Bars(times, po, ph, pl, pc, minus, minus, minus, sessions)


def format_dates(bars: Bars, size: BarSize, inst: GatewayContract, format_date: int) -> list[str]:
    """Each bar's date in IB's text (module docstring)."""
    if not size.intraday:
        if bars.sessions is not None:
            return [d.strftime("%Y%m%d") for d in bars.sessions]
        return [datetime.fromtimestamp(t, UTC).strftime("%Y%m%d") for t in bars.times]
    if format_date == 2:
        return list(map(str, np.round(bars.times).astype("int64").tolist()))
    zone = IB_TIME_ZONE_IDS[inst.market]
    tz = ZoneInfo(zone)
    return [f"{datetime.fromtimestamp(t, tz):%Y%m%d %H:%M:%S} {zone}" for t in bars.times]


def window_text(ts: float, inst: GatewayContract) -> str:
    """A window bound as IB writes it in ``historicalData``: ``20240301 16:00:00 US/Eastern``."""
    zone = IB_TIME_ZONE_IDS[inst.market]
    return f"{datetime.fromtimestamp(ts, ZoneInfo(zone)):%Y%m%d %H:%M:%S} {zone}"


def _clean(column: np.ndarray) -> list[float]:
    """Floats as sent: 8 decimals at most (no float32 residue such as 45.119998931884766)."""
    return list(np.round(column.astype("float64"), 8).tolist())


def historical_data(req_id: int, bars: Bars, dates: list[str], start_text: str, end_text: str) -> list[Any]:
    """``historicalData`` (17): header then 8 fields per bar (date, OHLC, volume, WAP, count)."""
    fields: list[Any] = [Out.HISTORICAL_DATA, req_id, start_text, end_text, len(bars)]
    columns = [_clean(c) for c in (bars.open, bars.high, bars.low, bars.close, bars.volume, bars.wap)]
    counts = bars.count.astype("int64").tolist()
    for i, date in enumerate(dates):
        fields += [date, *(column[i] for column in columns), counts[i]]
    return fields


def historical_data_frame(req_id: int, bars: Bars, dates: list[str], start_text: str, end_text: str) -> bytes:
    """:func:`historical_data` already framed, formatted column by column (a year of minutes is ~100k bars)."""
    columns = [
        dates,
        *(map(repr, _clean(c)) for c in (bars.open, bars.high, bars.low, bars.close, bars.volume, bars.wap)),
        map(str, bars.count.astype("int64").tolist()),
    ]
    header = [str(int(Out.HISTORICAL_DATA)), str(req_id), start_text, end_text, str(len(bars))]
    body = "\0".join(itertools.chain(header, itertools.chain.from_iterable(zip(*columns, strict=True))))
    data = body.encode() + b"\0"
    return struct.pack(">I", len(data)) + data


def historical_update(req_id: int, bars: Bars, i: int, date: str) -> list[Any]:
    """``historicalDataUpdate`` (90): barCount, date, open, CLOSE, high, low, WAP, volume (IB's order)."""
    return [
        Out.HISTORICAL_DATA_UPDATE, req_id, int(bars.count[i]), date, float(bars.open[i]), float(bars.close[i]),
        float(bars.high[i]), float(bars.low[i]), float(bars.wap[i]), float(bars.volume[i]),
    ]  # fmt: skip
