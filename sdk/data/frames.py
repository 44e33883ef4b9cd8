"""The normalised bar frame every loader returns, and the market-hours facts loaders need.

A normalised frame is a ``pandas.DataFrame`` with:

* a ``DatetimeIndex`` named ``time``: ``datetime64[ns, UTC]``, sorted, unique, the bar's **start**
  (for a daily bar: the session's open in UTC, e.g. ASX 10:00 Sydney, NYSE 09:30 New York, FX 17:00
  New York on the day before the FX day);
* float64 columns ``open, high, low, close, volume`` (prices in the quote currency; volume in shares,
  index points have no volume and carry NaN, FX volume is whatever the vendor wrote, usually 0);
* optionally float64 ``wap`` (volume-weighted average price, IB's ``average``) and ``bar_count``
  (number of trades).

Rows with a missing open/high/low/close are dropped; ``high`` is raised to ``max(open, close)`` and
``low`` lowered to ``min(open, close)`` where a vendor's rounding left them inside the body (Yahoo's
dividend-adjusted files do this), so every bar's path can touch its own open, high, low and close.
"""

from __future__ import annotations

import logging
from datetime import time
from typing import Final

import numpy as np
import pandas as pd

__all__ = [
    "OPTIONAL_COLUMNS",
    "PRICE_COLUMNS",
    "REGULAR_HOURS",
    "TIME_ZONES",
    "normalise",
    "session_dates",
    "session_opens",
]

log = logging.getLogger(__name__)

PRICE_COLUMNS: Final = ("open", "high", "low", "close", "volume")
OPTIONAL_COLUMNS: Final = ("wap", "bar_count")

#: Market -> IANA time zone (as :data:`sdk.calendars.MARKETS`).
TIME_ZONES: Final[dict[str, str]] = {"ASX": "Australia/Sydney", "NYSE": "America/New_York", "FX": "America/New_York"}

#: Market -> regular continuous-trading hours, local time (``sdk.calendars``: ASX 10:00-16:00 Sydney,
#: NYSE 09:30-16:00 New York; FX 17:00-17:00 New York, the session named for the day it closes on).
#: Session opens never move on early-close days, so a daily bar's start needs no calendar.
REGULAR_HOURS: Final[dict[str, tuple[time, time]]] = {
    "ASX": (time(10, 0), time(16, 0)),
    "NYSE": (time(9, 30), time(16, 0)),
    "FX": (time(17, 0), time(17, 0)),
}


def normalise(frame: pd.DataFrame, *, source: str = "") -> pd.DataFrame:
    """Bring a frame with a UTC ``DatetimeIndex`` and the price columns into the normalised shape.

    Keeps ``open, high, low, close, volume`` and any of ``wap, bar_count`` present, as float64;
    sorts by time, drops rows without a full OHLC, keeps the last of duplicated times, and widens
    high/low to contain open and close (see the module docstring).

    Raises:
        ValueError: the index is not a timezone-aware DatetimeIndex, or a price column is missing.
    """
    if not isinstance(frame.index, pd.DatetimeIndex) or frame.index.tz is None:
        raise ValueError(f"{source or 'frame'}: the index must be a timezone-aware DatetimeIndex")
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{source or 'frame'}: missing column(s) {', '.join(missing)}")
    columns = [*PRICE_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in frame.columns)]
    out = frame[columns].astype("float64")
    out.index = frame.index.tz_convert("UTC").as_unit("ns").rename("time")
    out = out.dropna(subset=["open", "high", "low", "close"])
    if not out.index.is_monotonic_increasing:
        out = out.sort_index(kind="stable")
    if out.index.has_duplicates:
        out = out[~out.index.duplicated(keep="last")]
    body_high = np.maximum(out["open"].to_numpy(), out["close"].to_numpy())
    body_low = np.minimum(out["open"].to_numpy(), out["close"].to_numpy())
    high, low = out["high"].to_numpy(), out["low"].to_numpy()
    fixed = int(np.count_nonzero(high < body_high) + np.count_nonzero(low > body_low))
    if fixed:
        log.debug("%s: widened high/low of %d bar(s) to contain open and close", source or "frame", fixed)
        out["high"] = np.maximum(high, body_high)
        out["low"] = np.minimum(low, body_low)
    return out


def session_opens(days: pd.DatetimeIndex | pd.Series, market: str) -> pd.DatetimeIndex:
    """The UTC open of each trading day's session (``days``: dates, any time of day is ignored).

    ASX: 10:00 Australia/Sydney; NYSE: 09:30 America/New_York; FX: 17:00 America/New_York on the
    calendar day before (IB's FX day closes at 17:00 New York and is named for its closing day).
    """
    local_days = pd.DatetimeIndex(days)
    if local_days.tz is not None:
        local_days = local_days.tz_localize(None)
    local_days = local_days.normalize()
    open_time = REGULAR_HOURS[market][0]
    offset = pd.Timedelta(hours=open_time.hour, minutes=open_time.minute)
    if market == "FX":
        offset -= pd.Timedelta(days=1)
    wall = local_days + offset
    return wall.tz_localize(TIME_ZONES[market]).tz_convert("UTC").as_unit("ns").rename("time")


def session_dates(opens: pd.DatetimeIndex, market: str) -> np.ndarray:
    """Inverse of :func:`session_opens`: the trading date (``datetime.date`` objects) of each open."""
    local = opens.tz_convert(TIME_ZONES[market]).tz_localize(None).normalize()
    if market == "FX":
        local = local + pd.Timedelta(days=1)
    return np.asarray(local.date, dtype=object)
