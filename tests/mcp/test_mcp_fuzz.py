"""Fuzzed tool calls (hypothesis) never place an order and never crash the server.

A trading-enabled paper server (``EXECUTE_ORDERS=true``: an order would reach the gateway) runs in a
thread with its own event loop; hypothesis drives it with arbitrary tool names and JSON arguments,
biased toward the parameter names and near-valid values the tools take. Every answer must be either
a result that matches the tool's output schema or a tool error that says what was wrong (never the
SDK's bare "Error executing tool X" of an unexpected exception). Afterwards the gateway has received no
order, the ledger holds none, and the server still answers.

Plans are fuzzed with symbols that are never an allowed canonical symbol: a valid plan sends its entry
by design, so only malformed plans belong to "never places an order".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp_helpers import ThreadedServer, gateway_orders, text_of

from mcp_server import READ_TOOLS, WRITE_TOOLS
from sdk.ledger import open_ledger
from sdk.ledger import queries as q

pytestmark = pytest.mark.shared_data

PARAMETERS = [
    "symbol", "side", "amount", "type", "price", "stop_price", "tif", "reduce_only", "token", "order_id",
    "plan_id", "stop", "target", "entry", "valid_until_ms", "reason", "timeframe", "since_ms", "limit", "depth",
]  # fmt: skip
NEAR_VALID: list[Any] = [
    "BHP/AUD", "bhp", "BHP.AX", "AUD/USD", "SPY/USD", "ZZZZ/AUD", "", "buy", "sell", "BUY", "limit", "market",
    "stop", "stop_limit", "DAY", "IOC", "1m", "1d", "0m", "trd-0000000000000000", 0, -1, 1, 100, 37.69, 1e308,
    -0.0, 2**63, True, None, [], {},
]  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
VALUES = st.one_of(st.sampled_from(NEAR_VALID), JSON)
ARGUMENTS = st.dictionaries(st.one_of(st.sampled_from(PARAMETERS), st.text(max_size=12)), VALUES, max_size=7)
TOOLS = st.sampled_from([*READ_TOOLS, *WRITE_TOOLS, "no_such_tool", ""])
# never an allowed canonical symbol: a plan with one could be valid, and a valid plan sends its entry
PLAN_SYMBOLS = st.one_of(st.sampled_from(["bhp", "BHP.AX", "ZZZZ/AUD", "", "AUD.USD"]), st.text(max_size=12)).filter(
    lambda s: s not in {"BHP/AUD", "CBA/AUD", "CSL/AUD", "NAB/AUD", "WBC/AUD", "ANZ/AUD", "FMG/AUD", "WES/AUD",
                        "RIO/AUD", "SPY/USD", "QQQ/USD", "AUD/USD"}
)  # fmt: skip

# typed arguments: the right names and mostly the right types, so calls get past validation into the tools
SYMBOL = st.sampled_from(["BHP/AUD", "CBA/AUD", "AUD/USD", "SPY/USD", "ZZZZ/AUD", "bhp", "BHP.AX", ""])
NUMBER = st.one_of(
    st.sampled_from([1, 10, 100, 250, 500, 36.5, 37.69, 37.695, 154.12, 0.65, 583.77, 0, 1e-9, 1e308]),
    st.floats(min_value=-1e6, max_value=1e12, allow_nan=False),
)
MS = st.one_of(st.none(), st.integers(min_value=-1, max_value=2**53))
LIMIT = st.integers(min_value=-5, max_value=10**6)


def typed(required: dict[str, Any], optional: dict[str, Any]) -> Any:
    return st.fixed_dictionaries(required, optional=optional)


TYPED: dict[str, Any] = {
    "preview_order": typed(
        {"symbol": SYMBOL, "side": st.sampled_from(["buy", "sell", "hold"]), "amount": NUMBER},
        {"type": st.sampled_from(["limit", "market", "stop", "stop_limit", "trailing"]),
         "price": st.none() | NUMBER, "stop_price": st.none() | NUMBER,
         "tif": st.sampled_from([None, "DAY", "GTC", "IOC", "FOK", "GTD"]), "reduce_only": st.booleans()},
    ),
    "estimate_costs": typed(
        {"symbol": SYMBOL, "side": st.sampled_from(["buy", "sell"]), "amount": NUMBER}, {"price": st.none() | NUMBER}
    ),
    "get_ohlcv": typed(
        {"symbol": SYMBOL},
        {"timeframe": st.sampled_from(["1m", "1h", "1d", "1w", "0m", "13x", "1M"]), "since_ms": MS, "limit": LIMIT},
    ),
    "get_order_book": typed({"symbol": SYMBOL}, {"depth": LIMIT}),
    "get_trades": typed({}, {"symbol": st.none() | SYMBOL, "since_ms": MS, "limit": LIMIT}),
    "get_open_orders": typed({}, {"symbol": st.none() | SYMBOL}),
    "get_plans": typed({}, {"symbol": st.none() | SYMBOL}),
    "get_ticker": typed({"symbol": SYMBOL}, {}),
    "get_market_data": typed({"symbol": SYMBOL}, {}),
    "cancel_order": typed({"order_id": st.text(max_size=70)}, {}),
    "cancel_plan": typed({"plan_id": st.text(max_size=70)}, {}),
    "place_order": typed({"token": st.text(max_size=130)}, {}),
    "create_plan": typed(
        {"symbol": PLAN_SYMBOLS, "side": st.sampled_from(["buy", "sell"]), "amount": NUMBER, "stop": NUMBER,
         "target": NUMBER},
        {"entry": st.none() | NUMBER, "valid_until_ms": MS, "plan_id": st.none() | st.text(max_size=70),
         "reason": st.none() | st.text(max_size=30)},
    ),
}  # fmt: skip
# previews near the market: many pass validation, some pass the RiskManager (a token, nothing placed), many not
PREVIEWS = typed(
    {"symbol": st.sampled_from(["BHP/AUD", "CBA/AUD", "AUD/USD", "SPY/USD", "ZZZZ/AUD"]),
     "side": st.sampled_from(["buy", "sell"]),
     "amount": st.one_of(st.sampled_from([100, 250, 1000, 20_000, 50_000, 1, 1e308]), NUMBER)},
    {"type": st.sampled_from(["limit", "limit", "market", "stop", "stop_limit"]),
     "price": st.one_of(st.none(), st.sampled_from([37.69, 37.695, 37.0, 154.12, 0.65, 10.0, 1e6]), NUMBER),
     "stop_price": st.one_of(st.none(), st.sampled_from([36.0, 39.0, 0.6]), NUMBER),
     "tif": st.sampled_from([None, "DAY", "IOC"]), "reduce_only": st.booleans()},
)  # fmt: skip
TYPED_CALLS = st.sampled_from(sorted(TYPED)).flatmap(lambda name: st.tuples(st.just(name), TYPED[name]))


@pytest.fixture(scope="module")
def server(catalog: Any, ledger_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    with ThreadedServer(catalog, ledger_template, tmp_path_factory.mktemp("mcp-fuzz")) as threaded:
        yield threaded


def check(server: ThreadedServer, name: str, arguments: dict[str, Any]) -> Any:
    server.calls += 1
    result = server.run(server.harness.call(name, arguments))
    text = text_of(result)
    if result.is_error:
        assert "failed unexpectedly" not in text, f"{name}({arguments!r}) crashed: {text}"
        assert text.strip() != f"Error executing tool {name}", f"{name}({arguments!r}) crashed without a message"
        assert len(text) > 10, f"{name}({arguments!r}) gave no reason: {text!r}"
    else:
        jsonschema.validate(result.structured_content, server.tools[name].output_schema)
    return result


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=TOOLS, arguments=ARGUMENTS)
def test_fuzzed_calls_never_crash(server: ThreadedServer, name: str, arguments: dict[str, Any]) -> None:
    if name == "create_plan" and "symbol" in arguments:
        return  # plans get their own fuzz with symbols that can never be valid
    check(server, name, arguments)


@settings(
    max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(call=TYPED_CALLS)
def test_fuzzed_typed_calls_never_crash(server: ThreadedServer, call: tuple[str, dict[str, Any]]) -> None:
    check(server, *call)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arguments=PREVIEWS)
def test_fuzzed_previews_never_place(server: ThreadedServer, arguments: dict[str, Any]) -> None:
    check(server, "preview_order", arguments)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(symbol=PLAN_SYMBOLS, arguments=ARGUMENTS)
def test_fuzzed_plans_never_crash(server: ThreadedServer, symbol: str, arguments: dict[str, Any]) -> None:
    check(server, "create_plan", {**arguments, "symbol": symbol})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.one_of(st.text(max_size=64), JSON))
def test_fuzzed_tokens_never_place(server: ThreadedServer, token: Any) -> None:
    check(server, "place_order", {"token": token})


def test_after_fuzzing_no_order_was_placed_and_the_server_answers(server: ThreadedServer) -> None:
    # calls of its own, so the test holds alone as well as after the fuzz: one approval, one refusal, one junk
    approved = check(server, "preview_order", {"symbol": "BHP/AUD", "side": "buy", "amount": 100, "price": 37.69})
    assert not approved.is_error, text_of(approved)
    assert check(server, "preview_order", {"symbol": "BHP/AUD", "side": "buy", "amount": 1e6, "price": 37.69}).is_error
    assert check(server, "no_such_tool", {"x": 1}).is_error
    assert gateway_orders(server.gw) == []
    with open_ledger(server.ledger_url) as ledger:
        assert q.orders_by_client_prefix(ledger, "trd-") == []
        assert q.orders_for_day(ledger, date(2025, 3, 4), tz="Australia/Sydney") == []
        calls = q.recent_events(ledger, kinds=["tool_call"], limit=None)
    assert len(calls) == server.calls  # every call made in this module (fuzzed or not) was audited, once
    outcomes = {(c["payload"]["tool"], c["payload"]["outcome"]) for c in calls}
    assert ("preview_order", "ok") in outcomes  # the fuzz reached approvals (tokens issued, nothing placed)
    assert ("preview_order", "rejected") in outcomes  # and the RiskManager's refusals
    context = server.run(server.harness.call("get_trading_context", {}))
    assert not context.is_error and context.structured_content["trading_enabled"] is True
