"""The guarded trader's pieces that need no venue: what ``create_trader`` returns, the opt-out every internal caller
takes, the ccxt error of each rejection code, and how a ccxt ``create_order`` call becomes an ``OrderIntent``.
(End to end on the offline gateway: ``tests/ib/test_guarded_orders.py``.)"""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest

from sdk.clock import SystemClock
from sdk.errors import (
    BadSymbol,
    FxRateUnavailable,
    InvalidOrder,
    NotSupported,
    RiskFxUnavailable,
    RiskRefusal,
    RiskRejected,
    SymbolNotAllowed,
)
from sdk.registry import create_trader
from sdk.risk import RejectCode
from sdk.services.guarded import ORIGIN, REFUSED_HAS, GuardedTrader, order_intent, refusal_error
from sdk.settings import load_settings
from sdk.venues.ib.trader import IBTrader

REPO = Path(__file__).resolve().parents[2]


def test_create_trader_is_guarded_by_default_and_raw_on_request() -> None:
    trader = create_trader("IB", load_settings())
    assert isinstance(trader, GuardedTrader) and type(trader.venue) is IBTrader and trader.shadow
    assert trader.id == "IB" and trader.has == {**IBTrader.has, **REFUSED_HAS}, "has is the venue's"
    assert trader.client_id is None, "the venue's extras are reachable"
    with pytest.raises(AttributeError, match=r"only the venue's reads pass through"):
        trader.create_bracket_order  # noqa: B018 - a venue order method is never reached around the guards
    assert not create_trader("IB", load_settings(execute_orders=True)).shadow  # type: ignore[attr-defined]
    assert type(create_trader("IB", load_settings(), raw=True)) is IBTrader


def test_every_internal_caller_that_builds_its_own_services_takes_the_raw_venue() -> None:
    calls = []
    for folder in ("runner", "mcp_server", "benchmarks", "dashboard", "sdk/services", "sdk/cli"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                func = getattr(node, "func", None)
                if isinstance(node, ast.Call) and getattr(func, "id", getattr(func, "attr", None)) == "create_trader":
                    raw = next((k.value for k in node.keywords if k.arg == "raw"), None)
                    is_raw = isinstance(raw, ast.Constant) and raw.value is True
                    calls.append((f"{path.relative_to(REPO)}:{node.lineno}", is_raw))
    assert len(calls) >= 4, calls  # runner (run, --clock venue, demo) and the MCP server
    assert [where for where, raw in calls if raw is not True] == []


def test_the_mcp_server_builds_services_over_the_raw_venue() -> None:
    from mcp_server.state import default_trader

    assert type(default_trader(load_settings(), SystemClock())) is IBTrader


@pytest.mark.parametrize("code", list(RejectCode))
def test_every_rejection_code_is_a_ccxt_error_that_says_what_to_do(code: RejectCode) -> None:
    rejection = {"ok": False, "code": code.value, "reason": "do this instead", "limit": "25000", "value": "45000",
                 "currency": "AUD", "symbol": "BHP/AUD"}  # fmt: skip
    error = refusal_error(rejection)
    expected = {RejectCode.SYMBOL_NOT_ALLOWED: BadSymbol, RejectCode.INSTRUMENT_TYPE_NOT_ALLOWED: BadSymbol,
                RejectCode.FX_UNAVAILABLE: FxRateUnavailable}.get(code, InvalidOrder)  # fmt: skip
    assert isinstance(error, expected) and isinstance(error, RiskRefusal) and error.code == code.value
    assert str(error) == (
        f"refused by the RiskManager [{code.value}]: do this instead (limit 25000 AUD; this order 45000 AUD); "
        "nothing was sent"
    )
    assert type(error) in (SymbolNotAllowed, RiskRejected, RiskFxUnavailable)


def test_a_ccxt_create_order_call_becomes_the_intent_the_runner_would_check() -> None:
    params = {"triggerPrice": 501, "timeInForce": "day", "reduceOnly": True, "clientOrderId": "trd-1"}
    stop = order_intent("SPY/USD", "stop_limit", "sell", 5, 500.5, params)
    expected = ("stop_limit", Decimal(5), Decimal("500.5"), Decimal(501), "DAY")
    assert (stop.type, stop.amount, stop.price, stop.stop_price, stop.tif) == expected
    assert (stop.reduce_only, stop.client_order_id, stop.origin) == (True, "trd-1", ORIGIN)
    market = order_intent("BHP/AUD", "market", "buy", 100, 45.1, None)
    assert market.price is None, "a market order's price is ignored, as in ccxt"
    with pytest.raises(NotSupported, match=r"\['account', 'outsideRth'\].*raw=True"):
        order_intent("BHP/AUD", "limit", "buy", 100, 45.1, {"outsideRth": True, "account": "DU1"})
    with pytest.raises(InvalidOrder, match="amount: Input should be greater than 0"):
        order_intent("BHP/AUD", "limit", "buy", -1, 45.1, None)
    with pytest.raises(InvalidOrder, match="amount 'lots' is not a number"):
        order_intent("BHP/AUD", "limit", "buy", "lots", 45.1, None)
    with pytest.raises(InvalidOrder, match="type: Input should be 'limit', 'market', 'stop' or 'stop_limit'"):
        order_intent("BHP/AUD", "trailing", "buy", 100, 45.1, None)
    with pytest.raises(BadSymbol):
        order_intent("not a symbol", "limit", "buy", 100, 45.1, None)
