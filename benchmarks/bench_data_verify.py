"""``data.verify_1y_1min_seconds``: :func:`sdk.data.verify.verify_frame` over one year of SPY 1-minute bars.

The real data holds no year of SPY 1-minute bars (63 sessions of 2024 and 21 of July 2025, with pre- and
post-market), so the year is built by tiling: every NYSE session of 2024-07-01..2025-06-30 (the calendar's,
early closes included) takes the bars of a real session in turn, shifted by the difference of the two sessions'
opens and cut at the target's close; the detail says how many real sessions and bars went in. The figure is the
median of 5 runs of the regular-hours check (``rth=True``); the all-hours frame (extended hours kept,
``rth=False``, about 2.5 times the rows) is timed the same way and given in the detail.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data"))
FILES = ("intraday/SPY_1min_2024-02-20_2024-05-17.csv", "intraday/SPY_1min_2025-07.csv")
YEAR = (datetime(2024, 7, 1, 4, tzinfo=UTC), datetime(2025, 7, 1, 4, tzinfo=UTC))  # New York midnights


def tiled_year(minutes: pd.DataFrame, *, rth: bool) -> tuple[pd.DataFrame, int]:
    """One year of 1-minute bars: each NYSE session of :data:`YEAR` gets a full real session's bars (in turn).

    ``minutes``: real SPY 1-minute bars (all hours). With ``rth`` only the bars inside the target session are
    kept; without, the real session's extended hours come along (shifted with it). Returns the frame and the
    number of distinct real sessions used.
    """
    from sdk.data.resample import session_table

    ns = minutes.index.asi8
    real = session_table("NYSE", minutes.index[0], minutes.index[-1])
    sid = real.locate(ns)
    counts = np.bincount(sid[sid >= 0], minlength=len(real.opens))
    full = np.flatnonzero(counts == 390)  # complete regular sessions only
    wall_day = minutes.index.tz_convert("America/New_York").tz_localize(None).normalize().asi8
    target = session_table("NYSE", pd.Timestamp(YEAR[0]), pd.Timestamp(YEAR[1]))
    keep = (target.opens >= pd.Timestamp(YEAR[0]).value) & (target.opens < pd.Timestamp(YEAR[1]).value)
    values = minutes[["open", "high", "low", "close", "volume", "wap"]].to_numpy()
    parts_ns: list[np.ndarray] = []
    parts_values: list[np.ndarray] = []
    for n, (t_open, t_close) in enumerate(zip(target.opens[keep], target.closes[keep], strict=True)):
        source = full[n % len(full)]
        s_open = real.opens[source]
        day = np.datetime64(real.days[source], "ns").astype("int64")
        rows = np.flatnonzero(wall_day == day)  # the real session's local day, extended hours included
        shifted = ns[rows] - s_open + t_open
        inside = (shifted >= t_open) & (shifted < t_close)
        pick = inside if rth else (inside | (shifted < t_open) | (shifted >= t_open + 390 * 60 * 10**9))
        parts_ns.append(shifted[pick])
        parts_values.append(values[rows][pick])
    index = pd.DatetimeIndex(np.concatenate(parts_ns)).tz_localize("UTC").rename("time")
    frame = pd.DataFrame(
        np.concatenate(parts_values), index=index, columns=["open", "high", "low", "close", "volume", "wap"]
    )
    return frame, min(len(full), int(keep.sum()))


def _median_seconds(frame: pd.DataFrame, *, rth: bool, runs: int = 5) -> tuple[float, Any]:
    from sdk.data.verify import verify_frame

    times: list[float] = []
    report: Any = None
    for _ in range(runs):
        began = time.perf_counter()
        report = verify_frame(frame, market="NYSE", bar_size="1 min", rth=rth, start=YEAR[0], end=YEAR[1])
        times.append(time.perf_counter() - began)
    return statistics.median(times), report


def figures() -> list[dict[str, Any]]:
    if not (SHARED_DATA / "README.md").is_file():
        return []
    import tempfile

    from sdk.data import load_catalog
    from sdk.data.verify import verify_frame

    logging.getLogger("sdk.data").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        for rel in FILES:  # a data directory of links to the two real SPY minute files
            link = Path(tmp) / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(SHARED_DATA / rel)
        minutes = load_catalog(tmp).native("SPY/USD", "1min").drop(columns="authority")
    regular, sessions = tiled_year(minutes, rth=True)
    extended, _ = tiled_year(minutes, rth=False)
    verify_frame(regular.iloc[:1000], market="NYSE", bar_size="1 min", rth=True, start=YEAR[0], end=YEAR[1])  # warm
    seconds, report = _median_seconds(regular, rth=True)
    all_hours, _ = _median_seconds(extended, rth=False)
    return [
        {
            "name": "data.verify_1y_1min_seconds",
            "value": round(seconds, 4),
            "unit": "s",
            "target": "< 1",
            "detail": f"{len(regular)} regular-hours bars, NYSE sessions 2024-07-01..2025-06-30 TILED from "
            f"{sessions} real complete SPY sessions of {', '.join(FILES)} (the data holds no real year); "
            f"expected {report.expected}, present {report.present}, holiday {report.holiday}, half_day "
            f"{report.half_day}, missing {report.missing}; all hours ({len(extended)} rows, rth=False): "
            f"{all_hours:.4f} s; median of 5 runs",
        }
    ]


if __name__ == "__main__":
    for figure in figures():
        print(figure)
