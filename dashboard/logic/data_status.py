"""Tables of the Data page: the IB history cache's series, its downloads, and one symbol's ranges and gaps.

Each function takes the dicts of :mod:`sdk.data.status` and returns a display frame (strings, times in UTC).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sdk.data.status import iso_utc

__all__ = ["downloads_frame", "ranges_frame", "series_frame"]

DAY_MS = 86_400_000


def _when(iso: str | None) -> str:
    return (iso or "-").replace("T", " ").removesuffix("Z")[:16]


def _days(spans: list[list[int]]) -> str:
    return f"{sum(b - a for a, b in spans) / DAY_MS:,.1f}"


def series_frame(series: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per cached series: symbol, bar, whatToShow, hours, files, rows, first/last bar, update, coverage."""
    rows = [
        {
            "Symbol": s["symbol"], "Bar": s["bar_size"], "whatToShow": s["what_to_show"],
            "Hours": "RTH" if s["rth"] else "all", "Files": s["files"], "Rows": f"{s['rows']:,}",
            "First (UTC)": _when(s["first"]), "Last (UTC)": _when(s["last"]), "Updated (UTC)": _when(s["last_update"]),
            "Covered days": _days(s["coverage"]), "Gaps": max(len(s["coverage"]) - 1, 0),
        }
        for s in series
    ]  # fmt: skip
    return pd.DataFrame(rows)


def downloads_frame(downloads: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per download plan: state, chunks done of total, failures, bars, last progress, verification."""
    rows = []
    for d in downloads:
        verify = d.get("verify") or {}
        rows.append(
            {
                "Symbol": d["symbol"], "Bar": d["bar_size"], "whatToShow": d["what_to_show"],
                "Hours": "RTH" if d["rth"] else "all", "State": d["state"],
                "Chunks": f"{d['chunks_done']}/{d['chunks_total']}", "Failed": d["chunks_failed"],
                "Bars": f"{d['bars']:,}", "Updated (UTC)": _when(d["updated_at"]),
                "Verify": ", ".join(f"{k} {v}" for k, v in verify.items() if v) or "-",
            }
        )  # fmt: skip
    return pd.DataFrame(rows)


def ranges_frame(found: dict[str, Any]) -> pd.DataFrame:
    """The covered ranges and gaps of one symbol (:func:`sdk.data.status.ranges`), oldest first per series."""
    rows = []
    for s in found["series"]:
        spans = [("covered", r) for r in s["ranges"]] + [("gap", g) for g in s["gaps"]]
        for kind, span in sorted(spans, key=lambda item: item[1]["start_ms"]):
            rows.append(
                {
                    "Bar": s["bar_size"], "whatToShow": s["what_to_show"], "Hours": "RTH" if s["rth"] else "all",
                    "Kind": kind, "From (UTC)": _when(iso_utc(span["start_ms"])),
                    "To (UTC)": _when(iso_utc(span["end_ms"])), "Days": _days([[span["start_ms"], span["end_ms"]]]),
                }
            )  # fmt: skip
    return pd.DataFrame(rows)
