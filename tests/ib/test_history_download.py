"""``trader data download`` (issue 15, deliverables 1-3): the real SPY 1-minute bars of ``../shared/data`` downloaded
from the offline gateway over its socket into a Parquet cache, read back by the market-data catalog; the same
command again requests nothing; a download SIGKILLed mid-way resumes without asking for a finished window again
and writes the same bytes as an uninterrupted one; bad input is refused before any request."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from sdk.data import load_catalog
from sdk.data.cache import read_frame
from sdk.errors import BadRequest, BadSymbol
from sdk.services.history_download import DownloadRequest, download

pytestmark = pytest.mark.shared_data

AFTER = datetime(2024, 5, 20, 14, 0, tzinfo=UTC)  # the gateway's now: after the SPY 1-minute file ends (17 May)
WEEK = (date(2024, 3, 4), date(2024, 3, 8))


def digests(cache: Path) -> dict[str, str]:
    """The month files (relative path -> SHA-256)."""
    return {
        p.relative_to(cache).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(cache.rglob("*.parquet"))
        if not any(part.startswith(".") for part in p.relative_to(cache).parts)
    }


def plan_of(cache: Path) -> dict[str, Any]:
    (path,) = (cache / ".downloads").glob("*.json")
    return dict(json.loads(path.read_text()))


async def test_a_week_of_spy_minutes_lands_in_the_cache_and_the_catalog_reads_it(
    make_gateway: Any, make_trader: Any, catalog: Any, tmp_path: Path
) -> None:
    gw = await make_gateway(start=AFTER)
    trader = await make_trader(gw)
    request = DownloadRequest("SPY/USD", "1 min", *WEEK, tmp_path / "cache")
    result = await download(trader, request)
    assert result.complete, result.plan.chunks
    assert [f.relative_to(request.cache).as_posix() for f in result.files] == [
        "SPY-USD/1min/TRADES-rth/2024-03.parquet"
    ]
    windows = {c.status for c in result.plan.chunks}
    assert windows <= {"done", "closed"} and "closed" in windows, "the weekend's windows are not requested"
    assert result.requests == sum(c.status == "done" for c in result.plan.chunks), "one request per open window"
    verified = result.plan.verify or {}
    assert (verified["expected"], verified["present"], verified["missing"]) == (5 * 390, 5 * 390, 0), verified
    assert not any(verified[k] for k in ("duplicates", "out_of_order", "ohlc_violations")), verified

    got = load_catalog(request.cache).bars("SPY/USD", "1min", "2024-03-04T00:00Z", "2024-03-09T00:00Z")
    want = catalog.bars("SPY/USD", "1min", "2024-03-04T00:00Z", "2024-03-09T00:00Z")
    assert len(got) == len(want) == 5 * 390, "five regular sessions of 390 minutes"
    pd.testing.assert_frame_equal(got[["open", "high", "low", "close"]], want[["open", "high", "low", "close"]])

    before = digests(request.cache)
    again = await download(trader, request)
    assert again.requests == 0 and again.complete, "a finished window is never requested again"
    assert digests(request.cache) == before


async def test_bad_input_is_refused_before_any_request(make_gateway: Any, make_trader: Any, tmp_path: Path) -> None:
    gw = await make_gateway(start=AFTER)
    trader = await make_trader(gw)
    cache = tmp_path / "cache"
    with pytest.raises(BadRequest, match="after end"):
        await download(trader, DownloadRequest("SPY/USD", "1 min", date(2024, 3, 8), date(2024, 3, 4), cache))
    with pytest.raises(BadRequest, match="bar size"):
        await download(trader, DownloadRequest("SPY/USD", "7 mins", *WEEK, cache))
    with pytest.raises(BadRequest, match="whatToShow"):
        await download(trader, DownloadRequest("SPY/USD", "1 min", *WEEK, cache, what_to_show="VOLUME"))
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    with pytest.raises(BadRequest, match="cannot be written"):
        await download(trader, DownloadRequest("SPY/USD", "1 min", *WEEK, blocked / "cache"))
    with pytest.raises(BadSymbol):
        await download(trader, DownloadRequest("NOPE/USD", "1 min", *WEEK, cache))
    assert trader.history.requests == 0, "nothing was asked of IB"
    assert not (cache / ".downloads").exists()


async def test_a_start_before_the_listing_is_clipped_and_said(
    make_gateway: Any, make_trader: Any, tmp_path: Path
) -> None:
    gw = await make_gateway(start=AFTER)
    trader = await make_trader(gw)
    request = DownloadRequest("DOW/USD", "1 day", date(2019, 3, 1), date(2019, 4, 5), tmp_path)
    result = await download(trader, request)  # Dow Inc.: the data's first bar is 28 March 2019
    head = datetime.fromtimestamp(result.plan.head / 1000, UTC) if result.plan.head else None
    assert head is not None and head.date() == date(2019, 3, 28), head
    assert any("clipped from 2019-03-01" in n for n in result.notes), result.notes
    assert result.complete and result.plan.start == result.plan.head
    got = load_catalog(tmp_path).bars("DOW/USD", "1D")
    first_week = got[:"2019-04-06"].index.date.tolist()  # the window asked for is IB's longest (a year): all kept
    assert first_week[0] == date(2019, 3, 28) and len(first_week) == 7, got.index
    with pytest.raises(BadRequest, match="starts 2019-03-28"):
        await download(trader, DownloadRequest("DOW/USD", "1 day", date(2019, 1, 1), date(2019, 2, 1), tmp_path / "b"))


async def _run_download(gw: Any, cache: Path, log: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IB_", "LOG_"))}
    env.update(IB_HOST="127.0.0.1", IB_PORT=str(gw.port), IB_CONNECT_TIMEOUT="5", ACTIVE_EXCHANGE="IB")
    command = [sys.executable, "-c", "from sdk.cli import main; main()", "--env-file", "/nonexistent.env",
               "data", "download", "SPY/USD", "--bar-size", "1 min", "--start", "2024-03-04", "--end", "2024-03-22",
               "--cache", str(cache)]  # fmt: skip
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(*command, stdout=sink, stderr=sink, env=env)


@pytest.mark.slow
async def test_a_killed_download_resumes_without_asking_again_and_writes_the_same_bytes(
    make_gateway: Any, tmp_path: Path
) -> None:
    """Three weeks of SPY minutes by a real ``trader data download`` process, SIGKILLed once two windows are
    recorded, then run again to the end; against an uninterrupted process's cache. The gateway's clock runs (IB's
    pacing is measured in its time; three processes, each with a budget of its own, share it)."""
    gw = await make_gateway(start=AFTER, speed=1)
    killed, whole, log = tmp_path / "killed", tmp_path / "whole", tmp_path / "download.log"
    first = await _run_download(gw, killed, log)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60

    def recorded() -> int:
        try:
            return sum(c["status"] == "done" for c in plan_of(killed)["chunks"])
        except (FileNotFoundError, ValueError, json.JSONDecodeError):
            return 0

    while recorded() < 2:
        assert first.returncode is None, f"the download ended before its kill:\n{log.read_text()[-3000:]}"
        assert loop.time() < deadline, f"no window recorded in time:\n{log.read_text()[-3000:]}"
        await asyncio.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    done_at_kill = {(c["start"], c["end"]) for c in plan_of(killed)["chunks"] if c["status"] == "done"}
    gw.clock.advance(20)  # the killed process's last request and the restart's are one request: 15 s apart at least

    second = await _run_download(gw, killed, log)
    assert await asyncio.wait_for(second.wait(), 120) == 0, log.read_text()[-3000:]
    chunks = {(c["start"], c["end"]): c for c in plan_of(killed)["chunks"]}
    assert all(chunks[w]["attempts"] == 1 for w in done_at_kill), "a window finished before the kill was asked again"
    assert plan_of(killed)["finished_at"] is not None and plan_of(killed)["pid"] is None

    gw.clock.advance(20)
    third = await _run_download(gw, whole, log)
    assert await asyncio.wait_for(third.wait(), 120) == 0, log.read_text()[-3000:]
    assert digests(killed) == digests(whole) and len(digests(whole)) == 1, "byte-identical month files"


async def test_fetch_ohlcv_reads_the_cache_first_and_asks_ib_only_for_the_rest(
    make_gateway: Any, make_trader: Any, tmp_path: Path
) -> None:
    """A week downloaded; a fetch of that week and the Monday after answers the week from the cache and asks IB for
    the Monday alone, with the same bars as a trader without the cache."""
    gw = await make_gateway(start=AFTER)
    cache = tmp_path / "cache"
    loader = await make_trader(gw, client_id=1, data_cache_dir=tmp_path / "no-cache")
    await download(loader, DownloadRequest("SPY/USD", "1 min", *WEEK, cache))
    reader = await make_trader(gw, client_id=2, data_cache_dir=cache)
    since, until = datetime(2024, 3, 4, 14, 30, tzinfo=UTC), datetime(2024, 3, 12, tzinfo=UTC)
    params = {"until": int(until.timestamp() * 1000), "useRTH": True}
    window = {"since": int(since.timestamp() * 1000), "params": params}
    gw.clock.advance(20)  # the loader's last request and the plain fetch's below are 15 s apart
    plain = await loader.fetch_ohlcv("SPY/USD", "1m", **window)
    gw.clock.advance(20)  # and the reader's request for the Monday is not the same request within 15 s
    cached = await reader.fetch_ohlcv("SPY/USD", "1m", **window)
    assert cached == plain and len(plain) == 6 * 390, "the week and Monday 11 March, regular hours"
    assert reader.history_cache.cached_rows == 5 * 390, "the week from the cache"
    gap = await make_trader(gw, client_id=3, data_cache_dir=tmp_path / "no-cache")
    gw.clock.advance(20)
    monday = await gap.fetch_ohlcv("SPY/USD", "1m", since=int(datetime(2024, 3, 10, tzinfo=UTC).timestamp() * 1000),
                                   params=params)  # fmt: skip
    assert monday == plain[-390:] and reader.history.requests == gap.history.requests, "IB asked for the gap only"
    asked = reader.history.requests
    first = await reader.fetch_ohlcv("SPY/USD", "1m", since=window["since"], limit=10, params=params)
    assert first == plain[:10] and reader.history.requests == asked, "a limit inside the cached span asks IB nothing"


class WithoutDay:
    """The catalog as the gateway replays it, without one session of ``symbol`` (its bars of every size, so the
    gateway has nothing to build that day's minutes from): IB holds no bars of that day, the local files do."""

    def __init__(self, catalog: Any, symbol: str, day: date) -> None:
        self.catalog, self.symbol = catalog, symbol
        self.lo = pd.Timestamp(day, tz="America/New_York").tz_convert("UTC")
        self.hi = self.lo + pd.Timedelta(days=1)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.catalog, name)

    def bars(self, symbol: str, bar_size: Any, start: Any = None, end: Any = None, **kwargs: Any) -> Any:
        frame = self.catalog.bars(symbol, bar_size, start, end, **kwargs)
        if symbol != self.symbol:
            return frame
        return frame[(frame.index < self.lo) | (frame.index >= self.hi)]  # every size: nothing to synthesize from

    def path(self, symbol: str, start: Any, end: Any, **kwargs: Any) -> Any:
        frame = self.catalog.path(symbol, start, end, **kwargs)
        if symbol != self.symbol:
            return frame
        return frame[(frame.index < self.lo) | (frame.index >= self.hi)]  # nor a replayed path that day


async def test_bars_ib_cannot_give_are_filled_from_local_files_and_marked(
    make_gateway: Any, make_trader: Any, catalog: Any, shared_data: Path, tmp_path: Path
) -> None:
    gw = await make_gateway(start=AFTER, catalog_=WithoutDay(catalog, "SPY/USD", date(2024, 3, 6)))
    trader = await make_trader(gw)
    files = tmp_path / "files"
    files.mkdir()
    (files / "SPY_1min.csv").symlink_to(shared_data / "intraday" / "SPY_1min_2024-02-20_2024-05-17.csv")
    plain = await download(trader, DownloadRequest("SPY/USD", "1 min", *WEEK, tmp_path / "plain"))
    assert (plain.plan.verify or {})["missing"] == 390, "IB's answer lacks 6 March"
    gw.clock.advance(20)
    request = DownloadRequest("SPY/USD", "1 min", *WEEK, tmp_path / "cache", fill_from=files)
    result = await download(trader, request)
    assert (result.plan.verify or {})["missing"] == 0, result.notes
    assert any("filled 390 bars" in n for n in result.notes), result.notes
    _, frame = read_frame(result.files[0])
    day = frame.loc["2024-03-06"]
    assert len(day) == 390 and set(day["authority"]) == {1} and set(frame.drop(day.index)["authority"]) == {3}
    want = catalog.bars("SPY/USD", "1min", "2024-03-04T00:00Z", "2024-03-09T00:00Z")
    pd.testing.assert_frame_equal(frame[["open", "high", "low", "close"]], want[["open", "high", "low", "close"]])
    info = json.loads(pq.read_schema(result.files[0]).metadata[b"trader_sdk.data"])
    assert info["sources"][0] == "IB" and any(s.startswith("file:") for s in info["sources"]), info["sources"]
    assert len(info["filled"]) == 1, info["filled"]

    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    (elsewhere / "BHP.csv").symlink_to(shared_data / "asx_daily" / "BHP.AX.csv")
    gw.clock.advance(20)
    other = await download(trader, DownloadRequest("SPY/USD", "1 min", *WEEK, tmp_path / "c2", fill_from=elsewhere))
    assert (other.plan.verify or {})["missing"] == 390 and any("holds no SPY/USD" in n for n in other.notes)
