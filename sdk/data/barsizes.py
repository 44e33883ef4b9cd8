"""Bar sizes: IB's ``barSizeSetting`` set, pandas-style labels, and parsing either spelling.

IB's set (TWS API "Historical Bar Data", valid bar sizes): 1, 5, 10, 15, 30 secs; 1, 2, 3, 5, 10,
15, 20, 30 mins; 1, 2, 3, 4, 8 hours; 1 day; 1 week; 1 month. The catalog labels them pandas-style:
``1s 5s 10s 15s 30s 1min 2min 3min 5min 10min 15min 20min 30min 1h 2h 3h 4h 8h 1D 1W 1M``
(``1M`` is one month; minutes are always ``min``).

A bar size is a different concept from a ccxt timeframe (:mod:`sdk.timeframes`): it is one of IB's
``barSizeSetting`` values with the catalog's pandas-style label, and the catalog, the resampler and the offline
gateway key their data by it. Each bar size names its ccxt timeframe (``5min`` <-> ``5m``, ``1D`` <-> ``1d``)
and takes its length from the one timeframe table, so there is one length per concept (a month 30 days,
for ordering and planning only).

Each bar size also carries the longest span one ``reqHistoricalData`` may cover with it (IB "Historical Bar
Data", valid duration and bar size settings,
https://interactivebrokers.github.io/tws-api/historical_bars.html; ``../shared/docs/ib-reference.md``):

=========  ==========================  ==========================
duration   bar sizes it allows         so the longest span of
=========  ==========================  ==========================
1800 S     1 secs - 30 mins            1 secs
3600 S     5 secs - 1 hour             5 secs
14400 S    10 secs - 3 hours           10, 15 secs
28800 S    30 secs - 8 hours           30 secs
1 D        1 min - 1 day               1 min
2 D        2 mins - 1 day              2 mins
1 W        3 mins - 1 week             3 - 20 mins
1 M        30 mins - 1 month           30 mins - 8 hours (30 days)
1 Y        1 day - 1 month             1 day, 1 week, 1 month (365 days)
=========  ==========================  ==========================

It is the one table of these spans: the IB venue chunks its requests by it and the offline gateway refuses
(162 "Time length exceed max.") what exceeds it. IB's "1 M" is a calendar month (28 to 31 days); it is
counted as the timeframe table's month, 30 days, on both sides (the venue never asks for more than
``30 D``, and the gateway counts a requested ``N M`` as N x 30 days).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sdk.timeframes import TIMEFRAME_SECONDS

__all__ = ["BAR_SIZES", "BarSize", "parse_bar_size"]


@dataclass(frozen=True, order=True, slots=True)
class BarSize:
    """One bar size. ``seconds``: its length from :data:`sdk.timeframes.TIMEFRAME_SECONDS` (a week is 7
    days, a month 30 days, for ordering only); ``label``: the pandas-style name (``"5min"``); ``ib``: IB's
    ``barSizeSetting`` (``"5 mins"``); ``timeframe``: the ccxt timeframe (``"5m"``); ``max_request_seconds``:
    the longest span one ``reqHistoricalData`` may cover with this bar size (module docstring).
    """

    seconds: int
    label: str
    ib: str
    timeframe: str
    max_request_seconds: int

    @property
    def intraday(self) -> bool:
        """Shorter than a day: bars aligned on the clock, not on sessions."""
        return self.seconds < TIMEFRAME_SECONDS["1d"]

    @property
    def timedelta(self) -> timedelta:
        """The bar's length (only exact for intraday sizes and ``1D`` sessions of 24 h)."""
        return timedelta(seconds=self.seconds)

    def __str__(self) -> str:
        return self.label


_DAY: Final = TIMEFRAME_SECONDS["1d"]
_MONTH: Final = TIMEFRAME_SECONDS["1M"]
_YEAR: Final = 365 * _DAY


def _make(timeframe: str, label: str, ib: str, max_request_seconds: int) -> BarSize:
    return BarSize(TIMEFRAME_SECONDS[timeframe], label, ib, timeframe, max_request_seconds)


#: Every bar size IB serves, finest first, keyed by label.
BAR_SIZES: Final[dict[str, BarSize]] = {
    b.label: b
    for b in (
        _make("1s", "1s", "1 secs", 1800),
        _make("5s", "5s", "5 secs", 3600),
        _make("10s", "10s", "10 secs", 14_400),
        _make("15s", "15s", "15 secs", 14_400),
        _make("30s", "30s", "30 secs", 28_800),
        _make("1m", "1min", "1 min", _DAY),
        _make("2m", "2min", "2 mins", 2 * _DAY),
        _make("3m", "3min", "3 mins", 7 * _DAY),
        _make("5m", "5min", "5 mins", 7 * _DAY),
        _make("10m", "10min", "10 mins", 7 * _DAY),
        _make("15m", "15min", "15 mins", 7 * _DAY),
        _make("20m", "20min", "20 mins", 7 * _DAY),
        _make("30m", "30min", "30 mins", _MONTH),
        _make("1h", "1h", "1 hour", _MONTH),
        _make("2h", "2h", "2 hours", _MONTH),
        _make("3h", "3h", "3 hours", _MONTH),
        _make("4h", "4h", "4 hours", _MONTH),
        _make("8h", "8h", "8 hours", _MONTH),
        _make("1d", "1D", "1 day", _YEAR),
        _make("1w", "1W", "1 week", _YEAR),
        _make("1M", "1M", "1 month", _YEAR),
    )
}

#: A unit as written (lower-cased) -> the label's unit.
_UNITS: Final[dict[str, str]] = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "min", "mins": "min", "minute": "min", "minutes": "min", "t": "min",
    "h": "h", "hour": "h", "hours": "h",
    "d": "D", "day": "D", "days": "D",
    "w": "W", "week": "W", "weeks": "W",
    "mo": "M", "month": "M", "months": "M",
}  # fmt: skip
_PATTERN = re.compile(r"^\s*(\d+)?\s*([A-Za-z]+)\s*$")


def parse_bar_size(text: str | BarSize) -> BarSize:
    """Parse IB's spelling (``"5 mins"``, ``"1 day"``) or a label (``"5min"``, ``"1h"``, ``"1D"``).

    ``M`` alone means month (IB's and pandas' sense); minutes are ``min``/``mins``.

    Raises:
        ValueError: not one of IB's bar sizes; the message lists them.
    """
    if isinstance(text, BarSize):
        return text
    match = _PATTERN.match(text) if isinstance(text, str) else None
    if match is not None:
        count, unit = int(match[1] or 1), match[2]
        # Upper-case M is a month (IB "1 M", pandas "1ME"/"1MS"); a lone lower-case m is ambiguous.
        suffix = "M" if unit in ("M", "ME", "MS") else _UNITS.get(unit.lower())
        if suffix is not None and unit != "m":
            label = f"{count}{suffix}"
            if label in BAR_SIZES:
                return BAR_SIZES[label]
    allowed = ", ".join(f"{b.label} ({b.ib})" for b in BAR_SIZES.values())
    raise ValueError(f"{text!r} is not an IB bar size; use one of: {allowed}")
