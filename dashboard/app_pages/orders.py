"""Orders & fills: status, the shadow flag (simulated, never sent), commission and its source, with filters."""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboard.app_pages import common
from dashboard.logic import formatting as fmt
from dashboard.logic.equity import day_start_ms
from dashboard.logic.frames import fills_frame, orders_frame
from sdk.ledger.queries import day_range_ms

LIMIT = 500
SHADOW_CHOICES = {"all orders": None, "real only": False, "shadow only": True}


def _dates(value: object, first: date, last: date) -> tuple[date, date]:
    picked = [d for d in value if isinstance(d, date)] if isinstance(value, tuple | list) else []
    if not picked:
        return first, last
    return picked[0], picked[-1]


def render() -> None:
    ctx = common.context()
    st.title("Orders & fills")
    facets = common.order_facets(ctx.url)
    if not facets["count"]:
        st.info("No orders recorded yet.")
        return
    first, _ = day_start_ms(facets["first"], ctx.tz)
    last, _ = day_start_ms(facets["last"], ctx.tz)
    when_col, status_col, symbol_col, venue_col = st.columns([2, 2, 2, 1])
    picked = when_col.date_input(
        f"Days ({ctx.tz})", value=(first, last), min_value=first, max_value=last, key="orders.days"
    )
    statuses = status_col.multiselect("Status", facets["statuses"], placeholder="all statuses", key="orders.status")
    symbols = symbol_col.multiselect("Symbol", facets["symbols"], placeholder="all symbols", key="orders.symbol")
    venues = venue_col.multiselect("Venue", facets["venues"], placeholder="all venues", key="orders.venue")
    shadow_label = st.radio("Show", list(SHADOW_CHOICES), horizontal=True, key="orders.shadow")
    shadow = SHADOW_CHOICES[shadow_label or "all orders"]
    start_day, end_day = _dates(picked, first, last)
    since, until = day_range_ms(start_day, ctx.tz)[0], day_range_ms(end_day, ctx.tz)[1]
    orders, order_fills = common.orders_with_fills(
        ctx.url,
        since,
        until,
        tuple(statuses) or None,
        tuple(symbols) or None,
        tuple(venues) or None,
        shadow,
        False,
        LIMIT,
    )
    pending = sum(1 for f in order_fills if f.get("fee_cost") is None)
    st.caption(
        f"{len(orders)} order(s){' (the newest ' + str(LIMIT) + ')' if len(orders) >= LIMIT else ''}, "
        f"{len(order_fills)} fill(s), {pending} commission(s) pending. Shadow orders were simulated "
        "(shadow mode: real data, nothing sent)."
    )
    st.dataframe(orders_frame(orders, order_fills, ctx.tz), hide_index=True)
    st.subheader("Fills of these orders")
    if order_fills:
        st.dataframe(fills_frame(list(reversed(order_fills)), ctx.tz), hide_index=True)
        st.caption(
            f"A commission shows `{fmt.PENDING}` until the venue reports it (IB sends its commission report "
            "after the execution); it is never shown as 0.00."
        )
    else:
        st.caption("No fills for these orders.")


if __name__ == "__main__":
    render()
