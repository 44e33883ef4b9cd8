"""Contract details' ``tradingHours`` and ``liquidHours`` in IB's text format, from :mod:`sdk.calendars`.

IB's format (TWS 970 and later; ib_async ``ContractDetails._parseSessions`` reads it)::

    20240721:CLOSED;20240722:0930-20240722:1600;20240723:0930-20240723:1600

times in the contract's ``timeZoneId``, one entry per day from the current day. This gateway
simulates regular trading hours only (ASX 10:00-16:00 Sydney, NYSE 09:30-16:00 New York, IDEALPRO
17:00-17:00 New York, holidays and early closes from ``exchange_calendars``), so ``tradingHours``
and ``liquidHours`` are the same sessions: the hours in which its orders can fill.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sdk.calendars import Session, get_calendar

__all__ = ["IB_TIME_ZONE_IDS", "ib_hours"]

#: The ``timeZoneId`` IB gives contracts of each market.
IB_TIME_ZONE_IDS: dict[str, str] = {"ASX": "Australia/NSW", "NYSE": "US/Eastern", "FX": "US/Eastern"}


def _stamp(ts: datetime, tz: ZoneInfo) -> str:
    return ts.astimezone(tz).strftime("%Y%m%d:%H%M")


def ib_hours(market: str, around: datetime, days: int = 7) -> str:
    """``days`` days of sessions of ``market`` (``ASX``, ``NYSE``, ``FX``) from the day of ``around``.

    Raises:
        ValueError: an unknown market.
    """
    calendar = get_calendar(market)
    tz = ZoneInfo(IB_TIME_ZONE_IDS[market])
    first = around.astimezone(tz).date()
    start = datetime.combine(first - timedelta(days=1), datetime.min.time(), tz)
    end = datetime.combine(first + timedelta(days=days + 1), datetime.min.time(), tz)
    by_day: dict[str, Session] = {}
    for session in calendar.sessions(start, end):
        by_day[session.day.strftime("%Y%m%d")] = session
    parts = []
    for offset in range(days):
        day = (first + timedelta(days=offset)).strftime("%Y%m%d")
        found = by_day.get(day)
        if found is None:
            parts.append(f"{day}:CLOSED")
        else:
            parts.append(f"{_stamp(found.open, tz)}-{_stamp(found.close, tz)}")
    return ";".join(parts)
