"""Data: the IB history cache (``DATA_CACHE_DIR``): what it holds, its downloads, and one symbol's ranges and gaps.

Reads only the cache's file metadata and download plans (:mod:`sdk.data.status`): no ledger, no venue.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.logic.data_status import downloads_frame, ranges_frame, series_frame
from sdk.data.status import data_status, ranges
from sdk.settings import SettingsError, load_settings

EXAMPLE = 'trader data download SPY/USD --bar-size "1 min" --start 2024-03-01 --end 2024-04-01'


def _cache_dir() -> Path:
    env_file = Path(".env")
    try:
        settings = load_settings(env_file if env_file.is_file() else None)
    except SettingsError as exc:
        st.error(str(exc))
        st.stop()
    return settings.data_cache_dir.resolve()


def render() -> None:
    cache = _cache_dir()
    st.title("Data")
    st.caption(f"IB history in `{cache}` (DATA_CACHE_DIR); times in UTC. `trader data status` shows the same.")
    try:
        status = data_status(cache)
    except NotADirectoryError as exc:
        st.error(str(exc))
        return
    if not status["series"] and not status["downloads"]:
        st.info("Nothing downloaded yet. Download some history, then refresh:")
        st.code(EXAMPLE, language="bash")
    if status["series"]:
        st.subheader("Coverage")
        st.dataframe(series_frame(status["series"]), hide_index=True)
        symbols = sorted({s["symbol"] for s in status["series"]})
        chosen = st.selectbox("Ranges and gaps of", symbols, key="data.symbol")
        if chosen:
            st.dataframe(ranges_frame(ranges(cache, chosen)), hide_index=True)
    if status["downloads"]:
        st.subheader("Downloads")
        st.dataframe(downloads_frame(status["downloads"]), hide_index=True)
        stopped = [d for d in status["downloads"] if d["state"] == "stopped"]
        if stopped:
            st.warning(f"{len(stopped)} download(s) stopped before finishing; the same `trader data download` "
                       "command resumes each where it stopped.")  # fmt: skip
        for d in status["downloads"]:
            for e in d["errors"]:
                st.caption(f"{d['symbol']} {d['bar_size']}: {e['error']} (attempts {e['attempts']})")
    for problem in status["problems"]:
        st.warning(f"Unreadable `{problem['path']}`: {problem['error']}")


if __name__ == "__main__":
    render()
