"""fetch_ohlcv through the offline gateway: ccxt rows, chunk stitching, timeframes, and pacing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ccxt.test.exchange.base.test_ohlcv import test_ohlcv as check_ohlcv
from ib_support import NYSE_OPEN_2024  # type: ignore[import-not-found]

from sdk.data.barsizes import parse_bar_size
from sdk.errors import BadRequest
from sdk.gateway.historical import build_bars
from sdk.venues.ib.trader import IBTrader

DAY_MS = 86_400_000


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def assert_ordered_unique(rows: list[list[float]], step_ms: int) -> None:
    stamps = [int(r[0]) for r in rows]
    assert stamps == sorted(set(stamps)), "oldest first, no duplicate"
    assert all(s % step_ms == 0 for s in stamps), "on the bar grid"


async def test_recent_bars_pass_ccxt(trader: IBTrader, gateway: Any, ccxt_for: Any) -> None:
    rows = await trader.fetch_ohlcv("BHP/AUD", "5m", limit=30)
    assert len(rows) == 30
    now = int(gateway.clock.timestamp() * 1000)
    for row in rows:
        check_ohlcv(ccxt_for(trader), {}, "fetchOHLCV", row, "BHP/AUD", now)
    assert_ordered_unique(rows, 300_000)
    assert rows[-1][0] <= now < rows[-1][0] + 300_000 or rows[-1][0] < now, "nothing from the future"


async def test_chunks_stitch_to_exactly_the_data(make_gateway: Any, make_trader: Any, ccxt_for: Any) -> None:
    gw = await make_gateway(start=NYSE_OPEN_2024 + timedelta(days=10))
    trader = await make_trader(gw)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    end = datetime(2024, 3, 9, tzinfo=UTC)
    rows = await trader.fetch_ohlcv("SPY/USD", "1m", since=ms(start), params={"until": ms(end)})
    expected = gw.market.catalog.bars("SPY/USD", "1min", start, end, rth_only=False)
    assert [int(r[0]) for r in rows] == [ms(t) for t in expected.index], "no bar missing, none added"
    assert [r[4] for r in rows] == pytest.approx(list(expected["close"]), abs=0.005 + 1e-9), "on the 0.01 ladder"
    assert trader.history.requests >= 6, "a week of 1-minute bars takes one request per day (IB's maximum)"
    assert trader.history.requests <= 7, "the weekend is not requested"
    now = int(gw.clock.timestamp() * 1000)
    for row in rows[:: max(1, len(rows) // 50)]:
        check_ohlcv(ccxt_for(trader), {}, "fetchOHLCV", row, "SPY/USD", now)


async def test_since_and_limit(trader: IBTrader) -> None:
    since = ms(datetime(2025, 2, 3, tzinfo=UTC))
    rows = await trader.fetch_ohlcv("BHP/AUD", "1d", since=since, limit=10)
    assert len(rows) == 10 and rows[0][0] >= since
    assert all(r[0] % DAY_MS == 0 for r in rows), "daily bars at 00:00 UTC of the trading date"
    dates = [datetime.fromtimestamp(r[0] / 1000, UTC).date() for r in rows]
    assert all(d.weekday() < 5 for d in dates)


async def test_fx_midpoint_bars(trader: IBTrader, ccxt_for: Any) -> None:
    rows = await trader.fetch_ohlcv("AUD/USD", "1h", limit=24)
    assert len(rows) == 24
    for row in rows:
        check_ohlcv(ccxt_for(trader), {}, "fetchOHLCV", row, "AUD/USD", None)
        assert row[5] == 0.0, "MIDPOINT bars have no volume (IB sends -1)"
        assert 0.5 < row[4] < 0.8


async def test_unsupported_timeframe_lists_the_supported_ones(trader: IBTrader) -> None:
    with pytest.raises(BadRequest, match=r"'7m' is not supported.*1s, 5s.*1d, 1w, 1M"):
        await trader.fetch_ohlcv("BHP/AUD", "7m")
    assert trader.history.requests == 0, "refused before any request"


async def test_backfill_60_days_of_minutes_for_three_symbols_without_pacing_violation(
    make_gateway: Any, make_trader: Any
) -> None:
    import asyncio

    gw = await make_gateway(start=datetime(2024, 5, 17, 20, 30, tzinfo=UTC))
    trader = await make_trader(gw)
    begin = gw.clock.timestamp()
    since = ms(datetime.fromtimestamp(begin, UTC) - timedelta(days=60))
    symbols = ("SPY/USD", "BHP/AUD", "CBA/AUD")
    results = await asyncio.gather(*(trader.fetch_ohlcv(s, "1m", since=since) for s in symbols))
    assert gw.state()["pacing"]["violations"] == 0, "the gateway saw no pacing violation"
    assert trader.budget.stats.violations == 0
    assert gw.state()["pacing"]["requests"] == trader.history.requests > 120
    elapsed = gw.clock.timestamp() - begin
    assert elapsed >= (trader.history.requests - 1) // 60 * 600, "IB's 60-per-10-minutes rule was honoured"
    size = parse_bar_size("1 min")
    for symbol, rows in zip(symbols, results, strict=True):
        assert_ordered_unique(rows, 60_000)
        inst = gw.instruments.get(symbol)
        frame = build_bars(gw.market, inst, size, since / 1000, begin, gw.clock.timestamp(), use_rth=False)
        expected = [ms(t) for t in frame.index if t.timestamp() < begin]
        assert [int(r[0]) for r in rows] == expected, f"{symbol}: every bar of the gateway, once"


async def test_pacing_violation_is_retried_after_the_budgets_wait(trader: IBTrader, gateway: Any) -> None:
    now = gateway.clock.timestamp()
    for i in range(60):  # another client on the account spent IB's ten-minute budget just now
        gateway.pacer.check(now, series=("other", i), identity=("other", i), what_to_show="TRADES")
    begin = gateway.clock.timestamp()
    rows = await trader.fetch_ohlcv("BHP/AUD", "1h", limit=5)
    assert len(rows) == 5
    assert trader.budget.stats.violations == 3, "held 2 s, then 15 s, then 10 minutes"
    assert gateway.clock.timestamp() - begin >= 600


async def test_since_before_the_first_bar_starts_at_ibs_head_timestamp(trader: IBTrader, gateway: Any) -> None:
    rows = await trader.fetch_ohlcv("BHP/AUD", "1m", since=0, limit=100)
    head = int(gateway.market.catalog.info("BHP/AUD").first.timestamp() * 1000)
    assert len(rows) == 100 and rows[0][0] >= head
    assert trader.history.requests <= 2, "no request for the decades before IB's first bar"


async def test_head_timestamp_retries_a_pacing_violation(trader: IBTrader, gateway: Any, monkeypatch: Any) -> None:
    # The offline gateway does not pace reqHeadTimeStamp: answer its first one with IB's 162 pacing
    # violation, as IB does when another client on the account has spent the budget.
    from sdk.gateway.messages import In

    serve = gateway.dispatch
    refused: list[int] = []

    async def dispatch(session: Any, fields: list[str]) -> None:
        if int(fields[0]) == In.REQ_HEAD_TIMESTAMP and not refused:
            refused.append(int(fields[1]))
            message = "Historical Market Data Service error message:Pacing violation"
            session.error(int(fields[1]), 162, message, exact=True)
            return
        await serve(session, fields)

    monkeypatch.setattr(gateway, "dispatch", dispatch)
    head = await trader.history.head_timestamp("BHP/AUD")
    assert head == int(gateway.market.catalog.info("BHP/AUD").first.timestamp() * 1000)
    assert refused and trader.budget.stats.violations == 1, "the 162 was recorded in the budget, then retried"
