"""A preview's token is always accepted by place, and places exactly the previewed order (issue 13, deliverable 2).

Hypothesis draws orders over the order types (limit, market, stop, stop_limit), symbols on both sides of the one
market-order rule (``BHP/AUD`` and ``CBA/AUD`` on ASX, where a market order becomes a marketable limit; ``SPY/USD``
and ``AUD/USD``, whose market orders IB takes), sides, sizes from one unit to past the limits, prices and stops
around the live quote (off the price ladder too), times in force and reduce-only. Each is sent to ``preview_order``
on a paper server (``EXECUTE_ORDERS=true``) of a paused offline gateway: ASX and IDEALPRO open for the first
symbols, NYSE and IDEALPRO for the others. Whatever the RiskManager approves, ``place_order`` with its token must
accept, and the order the gateway then holds under the preview's client order id must be the previewed order:
type, side, amount, limit price, stop price and time in force.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mcp_helpers import ThreadedServer, gateway_orders, text_of

pytestmark = pytest.mark.shared_data

#: Tuesday 4 March 2025: 11:00 Sydney (ASX open), and 10:00 New York (NYSE open); IDEALPRO is open at both.
ASX_TIME = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)
NYSE_TIME = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
SYMBOLS = {"asx": ("BHP/AUD", "CBA/AUD", "AUD/USD"), "nyse": ("SPY/USD", "AUD/USD")}
#: A size step of each symbol, so sizes reach from one unit to past MAX_ORDER_VALUE (AUD 25,000).
UNIT = {"BHP/AUD": 50, "CBA/AUD": 10, "SPY/USD": 5, "AUD/USD": 5_000}
IB_TYPES = {"limit": "LMT", "market": "MKT", "stop": "STP", "stop_limit": "STP LMT"}

ORDERS = st.fixed_dictionaries(
    {
        "venue": st.sampled_from(sorted(SYMBOLS)),
        "pick": st.integers(min_value=0, max_value=2),
        "side": st.sampled_from(["buy", "sell"]),
        "type": st.sampled_from(sorted(IB_TYPES)),
        "units": st.one_of(st.integers(min_value=1, max_value=12), st.sampled_from([0.3, 1.5, 40])),
        "price_pct": st.floats(min_value=-3, max_value=3, allow_nan=False),  # percent from the mid
        "stop_pct": st.floats(min_value=-3, max_value=3, allow_nan=False),
        "digits": st.integers(min_value=2, max_value=6),  # off the ladder from 3 (ASX), 3 (US) or 6 (FX)
        "tif": st.sampled_from([None, "DAY", "GTC", "IOC", "FOK"]),
        "reduce_only": st.booleans(),
    }
)


@pytest.fixture(scope="module")
def servers(
    catalog: Any, ledger_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ThreadedServer]]:
    with (
        ThreadedServer(catalog, ledger_template, tmp_path_factory.mktemp("asx"), start=ASX_TIME) as asx,
        ThreadedServer(catalog, ledger_template, tmp_path_factory.mktemp("nyse"), start=NYSE_TIME) as nyse,
    ):
        yield {"asx": asx, "nyse": nyse}


def arguments(server: ThreadedServer, drawn: dict[str, Any]) -> dict[str, Any]:
    symbols = SYMBOLS[drawn["venue"]]
    symbol = symbols[drawn["pick"] % len(symbols)]
    quote = server.gw.market.quote(symbol, server.gw.clock.timestamp())
    mid = (quote.bid + quote.ask) / 2

    def near(pct: float) -> float:
        return round(mid * (1 + pct / 100), drawn["digits"])

    order: dict[str, Any] = {"symbol": symbol, "side": drawn["side"], "type": drawn["type"],
                             "amount": drawn["units"] * UNIT[symbol], "reduce_only": drawn["reduce_only"]}  # fmt: skip
    if drawn["type"] in ("limit", "stop_limit"):
        order["price"] = near(drawn["price_pct"])
    if drawn["type"] in ("stop", "stop_limit"):
        order["stop_price"] = near(drawn["stop_pct"])
    if drawn["tif"] is not None:
        order["tif"] = drawn["tif"]
    return order


def as_number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def case(venue: str, pick: int, side: str, type: str, units: float = 2, tif: str | None = None) -> dict[str, Any]:
    """One order as ``ORDERS`` draws it (prices 0.4% under the mid, stops 1% above)."""
    return {"venue": venue, "pick": pick, "side": side, "type": type, "units": units, "price_pct": -0.4,
            "stop_pct": 1.0, "digits": 4, "tif": tif, "reduce_only": False}  # fmt: skip


@settings(
    max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=ORDERS)
# the cases the rule is about, always run: market orders on ASX (a marketable IOC limit) and where IB takes them
@example(drawn=case("asx", 0, "buy", "market"))
@example(drawn=case("asx", 1, "sell", "market", units=1))
@example(drawn=case("nyse", 0, "buy", "market"))
@example(drawn=case("asx", 2, "buy", "market", units=1, tif="FOK"))
@example(drawn=case("asx", 0, "buy", "stop"))  # ASX: a stop-limit
@example(drawn=case("nyse", 1, "buy", "stop"))
@example(drawn=case("nyse", 0, "sell", "stop_limit", tif="DAY"))
@example(drawn=case("asx", 1, "buy", "limit", tif="IOC"))
def test_every_approved_preview_is_placed_exactly_as_previewed(
    servers: dict[str, ThreadedServer], drawn: dict[str, Any]
) -> None:
    server = servers[drawn["venue"]]
    order = arguments(server, drawn)
    preview = server.run(server.harness.call("preview_order", order))
    if preview.is_error:
        assert "rejected by the RiskManager" in text_of(preview), f"{order}: {text_of(preview)}"
        return
    previewed = preview.structured_content["order"]
    placed = server.run(server.harness.call("place_order", {"token": preview.structured_content["token"]}))
    assert not placed.is_error, f"preview approved {previewed} for {order}, place refused: {text_of(placed)}"
    sent = [o for o in gateway_orders(server.gw) if o["orderRef"] == previewed["client_order_id"]]
    assert len(sent) == 1, f"{previewed['client_order_id']} reached the gateway {len(sent)} times"
    got = sent[0]
    expected = (
        IB_TYPES[previewed["type"]], previewed["side"].upper(), as_number(previewed["amount"]),
        as_number(previewed["price"]), as_number(previewed["stop_price"]), previewed["tif"] or "GTC",
    )  # fmt: skip
    actual = (
        got["orderType"], got["action"], as_number(got["totalQuantity"]), as_number(got["lmtPrice"]),
        as_number(got["auxPrice"]), got["tif"],
    )  # fmt: skip
    assert actual == expected, f"{order}: previewed {previewed}, the gateway holds {got}"


def test_the_fuzz_reached_both_rules(servers: dict[str, ThreadedServer]) -> None:
    """The examples above placed orders of every type, and market orders both as MKT and as marketable limits
    (the explicit ``@example`` s make sure of it whatever the random draws)."""
    orders = [o for server in servers.values() for o in gateway_orders(server.gw)]
    assert len(orders) >= 25, f"only {len(orders)} previews were approved and placed: the fuzz proves little"
    assert {o["orderType"] for o in orders} == set(IB_TYPES.values()), orders
    mkt = {o["symbol"] for o in orders if o["orderType"] == "MKT"}
    assert mkt and mkt <= {"SPY/USD", "AUD/USD"}, f"a market order reached ASX, or none was placed: {mkt}"
    ioc_asx = [o for o in orders if o["symbol"] in ("BHP/AUD", "CBA/AUD") and o["tif"] == "IOC"]
    assert ioc_asx, "no ASX order was sent as a marketable IOC limit"
