"""Account: venue, masked account, base currency, equity (NetLiquidation), cash by currency, buying
power and the day's PnL in the base currency, for each account in the ledger."""

from __future__ import annotations

import streamlit as st

from dashboard.app_pages import common
from dashboard.logic import formatting as fmt
from dashboard.logic.equity import day_pnl
from dashboard.logic.frames import balances_frame
from dashboard.logic.reads import ACCOUNT_SUMMARY_KIND
from sdk.venues.mode import VENUE_EVENT

_MODE_COLOURS = {"live": "red", "paper": "blue", "shadow": "gray"}


def _rates(snapshot: dict[str, object] | None, base: str) -> str:
    rates = snapshot.get("fx_rates") if snapshot else None
    if not isinstance(rates, dict) or not rates:
        return "no conversion recorded"
    return "; ".join(fmt.rate(value, currency, base) for currency, value in sorted(rates.items()))


def _venue_badge(event: dict[str, object] | None) -> str:
    """The newest run's venue facts (``session.venue`` event): offline gateway or broker, and what decided the mode."""
    payload = (event or {}).get("payload")
    if not isinstance(payload, dict):
        return ""
    broker = (
        ":orange-badge[offline gateway: simulated]"
        if payload.get("simulated")
        else f":green-badge[{payload.get('broker')}]"
    )
    facts = payload.get("facts") or []
    return f" {broker} :gray-badge[mode from {', '.join(str(f) for f in facts)}]" if facts else f" {broker}"


def render() -> None:
    ctx = common.context()
    st.title("Account")
    all_balances = common.balances(ctx.url)
    for acct in common.accounts(ctx.url):
        venue, account, base, mode = acct["venue"], acct["account"], acct["base_currency"], acct["mode"]
        st.subheader(f"{venue} {account}".strip())
        modes = " ".join(f":{_MODE_COLOURS.get(m, 'orange')}-badge[{m}]" for m in acct["open_modes"] or [mode])
        facts = common.latest_account_event(ctx.url, VENUE_EVENT, venue, account)
        st.markdown(
            f":blue-badge[{venue}] {modes} :violet-badge[base currency {base}] :gray-badge[account {account or 'none'}]"
            + _venue_badge(facts)
        )
        snaps = common.account_equity(ctx.url, venue, account, ctx.tz)
        latest = snaps["latest"]
        pnl = day_pnl(latest, snaps["first_of_day"], snaps["previous_close"], ctx.tz)
        equity_col, pnl_col = st.columns(2)
        cash_col, power_col = st.columns(2)
        if latest is None:
            equity_col.metric("Equity (NetLiquidation)", "no snapshot yet")
        else:
            equity_col.metric(
                "Equity (NetLiquidation)",
                fmt.money(latest["equity"], latest["currency"]),
                help=f"as of {fmt.timestamp(latest['timestamp'], ctx.tz)}; rates used: {_rates(latest, base)}",
            )
        if pnl is None:
            pnl_col.metric("Today's PnL", fmt.MISSING, help="needs two equity snapshots")
        else:
            pnl_col.metric(
                f"PnL on {pnl.day.isoformat()}",
                fmt.signed_money(pnl.pnl, pnl.currency),
                delta=fmt.pct(pnl.fraction) if pnl.fraction is not None else None,
                help=(
                    f"equity at {fmt.timestamp(pnl.end_ms, ctx.tz)} minus the {pnl.reference} "
                    f"at {fmt.timestamp(pnl.start_ms, ctx.tz)} ({fmt.money(pnl.start_equity, pnl.currency)})"
                ),
            )
        cash_col.metric("Cash, all currencies", fmt.money(latest["cash"] if latest else None, base))
        summary = common.latest_account_event(ctx.url, ACCOUNT_SUMMARY_KIND, venue, account)
        payload = (summary or {}).get("payload") or {}
        power = payload.get("BuyingPower") if isinstance(payload, dict) else None
        if summary is not None and power is not None:
            power_col.metric(
                "Buying power",
                fmt.money(power, base),
                help=f"IB's BuyingPower at {fmt.timestamp(summary['timestamp'], ctx.tz)} (account_summary event)",
            )
        else:
            power_col.metric(
                "Buying power", "not recorded", help="recorded when the runner writes an account_summary event"
            )
        mine = [b for b in all_balances if b["venue"] == venue and b["account"] == account]
        st.markdown("**Cash by currency**")
        if mine:
            st.table(balances_frame(mine, ctx.tz), hide_index=True)
        else:
            st.caption("No balances recorded for this account yet.")
        st.caption(
            f"Newest run {acct['run_id']} ({acct['program'] or 'program unknown'}, {mode}), "
            f"started {fmt.timestamp(acct['started_at'], ctx.tz)}; {acct['runs']} run(s) in the ledger."
        )


if __name__ == "__main__":
    render()
