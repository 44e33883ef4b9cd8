"""Real AUD/USD closes through ``sdk.data``'s catalog of ``../shared/data/fx``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sdk.costs import FxRate
from sdk.data import load_catalog


@pytest.fixture(scope="session")
def usd_to_aud(shared_data: Path) -> Callable[[str], FxRate]:
    """``usd_to_aud("2025-06-03")``: USD -> AUD at that IDEALPRO session's real AUD/USD close."""
    bars = load_catalog(shared_data / "fx").bars("AUD/USD", "1D")

    def rate(day: str) -> FxRate:
        close = Decimal(str(bars[bars["session"].astype(str) == day]["close"].iloc[0]))
        as_of = datetime.fromisoformat(day).replace(hour=17, tzinfo=ZoneInfo("America/New_York"))
        return FxRate.from_quote(
            "AUD", "USD", close, base="AUD", source=f"fx/AUDUSD_daily.csv close {day}", as_of=as_of
        )

    return rate
