"""The dashboard's logic without Streamlit: formatting, drawdown and day PnL, market hours, event states,
costs and frames. Inputs are the ledger's row shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.engine import make_url

from dashboard.logic import formatting as fmt
from dashboard.logic.costs import commission_overview, estimate_of, estimates_table
from dashboard.logic.equity import bucket_for_span, day_pnl, equity_frame, max_drawdown, with_drawdown
from dashboard.logic.frames import NO_RATE, fills_frame, order_commission, pnl_in_base_total
from dashboard.logic.readonly import POSTGRES_READ_ONLY_OPTION, readonly_url
from dashboard.logic.status import circuit_state, connectivity_state, market_rows


# --- formatting ------------------------------------------------------------------------------
def test_money_rounds_half_up_and_keeps_its_currency() -> None:
    assert fmt.money(Decimal("1234.565"), "AUD") == "1,234.57 AUD"
    assert fmt.money(2.675, "USD") == "2.68 USD"  # the float's repr 2.675, not its binary 2.67499...
    assert fmt.money(Decimal("-8991.0305"), "AUD") == "-8,991.03 AUD"
    assert fmt.money(None, "AUD") == fmt.MISSING
    assert fmt.signed_money(Decimal("1290.75"), "AUD") == "+1,290.75 AUD"
    assert fmt.signed_money(Decimal("-12"), "AUD") == "-12.00 AUD"
    assert fmt.signed_money(Decimal(0), "AUD") == "0.00 AUD"
    assert fmt.money(Decimal("-0.003"), "AUD") == "0.00 AUD"


def test_prices_amounts_rates_and_times() -> None:
    assert fmt.price(Decimal("45.1200000000"), "AUD") == "45.12 AUD"
    assert fmt.price(Decimal("0.6543210000"), "USD") == "0.654321 USD"
    assert fmt.price(Decimal("590"), "USD") == "590.00 USD"
    assert fmt.amount(Decimal("100.0000000000")) == "100"
    assert fmt.amount(Decimal("0.5")) == "0.5"
    assert fmt.amount(Decimal("12500")) == "12,500"
    assert fmt.rate(Decimal("1.5230000000"), "USD", "AUD") == "1 USD = 1.5230 AUD"
    assert fmt.rate(Decimal(1), "AUD", "AUD") == "same currency"
    assert fmt.rate(None, "USD", "AUD") == fmt.MISSING
    assert fmt.pct(Decimal("-0.012394")) == "-1.24%"
    assert fmt.timestamp(1_763_683_200_000, "Australia/Sydney") == "2025-11-21 11:00:00 AEDT"
    assert fmt.timestamp(1_763_683_200_000) == "2025-11-21 00:00:00 UTC"
    assert fmt.duration(timedelta(days=2, hours=3, minutes=5)) == "2 d 3 h"
    assert fmt.duration(timedelta(hours=3, minutes=20)) == "3 h 20 min"
    assert fmt.duration(timedelta(seconds=20)) == "under a minute"
    assert fmt.home_tz("AUD") == "Australia/Sydney" and fmt.home_tz("CHF") == "UTC"


# --- equity ------------------------------------------------------------------------------------
def _snap(ts: int, equity: str, currency: str = "AUD") -> dict[str, object]:
    return {"timestamp": ts, "equity": Decimal(equity), "currency": currency, "venue": "IB", "account": "DU****567"}


SERIES = [_snap(1, "100"), _snap(2, "120"), _snap(3, "90"), _snap(4, "130"), _snap(5, "117")]


def test_max_drawdown_finds_the_deepest_fall_from_a_running_peak() -> None:
    worst = max_drawdown(SERIES)
    assert worst is not None
    assert (worst.fraction, worst.amount) == (Decimal("-0.25"), Decimal("-30"))  # 120 -> 90
    assert (worst.peak_ms, worst.trough_ms) == (2, 3)
    rising = max_drawdown([_snap(1, "100"), _snap(2, "101")])
    assert rising is not None and rising.fraction == 0
    assert max_drawdown([]) is None
    with pytest.raises(ValueError, match="one currency"):
        max_drawdown([_snap(1, "100"), _snap(2, "100", "USD")])


def test_drawdown_series_agrees_with_the_decimal_max_drawdown() -> None:
    frame = with_drawdown(equity_frame(SERIES))
    assert list(frame["peak"]) == [100, 120, 120, 130, 130]
    assert list(frame["drawdown"]) == [0, 0, -30, 0, -13]
    assert frame["drawdown_pct"].min() == pytest.approx(-0.25)
    assert frame["drawdown_pct"].iloc[-1] == pytest.approx(-0.1)
    assert equity_frame([]).empty and list(equity_frame([]).columns) == ["time", "series", "equity", "currency"]


def test_day_pnl_against_the_first_snapshot_of_the_day_else_the_previous_day() -> None:
    close = _snap(1_763_622_000_000, "100240.00")  # 20 Nov 18:00 Sydney
    first = _snap(1_763_679_600_000, "100300.00")  # 21 Nov 10:00
    latest = _snap(1_763_697_600_000, "101530.75")  # 21 Nov 15:00
    pnl = day_pnl(latest, first, close, "Australia/Sydney")
    assert pnl is not None and pnl.pnl == Decimal("1230.75") and pnl.reference == "first snapshot of the day"
    assert str(pnl.day) == "2025-11-21" and pnl.fraction == Decimal("1230.75") / Decimal("100300.00")
    only_one_today = day_pnl(first, first, close, "Australia/Sydney")
    assert only_one_today is not None and only_one_today.pnl == Decimal("60.00")
    assert only_one_today.reference == "previous day's last snapshot"
    assert day_pnl(first, first, None, "Australia/Sydney") is None  # nothing earlier to compare with
    assert day_pnl(None, None, None, "Australia/Sydney") is None
    with pytest.raises(ValueError, match="one currency"):
        day_pnl(latest, _snap(1_763_679_600_000, "60000", "USD"), None, "Australia/Sydney")


def test_chart_buckets_follow_the_span() -> None:
    day = 86_400_000
    assert bucket_for_span(0, day) is None
    assert bucket_for_span(0, 5 * day) == 300_000  # 1,440 five-minute points
    assert bucket_for_span(0, 60 * day) == 3_600_000  # 1,440 hourly points
    assert bucket_for_span(0, 90 * day) == 14_400_000  # hourly would be 2,160 > 2,000
    assert bucket_for_span(None, None) is None


# --- status ------------------------------------------------------------------------------------
def test_market_rows_at_a_known_time() -> None:
    # Friday 21 Nov 2025 12:00 Sydney = Thursday 20:00 New York: ASX open, NYSE closed, FX open
    rows = {r["market"]: r for r in market_rows(datetime(2025, 11, 21, 1, 0, tzinfo=UTC))}
    assert (rows["ASX"]["state"], rows["NYSE"]["state"], rows["FX"]["state"]) == ("open", "closed", "open")
    assert rows["ASX"]["session"] == "Fri 2025-11-21 10:00 AEDT – 16:00 AEDT"
    assert rows["ASX"]["closes_in"] == "4 h"
    assert rows["ASX"]["next_session"].startswith("Mon 2025-11-24 10:00 AEDT")
    assert rows["NYSE"]["next_session"] == "Fri 2025-11-21 09:30 EST – 16:00 EST"
    assert rows["NYSE"]["opens_in"] == "13 h 30 min"
    assert rows["FX"]["closes_in"] == "21 h"  # Friday 17:00 New York
    with pytest.raises(ValueError, match="timezone-aware"):
        market_rows(datetime(2025, 11, 21, 1, 0))  # naive: refused


@pytest.mark.parametrize(
    ("payload", "state"),
    [
        ({"health": "healthy"}, "connected"),
        ({"kind": "resynced"}, "connected"),
        ({"kind": "disconnected"}, "disconnected"),
        ({"health": "degraded", "kind": "data_lost"}, "degraded"),
        ({"kind": "resync_failed"}, "degraded"),
        ({"connected": False}, "disconnected"),
        ({"code": 1100}, "unknown"),  # a venue's own codes are the venue's to translate (it writes kind/health)
        ({"something": "else"}, "unknown"),
    ],
)
def test_connectivity_state_from_event_payloads(payload: dict[str, object], state: str) -> None:
    found = connectivity_state({"timestamp": 5, "payload": payload, "message": "IB notice"})
    assert found.state == state and found.since_ms == 5
    assert found.healthy is {"connected": True, "degraded": False, "disconnected": False, "unknown": None}[state]


def test_circuit_state_and_missing_events() -> None:
    runner_payload = {"from": "closed", "to": "open", "reason": "3 venue errors", "failures": 3}
    opened = circuit_state({"timestamp": 7, "payload": runner_payload, "message": "circuit closed -> open"})
    assert (opened.state, opened.healthy, opened.detail) == ("open", False, "circuit closed -> open (3 venue errors)")
    assert circuit_state({"timestamp": 7, "payload": {"to": "half_open"}}).healthy is False
    assert circuit_state({"timestamp": 7, "payload": {"state": "open", "why": "kill switch"}}).detail == "kill switch"
    assert circuit_state({"timestamp": 8, "payload": {"open": False}}).state == "closed"
    assert circuit_state(None).state == "unknown" and connectivity_state(None).state == "unknown"


# --- costs and frames ------------------------------------------------------------------------
def _fill(cid: str, fee: str | None, currency: str | None = "AUD", in_base: str | None = None) -> dict[str, object]:
    return {
        "client_order_id": cid, "fee_cost": Decimal(fee) if fee else None, "fee_currency": currency,
        "fee_in_base": Decimal(in_base) if in_base else (Decimal(fee) if fee and currency == "AUD" else None),
        "commission_source": "ib_commission_report", "base_currency": "AUD", "fx_rate": None, "timestamp": 1,
        "venue": "IB", "symbol": "BHP/AUD", "side": "buy", "amount": Decimal(10), "price": Decimal(45),
        "quote_currency": "AUD", "shadow": False, "trade_id": f"{cid}.1", "taker_or_maker": None,
    }  # fmt: skip


def test_order_commission_sums_fills_and_stays_pending_until_all_are_reported() -> None:
    order = {"client_order_id": "trd-1", "filled": Decimal(20), "commission_source": "pending"}
    assert order_commission(order, [_fill("trd-1", "3.00"), _fill("trd-1", "3.00")])[0] == "6.00 AUD"
    assert order_commission(order, [_fill("trd-1", "3.00"), _fill("trd-1", None)])[0] == "pending"
    assert order_commission(order, []) == ("pending", "pending")  # filled, but no fill in the ledger yet
    assert order_commission({**order, "filled": Decimal(0)}, [])[0] == "none (no fills)"
    mixed = order_commission(order, [_fill("trd-1", "1.00", "USD"), _fill("trd-1", "6.00")])
    assert mixed == ("6.00 AUD + 1.00 USD", "ib_commission_report")


def test_fills_frame_never_converts_without_a_rate() -> None:
    frame = fills_frame([_fill("a", None), _fill("b", "1.00", "USD"), _fill("c", "1.00", "USD", "1.523")], "UTC")
    assert list(frame["Commission"]) == ["pending", "1.00 USD", "1.00 USD"]
    assert list(frame["Commission in AUD"]) == ["pending", NO_RATE, "1.52 AUD"]


def test_unrealized_total_leaves_out_positions_without_a_rate() -> None:
    rows = [
        {"symbol": "BHP/AUD", "unrealized_pnl": Decimal("68"), "quote_currency": "AUD", "base_currency": "AUD"},
        {"symbol": "SPY/USD", "unrealized_pnl": Decimal("48.5"), "quote_currency": "USD", "base_currency": "AUD",
         "fx_rate": Decimal("1.523")},
        {"symbol": "QQQ/USD", "unrealized_pnl": Decimal("10"), "quote_currency": "USD", "base_currency": "AUD",
         "fx_rate": None},
    ]  # fmt: skip
    total = pnl_in_base_total(rows)
    assert (total.amount, total.currency, total.unconverted) == (Decimal("141.8655"), "AUD", ["QQQ/USD"])


def test_commission_overview_keeps_pending_and_shadow_apart() -> None:
    totals = [
        {"venue": "IB", "shadow": False, "fee_currency": "AUD", "commission_source": "r", "base_currency": "AUD",
         "fills": 2, "reported": 2, "fee_total": Decimal("12"), "converted": 2, "fee_in_base_total": Decimal("12")},
        {"venue": "IB", "shadow": False, "fee_currency": "USD", "commission_source": "r", "base_currency": "AUD",
         "fills": 2, "reported": 2, "fee_total": Decimal("2"), "converted": 1, "fee_in_base_total": Decimal("1.5")},
        {"venue": "IB", "shadow": False, "fee_currency": None, "commission_source": "r", "base_currency": "AUD",
         "fills": 3, "reported": 0, "fee_total": None, "converted": 0, "fee_in_base_total": None},
        {"venue": "IB", "shadow": True, "fee_currency": "AUD", "commission_source": "estimate",
         "base_currency": "AUD", "fills": 1, "reported": 1, "fee_total": Decimal("6"), "converted": 1,
         "fee_in_base_total": Decimal("6")},
    ]  # fmt: skip
    real = commission_overview(totals)
    assert real.by_currency == {"AUD": Decimal("12"), "USD": Decimal("2")}
    assert (real.in_base, real.fills, real.pending, real.unconverted) == (Decimal("13.5"), 7, 3, 1)
    shadow = commission_overview(totals, shadow=True)
    assert (shadow.in_base, shadow.fills) == (Decimal("6"), 1)


def test_estimates_come_from_the_risk_decision() -> None:
    decision = {"ok": True, "cost": {"kind": "estimate", "amount_base": "1.5260", "base_currency": "AUD"}}
    order = {"venue": "IB", "shadow": False, "client_order_id": "trd-1", "risk_decision": decision}
    assert estimate_of(order) == (Decimal("1.5260"), "AUD")
    assert estimate_of({"risk_decision": {"ok": False, "code": "min_size"}}) == (None, None)
    table = estimates_table([order], [_fill("trd-1", "1.00", "USD", "1.523")])
    assert table.to_dict("records")[0] == {
        "Venue": "IB", "Shadow": False, "Orders with an estimate": 1, "Estimated": "1.53 AUD", "Filled orders": 1,
        "Estimated for filled": "1.53 AUD", "Actual for filled": "1.52 AUD", "Actual − estimate": "0.00 AUD",
    }  # fmt: skip


# --- read-only URLs ------------------------------------------------------------------------------
def test_readonly_urls() -> None:
    sqlite = readonly_url(make_url("sqlite:///./data/my ledger.db"))
    assert sqlite.query == {"mode": "ro", "uri": "true"}
    assert sqlite.database is not None and sqlite.database.startswith("file:/") and "my%20ledger.db" in sqlite.database
    pg = readonly_url(make_url("postgresql+psycopg://postgres@127.0.0.1/test?options=-csearch_path%3Dt_1"))
    assert pg.query["options"] == f"-csearch_path=t_1 {POSTGRES_READ_ONLY_OPTION}"
    plain = readonly_url(make_url("postgresql+psycopg://postgres@127.0.0.1/test"))
    assert plain.query["options"] == POSTGRES_READ_ONLY_OPTION
