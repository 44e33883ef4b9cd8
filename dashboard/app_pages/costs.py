"""Costs: commissions paid to date (each in its currency and in the base currency at the recorded
rate; pending ones counted, never summed as zero) and the CostTracker's estimates per venue."""

from __future__ import annotations

import streamlit as st

from dashboard.app_pages import common
from dashboard.logic import formatting as fmt
from dashboard.logic.costs import commission_overview, commission_table, estimates_table


def render() -> None:
    ctx = common.context()
    st.title("Costs")
    totals = common.commission_totals(ctx.url)
    real = commission_overview(totals)
    base = real.base_currency or ctx.base_currency
    in_base_col, currency_col, pending_col, rate_col = st.columns(4)
    in_base_col.metric(
        f"Commissions to date in {base}",
        fmt.money(real.in_base, base),
        help="real fills only, each converted at the rate recorded with it; pending ones are not in it",
    )
    currency_col.metric(
        "By fee currency",
        " + ".join(fmt.money(v, k) for k, v in real.by_currency.items()) or fmt.MISSING,
    )
    pending_col.metric("Pending commissions", f"{real.pending} fill(s)", help="not yet reported by the venue")
    rate_col.metric("Reported, no FX rate", f"{real.unconverted} fill(s)", help="not converted: no rate was recorded")
    st.subheader("Commissions by venue and source")
    if totals:
        st.dataframe(commission_table(totals), hide_index=True)
    else:
        st.caption("No fills recorded yet.")
    shadow = commission_overview(totals, shadow=True)
    if shadow.fills:
        st.caption(
            f"Shadow fills (simulated, nothing paid): {shadow.fills}, estimated "
            f"{fmt.money(shadow.in_base, shadow.base_currency or base)}."
        )
    st.subheader("Estimates per venue")
    orders, fills = common.estimates(ctx.url)
    table = estimates_table(orders, fills)
    if table.empty:
        st.caption("No order carries a cost estimate yet (the RiskManager records one with each approved order).")
    else:
        st.dataframe(table, hide_index=True)
        st.caption(
            "Estimates are the CostTracker's, recorded with the RiskManager's decision (IB's published "
            "schedules; ccxt maker/taker rates), in the base currency; actuals are the fills' commissions."
        )


if __name__ == "__main__":
    render()
