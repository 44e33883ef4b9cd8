"""The Data page (``dashboard/app_pages/data.py``) through Streamlit's AppTest, on a cache of real bars: coverage,
a symbol's ranges and gaps, downloads (a stopped one flagged), unreadable files; and the page with no cache."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dashboard_helpers import page_text, tables
from support.status_cache import ms, write_month, write_plan

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "dashboard" / "app_pages" / "data.py"

pytestmark = pytest.mark.shared_data


def _page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path) -> Any:
    from streamlit.testing.v1 import AppTest

    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])  # Streamlit replaces it; put it back
    monkeypatch.setenv("DATA_CACHE_DIR", str(cache))
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(proc.stdout)


def test_coverage_ranges_and_downloads(catalog: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "ib-cache"
    march = catalog.bars("SPY/USD", "1 min", "2024-03-01T00:00Z", "2024-04-01T00:00Z")
    cov = [[ms("2024-03-01"), ms("2024-03-08")], [ms("2024-03-11"), ms("2024-04-01")]]
    write_month(cache, march, symbol="SPY/USD", bar_size="1 min", coverage=cov)
    write_plan(cache, symbol="SPY/USD", bar_size="1 min", verify={"expected": 780, "present": 779, "missing": 1})
    write_plan(cache, symbol="SPY/USD", bar_size="5 mins", pid=_dead_pid(), host=socket.gethostname(),
               finished_at=None)  # fmt: skip
    (cache / "SPY-USD" / "1min" / "TRADES-rth" / "2024-04.parquet").write_bytes(b"torn")
    app = _page(monkeypatch, tmp_path, cache)
    assert [t.value for t in app.title] == ["Data"]
    series, spans, downloads = tables(app)
    assert list(series["Symbol"]) == ["SPY/USD"] and series.iloc[0]["Rows"] == f"{len(march):,}"
    assert (series.iloc[0]["Covered days"], series.iloc[0]["Gaps"]) == ("28.0", 1)
    assert list(spans["Kind"]) == ["covered", "gap", "covered"]
    assert list(spans["From (UTC)"]) == ["2024-03-01 00:00", "2024-03-08 00:00", "2024-03-11 00:00"]
    assert list(downloads["State"]) == ["finished", "stopped"] and list(downloads["Chunks"]) == ["2/2", "2/2"]
    assert downloads.iloc[0]["Verify"] == "expected 780, present 779, missing 1"
    text = page_text(app)
    assert "1 download(s) stopped before finishing" in text
    assert "Unreadable `SPY-USD/1min/TRADES-rth/2024-04.parquet`" in text
    assert os.fspath(cache) in text


def test_an_empty_cache_says_how_to_fill_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page(monkeypatch, tmp_path, tmp_path / "nothing-yet")
    assert tables(app) == []
    text = page_text(app)
    assert "Nothing downloaded yet" in text and "trader data download SPY/USD" in text
