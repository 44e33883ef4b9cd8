"""Agent activity: the MCP server's tool calls (arguments masked), and orders agents originated."""

from __future__ import annotations

import streamlit as st

from dashboard.app_pages import common
from dashboard.logic.frames import orders_frame, tool_calls_frame, tool_summary_frame

LIMIT = 200


def render() -> None:
    ctx = common.context()
    st.title("Agent activity")
    calls = common.tool_calls(ctx.url, LIMIT)
    if not calls:
        st.info("No MCP tool calls recorded yet (`trader mcp` records each one).")
    else:
        st.subheader("Tools")
        st.dataframe(tool_summary_frame(calls), hide_index=True)
        st.subheader("Tool calls")
        st.dataframe(tool_calls_frame(calls, ctx.tz), hide_index=True)
        st.caption(f"The newest {len(calls)} call(s); arguments were masked when they were recorded.")
    orders, fills = common.orders_with_fills(ctx.url, None, None, None, None, None, None, True, LIMIT)
    st.subheader("Orders from agents")
    if orders:
        st.dataframe(orders_frame(orders, fills, ctx.tz), hide_index=True)
    else:
        st.caption("No order was originated by an agent.")


if __name__ == "__main__":
    render()
