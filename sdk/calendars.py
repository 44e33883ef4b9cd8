"""Market hours for ASX, NYSE and IDEALPRO FX: is it open, which session, when is the next one.

* ASX and NYSE come from ``exchange_calendars`` ("XASX", "XNYS"): holidays and early closes included
  (ASX closes at 14:10 Sydney on Christmas Eve and New Year's Eve business days; NYSE at 13:00 New York
  on its half days). Sessions are continuous trading: ASX 10:00-16:00 Sydney, NYSE 09:30-16:00 New York.
* FX (IDEALPRO) trades 24/5: from Sunday 17:00 New York to Friday 17:00 New York. Each FX session runs
  17:00 to 17:00 New York and is named after the day it closes on, as IB's daily FX bars are.

Every time here is a timezone-aware ``datetime``; sessions are returned in UTC. Calendars are built
on first use (``exchange_calendars`` takes a moment) and cached for the process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np

__all__ = [
    "MARKETS",
    "ExchangeSessions",
    "FxSessions",
    "MarketCalendar",
    "Session",
    "get_calendar",
    "market_for",
    "market_status",
]

NEW_YORK = ZoneInfo("America/New_York")
#: Market name -> (exchange_calendars code or None for FX, time zone name).
MARKETS: dict[str, tuple[str | None, str]] = {
    "ASX": ("XASX", "Australia/Sydney"),
    "NYSE": ("XNYS", "America/New_York"),
    "FX": (None, "America/New_York"),
}
_CALENDAR_START = "1990-01-01"


@dataclass(frozen=True, slots=True)
class Session:
    """One trading session: ``open`` <= t < ``close`` (UTC); ``day`` is the session's trading date."""

    market: str
    day: date
    open: datetime
    close: datetime

    def contains(self, ts: datetime) -> bool:
        return self.open <= ts < self.close


class MarketCalendar(Protocol):
    """What the SDK asks of a market's calendar."""

    name: str
    tz: ZoneInfo

    def session_at(self, ts: datetime) -> Session | None:
        """The session open at ``ts``, or None when the market is closed then."""

    def next_session(self, ts: datetime) -> Session:
        """The session open at ``ts`` if any, else the next one to open."""

    def sessions(self, start: datetime, end: datetime) -> list[Session]:
        """Sessions overlapping ``[start, end)``, oldest first."""

    def is_open(self, ts: datetime) -> bool:
        """True when the market trades at ``ts``."""


def _require_aware(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {ts.isoformat()}")
    return ts.astimezone(UTC)


def _ns(ts: datetime) -> int:
    return int(ts.timestamp() * 1_000_000) * 1000


class ExchangeSessions:
    """Sessions of an exchange from ``exchange_calendars``, searchable in O(log n)."""

    def __init__(self, name: str, code: str, tz: str) -> None:
        import exchange_calendars

        self.name = name
        self.tz = ZoneInfo(tz)
        calendar = exchange_calendars.get_calendar(code, start=_CALENDAR_START)
        schedule = calendar.schedule
        self._days = [d.date() for d in schedule.index]
        self._opens = schedule["open"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        self._closes = schedule["close"].to_numpy(dtype="datetime64[ns]").astype(np.int64)

    def _session(self, i: int) -> Session:
        return Session(
            self.name,
            self._days[i],
            datetime.fromtimestamp(self._opens[i] / 1e9, UTC),
            datetime.fromtimestamp(self._closes[i] / 1e9, UTC),
        )

    def session_at(self, ts: datetime) -> Session | None:
        t = _ns(_require_aware(ts))
        i = int(np.searchsorted(self._opens, t, side="right")) - 1
        if i >= 0 and t < self._closes[i]:
            return self._session(i)
        return None

    def next_session(self, ts: datetime) -> Session:
        t = _ns(_require_aware(ts))
        i = int(np.searchsorted(self._closes, t, side="right"))
        if i >= len(self._days):
            raise ValueError(f"{self.name}: no session known after {ts.isoformat()} (calendar ends)")
        return self._session(i)

    def sessions(self, start: datetime, end: datetime) -> list[Session]:
        lo = int(np.searchsorted(self._closes, _ns(_require_aware(start)), side="right"))
        hi = int(np.searchsorted(self._opens, _ns(_require_aware(end)), side="left"))
        return [self._session(i) for i in range(lo, hi)]

    def is_open(self, ts: datetime) -> bool:
        return self.session_at(ts) is not None


class FxSessions:
    """IDEALPRO's 24/5 week: sessions 17:00-17:00 New York, Monday to Friday closes."""

    name = "FX"
    tz = NEW_YORK

    def _session_closing_on(self, day: date) -> Session:
        close = datetime.combine(day, time(17), NEW_YORK)
        open_ = datetime.combine(day - timedelta(days=1), time(17), NEW_YORK)
        return Session(self.name, day, open_.astimezone(UTC), close.astimezone(UTC))

    def _closing_day(self, ts: datetime) -> date:
        local = _require_aware(ts).astimezone(NEW_YORK)
        return local.date() + timedelta(days=1) if local.time() >= time(17) else local.date()

    def session_at(self, ts: datetime) -> Session | None:
        day = self._closing_day(ts)
        return self._session_closing_on(day) if day.weekday() < 5 else None

    def next_session(self, ts: datetime) -> Session:
        day = self._closing_day(ts)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return self._session_closing_on(day)

    def sessions(self, start: datetime, end: datetime) -> list[Session]:
        result: list[Session] = []
        day = self._closing_day(start)
        end_utc = _require_aware(end)
        while True:
            if day.weekday() < 5:
                session = self._session_closing_on(day)
                if session.open >= end_utc:
                    break
                result.append(session)
            day += timedelta(days=1)
            if datetime.combine(day - timedelta(days=1), time(17), NEW_YORK) >= end_utc:
                break
        return result

    def is_open(self, ts: datetime) -> bool:
        return self.session_at(ts) is not None


@functools.cache
def get_calendar(market: str) -> MarketCalendar:
    """The calendar of ``"ASX"``, ``"NYSE"`` or ``"FX"`` (built once per process).

    Raises:
        ValueError: an unknown market name.
    """
    if market not in MARKETS:
        raise ValueError(f"unknown market {market!r}; known: {', '.join(MARKETS)}")
    code, tz = MARKETS[market]
    return FxSessions() if code is None else ExchangeSessions(market, code, tz)


def market_for(sec_type: str, currency: str, primary_exchange: str = "") -> str:
    """Which market's hours govern an instrument: FX for ``CASH``, ASX for AUD stocks, NYSE for USD ones.

    Raises:
        ValueError: no calendar for the instrument.
    """
    if sec_type == "CASH":
        return "FX"
    if currency == "AUD" or primary_exchange == "ASX":
        return "ASX"
    if currency == "USD":
        return "NYSE"
    raise ValueError(f"no market calendar for secType={sec_type} currency={currency}")


def market_status(now: datetime, markets: tuple[str, ...] = ("ASX", "NYSE", "FX")) -> dict[str, dict[str, object]]:
    """For each market: ``{"open": bool, "session": Session | None, "next_session": Session}`` at ``now``.

    ``next_session`` is the session after the current one when open, else the next to open.
    """
    status: dict[str, dict[str, object]] = {}
    for market in markets:
        calendar = get_calendar(market)
        current = calendar.session_at(now)
        upcoming = calendar.next_session(current.close if current else now)
        status[market] = {"open": current is not None, "session": current, "next_session": upcoming}
    return status
