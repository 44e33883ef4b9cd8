"""The dashboard's own reads (dashboard.logic.reads) through the read-only engine, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from dashboard_seed import MASKED, ms

from dashboard.logic import reads
from dashboard.logic.readonly import open_readonly_ledger
from sdk.ledger import Ledger, LedgerNotMigrated, open_ledger


@pytest.fixture(scope="module")
def ledger(seeded_url: str) -> Iterator[Ledger]:
    with open_readonly_ledger(seeded_url) as opened:
        yield opened


def test_accounts_show_the_newest_run_and_the_modes_still_running(ledger: Ledger) -> None:
    [account] = reads.accounts(ledger)
    assert (account["venue"], account["account"], account["base_currency"]) == ("IB", MASKED, "AUD")
    assert (account["run_id"], account["program"], account["runs"]) == ("mcp-20251121", "mcp", 4)
    assert account["open_modes"] == ["paper", "shadow"]


def test_order_filters(ledger: Ledger) -> None:
    every = reads.orders(ledger)
    assert len(every) == 8 and every[0]["client_order_id"] == "trd-agt001"  # newest first
    assert {o["client_order_id"] for o in reads.orders(ledger, shadow=True)} == {"trd-shd001", "trd-shd002"}
    open_real = reads.orders(ledger, statuses=["open"], shadow=False)
    assert {o["client_order_id"] for o in open_real} == {"trd-agt001", "trd-csl001"}
    morning = reads.orders(ledger, since=ms(21, 10), until=ms(21, 10, 30), symbols=["BHP/AUD", "CBA/AUD", "SPY/USD"])
    assert [o["client_order_id"] for o in morning] == ["trd-cba001", "trd-bhp001"]
    assert [o["agent"] for o in reads.orders(ledger, agent_only=True)] == ["claude-desktop"]
    assert len(reads.orders(ledger, limit=3)) == 3
    assert reads.orders(ledger, venues=["gemini"]) == []
    facets = reads.order_facets(ledger)
    assert facets["statuses"] == ["canceled", "closed", "open"] and facets["venues"] == ["IB"]
    assert (facets["count"], facets["first"], facets["last"]) == (8, ms(21, 10, 5), ms(21, 12, 40))


def test_fills_of_orders_and_commission_totals(ledger: Ledger) -> None:
    fills = reads.trades_for_orders(ledger, ["trd-cba001", "trd-spy001", "trd-nope"])
    assert [f["client_order_id"] for f in fills] == ["trd-cba001", "trd-spy001"]
    assert fills[0]["fee_cost"] is None
    assert (fills[1]["fee_cost"], fills[1]["fee_currency"], fills[1]["fee_in_base"]) == (
        Decimal("1"),
        "USD",
        Decimal("1.523"),
    )
    totals = {(t["shadow"], t["fee_currency"]): t for t in reads.commission_totals(ledger)}
    assert (totals[(False, None)]["fills"], totals[(False, None)]["reported"]) == (1, 0)  # CBA: pending
    assert totals[(False, "USD")]["fee_in_base_total"] == Decimal("1.523")
    assert totals[(True, "AUD")]["commission_source"] == "estimate"


def test_equity_and_events(ledger: Ledger) -> None:
    latest = reads.latest_equity(ledger, "IB", MASKED)
    assert latest is not None and latest["equity"] == Decimal("101530.75")
    midnight = ms(21, 0)
    before = reads.equity_before(ledger, "IB", MASKED, midnight)
    first = reads.equity_on_or_after(ledger, "IB", MASKED, midnight)
    assert before is not None and (before["timestamp"], before["equity"]) == (ms(20, 16), Decimal("100180"))
    assert first is not None and first["timestamp"] == ms(21, 10)
    assert reads.latest_equity(ledger, "IB", "DU****999") is None
    assert reads.equity_span(ledger) == {"count": 8, "first": ms(20, 10), "last": ms(21, 15)}
    summary = reads.latest_account_event(ledger, reads.ACCOUNT_SUMMARY_KIND, "IB", MASKED)
    assert summary is not None and summary["payload"]["BuyingPower"] == 326000.0
    assert reads.latest_account_event(ledger, reads.ACCOUNT_SUMMARY_KIND, "gemini", "") is None
    circuit = reads.latest_event(ledger, "circuit")
    assert circuit is not None and circuit["payload"]["to"] == "closed"
    estimates = reads.orders_with_estimates(ledger)
    assert len(estimates) == 6 and all(o["risk_decision"]["cost"]["kind"] == "estimate" for o in estimates)


def test_ledger_is_empty(empty_url: str) -> None:
    with open_readonly_ledger(empty_url) as ledger:
        assert reads.ledger_is_empty(ledger)
        with open_ledger(empty_url) as writable:
            writable.writer().record_event("note", {"text": "first"}, source="test")
        assert not reads.ledger_is_empty(ledger)


def test_opening_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "data" / "trader.db"
    with pytest.raises(LedgerNotMigrated) as caught:
        open_readonly_ledger(f"sqlite:///{path}")
    assert caught.value.command == "trader db upgrade"
    assert not path.exists() and not path.parent.exists()
