"""The IB venue's chunking and the offline gateway's limit agree on every bar size (one table of spans)."""

from __future__ import annotations

import pytest

from sdk.data import BAR_SIZES
from sdk.data.barsizes import BarSize
from sdk.gateway.historical import HistoricalError, check_duration, parse_duration
from sdk.venues.ib.timeframes import MAX_DURATION_SECONDS, bar_size_for, plan_chunks

_DAY = 86_400
_SINCE_MS = 1_709_251_200_000  # 2024-03-01 00:00 UTC


def _accepted(size: BarSize, duration: str) -> bool:
    try:
        check_duration(size, *parse_duration(duration))
    except HistoricalError as exc:
        assert exc.code == 162 and "Time length exceed max" in exc.detail
        return False
    return True


@pytest.mark.parametrize("size", list(BAR_SIZES.values()), ids=lambda s: s.label)
def test_the_venues_chunks_are_what_the_gateway_accepts_and_no_more(size: BarSize) -> None:
    assert bar_size_for(size.timeframe) == size.ib
    longest = MAX_DURATION_SECONDS[size.timeframe]
    chunks = plan_chunks(size.timeframe, _SINCE_MS, _SINCE_MS + 3 * longest * 1000)
    assert len(chunks) >= 3
    assert max(c.end_ms - c.start_ms for c in chunks) == longest * 1000  # the venue uses the whole span
    for chunk in chunks:
        assert _accepted(size, chunk.duration), (size.label, chunk.duration)
    over = f"{longest + 1} S" if longest < _DAY else f"{longest // _DAY + 1} D"
    assert not _accepted(size, over), (size.label, over)


def test_ibs_own_spellings_of_the_longest_spans_are_accepted() -> None:
    """IB's table states the spans as 1 D, 2 D, 1 W, 1 M and 1 Y; the gateway takes each at its limit."""
    for label, duration in [("1min", "1 D"), ("2min", "2 D"), ("20min", "1 W"), ("30min", "1 M"), ("8h", "1 M"),
                            ("1D", "1 Y"), ("1M", "1 Y")]:  # fmt: skip
        assert _accepted(BAR_SIZES[label], duration), (label, duration)
    assert not _accepted(BAR_SIZES["30min"], "31 D")  # a month counts 30 days, as the venue chunks
    assert not _accepted(BAR_SIZES["20min"], "2 W")
