"""A realistic ledger for the dashboard tests, written through the ledger's write API (the runner's calls).

Two ASX trading days (Thu 20 and Fri 21 November 2025, Sydney time) of one IB paper account with an
AUD base: ASX stocks in AUD, a US ETF (SPY) in USD converted at AUD/USD's inverse 1.5230 AUD per USD,
commissions with their source (IB's commission report; one still pending), real (paper) and shadow
orders, a risk rejection, MCP tool calls, connectivity and circuit events (in the runner's payload
shapes), and an account summary.

The expected figures the tests check are derived here from the same inputs (``EXPECTED``), so a
change of a seed value moves the expectation with it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sdk.ledger import EventKind, Ledger

SYDNEY = ZoneInfo("Australia/Sydney")
ACCOUNT = "DU1234567"
MASKED = "DU****567"
USD_AUD = Decimal("1.5230")  # AUD per USD (AUD/USD 0.6566)


def ms(day: int, hour: int, minute: int = 0) -> int:
    """Milliseconds UTC of ``hour:minute`` Sydney time on ``day`` November 2025."""
    return int(datetime(2025, 11, day, hour, minute, tzinfo=SYDNEY).timestamp() * 1000)


#: Net liquidation (AUD) through the two days; (day, hour, minute, equity).
EQUITY = [
    (20, 10, 0, "100000.00"),
    (20, 12, 0, "100850.00"),
    (20, 14, 0, "99600.00"),
    (20, 16, 0, "100180.00"),  # the previous close differs from the 21st's first snapshot: the PnL says which
    (21, 10, 0, "100240.00"),
    (21, 11, 0, "101120.50"),
    (21, 13, 0, "100410.25"),
    (21, 15, 0, "101530.75"),
]
CASH_AUD = "82410.60"
BUYING_POWER = "326000.00"

POSITIONS = [
    {"symbol": "BHP/AUD", "side": "long", "contracts": 100, "entryPrice": 45.12, "markPrice": 45.80,
     "notional": 4580.00, "unrealizedPnl": 68.00},
    {"symbol": "CBA/AUD", "side": "long", "contracts": 50, "entryPrice": 152.30, "markPrice": 151.90,
     "notional": 7595.00, "unrealizedPnl": -20.00},
    {"symbol": "SPY/USD", "side": "long", "contracts": 10, "entryPrice": 590.25, "markPrice": 595.10,
     "notional": 5951.00, "unrealizedPnl": 48.50},
]  # fmt: skip
BALANCES = {
    "AUD": {"free": 80000.00, "used": 2410.60, "total": 82410.60},
    "USD": {"free": -5903.50, "used": 0.0, "total": -5903.50},
}


def _estimate(amount: str, currency: str, amount_base: str, symbol: str, schedule: str) -> dict[str, Any]:
    """A RiskManager ``Approved.to_dict()`` with its CostTracker estimate (``Cost.to_dict()``)."""
    return {
        "ok": True,
        "base_currency": "AUD",
        "cost": {
            "kind": "estimate", "venue": "IB", "symbol": symbol, "pending": False, "amount": amount,
            "currency": currency, "amount_base": amount_base, "base_currency": "AUD",
            "fx_rate": str(USD_AUD) if currency == "USD" else "1", "schedule": schedule,
            "source": "https://www.interactivebrokers.com.au/en/pricing/commissions-stocks-asia-pacific.php",
        },
    }  # fmt: skip


def _order(cid: str, oid: int, symbol: str, side: str, amount: float, price: float | None, status: str,
           filled: float, ts: int, order_type: str = "limit") -> dict[str, Any]:  # fmt: skip
    return {
        "id": str(oid),
        "clientOrderId": cid,
        "symbol": symbol,
        "type": order_type,
        "side": side,
        "timeInForce": "DAY",
        "status": status,
        "price": price,
        "average": price if filled else None,
        "amount": amount,
        "filled": filled,
        "remaining": amount - filled,
        "timestamp": ts,
        "fee": None,
        "info": {"orderRef": cid, "account": ACCOUNT, "permId": oid},
    }


def _fill(exec_id: str, oid: int, cid: str, symbol: str, side: str, amount: float, price: float, ts: int,
          fee: dict[str, Any] | None) -> dict[str, Any]:  # fmt: skip
    return {
        "id": exec_id,
        "order": str(oid),
        "clientOrderId": cid,
        "symbol": symbol,
        "side": side,
        "type": "limit",
        "takerOrMaker": "taker",
        "price": price,
        "amount": amount,
        "cost": price * amount,
        "timestamp": ts,
        "fee": fee,
        "info": {"execId": exec_id, "acctNumber": ACCOUNT},
    }


def seed(ledger: Ledger) -> None:
    """Write the two days into ``ledger`` (migrated, empty) through :class:`sdk.ledger.LedgerWriter`."""
    day1 = ledger.writer()
    day1.start_session(venue="IB", account=ACCOUNT, base_currency="AUD", mode="paper", program="runner",
                       run_id="paper-20251120", started_at=ms(20, 9, 55), git_sha="0" * 40)  # fmt: skip
    for day, hour, minute, equity in EQUITY[:4]:
        day1.record_equity(equity, timestamp=ms(day, hour, minute), fx_rates={"USD": USD_AUD})
    day1.end_session(reason="session close", ended_at=ms(20, 16, 30))

    runner = ledger.writer()
    runner.start_session(venue="IB", account=ACCOUNT, base_currency="AUD", mode="paper", program="runner",
                         run_id="paper-20251121", started_at=ms(21, 9, 55))  # fmt: skip
    for day, hour, minute, equity in EQUITY[4:]:
        cash = CASH_AUD if (day, hour) == (21, 15) else None
        runner.record_equity(equity, timestamp=ms(day, hour, minute), cash=cash, fx_rates={"USD": USD_AUD})
    orders = [
        (_order("trd-bhp001", 90001, "BHP/AUD", "buy", 100, 45.12, "closed", 100, ms(21, 10, 5)),
         _estimate("6.00", "AUD", "6.00", "BHP/AUD", "IB ASX fixed"), "sma_cross"),
        (_order("trd-cba001", 90002, "CBA/AUD", "buy", 50, 152.30, "closed", 50, ms(21, 10, 20)),
         _estimate("6.09", "AUD", "6.09", "CBA/AUD", "IB ASX fixed"), "sma_cross"),
        (_order("trd-spy001", 90003, "SPY/USD", "buy", 10, 590.25, "closed", 10, ms(21, 10, 35)),
         _estimate("1.00", "USD", "1.5260", "SPY/USD", "IB US fixed"), "sma_cross"),
        (_order("trd-csl001", 90004, "CSL/AUD", "sell", 20, 245.50, "open", 0, ms(21, 11, 10)),
         _estimate("6.00", "AUD", "6.00", "CSL/AUD", "IB ASX fixed"), "mean_revert"),
        (_order("trd-nab001", 90005, "NAB/AUD", "buy", 200, 39.80, "canceled", 0, ms(21, 11, 30)),
         None, "mean_revert"),
    ]  # fmt: skip
    for order, decision, strategy in orders:
        runner.record_order(order, risk_decision=decision, strategy=strategy, commission_source="ib_commission_report")
    runner.record_trade(_fill("0000e0d5.6571.01.01", 90001, "trd-bhp001", "BHP/AUD", "buy", 100, 45.12,
                              ms(21, 10, 6), {"cost": 6.00, "currency": "AUD"}),
                        commission_source="ib_commission_report")  # fmt: skip
    runner.record_trade(_fill("0000e0d5.6572.01.01", 90002, "trd-cba001", "CBA/AUD", "buy", 50, 152.30,
                              ms(21, 10, 21), None), commission_source="ib_commission_report")  # fmt: skip
    runner.record_trade(_fill("0000e0d5.6573.01.01", 90003, "trd-spy001", "SPY/USD", "buy", 10, 590.25,
                              ms(21, 10, 36), None), commission_source="ib_commission_report")  # fmt: skip
    runner.complete_trade_fee("0000e0d5.6573.01.01", 1.00, "USD", fx_rate=USD_AUD)  # IB's commission report
    runner.record_positions(POSITIONS, timestamp=ms(21, 15), fx_rates={"USD": USD_AUD})
    runner.record_balances(BALANCES, timestamp=ms(21, 15), fx_rates={"USD": USD_AUD})
    runner.record_event(
        EventKind.RISK_REJECTION,
        {"ok": False, "code": "max_order_value", "reason": "order value AUD 31,250.00 is over MAX_ORDER_VALUE "
         "25,000.00; send at most 800 RIO/AUD", "limit": "25000", "value": "31250.00", "currency": "AUD",
         "symbol": "RIO/AUD", "origin": "strategy:sma_cross"},
        symbol="RIO/AUD", timestamp=ms(21, 11, 50),
    )  # fmt: skip
    # what runner.health.HealthCircuitManager records around an IB 1100 / reconnect
    runner.record_event(EventKind.CONNECTIVITY, {"kind": "disconnected", "health": "disconnected",
                        "detail": f"IB 1100 on {ACCOUNT}: connectivity between IB and the gateway lost"},
                        message="venue disconnected", timestamp=ms(21, 11, 42))  # fmt: skip
    runner.record_event(EventKind.CIRCUIT, {"from": "closed", "to": "open", "reason": "venue disconnected",
                        "failures": 0}, message="circuit closed -> open: venue disconnected",
                        timestamp=ms(21, 11, 42))  # fmt: skip
    runner.record_event(EventKind.CONNECTIVITY, {"kind": "resynced", "health": "healthy", "detail": "reconnect"},
                        message="venue resynced", timestamp=ms(21, 11, 43))  # fmt: skip
    runner.record_event(EventKind.CIRCUIT, {"from": "open", "to": "half_open", "failures": 0,
                        "reason": "venue reconnected and resynced"}, message="circuit open -> half_open",
                        timestamp=ms(21, 11, 43))  # fmt: skip
    runner.record_event(EventKind.CIRCUIT, {"from": "half_open", "to": "closed", "reason": "trial step succeeded",
                        "failures": 0}, message="circuit half_open -> closed: trial step succeeded",
                        timestamp=ms(21, 11, 44))  # fmt: skip
    runner.record_event("account_summary", {"NetLiquidation": 101530.75, "BuyingPower": float(BUYING_POWER),
                        "AvailableFunds": 81500.00}, timestamp=ms(21, 15))  # fmt: skip

    shadow = ledger.writer()
    shadow.start_session(venue="IB", account=ACCOUNT, base_currency="AUD", mode="shadow", program="runner",
                         run_id="shadow-20251121", started_at=ms(21, 9, 56))  # fmt: skip
    shadow.record_order(_order("trd-shd001", 0, "WES/AUD", "buy", 30, None, "closed", 30, ms(21, 10, 45), "market")
                        | {"id": None, "average": 78.45}, strategy="breakout",
                        risk_decision=_estimate("6.00", "AUD", "6.00", "WES/AUD", "IB ASX fixed"))  # fmt: skip
    shadow.record_trade(_fill("shadow-trd-shd001-1", 0, "trd-shd001", "WES/AUD", "buy", 30, 78.45, ms(21, 10, 45),
                              {"cost": 6.00, "currency": "AUD"}) | {"order": None},
                        commission_source="estimate")  # fmt: skip
    shadow.record_order(_order("trd-shd002", 0, "FMG/AUD", "sell", 300, 19.20, "open", 0, ms(21, 12, 0))
                        | {"id": None}, strategy="breakout")  # fmt: skip

    mcp = ledger.writer()
    mcp.start_session(venue="IB", account=ACCOUNT, base_currency="AUD", mode="paper", program="mcp",
                      run_id="mcp-20251121", started_at=ms(21, 10, 30))  # fmt: skip
    mcp.record_tool_call("get_positions", {}, outcome="ok", latency_ms=12.5)
    mcp.record_tool_call("preview_order", {"symbol": "WBC/AUD", "side": "buy", "amount": 100, "price": 33.10},
                         outcome="ok", latency_ms=48.2)  # fmt: skip
    mcp.record_tool_call("place_order", {"symbol": "WBC/AUD", "account": ACCOUNT, "token": "tok-5f2a9c"},
                         outcome="refused", latency_ms=3.1, error="kill switch is on: no new orders")  # fmt: skip
    mcp.record_tool_call("place_order", {"symbol": "WBC/AUD", "side": "buy", "amount": 100, "price": 33.10},
                         outcome="ok", latency_ms=210.4)  # fmt: skip
    mcp.record_order(_order("trd-agt001", 90006, "WBC/AUD", "buy", 100, 33.10, "open", 0, ms(21, 12, 40)),
                     agent="claude-desktop", commission_source="ib_commission_report",
                     risk_decision=_estimate("6.00", "AUD", "6.00", "WBC/AUD", "IB ASX fixed"))  # fmt: skip


def _d(text: str) -> Decimal:
    return Decimal(text)


_day2_first = _d(EQUITY[4][3])  # the day's PnL is measured from the day's first snapshot (dashboard.logic.equity)
_latest = _d(EQUITY[-1][3])
#: What the pages must show for the seeded ledger, derived from the seed values above.
EXPECTED = {
    "equity": _latest,
    "day_pnl": _latest - _day2_first,
    "day_pnl_fraction": (_latest - _day2_first) / _day2_first,
    "max_drawdown": _d("99600.00") - _d("100850.00"),
    "max_drawdown_fraction": _d("99600.00") / _d("100850.00") - 1,
    "spy_pnl_aud": _d("48.50") * USD_AUD,
    "unrealized_aud": _d("68.00") + _d("-20.00") + _d("48.50") * USD_AUD,
    "commissions_aud": _d("6.00") + _d("1.00") * USD_AUD,
    "usd_cash_aud": _d("-5903.50") * USD_AUD,
}
