"""Backtests: the runs ``trader backtest`` wrote under ``BACKTEST_DIR``, their metrics, and each run's report."""

from __future__ import annotations

import streamlit as st

from dashboard.app_pages import common
from dashboard.logic import formatting as fmt
from dashboard.logic.backtests import runs_frame

EXAMPLE = "trader backtest --strategy ma_crossover --symbols BHP/AUD --start 2019-01-01 --end 2020-12-31"


def render() -> None:
    directory, tz = common.backtest_settings()
    st.title("Backtests")
    listing = common.backtest_runs(str(directory))
    st.caption(f"Runs in `{directory}` (BACKTEST_DIR); times in {tz}. Metrics are in each run's base currency.")
    if not listing.runs:
        st.info(f"No backtest run in {directory} yet. Run one, then refresh:")
        st.code(EXAMPLE, language="bash")
    else:
        st.dataframe(runs_frame(listing.runs, tz), hide_index=True)
        chosen = st.selectbox("Run", [r.run_id for r in listing.runs], key="backtests.run")
        run = next(r for r in listing.runs if r.run_id == chosen)
        m, base = run.metrics, run.base_currency
        columns = st.columns(4)
        columns[0].metric("Total return", fmt.pct(m.get("total_return")))
        columns[1].metric("Max drawdown", fmt.pct(m.get("max_drawdown")))
        columns[2].metric("Trades", str(m.get("trades", fmt.MISSING)))
        columns[3].metric("Net PnL of trades", fmt.signed_money(m.get("net_pnl"), base))
        if run.report.is_file():
            st.download_button(
                "Open the report (report.html)", data=run.report.read_bytes(), file_name=f"{run.run_id}.html",
                mime="text/html", icon=":material/open_in_new:", key="backtests.report",
                help="one self-contained page: equity, drawdown, prices with entries and exits, trades, metrics",
            )  # fmt: skip
        st.caption(f"Files of this run: `{run.path}`")
        warnings = run.summary.get("warnings") or []
        for warning in warnings:
            st.warning(warning)
    for name, why in listing.skipped.items():
        st.caption(f"Skipped `{name}`: {why}")


if __name__ == "__main__":
    render()
