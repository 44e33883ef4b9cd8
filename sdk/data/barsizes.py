"""Bar sizes: IB's ``barSizeSetting`` set, pandas-style labels, and parsing either spelling.

IB's set (TWS API "Historical Bar Data", valid bar sizes): 1, 5, 10, 15, 30 secs; 1, 2, 3, 5, 10,
15, 20, 30 mins; 1, 2, 3, 4, 8 hours; 1 day; 1 week; 1 month. The catalog labels them pandas-style:
``1s 5s 10s 15s 30s 1min 2min 3min 5min 10min 15min 20min 30min 1h 2h 3h 4h 8h 1D 1W 1M``
(``1M`` is one month; minutes are always ``min``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

__all__ = ["BAR_SIZES", "BarSize", "parse_bar_size"]


@dataclass(frozen=True, order=True, slots=True)
class BarSize:
    """One bar size. ``seconds``: its length (a week is 7 days, a month 31 days, for ordering only);
    ``label``: the pandas-style name (``"5min"``); ``ib``: IB's ``barSizeSetting`` (``"5 mins"``).
    """

    seconds: int
    label: str
    ib: str

    @property
    def intraday(self) -> bool:
        """Shorter than a day: bars aligned on the clock, not on sessions."""
        return self.seconds < 86_400

    @property
    def timedelta(self) -> timedelta:
        """The bar's length (only exact for intraday sizes and ``1D`` sessions of 24 h)."""
        return timedelta(seconds=self.seconds)

    def __str__(self) -> str:
        return self.label


def _make(seconds: int, label: str, ib: str) -> BarSize:
    return BarSize(seconds, label, ib)


#: Every bar size IB serves, finest first, keyed by label.
BAR_SIZES: Final[dict[str, BarSize]] = {
    b.label: b
    for b in (
        _make(1, "1s", "1 secs"),
        _make(5, "5s", "5 secs"),
        _make(10, "10s", "10 secs"),
        _make(15, "15s", "15 secs"),
        _make(30, "30s", "30 secs"),
        _make(60, "1min", "1 min"),
        _make(120, "2min", "2 mins"),
        _make(180, "3min", "3 mins"),
        _make(300, "5min", "5 mins"),
        _make(600, "10min", "10 mins"),
        _make(900, "15min", "15 mins"),
        _make(1200, "20min", "20 mins"),
        _make(1800, "30min", "30 mins"),
        _make(3600, "1h", "1 hour"),
        _make(7200, "2h", "2 hours"),
        _make(10800, "3h", "3 hours"),
        _make(14400, "4h", "4 hours"),
        _make(28800, "8h", "8 hours"),
        _make(86_400, "1D", "1 day"),
        _make(7 * 86_400, "1W", "1 week"),
        _make(31 * 86_400, "1M", "1 month"),
    )
}

_UNITS: Final[dict[str, tuple[int, str]]] = {
    "s": (1, "s"), "sec": (1, "s"), "secs": (1, "s"), "second": (1, "s"), "seconds": (1, "s"),
    "min": (60, "min"), "mins": (60, "min"), "minute": (60, "min"), "minutes": (60, "min"), "t": (60, "min"),
    "h": (3600, "h"), "hour": (3600, "h"), "hours": (3600, "h"),
    "d": (86_400, "D"), "day": (86_400, "D"), "days": (86_400, "D"),
    "w": (7 * 86_400, "W"), "week": (7 * 86_400, "W"), "weeks": (7 * 86_400, "W"),
    "mo": (31 * 86_400, "M"), "month": (31 * 86_400, "M"), "months": (31 * 86_400, "M"),
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
        unit_info = (31 * 86_400, "M") if unit in ("M", "ME", "MS") else _UNITS.get(unit.lower())
        if unit_info is not None and unit != "m":
            label = f"{count}{unit_info[1]}"
            if label in BAR_SIZES:
                return BAR_SIZES[label]
    allowed = ", ".join(f"{b.label} ({b.ib})" for b in BAR_SIZES.values())
    raise ValueError(f"{text!r} is not an IB bar size; use one of: {allowed}")
