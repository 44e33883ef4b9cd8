"""Market-data figures: catalog scan, one year of 1-minute bars (cold from Parquet, then in memory),
resampling, and the intraday paths the offline gateway streams for 500 symbols.

The one-year figures use the synthetic universe written to a temporary Parquet cache (the real data
holds no full year of 1-minute bars); the scan and path figures use ../shared/data when present.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data"))


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _figure(name: str, seconds: float, target: str | None) -> dict[str, Any]:
    return {"name": name, "value": round(seconds, 4), "unit": "s", "target": target}


def figures() -> list[dict[str, Any]]:
    from sdk.data import load_catalog

    logging.getLogger("sdk.data").setLevel(logging.ERROR)
    out: list[dict[str, Any]] = []
    end = date(2025, 6, 30)
    year_start = datetime(2024, 7, 1, tzinfo=UTC)
    year_end = datetime(2025, 7, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "synthetic"
        load_catalog(None, synthetic_start=date(2024, 7, 1), synthetic_end=end).write_cache(cache)
        catalog = load_catalog(cache)  # the cache dropped in as a data directory
        cold, bars = _timed(lambda: catalog.bars("SPY/USD", "1 min", year_start, year_end))
        warm, _ = _timed(lambda: catalog.bars("SPY/USD", "1 min", year_start, year_end))
        five, _ = _timed(lambda: catalog.bars("SPY/USD", "5 mins", year_start, year_end))
        daily, _ = _timed(lambda: catalog.bars("SPY/USD", "1 day", year_start, year_end))
        out += [
            _figure("data.hist_1y_1min_load_seconds_cold", cold, "< 1"),
            _figure("data.hist_1y_1min_load_seconds_cached", warm, "< 1"),
            _figure("data.hist_1y_5min_resample_seconds", five, "< 1"),
            _figure("data.hist_1y_daily_from_1min_seconds", daily, "< 1"),
            {"name": "data.hist_1y_1min_rows", "value": len(bars), "unit": "bars", "target": None},
        ]
    if (SHARED_DATA / "README.md").is_file():
        load_catalog(SHARED_DATA)  # imports and calendars warm
        scan, real = _timed(lambda: load_catalog(SHARED_DATA))
        out.append(_figure("data.catalog_scan_seconds", scan, "< 2"))
        spy, _ = _timed(lambda: real.native("SPY/USD", "1min"))  # three CSV files, parsed once
        out.append(_figure("data.real_spy_1min_parse_seconds", spy, "< 1"))
        with tempfile.TemporaryDirectory() as tmp:
            real.write_cache(Path(tmp))
            cached_scan, _ = _timed(lambda: load_catalog(SHARED_DATA, cache_dir=Path(tmp)))
        out.append(_figure("data.catalog_scan_cached_seconds", cached_scan, "< 2"))
        symbols = [s for s, i in real.instruments.items() if i.daily_only and i.market == "NYSE"][:500]
        opening = datetime(2019, 4, 1, 13, 30, tzinfo=UTC)
        for s in symbols:  # per-symbol path sources are built once, as the gateway warms up
            real.path(s, opening, opening + timedelta(seconds=1), timedelta(seconds=1))
        minute, _ = _timed(
            lambda: [real.path(s, opening, opening + timedelta(minutes=1), timedelta(seconds=1)) for s in symbols]
        )
        out.append(_figure(f"data.path_{len(symbols)}_symbols_1min_of_1s_ticks_seconds", minute, "< 1"))
    return out


if __name__ == "__main__":
    for figure in figures():
        print(figure)
