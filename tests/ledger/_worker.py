"""A separate process that writes to or reads from the ledger, for the multi-process and SIGKILL tests.

Usage::

    python tests/ledger/_worker.py fills  URL RUN_ID COUNT   # COUNT orders+fills (0: until killed)
    python tests/ledger/_worker.py events URL RUN_ID COUNT   # COUNT tool-call audit events
    python tests/ledger/_worker.py reader URL STOP_FILE      # dashboard queries until STOP_FILE exists

A writer prints ``committed <trade_id>`` only after the call that wrote it returned (committed).
A reader prints ``reads <n> fills <max seen>`` and exits 1 if the fill count ever went down.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sdk.ledger import open_ledger
from sdk.ledger import queries as q

T0 = 1_763_700_000_000


def fills(url: str, run_id: str, count: int) -> int:
    with open_ledger(url) as ledger:
        writer = ledger.writer()
        writer.start_session(venue="IB", account="DU7654321", base_currency="AUD", mode="paper", run_id=run_id)
        i = 0
        while count == 0 or i < count:
            cid = f"trd-{run_id}-{i:06d}"
            order = {"id": f"{run_id}-{i}", "clientOrderId": cid, "symbol": "BHP/AUD", "type": "limit",
                     "side": "buy", "status": "closed", "price": 45.12, "amount": 10, "filled": 10,
                     "remaining": 0, "timestamp": T0 + i}  # fmt: skip
            writer.record_order(order, risk_decision={"approved": True, "i": i})
            trade_id = f"{run_id}.E{i:06d}"
            writer.record_trade(
                {"id": trade_id, "order": f"{run_id}-{i}", "symbol": "BHP/AUD", "side": "buy", "price": 45.12,
                 "amount": 10, "timestamp": T0 + i, "fee": {"cost": 6, "currency": "AUD"}},
                client_order_id=cid,
            )  # fmt: skip
            if i % 10 == 0:
                writer.record_positions([{"symbol": "BHP/AUD", "side": "long", "contracts": 10 * (i + 1)}])
                writer.record_equity(100_000 + i)
            print(f"committed {trade_id}", flush=True)
            i += 1
    return 0


def events(url: str, run_id: str, count: int) -> int:
    with open_ledger(url) as ledger:
        writer = ledger.writer()
        writer.start_session(venue="IB", base_currency="AUD", mode="paper", program="mcp", run_id=run_id)
        for i in range(count):
            writer.record_tool_call("fetch_ticker", {"symbol": "BHP/AUD", "i": i}, outcome="ok", latency_ms=1.5)
    print(f"committed {count} events", flush=True)
    return 0


def reader(url: str, stop_file: str) -> int:
    reads, seen = 0, 0
    today = datetime.now(UTC).date()
    with open_ledger(url) as ledger:
        while not Path(stop_file).exists():
            n = len(q.trades_with_commissions(ledger, limit=None))
            if n < seen:
                print(f"fill count went down from {seen} to {n}", flush=True)
                return 1
            seen = n
            q.latest_positions(ledger)
            q.equity_curve(ledger, bucket_ms=60_000)
            q.orders_for_day(ledger, today)
            q.recent_events(ledger, kinds=["tool_call"])
            reads += 1
            time.sleep(0.05)  # a dashboard refreshing often, leaving CPU to the writers
    print(f"reads {reads} fills {seen}", flush=True)
    return 0


def main(argv: list[str]) -> int:
    role, url, *rest = argv
    if role == "fills":
        return fills(url, rest[0], int(rest[1]))
    if role == "events":
        return events(url, rest[0], int(rest[1]))
    if role == "reader":
        return reader(url, rest[0])
    raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
