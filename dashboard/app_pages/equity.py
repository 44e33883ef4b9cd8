"""Equity & PnL: the equity curve (net liquidation in the base currency) and its drawdown, with Plotly."""

from __future__ import annotations

import streamlit as st

from dashboard.app_pages import common
from dashboard.logic import formatting as fmt
from dashboard.logic.charts import drawdown_figure, equity_figure
from dashboard.logic.equity import bucket_for_span, equity_frame, max_drawdown, series_label

DAY_MS = 86_400_000
#: Range choices, in days before the newest snapshot (None: everything).
RANGES = {"all": None, "30 days": 30, "7 days": 7, "1 day": 1}


def render() -> None:
    ctx = common.context()
    st.title("Equity & PnL")
    span = common.equity_span(ctx.url)
    if not span["count"]:
        st.info("No equity snapshots recorded yet.")
        return
    choice = st.radio("Range (before the newest snapshot)", list(RANGES), horizontal=True, key="equity.range")
    days = RANGES[choice or "all"]
    since = span["last"] - days * DAY_MS if days else None
    bucket = bucket_for_span(since if since is not None else span["first"], span["last"])
    rows = common.equity_points(ctx.url, since, bucket)
    frame = equity_frame(rows)
    every = common.equity_values(ctx.url, since) if bucket else rows  # the drawdown counts every snapshot
    columns = st.columns(max(1, frame["series"].nunique()))
    for column, (series, part) in zip(columns, frame.groupby("series", sort=True), strict=False):
        points = [r for r in every if series_label(r["venue"], r["account"]) == series]
        worst = max_drawdown(points)
        newest = points[-1]
        column.metric(f"{series}: equity", fmt.money(newest["equity"], newest["currency"]))
        if worst is not None:
            column.metric(
                f"{series}: max drawdown",
                fmt.pct(worst.fraction),
                delta=fmt.money(worst.amount, worst.currency),
                delta_color="off",
                help=(
                    f"from {fmt.money(worst.peak_equity, worst.currency)} at {fmt.timestamp(worst.peak_ms, ctx.tz)} "
                    f"to {fmt.money(worst.trough_equity, worst.currency)} at {fmt.timestamp(worst.trough_ms, ctx.tz)}"
                ),
            )
        column.caption(f"{len(part)} point(s)")
    st.plotly_chart(equity_figure(frame, ctx.tz), key="equity.curve")
    st.plotly_chart(drawdown_figure(frame, ctx.tz), key="equity.drawdown")
    note = f"one point per {fmt.duration_ms(bucket)} (the last snapshot of each)" if bucket else "every snapshot"
    st.caption(f"Net liquidation value in the base currency as the runner recorded it; {note}.")


if __name__ == "__main__":
    render()
