"""Helpers of the ``trader backtest`` tests: invoking the command in this process, reading a run's artifacts, and a
catalog whose data ends at a cut (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
from typer.testing import CliRunner

from sdk.calendars import get_calendar
from sdk.cli import app
from sdk.data.barsizes import parse_bar_size

__all__ = ["DETERMINISTIC", "CatalogUntil", "digests", "invoke", "parquet", "summary"]

#: The artifacts two runs of one configuration write byte for byte.
DETERMINISTIC = ("bars.parquet", "orders.parquet", "fills.parquet", "equity.parquet", "summary.json", "report.html")


def invoke(*args: str, env: dict[str, str]) -> Any:
    """``trader backtest ARGS`` through typer's CliRunner (settings from ``env`` only, no ``.env``)."""
    return CliRunner().invoke(
        app, ["--env-file", "/nonexistent.env", "backtest", *args], env=env, catch_exceptions=False
    )


def digests(run_dir: Path) -> dict[str, str]:
    """SHA-256 of each deterministic artifact."""
    return {name: hashlib.sha256((run_dir / name).read_bytes()).hexdigest() for name in DETERMINISTIC}


def summary(run_dir: Path) -> dict[str, Any]:
    return dict(json.loads((run_dir / "summary.json").read_text(encoding="utf-8")))


def parquet(run_dir: Path, name: str) -> pd.DataFrame:
    """A Parquet artifact as a frame (timestamps stay UTC-aware)."""
    return pq.read_table(run_dir / f"{name}.parquet").to_pandas()


class CatalogUntil:
    """A catalog as if its data ended at ``cut``: the bars of any symbol and size that had closed by then (a daily
    bar at its session's close, :mod:`sdk.calendars`), and of a bar in progress at the cut that opened its session
    (every daily bar, an intraday session's first) its open only: the opening auction's price is published at the
    open (the simulated venue quotes it from then on). Its high, low and close are the open, its volume unknown (NaN).

    Answers what :func:`runner.backtest.prepare.prepare` and the simulated venue ask a catalog; everything else is
    the real catalog's (its ``corporate_actions/`` declares the same events).
    """

    def __init__(self, catalog: Any, cut: pd.Timestamp) -> None:
        self.catalog = catalog
        self.cut = cut
        self.instruments = catalog.instruments
        self.data_dir = catalog.data_dir
        self.synthetic = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.catalog, name)

    def bars(self, symbol: str, bar_size: Any, start: Any = None, end: Any = None, *, rth_only: bool = True) -> Any:
        inclusive = self.cut + pd.Timedelta(milliseconds=1)  # a bar starting at the cut has opened by then
        hi = inclusive if end is None else min(pd.Timestamp(end), inclusive)
        frame = self.catalog.bars(symbol, bar_size, start, hi, rth_only=rth_only)
        if not len(frame):
            return frame
        size = parse_bar_size(bar_size)
        calendar = get_calendar(self.catalog.info(symbol).market)
        first, last = frame.index[0] - pd.Timedelta(days=3), frame.index[-1] + pd.Timedelta(days=7)
        sessions = calendar.sessions(first.to_pydatetime(), last.to_pydatetime())
        if size.intraday:
            ends = frame.index + pd.Timedelta(seconds=size.seconds)
            opens_session = frame.index.isin(pd.DatetimeIndex([pd.Timestamp(s.open) for s in sessions]))
        else:
            close = {s.day: pd.Timestamp(s.close) for s in sessions}
            ends = pd.DatetimeIndex([close[day] for day in frame["session"]])
            opens_session = [True] * len(frame)
        closed = ends <= self.cut
        opening = ~closed & (frame.index <= self.cut) & opens_session
        frame = frame[closed | opening].copy()
        shown = opening[closed | opening]
        for column in ("high", "low", "close"):
            frame.loc[shown, column] = frame.loc[shown, "open"]
        frame.loc[shown, "volume"] = float("nan")
        return frame
