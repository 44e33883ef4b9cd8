"""Positions: each open position's unrealized PnL in its own currency and in the base currency, with
the FX rate recorded with the snapshot."""

from __future__ import annotations

import streamlit as st

from dashboard.app_pages import common
from dashboard.logic import formatting as fmt
from dashboard.logic.frames import pnl_in_base_total, positions_frame


def render() -> None:
    ctx = common.context()
    st.title("Positions")
    rows = common.positions(ctx.url)
    if not rows:
        st.info("No open positions in the newest snapshot of any account.")
        return
    total = pnl_in_base_total(rows)
    st.metric(
        f"Unrealized PnL in {total.currency}",
        fmt.signed_money(total.amount, total.currency),
        help="sum over positions converted at the rate recorded with each snapshot",
    )
    if total.unconverted:
        st.warning(
            f"{len(total.unconverted)} position(s) have no FX rate recorded and are left out of the total: "
            f"{', '.join(total.unconverted)}. Nothing is converted at a guessed rate."
        )
    st.dataframe(positions_frame(rows, ctx.tz), hide_index=True)
    st.caption(
        "Prices, notional and PnL are in the symbol's quote currency (BHP/AUD in AUD, SPY/USD in USD); "
        f"the {total.currency} column converts at the rate shown, recorded with the snapshot."
    )


if __name__ == "__main__":
    render()
