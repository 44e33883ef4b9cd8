"""Status: market hours (ASX, NYSE, FX) now and next, connectivity and circuit state, recent events
and the RiskManager's rejections."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard.app_pages import common
from dashboard.logic import formatting as fmt
from dashboard.logic.frames import events_frame, rejections_frame, sessions_frame
from dashboard.logic.status import LinkState, circuit_state, connectivity_state, market_rows, now_utc
from sdk.ledger import EventKind

_COLOURS = {True: "green", False: "red", None: "gray"}


def _state(column: DeltaGenerator, title: str, state: LinkState, tz: str) -> None:
    column.markdown(f"**{title}** :{_COLOURS[state.healthy]}-badge[{state.state}]")
    since = f"since {fmt.timestamp(state.since_ms, tz)}: " if state.since_ms else ""
    column.caption(f"{since}{state.detail}")


def render() -> None:
    ctx = common.context()
    st.title("Status")
    now = now_utc()
    st.subheader("Markets")
    markets = pd.DataFrame(market_rows(now)).drop(columns=["open"])
    markets.columns = ["Market", "Now", "Local time", "Session", "Closes in", "Next session", "Opens in"]
    st.dataframe(markets, hide_index=True)
    st.caption(
        "ASX and NYSE from exchange_calendars (holidays and early closes included); FX (IDEALPRO) 24/5, "
        f"Sunday 17:00 to Friday 17:00 New York. Checked at {fmt.timestamp(int(now.timestamp() * 1000), ctx.tz)}."
    )
    link_col, circuit_col = st.columns(2)
    _state(link_col, "Connectivity", connectivity_state(common.latest_event(ctx.url, EventKind.CONNECTIVITY)), ctx.tz)
    _state(circuit_col, "Circuit", circuit_state(common.latest_event(ctx.url, EventKind.CIRCUIT)), ctx.tz)
    st.subheader("Risk rejections")
    rejected = common.rejections(ctx.url, 50)
    if rejected:
        st.dataframe(rejections_frame(rejected, ctx.tz), hide_index=True)
    else:
        st.caption("The RiskManager has rejected nothing recorded here.")
    st.subheader("Recent events")
    kinds = st.multiselect("Kinds", [str(k) for k in EventKind], placeholder="all kinds", key="status.kinds")
    recent = common.events(ctx.url, tuple(kinds) or None, 100)
    if recent:
        st.dataframe(events_frame(recent, ctx.tz), hide_index=True)
    else:
        st.caption("No events of these kinds.")
    st.subheader("Runs")
    st.dataframe(sessions_frame(common.runs(ctx.url), ctx.tz), hide_index=True)


if __name__ == "__main__":
    render()
