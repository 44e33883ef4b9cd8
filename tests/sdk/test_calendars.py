"""Market hours: ASX and NYSE from exchange_calendars (holidays, early closes), FX 24/5 from Sunday 17:00 NY."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from sdk.calendars import get_calendar, market_for, market_status

SYDNEY = ZoneInfo("Australia/Sydney")
NEW_YORK = ZoneInfo("America/New_York")


def test_asx_continuous_session_in_sydney_time() -> None:
    asx = get_calendar("ASX")
    assert asx.is_open(datetime(2025, 11, 24, 10, 0, tzinfo=SYDNEY))
    assert asx.is_open(datetime(2025, 11, 24, 15, 59, tzinfo=SYDNEY))
    assert not asx.is_open(datetime(2025, 11, 24, 16, 0, tzinfo=SYDNEY))
    assert not asx.is_open(datetime(2025, 11, 24, 9, 59, tzinfo=SYDNEY))
    assert not asx.is_open(datetime(2025, 11, 22, 12, 0, tzinfo=SYDNEY)), "Saturday"


def test_asx_christmas_eve_closes_early_and_christmas_is_shut() -> None:
    asx = get_calendar("ASX")
    session = asx.session_at(datetime(2025, 12, 24, 12, 0, tzinfo=SYDNEY))
    assert session is not None and session.close.astimezone(SYDNEY).strftime("%H:%M") == "14:10"
    assert not asx.is_open(datetime(2025, 12, 25, 12, 0, tzinfo=SYDNEY))
    nxt = asx.next_session(datetime(2025, 12, 24, 15, 0, tzinfo=SYDNEY))
    assert nxt.day == date(2025, 12, 29), "Boxing Day and the weekend are skipped"


def test_nyse_thanksgiving_friday_half_day() -> None:
    nyse = get_calendar("NYSE")
    session = nyse.session_at(datetime(2025, 11, 28, 12, 0, tzinfo=NEW_YORK))
    assert session is not None and session.close.astimezone(NEW_YORK).hour == 13
    assert not nyse.is_open(datetime(2025, 11, 27, 12, 0, tzinfo=NEW_YORK))


def test_fx_week_runs_sunday_17_to_friday_17_new_york() -> None:
    fx = get_calendar("FX")
    assert not fx.is_open(datetime(2025, 11, 23, 16, 59, tzinfo=NEW_YORK))  # Sunday before the open
    assert fx.is_open(datetime(2025, 11, 23, 17, 0, tzinfo=NEW_YORK))
    assert fx.is_open(datetime(2025, 11, 26, 3, 0, tzinfo=NEW_YORK))
    assert fx.is_open(datetime(2025, 11, 28, 16, 59, tzinfo=NEW_YORK))
    assert not fx.is_open(datetime(2025, 11, 28, 17, 0, tzinfo=NEW_YORK))  # Friday close
    assert not fx.is_open(datetime(2025, 11, 29, 12, 0, tzinfo=NEW_YORK))
    session = fx.session_at(datetime(2025, 11, 24, 20, 0, tzinfo=NEW_YORK))
    assert session is not None and session.day == date(2025, 11, 25), "named after the day it closes"


def test_sessions_in_a_range() -> None:
    start, end = datetime(2025, 11, 24, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC)
    assert len(get_calendar("NYSE").sessions(start, end)) == 4  # Thanksgiving shut
    fx = get_calendar("FX").sessions(start, end)
    assert [s.day.isoformat() for s in fx] == [
        "2025-11-24",
        "2025-11-25",
        "2025-11-26",
        "2025-11-27",
        "2025-11-28",
        "2025-12-01",  # opens Sunday 30th 17:00 New York, inside the range
    ]


def test_market_for_instruments_and_status() -> None:
    assert (
        market_for("STK", "AUD") == "ASX" and market_for("STK", "USD") == "NYSE" and market_for("CASH", "USD") == "FX"
    )
    with pytest.raises(ValueError, match="no market calendar"):
        market_for("STK", "EUR")
    status = market_status(datetime(2025, 11, 24, 11, 0, tzinfo=SYDNEY))
    assert status["ASX"]["open"] is True and status["NYSE"]["open"] is False


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        get_calendar("ASX").is_open(datetime(2025, 11, 24, 11, 0))
