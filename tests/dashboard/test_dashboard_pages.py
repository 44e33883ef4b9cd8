"""Every page of the dashboard through Streamlit's AppTest, on a seeded ledger on SQLite and PostgreSQL.

The seeded figures (tests/dashboard/dashboard_seed.py) are checked as the trader reads them: money
with its currency, AUD conversions with the rate used, pending commissions as "pending", accounts
masked. The expected strings are worked out by hand in the comments beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from dashboard_helpers import chart_traces, metrics, page_text, row, tables
from dashboard_seed import ACCOUNT, EQUITY, EXPECTED, MASKED

RunApp = Callable[..., Any]


def _no_full_account(app: Any) -> None:
    text = page_text(app)
    assert MASKED in text
    assert ACCOUNT not in text


def test_account_page(seeded_url: str, run_app: RunApp) -> None:
    app = run_app(seeded_url)
    assert [t.value for t in app.title] == ["Account"]
    assert [s.value for s in app.subheader] == [f"IB {MASKED}"]
    badges = app.markdown[0].value
    assert ":blue-badge[IB]" in badges and "base currency AUD" in badges
    assert ":blue-badge[paper]" in badges and ":gray-badge[shadow]" in badges  # the two runs still open
    shown = metrics(app)
    assert shown["Equity (NetLiquidation)"][0] == "101,530.75 AUD"
    # 101,530.75 (21 Nov 15:00) - 100,240.00 (21 Nov 10:00, the day's first snapshot) = +1,290.75 (+1.29 %)
    assert EXPECTED["day_pnl"] == Decimal("1290.75")
    assert shown["PnL on 2025-11-21"] == ("+1,290.75 AUD", "1.29%")
    assert shown["Cash, all currencies"][0] == "82,410.60 AUD"
    assert shown["Buying power"][0] == "326,000.00 AUD"
    [cash] = tables(app)
    usd = row(cash, "Currency", "USD")
    # -5,903.50 USD x 1.5230 AUD/USD = -8,991.03 AUD
    assert (usd["Total"], usd["Total in AUD"]) == ("-5,903.50 USD", "-8,991.03 AUD")
    assert usd["Rate used"] == "1 USD = 1.5230 AUD"
    aud = row(cash, "Currency", "AUD")
    assert (aud["Total"], aud["Total in AUD"], aud["Rate used"]) == ("82,410.60 AUD", "82,410.60 AUD", "same currency")
    _no_full_account(app)


def test_positions_page(seeded_url: str, run_app: RunApp) -> None:
    app = run_app(seeded_url, "positions.py")
    # 68.00 AUD - 20.00 AUD + 48.50 USD x 1.5230 (= 73.8655 AUD) = 121.8655 AUD
    assert metrics(app)["Unrealized PnL in AUD"][0] == "+121.87 AUD"
    [positions] = tables(app)
    assert list(positions["Symbol"]) == ["BHP/AUD", "CBA/AUD", "SPY/USD"]
    spy = row(positions, "Symbol", "SPY/USD")
    assert spy["Unrealized PnL"] == "48.50 USD" and spy["Unrealized PnL in AUD"] == "73.87 AUD"
    assert spy["Rate used"] == "1 USD = 1.5230 AUD" and spy["Mark"] == "595.10 USD"
    cba = row(positions, "Symbol", "CBA/AUD")
    assert (cba["Unrealized PnL"], cba["Unrealized PnL in AUD"], cba["Rate used"]) == (
        "-20.00 AUD",
        "-20.00 AUD",
        "same currency",
    )
    assert not app.warning  # every position had its rate
    _no_full_account(app)


def test_orders_page_commissions_and_shadow_flag(seeded_url: str, run_app: RunApp) -> None:
    app = run_app(seeded_url, "orders.py")
    orders, fills = tables(app)
    assert len(orders) == 8 and len(fills) == 4
    cba = row(orders, "Client order id", "trd-cba001")
    assert cba["Commission"] == "pending" and cba["Commission source"] == "ib_commission_report"
    assert row(orders, "Client order id", "trd-bhp001")["Commission"] == "6.00 AUD"
    assert row(orders, "Client order id", "trd-spy001")["Commission"] == "1.00 USD"
    assert row(orders, "Client order id", "trd-csl001")["Commission"] == "none (no fills)"
    assert set(orders[orders["Shadow"]]["Client order id"]) == {"trd-shd001", "trd-shd002"}
    pending = row(fills, "Client order id", "trd-cba001")
    assert (pending["Commission"], pending["Commission in AUD"]) == ("pending", "pending")
    spy = row(fills, "Client order id", "trd-spy001")
    # IB's commission report: 1.00 USD x 1.5230 = 1.523 AUD
    assert (spy["Commission"], spy["Commission in AUD"], spy["Rate used"]) == (
        "1.00 USD",
        "1.52 AUD",
        "1 USD = 1.5230 AUD",
    )
    assert "0.00" not in " ".join(fills["Commission"])


def test_orders_page_filters(seeded_url: str, run_app: RunApp) -> None:
    app = run_app(seeded_url, "orders.py")
    app.radio(key="orders.shadow").set_value("shadow only").run()
    orders, fills = tables(app)
    assert sorted(orders["Client order id"]) == ["trd-shd001", "trd-shd002"]
    assert list(fills["Commission source"]) == ["estimate"]
    app.radio(key="orders.shadow").set_value("real only").run()
    app.multiselect(key="orders.status").set_value(["open"]).run()
    [orders, *_] = tables(app)
    assert sorted(orders["Client order id"]) == ["trd-agt001", "trd-csl001"]
    app.multiselect(key="orders.status").set_value([]).run()
    app.multiselect(key="orders.symbol").set_value(["SPY/USD"]).run()
    orders, fills = tables(app)
    assert list(orders["Client order id"]) == ["trd-spy001"] and list(fills["Execution id"]) == ["0000e0d5.6573.01.01"]


def test_equity_page(seeded_url: str, run_app: RunApp) -> None:
    app = run_app(seeded_url, "equity.py")
    shown = metrics(app)
    assert shown[f"IB {MASKED}: equity"][0] == "101,530.75 AUD"
    # from the 100,850.00 peak (20 Nov 12:00) to 99,600.00 (14:00): -1,250.00 AUD, -1.2394 %
    assert EXPECTED["max_drawdown"] == Decimal("-1250.00")
    assert shown[f"IB {MASKED}: max drawdown"] == ("-1.24%", "-1,250.00 AUD")
    [curve], [drawdown] = chart_traces(app)
    assert curve["name"] == f"IB {MASKED}" and curve["y"] == [float(e[3]) for e in EQUITY]
    assert min(drawdown["y"]) == pytest.approx(float(EXPECTED["max_drawdown_fraction"]) * 100)
    assert drawdown["y"][-1] == 0.0  # the last snapshot is a new high
    app.radio(key="equity.range").set_value("1 day").run()
    # the day before 21 Nov 15:00 holds 20 Nov 16:00 and the four snapshots of 21 Nov
    assert "5 point(s)" in [c.value for c in app.caption]


def test_costs_page(seeded_url: str, run_app: RunApp) -> None:
    app = run_app(seeded_url, "costs.py")
    shown = metrics(app)
    # 6.00 AUD (BHP) + 1.00 USD x 1.5230 (SPY) = 7.523 AUD; CBA's commission is pending, not 0
    assert shown["Commissions to date in AUD"][0] == "7.52 AUD"
    assert shown["By fee currency"][0] == "6.00 AUD + 1.00 USD"
    assert shown["Pending commissions"][0] == "1 fill(s)"
    assert shown["Reported, no FX rate"][0] == "0 fill(s)"
    by_source, estimates = tables(app)
    assert "pending" in set(by_source["Commissions"])
    real = row(estimates, "Shadow", False)
    # estimates: BHP 6.00 + CBA 6.09 + SPY 1.526 + CSL 6.00 + WBC 6.00 = 25.616; filled: 6.00 + 6.09 + 1.526
    assert (real["Orders with an estimate"], real["Estimated"], real["Filled orders"]) == (5, "25.62 AUD", 3)
    assert real["Estimated for filled"] == "13.62 AUD"
    assert real["Actual for filled"] == "7.52 AUD + 1 pending" and real["Actual − estimate"] == "pending"
    shadow = row(estimates, "Shadow", True)
    assert (shadow["Actual for filled"], shadow["Actual − estimate"]) == ("6.00 AUD", "0.00 AUD")


def test_status_page(seeded_url: str, run_app: RunApp) -> None:
    app = run_app(seeded_url, "status.py")
    markets, rejections, events, runs = tables(app)
    assert list(markets["Market"]) == ["ASX", "NYSE", "FX"]
    assert set(markets["Now"]) <= {"open", "closed"}
    markdown = " ".join(m.value for m in app.markdown)
    assert "**Connectivity** :green-badge[connected]" in markdown  # 1100 at 11:42, resynced at 11:43
    assert "**Circuit** :green-badge[closed]" in markdown  # open 11:42, half-open 11:43, closed 11:44
    captions = [c.value for c in app.caption]
    assert "since 2025-11-21 11:43:00 AEDT: venue resynced (reconnect)" in captions
    assert "since 2025-11-21 11:44:00 AEDT: circuit half_open -> closed: trial step succeeded" in captions
    rejected = row(rejections, "Code", "max_order_value")
    assert (rejected["Symbol"], rejected["Limit"], rejected["Value"]) == ("RIO/AUD", "25,000.00 AUD", "31,250.00 AUD")
    assert {"tool_call", "risk_rejection", "connectivity", "circuit", "account_summary"} <= set(events["Kind"])
    assert sorted(runs["Mode"]) == ["paper", "paper", "paper", "shadow"]
    app.multiselect(key="status.kinds").set_value(["circuit"]).run()
    assert set(tables(app)[2]["Kind"]) == {"circuit"}
    _no_full_account(app)


def test_agent_activity_page(seeded_url: str, run_app: RunApp) -> None:
    app = run_app(seeded_url, "agents.py")
    summary, calls, orders = tables(app)
    place = row(summary, "Tool", "place_order")
    assert (place["Calls"], place["ok"], place["refused"]) == (2, 1, 1)
    assert place["Median latency (ms)"] == pytest.approx((3.1 + 210.4) / 2)
    refused = row(calls, "Outcome", "refused")
    assert '"account": "DU****567"' in refused["Arguments"] and '"token": "***"' in refused["Arguments"]
    assert refused["Error"] == "kill switch is on: no new orders"
    assert list(orders["Agent"]) == ["claude-desktop"]
    _no_full_account(app)


def test_max_drawdown_counts_a_dip_the_thinned_chart_does_not_plot(empty_url: str, run_app: RunApp) -> None:
    """Over three days the chart keeps one snapshot per 5 minutes; a dip inside a bucket is still the drawdown."""
    from sdk.ledger import open_ledger

    start = 1_763_600_400_000  # 2025-11-20 01:00 UTC, on a 5-minute boundary
    with open_ledger(empty_url) as ledger:
        writer = ledger.writer()
        writer.start_session(venue="IB", account=ACCOUNT, base_currency="AUD", mode="paper", program="runner",
                             run_id="dip", started_at=start)  # fmt: skip
        for minute in range(3 * 24 * 60):
            # flat at 100,000 AUD, but 97,000 at 00:02 of one bucket, back to 100,000 before its last minute
            equity = Decimal("97000.00") if minute == 1_502 else Decimal("100000.00")
            writer.record_equity(equity, timestamp=start + minute * 60_000)
        writer.end_session(reason="done", ended_at=start + 3 * 86_400_000)
    app = run_app(empty_url, "equity.py")
    assert "one point per 5 min" in " ".join(c.value for c in app.caption)  # the chart is thinned ...
    [curve], _ = chart_traces(app)
    assert min(curve["y"]) == 100_000.0  # ... and does not plot the dip
    # ... but the metric measures every snapshot: 97,000 / 100,000 - 1 = -3.00 %, -3,000.00 AUD
    assert metrics(app)[f"IB {MASKED}: max drawdown"] == ("-3.00%", "-3,000.00 AUD")


def test_account_page_shows_a_live_session_on_the_offline_gateway_and_the_facts(
    empty_url: str, run_app: RunApp
) -> None:
    """The mode the facts decided (``live`` for a U account) and the venue's identity, from the ``session.venue``
    event every session records (:func:`sdk.services.live_gate.record_venue`)."""
    from sdk.ledger import open_ledger
    from sdk.venues.mode import VENUE_EVENT

    with open_ledger(empty_url) as ledger:
        writer = ledger.writer()
        writer.start_session(venue="IB", account="U7654321", base_currency="AUD", mode="live", program="runner",
                             run_id="live-gw")  # fmt: skip
        writer.record_event(VENUE_EVENT, {"venue": "IB", "mode": "live", "simulated": True, "broker": "offline gateway",
                                          "facts": ["IB_PAPER=false (live)", "account=U****321 (live)"]})  # fmt: skip
    badges = run_app(empty_url).markdown[0].value
    assert ":red-badge[live]" in badges and ":orange-badge[offline gateway: simulated]" in badges
    assert "mode from IB_PAPER=false (live), account=U****321 (live)" in badges and "U7654321" not in badges
