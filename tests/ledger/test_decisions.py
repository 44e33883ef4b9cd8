"""The decisions table on both engines: one row per decision, status changes only along the allowed paths,
a replaced, rejected or expired decision can never be claimed for sending, every change an event."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sdk.ledger import Ledger, LedgerInputError
from sdk.ledger import decisions as dl
from sdk.ledger import queries as q

T0 = 1_741_064_400_000  # 2025-03-04T05:00:00Z, the ASX close of 4 March 2025
DAY = 86_400_000


@pytest.fixture
def run_id(ledger: Ledger) -> str:
    writer = ledger.writer()
    return writer.start_session(
        venue="IB", account="DU5550123", base_currency="AUD", mode="paper", program="runner", run_id="run-d"
    )


def values(run_id: str, n: int = 0, **overrides: Any) -> dict[str, Any]:
    bar = 1_741_046_400_000 + n * DAY  # 2025-03-04T00:00Z + n days: IB's daily bar stamps
    base = {
        "decision_id": f"dec-{n:016x}", "run_id": run_id, "strategy": "alternate", "symbol": "BHP/AUD",
        "timeframe": "1d", "bar_ts": bar, "seq": 0, "kind": "signal", "side": "buy", "amount": None,
        "price": Decimal("38.01"), "not_before": T0 + 18 * 3_600_000 + n * DAY, "valid_until": T0 + DAY + n * DAY,
        "client_order_id": f"trd-{n:016x}", "body": {"kind": "signal", "side": "buy", "amount": None},
    }  # fmt: skip
    return {**base, **overrides}


def events(ledger: Ledger) -> list[tuple[str, str | None, str]]:
    rows = reversed(q.recent_events(ledger, kinds=[dl.DECISION_EVENT], limit=None))
    return [(e["payload"]["decision_id"], e["payload"]["from"], e["payload"]["to"]) for e in rows]


def test_a_decision_is_recorded_once_and_found_again_after_a_restart(ledger: Ledger, run_id: str) -> None:
    first = dl.record_decision(ledger, values(run_id), at=T0)
    assert first["status"] == "decided" and first["price"] == Decimal("38.01") and first["amount"] is None
    assert dl.transition(ledger, "dec-0000000000000000", "deferred", at=T0, reason="market shut")
    again = dl.record_decision(ledger, values(run_id, side="sell"), at=T0 + 1)  # a restarted run decides again
    assert again["status"] == "deferred" and again["side"] == "buy", "the stored decision wins, not the new one"
    assert len(dl.decisions_of_run(ledger, run_id)) == 1
    assert events(ledger) == [
        ("dec-0000000000000000", None, "decided"),
        ("dec-0000000000000000", "decided", "deferred"),
    ]


def test_replaced_rejected_and_expired_decisions_can_never_be_sent(ledger: Ledger, run_id: str) -> None:
    for n, final in enumerate(("replaced", "rejected", "expired")):
        dl.record_decision(ledger, values(run_id, n), at=T0)
        assert dl.transition(ledger, f"dec-{n:016x}", final, at=T0, reason="test")
        assert not dl.transition(ledger, f"dec-{n:016x}", "sent", at=T0), f"a {final} decision was claimed"
        assert not dl.transition(ledger, f"dec-{n:016x}", "deferred", at=T0), f"a {final} decision came back"
        assert dl.get_decision(ledger, f"dec-{n:016x}")["status"] == final  # type: ignore[index]


def test_a_decision_is_claimed_for_sending_once_and_only_while_valid(ledger: Ledger, run_id: str) -> None:
    dl.record_decision(ledger, values(run_id, 0), at=T0)
    dl.record_decision(ledger, values(run_id, 1), at=T0)
    late = T0 + 2 * DAY + 1  # after the end of decision 1's validity (T0 + 2 days)
    assert not dl.transition(ledger, "dec-0000000000000001", "sent", at=late), "an expired decision was claimed"
    assert dl.transition(ledger, "dec-0000000000000001", "sent", at=late - 1), "valid until its last millisecond"
    assert dl.transition(ledger, "dec-0000000000000000", "sent", at=T0, client_order_id="plan-x")
    assert not dl.transition(ledger, "dec-0000000000000000", "sent", at=T0), "claimed twice"
    assert dl.get_decision(ledger, "dec-0000000000000000")["client_order_id"] == "plan-x"  # type: ignore[index]
    assert dl.transition(ledger, "dec-0000000000000000", "rejected", at=T0, reason="risk: max_order_value")
    assert not dl.transition(ledger, "dec-0000000000000000", "deferred", at=T0)


def test_a_newer_bar_replaces_only_the_pending_decisions_of_older_bars_of_the_same_symbol(
    ledger: Ledger, run_id: str
) -> None:
    dl.record_decision(ledger, values(run_id, 0), at=T0)
    dl.record_decision(ledger, values(run_id, 1), at=T0)
    dl.record_decision(ledger, values(run_id, 2, symbol="CBA/AUD"), at=T0)
    dl.record_decision(ledger, values(run_id, 3), at=T0)
    dl.transition(ledger, "dec-0000000000000001", "sent", at=T0)
    newest = values(run_id, 4)
    dl.record_decision(ledger, newest, at=T0)
    replaced = dl.replace_older(ledger, run_id=run_id, strategy="alternate", symbol="BHP/AUD", timeframe="1d",
                                bar_ts=newest["bar_ts"], by="dec-4", at=T0)  # fmt: skip
    assert replaced == ["dec-0000000000000000", "dec-0000000000000003"], "sent and other symbols are left alone"
    statuses = {d["decision_id"][-1]: d["status"] for d in dl.decisions_of_run(ledger, run_id)}
    assert statuses == {"0": "replaced", "1": "sent", "2": "decided", "3": "replaced", "4": "decided"}
    pending = dl.decisions_of_run(ledger, run_id, statuses=dl.PENDING_STATUSES)
    assert [d["decision_id"][-1] for d in pending] == ["2", "4"]


def test_has_order_or_plan_looks_at_orders_and_plans(ledger: Ledger, run_id: str) -> None:
    writer = ledger.writer(run_id)
    assert not dl.has_order_or_plan(ledger, "trd-00000000000000aa")
    writer.record_order({"id": "1", "clientOrderId": "trd-00000000000000aa", "symbol": "BHP/AUD", "type": "market",
                         "side": "buy", "status": "open", "amount": 10.0, "filled": 0.0, "timestamp": T0})  # fmt: skip
    writer.upsert_plan({"plan_id": "alternate-BHP-1", "symbol": "BHP/AUD", "side": "buy", "status": "pending"})
    assert dl.has_order_or_plan(ledger, "trd-00000000000000aa") and dl.has_order_or_plan(ledger, "alternate-BHP-1")


def test_bad_input_is_refused_with_what_to_do(ledger: Ledger, run_id: str) -> None:
    with pytest.raises(LedgerInputError, match="needs price"):
        dl.record_decision(ledger, {**values(run_id), "price": None}, at=T0)
    dl.record_decision(ledger, values(run_id), at=T0)
    with pytest.raises(LedgerInputError, match="cannot move to 'decided'; use one of"):
        dl.transition(ledger, "dec-0000000000000000", "decided", at=T0)
    assert not dl.transition(ledger, "dec-unknown", "sent", at=T0)
    assert dl.decisions_of_run(ledger, run_id)[0]["status"] == "decided"
