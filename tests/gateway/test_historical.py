"""Historical bars: real bars, every bar size, no future bars, IB's limits, pacing, keepUpToDate."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from ib_async import Forex, Stock
from support.waiting import round_trip

from sdk.data import BAR_SIZES
from sdk.data.barsizes import parse_bar_size
from sdk.gateway import OfflineGateway
from sdk.gateway.bar_cache import BarCache
from sdk.ticks import US_EQUITY

from .conftest import ASX_OPEN_2025, SPY_MINUTES_2024


def _errors(ib: Any) -> list[tuple[int, str]]:
    seen: list[tuple[int, str]] = []
    ib.errorEvent += lambda req_id, code, msg, contract: seen.append((code, msg))
    return seen


async def test_daily_bars_are_the_real_bars_up_to_now(gateway: OfflineGateway, connect: Any, catalog: Any) -> None:
    ib = await connect(gateway)
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    bars = await ib.reqHistoricalDataAsync(bhp, "", "1 M", "1 day", "TRADES", True)
    real = catalog.bars("BHP/AUD", "1 day", ASX_OPEN_2025 - timedelta(days=40), ASX_OPEN_2025)
    by_day = {row.session: row for row in real.itertuples()}
    completed = bars[:-1]
    assert len(completed) >= 19
    for bar in completed:
        row = by_day[bar.date]
        assert bar.close == round(row.close, 2) and bar.high == round(row.high, 2) and bar.volume == row.volume
    today = bars[-1]  # the session in progress: from its open to now only
    assert today.date == datetime(2025, 3, 4).date()
    full_day = catalog.bars("BHP/AUD", "1 day", ASX_OPEN_2025 - timedelta(days=1), ASX_OPEN_2025 + timedelta(days=1))
    [whole] = [row for row in full_day.itertuples() if row.session == today.date]  # the data has the whole day
    assert 0 < today.volume < whole.volume
    ended = await ib.reqHistoricalDataAsync(bhp, "20250301 00:00:00 UTC", "5 D", "1 day", "TRADES", True)
    assert ended[-1].date < datetime(2025, 3, 1).date()


async def test_minute_bars_of_spy_are_the_real_polygon_bars(make_gateway: Any, connect: Any, catalog: Any) -> None:
    gw = await make_gateway(start=SPY_MINUTES_2024)
    ib = await connect(gw)
    [spy] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
    bars = await ib.reqHistoricalDataAsync(spy, "", "3600 S", "1 min", "TRADES", True, formatDate=2)
    real = catalog.bars("SPY/USD", "1 min", SPY_MINUTES_2024 - timedelta(hours=1), SPY_MINUTES_2024)
    assert len(bars) == 60 == len(real)
    for bar, row in zip(bars, real.itertuples(), strict=True):
        assert bar.date == row.Index.to_pydatetime()
        on_ladder = [
            float(US_EQUITY.round(Decimal(repr(float(p))), "nearest")) for p in (row.open, row.high, row.low, row.close)
        ]
        assert [bar.open, bar.high, bar.low, bar.close] == on_ladder  # Polygon's sub-penny prints, on IB's ladder
        assert bar.volume == row.volume
        assert bar.average == pytest.approx(row.wap) and bar.barCount == row.bar_count
    assert bars[-1].date < SPY_MINUTES_2024  # nothing from the future


async def test_every_bar_size_and_what_to_show_is_served(make_gateway: Any, connect: Any) -> None:
    gw = await make_gateway(start=SPY_MINUTES_2024 + timedelta(hours=4), pacing=False)
    ib = await connect(gw)
    [spy] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
    for size in BAR_SIZES.values():
        seconds = min(size.max_request_seconds, 365 * 86400)
        duration = f"{seconds} S" if seconds <= 86400 else f"{seconds // 86400} D" if size.intraday else "1 Y"
        bars = await ib.reqHistoricalDataAsync(spy, "", duration, size.ib, "TRADES", True, formatDate=2)
        assert len(bars) > 0, size.ib
        if size.intraday:  # IB's alignment: clock boundaries in New York, or the session's open
            local = bars[-1].date.astimezone(ZoneInfo("America/New_York"))
            into = local.hour * 3600 + local.minute * 60 + local.second
            assert into % size.seconds == 0 or (local.hour, local.minute) == (9, 30), (size.ib, local)
    kinds = {}
    for what in ("TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK"):
        kinds[what] = await ib.reqHistoricalDataAsync(spy, "", "1800 S", "5 mins", what, True)
    for trade, bid, ask, mid in zip(kinds["TRADES"], kinds["BID"], kinds["ASK"], kinds["MIDPOINT"], strict=True):
        assert bid.close < ask.close and bid.close < mid.close < ask.close
        assert US_EQUITY.is_on_ladder(Decimal(str(bid.close))) and bid.volume == -1
        assert abs(trade.close - mid.close) < 0.02
    assert all(b.high >= b.low for b in kinds["BID_ASK"])


async def test_fx_has_no_trades_and_durations_over_ibs_maximum_get_162(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    errors = _errors(ib)
    [aud, bhp] = await ib.qualifyContractsAsync(Forex("AUDUSD"), Stock("BHP", "ASX", "AUD"))
    assert list(await ib.reqHistoricalDataAsync(aud, "", "1 D", "1 hour", "TRADES", True)) == []
    assert len(await ib.reqHistoricalDataAsync(aud, "", "1 D", "1 hour", "MIDPOINT", False)) > 10
    assert list(await ib.reqHistoricalDataAsync(bhp, "", "2 D", "1 min", "TRADES", True)) == []
    assert list(await ib.reqHistoricalDataAsync(bhp, "", "2 Y", "1 day", "TRADES", True)) == []
    assert len(await ib.reqHistoricalDataAsync(bhp, "", "1 D", "1 min", "TRADES", True)) > 50  # from the path
    assert [code for code, _ in errors] == [162, 162, 162]
    assert "Time length exceed max" in errors[1][1] and "Time length exceed max" in errors[2][1]


async def test_pacing_rules_answer_162_on_the_simulated_clock(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    errors = _errors(ib)
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    assert len(await ib.reqHistoricalDataAsync(bhp, "", "5 D", "1 day", "TRADES", True)) > 0
    assert list(await ib.reqHistoricalDataAsync(bhp, "", "5 D", "1 day", "TRADES", True)) == []
    assert "identical request within 15 seconds" in errors[-1][1]
    gateway.clock.advance(16)
    assert len(await ib.reqHistoricalDataAsync(bhp, "", "5 D", "1 day", "TRADES", True)) > 0
    assert gateway.state()["pacing"] == {"enabled": True, "requests": 3, "violations": 1}


async def test_keep_up_to_date_sends_the_bar_in_progress_and_each_new_bar(
    gateway: OfflineGateway, connect: Any
) -> None:
    ib = await connect(gateway)
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    bars = await ib.reqHistoricalDataAsync(bhp, "", "1800 S", "5 mins", "TRADES", True, keepUpToDate=True)
    updates: list[bool] = []
    bars.updateEvent += lambda b, has_new_bar: updates.append(has_new_bar)
    start_count, last_date = len(bars), bars[-1].date
    gateway.clock.advance(30)  # 11:00:30 Sydney: the 11:00 bar is in progress
    await round_trip(ib)  # the step's bars are in
    assert len(bars) == start_count + 1 and bars[-1].date - last_date == timedelta(minutes=5)
    in_progress = bars[-1].volume
    gateway.clock.advance(900)  # 11:15:30: the 11:00, 11:05 and 11:10 bars complete, 11:15 in progress
    await round_trip(ib)
    assert len(bars) == start_count + 4
    assert bars[-1].date - last_date == timedelta(minutes=20)
    assert bars[-4].volume > in_progress  # the 11:00 bar was completed, not left at its first 30 s
    assert True in updates
    ib.cancelHistoricalData(bars)
    await round_trip(ib)  # the cancel was read before the next step
    gateway.clock.advance(900)
    await round_trip(ib)  # whatever that step sent has arrived
    assert len(bars) == start_count + 4


async def test_head_timestamp_is_the_first_bar_in_the_data(gateway: OfflineGateway, connect: Any, catalog: Any) -> None:
    ib = await connect(gateway)
    [spy] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
    head = await ib.reqHeadTimeStampAsync(spy, "TRADES", True, 2)
    assert head == catalog.instruments["SPY/USD"].first


@pytest.mark.parametrize(
    ("end", "duration"),
    [("", "1 Q"), ("", "one day"), ("", "0 D"), ("yesterday", "1 D"), ("20250301 16:00:00 Mars/Olympus", "1 D")],
    ids=["unit", "words", "zero", "end-words", "end-zone"],
)
async def test_a_malformed_duration_or_end_ends_the_request_with_162(
    gateway: OfflineGateway, connect: Any, end: str, duration: str
) -> None:
    ib = await connect(gateway)
    errors = _errors(ib)
    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    # timeout=0: ib_async waits for an answer without a limit of its own, so only an error that ends the
    # request (162, not the warning 321) returns; the outer limit turns a hang into a failure
    bars = await asyncio.wait_for(
        ib.reqHistoricalDataAsync(bhp, end, duration, "1 hour", "TRADES", True, timeout=0), 10
    )
    assert list(bars) == []
    [(code, message)] = errors
    assert code == 162 and "invalid" in message and "use e.g." in message


@pytest.mark.parametrize(
    ("symbol", "size", "start", "end"),
    [
        (
            "SPY/USD",
            "1 min",
            datetime(2024, 2, 29, 14, tzinfo=UTC),
            datetime(2024, 3, 1, 21, tzinfo=UTC),
        ),  # a month edge
        ("SPY/USD", "30 mins", datetime(2024, 1, 20, tzinfo=UTC), datetime(2024, 3, 5, tzinfo=UTC)),  # three months
        ("SPY/USD", "1 day", datetime(2023, 11, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)),  # a year edge
        ("SPY/USD", "1 week", datetime(2023, 6, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)),
        ("BHP/AUD", "1 month", datetime(2023, 3, 1, tzinfo=UTC), datetime(2025, 3, 4, tzinfo=UTC)),
        ("AUD/USD", "15 mins", datetime(2025, 11, 27, tzinfo=UTC), datetime(2025, 12, 4, tzinfo=UTC)),
        ("BHP/AUD", "1 day", datetime(2025, 3, 4, tzinfo=UTC), datetime(2025, 3, 4, tzinfo=UTC)),  # empty window
    ],
)
@pytest.mark.parametrize("rth", [True, False])
def test_the_bar_cache_answers_what_the_catalog_answers(
    catalog: Any, symbol: str, size: str, start: datetime, end: datetime, rth: bool
) -> None:
    cache = BarCache(catalog, max_chunks=4)
    expected = catalog.bars(symbol, size, start, end, rth_only=rth)
    for _ in range(2):  # cold, then from the cached chunks
        got = cache.bars(symbol, parse_bar_size(size), start, end, rth_only=rth)
        pd.testing.assert_frame_equal(got, expected)
    if end > start:
        assert len(expected) > 0


def test_the_bar_cache_refuses_what_the_catalog_refuses(catalog: Any) -> None:
    with pytest.raises(ValueError, match="no data fine enough"):
        BarCache(catalog).bars(
            "BHP/AUD", parse_bar_size("1 min"), datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 4, tzinfo=UTC),
            rth_only=True,
        )  # fmt: skip
