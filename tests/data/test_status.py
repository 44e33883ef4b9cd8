"""``sdk.data.status``: what an IB history cache of real bars holds, its download plans, ranges and gaps."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.status_cache import ms, write_month, write_plan

from sdk.data import Catalog
from sdk.data.status import SymbolNotInCache, data_status, merge_spans, ranges, symbol_dir

pytestmark = pytest.mark.shared_data


@pytest.fixture
def cache(tmp_path: Path, catalog: Catalog) -> Path:
    """SPY 1-minute RTH bars of March (two plans' coverage, a gap 8-11 March) and April 2024, SPY 5-minute of
    March, all from the real intraday file."""
    root = tmp_path / "ib-cache"
    march = catalog.bars("SPY/USD", "1 min", "2024-03-01T00:00Z", "2024-04-01T00:00Z")
    april = catalog.bars("SPY/USD", "1 min", "2024-04-01T00:00Z", "2024-05-01T00:00Z")
    march_cov = [[ms("2024-03-01"), ms("2024-03-08")], [ms("2024-03-11"), ms("2024-04-01")]]
    write_month(root, march, symbol="SPY/USD", bar_size="1 min", coverage=march_cov)
    write_month(
        root, april, symbol="SPY/USD", bar_size="1 min", coverage=[[ms("2024-04-01"), ms("2024-05-01")]],
        last_update="2024-05-21T08:00:00+00:00",
    )  # fmt: skip
    five = catalog.bars("SPY/USD", "5 mins", "2024-03-01T00:00Z", "2024-04-01T00:00Z")
    write_month(root, five, symbol="SPY/USD", bar_size="5 mins", what="MIDPOINT", rth=False, coverage=None)
    return root


def test_status_sums_each_series_from_its_files_metadata(cache: Path, catalog: Catalog) -> None:
    status = data_status(cache)
    assert status["exists"] and status["problems"] == []
    keys = [(s["symbol"], s["bar_size"], s["what_to_show"], s["rth"]) for s in status["series"]]
    assert keys == [("SPY/USD", "1min", "TRADES", True), ("SPY/USD", "5min", "MIDPOINT", False)]
    one = status["series"][0]
    march = catalog.bars("SPY/USD", "1 min", "2024-03-01T00:00Z", "2024-04-01T00:00Z")
    april = catalog.bars("SPY/USD", "1 min", "2024-04-01T00:00Z", "2024-05-01T00:00Z")
    assert one["files"] == 2
    assert one["rows"] == len(march) + len(april)
    assert one["first_ms"] == int(march.index[0].timestamp() * 1000)
    assert one["last_ms"] == int(april.index[-1].timestamp() * 1000)
    assert one["first"] == "2024-03-01T14:30:00Z"
    assert one["last_update"] == "2024-05-21T08:00:00Z"
    # March's two plans and April's touch at 1 April: merged to two spans
    assert one["coverage"] == [[ms("2024-03-01"), ms("2024-03-08")], [ms("2024-03-11"), ms("2024-05-01")]]
    assert one["sources"] == ["IB"] and one["adjusted"] is False


def test_a_missing_cache_is_empty_and_a_file_is_refused(tmp_path: Path) -> None:
    assert data_status(tmp_path / "nope") == {
        "cache_dir": str(tmp_path / "nope"), "exists": False, "series": [], "downloads": [], "problems": [],
    }  # fmt: skip
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="DATA_CACHE_DIR"):
        data_status(tmp_path / "file")


def test_an_unreadable_file_is_a_problem_not_a_failure(cache: Path) -> None:
    torn = cache / "SPY-USD" / "1min" / "TRADES-rth" / "2024-05.parquet"
    torn.write_bytes(b"PAR1 torn")
    (cache / ".downloads").mkdir()
    (cache / ".downloads" / "bad.json").write_text("{not json")
    status = data_status(cache)
    assert [p["path"] for p in status["problems"]] == ["SPY-USD/1min/TRADES-rth/2024-05.parquet", ".downloads/bad.json"]
    assert status["series"][0]["files"] == 2  # the readable ones still count


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(proc.stdout)


def _chunk(day: str, status: str, *, bars: int = 0, error: str | None = None, attempts: int = 0) -> dict[str, Any]:
    start = ms(day)
    return {"start": start, "end": start + 86_400_000, "status": status, "bars": bars, "error": error,
            "attempts": attempts}  # fmt: skip


def test_download_states_counts_and_errors(cache: Path) -> None:
    here = socket.gethostname()
    error = "162 Historical Market Data Service error message:API historical data query cancelled"
    chunks = [
        _chunk("2024-03-01", "done", bars=390, attempts=1),
        _chunk("2024-03-02", "closed"),
        _chunk("2024-03-04", "no_data", attempts=1),
        _chunk("2024-03-05", "failed", error=error, attempts=3),
        _chunk("2024-03-06", "pending"),
    ]
    verify = {"expected": 780, "present": 780, "missing": 0}
    write_plan(cache, symbol="SPY/USD", bar_size="1 min", verify=verify)
    write_plan(cache, symbol="SPY/USD", bar_size="5 mins", chunks=chunks, pid=os.getpid(), host=here, finished_at=None)
    write_plan(cache, symbol="QQQ/USD", bar_size="1 min", pid=_dead_pid(), host=here, finished_at=None)
    write_plan(cache, symbol="AAPL/USD", bar_size="1 min", pid=os.getpid(), host="elsewhere", finished_at=None)
    downloads = {d["symbol"] + " " + d["bar_size"]: d for d in data_status(cache)["downloads"]}
    assert {k: d["state"] for k, d in downloads.items()} == {
        "SPY/USD 1 min": "finished", "SPY/USD 5 mins": "running", "QQQ/USD 1 min": "stopped",
        "AAPL/USD 1 min": "unknown",
    }  # fmt: skip
    finished, running = downloads["SPY/USD 1 min"], downloads["SPY/USD 5 mins"]
    assert (finished["chunks_done"], finished["chunks_total"], finished["bars"]) == (2, 2, 780)
    assert finished["verify"] == verify
    assert (running["chunks_done"], running["chunks_total"], running["chunks_failed"]) == (3, 5, 1)
    assert running["chunks_by_status"] == {"done": 1, "closed": 1, "no_data": 1, "failed": 1, "pending": 1}
    assert running["errors"] == [
        {"start_ms": ms("2024-03-05"), "end_ms": ms("2024-03-06"), "error": error, "attempts": 3}
    ]
    assert json.loads(json.dumps(data_status(cache)))  # JSON-ready


def test_ranges_and_gaps_of_a_symbol_in_either_spelling(cache: Path) -> None:
    for spelling in ("SPY/USD", "SPY-USD", "spy-usd"):
        found = ranges(cache, spelling)
        assert found["symbol"] == "SPY/USD"
        one = found["series"][0]
        assert (one["bar_size"], one["what_to_show"], one["rth"]) == ("1min", "TRADES", True)
        assert [(r["start"], r["end"]) for r in one["ranges"]] == [
            ("2024-03-01T00:00:00Z", "2024-03-08T00:00:00Z"), ("2024-03-11T00:00:00Z", "2024-05-01T00:00:00Z"),
        ]  # fmt: skip
        assert one["gaps"] == [
            {"start_ms": ms("2024-03-08"), "end_ms": ms("2024-03-11"), "start": "2024-03-08T00:00:00Z",
             "end": "2024-03-11T00:00:00Z"}
        ]  # fmt: skip
    five = ranges(cache, "SPY/USD")["series"][1]  # no coverage recorded: its first to last bar, no gap
    assert len(five["ranges"]) == 1 and five["gaps"] == []


def test_an_unknown_symbol_names_what_the_cache_holds(cache: Path) -> None:
    with pytest.raises(SymbolNotInCache) as caught:
        ranges(cache, "QQQ/USD")
    assert isinstance(caught.value, KeyError)
    assert str(caught.value).startswith(f"the cache {cache} holds no bars of QQQ/USD; it holds: SPY/USD.")
    with pytest.raises(ValueError, match="BASE/QUOTE or BASE-QUOTE"):
        ranges(cache, "SPY")


def test_merge_spans_and_symbol_dir() -> None:
    assert merge_spans([[5, 6], [1, 3], [3, 4], [2, 2]]) == [[1, 4], [5, 6]]
    with pytest.raises(ValueError, match="start <= end"):
        merge_spans([[3, 1]])
    assert symbol_dir("BRK.B/USD") == "BRK.B-USD" and symbol_dir("aud-usd") == "AUD-USD"
