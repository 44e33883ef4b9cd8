"""Helpers shared by the IB venue's tests (a module with a unique name, unlike ``conftest``)."""

from __future__ import annotations

from datetime import UTC, datetime

from support.waiting import eventually

from sdk.venues.ib.connection import Backoff

#: A Tuesday, 11:00 Sydney: ASX open, inside the real ASX daily, SPY daily and AUD/USD data.
ASX_OPEN = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)
#: 10:30 New York on a day with real SPY 1-minute bars (Polygon file, 2024-02-20..2024-05-17).
NYSE_OPEN_2024 = datetime(2024, 3, 1, 15, 30, tzinfo=UTC)
FAST_BACKOFF = Backoff(initial=0.05, maximum=0.3, jitter=0.05)


class PausedTime:
    """A simulated time source that only moves when advanced (the gateway's clock at speed 0)."""

    speed = 0.0

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def timestamp(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


#: ``from ib_support import wait_for`` keeps working for tests written before the shared plugin; it is
#: :func:`support.waiting.eventually` (new tests import that).
wait_for = eventually
