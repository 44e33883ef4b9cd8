"""The shared read module on both engines: what the dashboard, the MCP server and the ResyncService ask."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from sdk.ledger import Ledger, LedgerInputError
from sdk.ledger import queries as q

SYD_DAY = date(2025, 11, 21)  # an ASX trading day: 2025-11-20T13:00Z .. 2025-11-21T13:00Z (AEDT, UTC+11)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _order(cid: str, ts: int, status: str = "open") -> dict[str, object]:
    return {"clientOrderId": cid, "symbol": "CBA/AUD", "side": "sell", "status": status, "amount": 5, "timestamp": ts}


def test_orders_for_a_trading_day_in_its_time_zone(ledger: Ledger) -> None:
    w = ledger.writer()
    w.start_session(venue="IB", base_currency="AUD", mode="shadow", run_id="r1")
    w.record_order(_order("trd-early", ms("2025-11-20T12:59:59.999+00:00")))  # 23:59:59 AEDT on the 20th
    w.record_order(_order("trd-open", ms("2025-11-20T23:00:00+00:00")))  # 10:00 AEDT on the 21st
    w.record_order(_order("trd-late", ms("2025-11-21T12:59:00+00:00")))  # 23:59 AEDT on the 21st
    sydney = [r["client_order_id"] for r in q.orders_for_day(ledger, SYD_DAY, tz="Australia/Sydney")]
    utc = [r["client_order_id"] for r in q.orders_for_day(ledger, SYD_DAY)]
    assert sydney == ["trd-open", "trd-late"]
    assert utc == ["trd-late"]
    assert q.orders_for_day(ledger, SYD_DAY, tz="Australia/Sydney", shadow=False) == []
    with pytest.raises(LedgerInputError, match="IANA time zone"):
        q.orders_for_day(ledger, SYD_DAY, tz="Sydney")


def test_client_prefix_is_literal_and_ids_may_be_alphanumeric(ledger: Ledger) -> None:
    w = ledger.writer()
    w.start_session(venue="IB", base_currency="AUD", mode="paper", run_id="r1")
    t = ms("2025-11-21T00:00:00+00:00")
    w.record_order(_order("my_bot-A1b2C3", t))
    w.record_order(_order("myXbot-ZZ9", t + 1))  # '_' must not act as a wildcard
    w.record_order(_order("my_bot-Q7", t + 2, status="closed"))
    w.record_order({**_order("", t + 3), "clientOrderId": None, "id": "manual-1"})
    ours = [r["client_order_id"] for r in q.orders_by_client_prefix(ledger, "my_bot-")]
    assert ours == ["my_bot-A1b2C3", "my_bot-Q7"]
    assert [r["client_order_id"] for r in q.orders_by_client_prefix(ledger, "my_bot-", statuses={"open"})] == [
        "my_bot-A1b2C3"
    ]
    fills = [
        {"id": f"E{i}", "order": str(i), "clientOrderId": cid, "symbol": "CBA/AUD", "side": "sell",
         "price": 150.5, "amount": 5, "timestamp": t + i}
        for i, cid in enumerate(["my_bot-A1b2C3", "myXbot-ZZ9", None])
    ]  # fmt: skip
    w.record_trades(fills)
    assert [r["trade_id"] for r in q.trades_by_client_prefix(ledger, "my_bot-")] == ["E0"]
    assert q.known_trade_ids(ledger, "IB", "") == {"E0", "E1", "E2"}
    assert q.known_trade_ids(ledger, "IB", "", since=t + 1) == {"E1", "E2"}
    with pytest.raises(LedgerInputError, match="prefix"):
        q.orders_by_client_prefix(ledger, "")


def test_equity_curve_ranges_runs_and_buckets(ledger: Ledger) -> None:
    start = ms("2025-11-21T00:00:00+00:00")
    w1, w2 = ledger.writer(), ledger.writer()
    w1.start_session(venue="IB", account="DU1234567", base_currency="AUD", mode="paper", run_id="r1")
    w2.start_session(venue="IB", account="DU1234567", base_currency="AUD", mode="paper", run_id="r2")
    for minute in range(0, 180, 10):  # every 10 minutes for 3 hours, the second hour from run r2
        writer = w2 if 60 <= minute < 120 else w1
        writer.record_equity(100_000 + minute, timestamp=start + minute * 60_000)
    everything = q.equity_curve(ledger)
    assert len(everything) == 18 and everything[0]["equity"] == Decimal("100000")
    assert [r["timestamp"] for r in everything] == sorted(r["timestamp"] for r in everything)
    window = q.equity_curve(
        ledger, since=start + 30 * 60_000, until=datetime.fromtimestamp((start + 90 * 60_000) / 1000, UTC)
    )
    assert [int(r["equity"]) - 100_000 for r in window] == [30, 40, 50, 60, 70, 80]
    assert len(q.equity_curve(ledger, run_id="r2")) == 6
    hourly = q.equity_curve(ledger, bucket_ms=3_600_000)
    assert [int(r["equity"]) - 100_000 for r in hourly] == [50, 110, 170]  # the last point of each hour
    with pytest.raises(LedgerInputError, match="bucket_ms"):
        q.equity_curve(ledger, bucket_ms=0)


def test_latest_snapshots_per_account(ledger: Ledger) -> None:
    a, b = ledger.writer(), ledger.writer()
    a.start_session(venue="IB", account="DU1111111", base_currency="AUD", mode="paper", run_id="ra")
    b.start_session(venue="IB", account="DU2222222", base_currency="AUD", mode="paper", run_id="rb")
    t = ms("2025-11-21T00:00:00+00:00")
    a.record_positions([{"symbol": "BHP/AUD", "contracts": 10}], timestamp=t)
    b.record_positions([{"symbol": "CSL/AUD", "contracts": 3}], timestamp=t + 5)
    a.record_positions([{"symbol": "BHP/AUD", "contracts": 20}], timestamp=t + 10)
    latest = {(r["account"], r["symbol"]): r["contracts"] for r in q.latest_positions(ledger)}
    assert latest == {("DU****111", "BHP/AUD"): Decimal("20"), ("DU****222", "CSL/AUD"): Decimal("3")}
    assert [r["symbol"] for r in q.latest_positions(ledger, account="DU****222")] == ["CSL/AUD"]
    a.record_balances({"AUD": {"total": 0}, "USD": {"total": 7}}, timestamp=t)
    assert [r["currency"] for r in q.latest_balances(ledger)] == ["USD"]  # zero cash left out


def test_sessions_newest_first_and_limits(ledger: Ledger) -> None:
    for i in range(3):
        ledger.writer().start_session(
            venue="IB", base_currency="AUD", mode="paper", run_id=f"r{i}", started_at=1_763_700_000_000 + i
        )
    assert [r["run_id"] for r in q.sessions(ledger, limit=2)] == ["r2", "r1"]
    with pytest.raises(LedgerInputError, match="limit"):
        q.sessions(ledger, limit=0)
