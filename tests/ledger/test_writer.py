"""LedgerWriter on both engines: idempotent upserts, pending fees, snapshots, plans, events, bad input."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from sdk.ledger import EventKind, Ledger, LedgerInputError, LedgerWriter
from sdk.ledger import queries as q
from sdk.ledger.models import Base, EventRow, OrderRow, PositionRow, SessionRow, TradeRow
from sdk.redaction import register_secret

T0 = 1_763_700_000_000  # 2025-11-21T04:40:00Z
ACCOUNT = "DU5550123"


@pytest.fixture
def writer(ledger: Ledger) -> LedgerWriter:
    w = ledger.writer()
    w.start_session(venue="IB", account=ACCOUNT, base_currency="AUD", mode="paper", program="runner", run_id="run-a")
    return w


def order(**overrides: Any) -> dict[str, Any]:
    base = {
        "id": "1001",
        "clientOrderId": "trd-7f3a9c",
        "symbol": "BHP/AUD",
        "type": "limit",
        "side": "buy",
        "status": "open",
        "timeInForce": "DAY",
        "price": 45.12,
        "amount": 100.0,
        "filled": 0.0,
        "remaining": 100.0,
        "timestamp": T0,
        "fee": None,
        "info": {"account": ACCOUNT, "permId": 8765},
    }
    return {**base, **overrides}


def fill(**overrides: Any) -> dict[str, Any]:
    base = {
        "id": "0000e0d5.6571a2b3.01.01",
        "order": "1001",
        "symbol": "BHP/AUD",
        "side": "buy",
        "type": "limit",
        "takerOrMaker": "maker",
        "price": 45.12,
        "amount": 100.0,
        "cost": 4512.0,
        "timestamp": T0 + 1500,
        "fee": None,
        "fees": [],
        "info": {"acctNumber": ACCOUNT},
    }
    return {**base, **overrides}


def count(ledger: Ledger, model: Any) -> int:
    with ledger.read() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def one_order(ledger: Ledger) -> dict[str, Any]:
    rows = q.orders_by_client_prefix(ledger, "trd-")
    assert len(rows) == 1
    return rows[0]


# --- orders ----------------------------------------------------------------------------------
def test_an_ib_day_order_keeps_its_time_in_force(ledger: Ledger, writer: LedgerWriter) -> None:
    """IBTrader sends ccxt's timeInForce None for DAY (not one of ccxt's values) with IB's in info['tif']."""
    writer.record_order(order(timeInForce=None, info={"account": ACCOUNT, "tif": "DAY"}))
    writer.record_order(order(id="1002", clientOrderId="trd-7f3a9d", timeInForce="IOC", info={"tif": "IOC"}))
    assert {row["client_order_id"]: row["time_in_force"] for row in q.orders_by_client_prefix(ledger, "trd-")} == {
        "trd-7f3a9c": "DAY",
        "trd-7f3a9d": "IOC",
    }


def test_the_same_order_update_twice_is_one_identical_row(ledger: Ledger, writer: LedgerWriter) -> None:
    first = writer.record_order(order(), risk_decision={"approved": True, "notional_aud": Decimal("4512.00")})
    before = one_order(ledger)
    second = writer.record_order(order(), risk_decision={"approved": True, "notional_aud": Decimal("4512.00")})
    after = one_order(ledger)
    assert first == second
    assert count(ledger, OrderRow) == 1
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    assert after["risk_decision"] == {"approved": True, "notional_aud": "4512.00"}
    assert after["account"] == "DU****123"
    assert after["info"] == {"account": "DU****123", "permId": 8765}
    assert after["price"] == Decimal("45.12") and after["quote_currency"] == "AUD"
    assert after["run_id"] == "run-a" and after["shadow"] is False


def test_order_updates_progress_and_stale_ones_are_ignored(ledger: Ledger, writer: LedgerWriter) -> None:
    writer.record_order(order(), risk_decision={"approved": True}, strategy="sma_cross")
    writer.record_order(order(status="open", filled=40.0, remaining=60.0))
    writer.record_order(order(status="closed", filled=100.0, remaining=0.0, average=45.11, lastTradeTimestamp=T0 + 9))
    writer.record_order(order(status="open", filled=40.0, remaining=60.0))  # a late, stale update
    row = one_order(ledger)
    assert row["status"] == "closed"
    assert row["filled"] == Decimal("100") and row["remaining"] == Decimal("0")
    assert row["average"] == Decimal("45.11") and row["last_trade_timestamp"] == T0 + 9
    # what later updates did not carry is kept, not erased
    assert row["risk_decision"] == {"approved": True} and row["strategy"] == "sma_cross"


def test_an_order_first_seen_by_venue_id_adopts_its_client_id(ledger: Ledger, writer: LedgerWriter) -> None:
    writer.record_order(order(clientOrderId=None))
    writer.record_order(order(status="canceled"))
    assert count(ledger, OrderRow) == 1
    row = one_order(ledger)
    assert row["client_order_id"] == "trd-7f3a9c" and row["order_id"] == "1001" and row["status"] == "canceled"


def test_a_venue_id_under_another_client_id_is_refused(ledger: Ledger, writer: LedgerWriter) -> None:
    writer.record_order(order())
    with pytest.raises(LedgerInputError, match="already recorded under another client order id"):
        writer.record_order(order(clientOrderId="trd-other1"))
    assert count(ledger, OrderRow) == 1


def test_shadow_sessions_record_shadow_orders(ledger: Ledger) -> None:
    w = ledger.writer()
    w.start_session(venue="IB", base_currency="AUD", mode="shadow", run_id="shadow-1")
    w.record_order(order(id=None, clientOrderId="trd-s1"))
    assert one_order(ledger)["shadow"] is True
    assert one_order(ledger)["order_id"] is None


# --- fills and fees --------------------------------------------------------------------------
def test_a_fill_replayed_after_a_reconnect_is_one_row(ledger: Ledger, writer: LedgerWriter) -> None:
    first = writer.record_trade(fill(), client_order_id="trd-7f3a9c")
    replay = writer.record_trades([fill(), fill(id="0000e0d5.6571a2b3.01.02", amount=50.0)])
    assert replay == 2
    assert writer.record_trade(fill()) == first
    assert count(ledger, TradeRow) == 2
    rows = q.trades_by_client_prefix(ledger, "trd-")
    assert [r["trade_id"] for r in rows] == ["0000e0d5.6571a2b3.01.01"]  # the client id was kept on replay
    assert rows[0]["info"] == {"acctNumber": "DU****123"}


def test_a_pending_fee_is_none_then_completed_on_the_same_row(ledger: Ledger, writer: LedgerWriter) -> None:
    row_id = writer.record_trade(fill())
    pending = q.trades_with_commissions(ledger, pending_only=True)
    assert [r["id"] for r in pending] == [row_id]
    assert pending[0]["fee_cost"] is None and pending[0]["fee_in_base"] is None  # never 0.0

    writer.complete_trade_fee("0000e0d5.6571a2b3.01.01", 6.0, "AUD", commission_source="ib_commission_report")
    writer.record_trade(fill())  # a replay without the fee does not erase it
    (done,) = q.trades_with_commissions(ledger)
    assert done["id"] == row_id
    assert done["fee_cost"] == Decimal("6") and done["fee_currency"] == "AUD"
    assert done["fee_in_base"] == Decimal("6") and done["fx_rate"] == Decimal("1") and done["base_currency"] == "AUD"
    assert done["commission_source"] == "ib_commission_report"
    assert q.trades_with_commissions(ledger, pending_only=True) == []


def test_a_foreign_fee_converts_only_with_the_rate_used(ledger: Ledger, writer: LedgerWriter) -> None:
    usd = fill(id="e-usd-1", symbol="SPY/USD", price=512.34, amount=10.0, fee={"cost": 1.0, "currency": "USD"})
    writer.record_trade(usd)
    (row,) = q.trades_with_commissions(ledger)
    assert row["fee_cost"] == Decimal("1") and row["fee_in_base"] is None and row["fx_rate"] is None
    writer.complete_trade_fee("e-usd-1", 1.0, "USD", fx_rate=1.5321)
    (row,) = q.trades_with_commissions(ledger)
    assert row["fx_rate"] == Decimal("1.5321") and row["fee_in_base"] == Decimal("1.5321")
    writer.record_trade(usd)  # the same fee replayed keeps its conversion
    assert q.trades_with_commissions(ledger)[0]["fee_in_base"] == Decimal("1.5321")
    writer.record_trade({**usd, "fee": {"cost": 1.25, "currency": "USD"}})  # a changed fee drops the stale one
    (row,) = q.trades_with_commissions(ledger)
    assert row["fee_cost"] == Decimal("1.25") and row["fee_in_base"] is None


def test_completing_the_fee_of_an_unknown_fill_is_refused(writer: LedgerWriter) -> None:
    with pytest.raises(LedgerInputError, match="record_trade it first"):
        writer.complete_trade_fee("nope", 1.0, "AUD")


def test_prices_keep_eight_decimals_exactly(ledger: Ledger, writer: LedgerWriter) -> None:
    writer.record_trade(fill(id="crypto-1", symbol="BTC/USD", price=97123.12345678, amount=0.00012345))
    (row,) = q.trades_with_commissions(ledger)
    assert row["price"] == Decimal("97123.12345678")
    assert row["amount"] == Decimal("0.00012345")


# --- snapshots -------------------------------------------------------------------------------
def test_position_snapshots_latest_flat_and_replaced(ledger: Ledger, writer: LedgerWriter) -> None:
    spy = {"symbol": "SPY/USD", "side": "long", "contracts": 10, "entryPrice": 500, "notional": 5000.0}
    bhp = {"symbol": "BHP/AUD", "side": "long", "contracts": 100, "notional": 4512.0}
    writer.record_positions([bhp, spy], timestamp=T0, fx_rates={"USD": 1.5})
    writer.record_positions([bhp], timestamp=T0 + 60_000)
    latest = q.latest_positions(ledger)
    assert [(r["symbol"], r["contracts"]) for r in latest] == [("BHP/AUD", Decimal("100"))]
    flat = q.latest_positions(ledger, include_flat=True)
    assert {(r["symbol"], r["contracts"], r["side"]) for r in flat} == {
        ("BHP/AUD", Decimal("100"), "long"),
        ("SPY/USD", Decimal("0"), None),
    }
    writer.record_positions([{**bhp, "contracts": 50}], timestamp=T0 + 60_000)  # same snapshot again: replaced
    assert [r["contracts"] for r in q.latest_positions(ledger)] == [Decimal("50")]
    writer.record_positions([], timestamp=T0 + 120_000)  # everything closed
    assert q.latest_positions(ledger) == []
    with ledger.read() as conn:
        first = conn.execute(select(PositionRow).where(PositionRow.timestamp == T0, PositionRow.symbol == "SPY/USD"))
        spy_row = first.mappings().one()
    assert spy_row["notional_in_base"] == Decimal("7500") and spy_row["fx_rate"] == Decimal("1.5")


def test_balances_and_equity_are_in_their_currencies(ledger: Ledger, writer: LedgerWriter) -> None:
    writer.record_balances(
        {"AUD": {"free": 900, "used": 100, "total": 1000}, "USD": {"free": 10, "used": 0, "total": 10}, "info": {}},
        fx_rates={"USD": "1.52"},
        timestamp=T0,
    )
    balances = {r["currency"]: r for r in q.latest_balances(ledger)}
    assert balances["USD"]["total_in_base"] == Decimal("15.2") and balances["USD"]["base_currency"] == "AUD"
    writer.record_equity(101_234.5, cash=1015.2, fx_rates={"USD": 1.52}, timestamp=T0)
    writer.record_equity(101_234.5, cash=1015.2, fx_rates={"USD": 1.52}, timestamp=T0)  # idempotent
    (point,) = q.equity_curve(ledger)
    assert point["currency"] == "AUD" and point["equity"] == Decimal("101234.5")
    assert point["fx_rates"] == {"USD": "1.52"}
    with pytest.raises(LedgerInputError, match="base currency AUD, not USD"):
        writer.record_equity(66_000, currency="USD")


def test_snapshots_need_a_run(ledger: Ledger) -> None:
    with pytest.raises(LedgerInputError, match="start_session"):
        ledger.writer().record_positions([])
    with pytest.raises(LedgerInputError, match="not in the ledger"):
        ledger.writer(run_id="never-started").record_equity(1)


def test_market_data_ticks_are_one_row_and_sizes_whole(ledger: Ledger, writer: LedgerWriter) -> None:
    tick = {"symbol": "BHP/AUD", "timestamp": T0, "bid": 45.1, "ask": 45.12, "bid_size": 300.0, "ask_size": 1200}
    assert writer.record_market_data([tick, {**tick, "timestamp": T0 + 1}], source="offline-gateway") == 2
    writer.record_market_data({**tick, "timestamp": T0 + 1, "last": 45.11}, source="offline-gateway")
    (latest,) = q.latest_market_data(ledger, ["BHP/AUD"])
    assert latest["timestamp"] == T0 + 1 and latest["last"] == Decimal("45.11") and latest["bid_size"] == 300
    with pytest.raises(LedgerInputError, match="not a whole number"):
        writer.record_market_data({**tick, "bid_size": 0.5}, source="ccxt")


# --- plans and events ------------------------------------------------------------------------
def test_plans_upsert_and_every_status_change_is_an_event(ledger: Ledger, writer: LedgerWriter) -> None:
    plan = {"plan_id": "plan-1", "symbol": "BHP/AUD", "side": "buy", "status": "pending", "entry": 45.0}
    row_id = writer.upsert_plan({**plan, "stop": 44.0, "target": 48.0, "amount": 100, "agent": "claude"})
    assert writer.upsert_plan(plan) == row_id  # unchanged: no new event
    writer.set_plan_status("plan-1", "active", reason="entry filled")
    (open_plan,) = q.open_plans(ledger)
    assert open_plan["status"] == "active" and open_plan["stop"] == Decimal("44") and open_plan["agent"] == "claude"
    writer.record_order(order(), plan_id="plan-1")
    writer.set_plan_status("plan-1", "closed", reason="target hit")
    assert q.open_plans(ledger) == []
    history = [e["payload"] for e in reversed(q.recent_events(ledger, kinds=[EventKind.PLAN_STATUS]))]
    assert [(h["from"], h["to"]) for h in history] == [(None, "pending"), ("pending", "active"), ("active", "closed")]
    with pytest.raises(LedgerInputError, match="needs symbol, side"):
        writer.upsert_plan({"plan_id": "plan-2", "status": "pending"})
    with pytest.raises(LedgerInputError, match="unknown plan"):
        writer.record_order(order(clientOrderId="trd-x2", id="1002"), plan_id="no-such-plan")


def test_events_mask_secrets_and_accounts(ledger: Ledger, writer: LedgerWriter) -> None:
    register_secret("registered-api-secret-123")
    writer.record_tool_call(
        "place_order",
        {"symbol": "BHP/AUD", "api_key": "k-123456", "note": "key registered-api-secret-123 for U5550999"},
        outcome="ok",
        latency_ms=12.5,
    )
    writer.record_event(EventKind.RISK_REJECTION, {"reason": "max_order_value", "account": ACCOUNT}, symbol="BHP/AUD")
    (rejection,) = q.recent_rejections(ledger)
    assert rejection["payload"] == {"reason": "max_order_value", "account": "DU****123"}
    (call,) = q.recent_events(ledger, kinds=["tool_call"])
    assert call["source"] == "mcp" and call["payload"]["latency_ms"] == 12.5
    assert call["payload"]["arguments"] == {"symbol": "BHP/AUD", "api_key": "***", "note": "key *** for U****999"}
    with pytest.raises(LedgerInputError, match="event kind"):
        writer.record_event("Bad Kind")


def test_no_full_account_number_or_secret_anywhere_in_the_ledger(ledger: Ledger, writer: LedgerWriter) -> None:
    writer.record_order(order())
    writer.record_trade(fill())
    writer.record_positions([{"symbol": "BHP/AUD", "contracts": 1, "info": {"account": ACCOUNT}}])
    writer.record_event("connectivity", {"message": f"IB 1100 on {ACCOUNT}", "token": "abc"})
    dump = []
    with ledger.read() as conn:
        for table in Base.metadata.sorted_tables:
            dump += [str(tuple(r)) for r in conn.execute(select(table))]
    assert dump and not any(ACCOUNT in line for line in dump)
    assert not any("abc" in line for line in dump)


# --- sessions and bad input ------------------------------------------------------------------
def test_each_run_is_kept_and_a_reused_run_id_refused(ledger: Ledger, writer: LedgerWriter) -> None:
    other = ledger.writer()
    other.start_session(venue="IB", base_currency="AUD", mode="shadow", run_id="run-b", started_at=T0 + 5)
    writer.end_session(reason="stopped by user")
    runs = {r["run_id"]: r for r in q.sessions(ledger)}
    assert set(runs) == {"run-a", "run-b"}
    assert runs["run-a"]["ended_at"] is not None and runs["run-a"]["end_reason"] == "stopped by user"
    assert runs["run-a"]["account"] == "DU****123"
    with pytest.raises(LedgerInputError, match="already in the ledger"):
        ledger.writer().start_session(venue="IB", base_currency="AUD", mode="paper", run_id="run-a")
    with pytest.raises(LedgerInputError, match="live, paper, shadow"):
        ledger.writer().start_session(venue="IB", base_currency="AUD", mode="demo", run_id="run-c")
    assert count(ledger, SessionRow) == 2


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"symbol": "BHP.AX"}, "did you mean 'BHP/AUD'"),
        ({"side": "long"}, "order\\['side'\\] must be one of buy, sell"),
        ({"status": "Filled"}, "order\\['status'\\] must be one of"),
        ({"price": float("nan")}, "order\\['price'\\] must be a finite number"),
        ({"timestamp": 1_763_700_000}, "looks like seconds"),
        ({"id": None, "clientOrderId": None}, "neither 'clientOrderId'"),
        ({"fee": {"cost": 1.0}}, "has a cost but no currency"),
        ({"amount": True}, "must be a number"),
    ],
)
def test_bad_orders_say_what_is_wrong_and_write_nothing(
    ledger: Ledger, writer: LedgerWriter, bad: dict[str, Any], message: str
) -> None:
    with pytest.raises(LedgerInputError, match=message):
        writer.record_order(order(**bad))
    assert count(ledger, OrderRow) == 0


def test_bad_fills_say_what_is_wrong(writer: LedgerWriter) -> None:
    with pytest.raises(LedgerInputError, match="execution id"):
        writer.record_trade(fill(id=None))
    with pytest.raises(LedgerInputError, match="fx_rate must be 1 or None"):
        writer.record_trade(fill(fee={"cost": 6, "currency": "AUD"}), fx_rate=1.5)
    with pytest.raises(LedgerInputError, match="list of dicts"):
        writer.record_trades(fill())  # type: ignore[arg-type]


def test_events_written_in_one_call_are_committed_immediately(ledger: Ledger, writer: LedgerWriter) -> None:
    writer.record_event("circuit", {"state": "open", "why": "daily loss limit"})
    with ledger.read() as conn:  # a separate connection sees it: the call committed
        assert conn.execute(select(func.count()).select_from(EventRow)).scalar_one() == 1
