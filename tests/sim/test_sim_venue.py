"""The simulated venue over the real catalog: ccxt's structures (checked by ccxt's own validators), no look-ahead,
fill timing (next open, or market-on-close), ccxt's errors, the stepped clock, and two runs that are identical."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import ccxt
import pytest
from ccxt.test.exchange.base.test_balance import test_balance as check_balance
from ccxt.test.exchange.base.test_ohlcv import test_ohlcv as check_ohlcv
from ccxt.test.exchange.base.test_order import test_order as check_order
from ccxt.test.exchange.base.test_position import test_position as check_position
from ccxt.test.exchange.base.test_ticker import test_ticker as check_ticker
from ccxt.test.exchange.base.test_trade import test_trade as check_trade
from sim_support import D, ms  # type: ignore[import-not-found]

from sdk.costs import CostTracker
from sdk.errors import BadRequest, BadSymbol, InsufficientFunds, InvalidOrder, NotSupported, OrderNotFound
from sdk.risk import Approved, OrderIntent, RiskManager, build_risk_context
from sdk.services.live_gate import is_live
from sdk.settings import load_settings
from sdk.sim.fills import quote_for
from sdk.sim.venue import SimulatedVenue
from sdk.ticks import US_EQUITY
from sdk.venues.mode import venue_mode

pytestmark = pytest.mark.shared_data

SYMBOLS = ["BHP/AUD", "SPY/USD", "AUD/USD"]
#: Tuesday 4 March 2025, 06:00 UTC: after the ASX's close (05:00), before the NYSE opens (14:30).
START = datetime(2025, 3, 4, 6, 0, tzinfo=UTC)


def venue(catalog: Any, **kwargs: Any) -> SimulatedVenue:
    options: dict[str, Any] = {
        "symbols": SYMBOLS, "timeframe": "1d", "start": START,
        "history_start": datetime(2025, 1, 1, tzinfo=UTC), "end": datetime(2025, 4, 1, tzinfo=UTC),
        "cash": {"AUD": 1_000_000, "USD": 100_000},
    }  # fmt: skip
    options.update(kwargs)
    return SimulatedVenue(load_settings(), catalog, **options)


async def checker(sim: SimulatedVenue) -> Any:
    """ccxt's validators' ``exchange``: a plain ``ccxt.Exchange`` holding the venue's markets."""
    exchange = ccxt.Exchange()
    exchange.set_markets(list((await sim.load_markets()).values()))
    return exchange


async def test_every_answer_is_a_ccxt_structure(catalog: Any) -> None:
    sim = venue(catalog)
    exchange = await checker(sim)
    now = sim.now_ms + 1
    ticker = await sim.fetch_ticker("SPY/USD")
    check_ticker(exchange, {}, "fetchTicker", ticker, "SPY/USD")
    for row in await sim.fetch_ohlcv("BHP/AUD", "1d", limit=5):
        check_ohlcv(exchange, {}, "fetchOHLCV", row, "BHP/AUD", now)
    placed = await sim.create_order("SPY/USD", "limit", "buy", 10, 600.0, {"clientOrderId": "trd-1"})
    resting = await sim.create_order("BHP/AUD", "limit", "buy", 100, 30.0, {"clientOrderId": "trd-2"})
    check_order(exchange, {}, "createOrder", placed, "SPY/USD", now)
    check_order(exchange, {}, "createOrder", resting, "BHP/AUD", now)
    sim.step(datetime(2025, 3, 5, 22, 0, tzinfo=UTC))
    now = sim.now_ms + 1
    filled = await sim.fetch_order("trd-1")
    assert filled["status"] == "closed" and filled["filled"] == 10
    check_order(exchange, {}, "fetchOrder", filled, "SPY/USD", now)
    for trade in await sim.fetch_my_trades():
        check_trade(exchange, {}, "fetchMyTrades", trade, "SPY/USD", now, False)
    check_balance(exchange, {}, "fetchBalance", await sim.fetch_balance())
    for position in await sim.fetch_positions():
        check_position(exchange, {}, "fetchPositions", position, "SPY/USD", now)
    assert [o["id"] for o in await sim.fetch_open_orders()] == [resting["id"]]
    cancelled = await sim.cancel_order(resting["id"])
    check_order(exchange, {}, "cancelOrder", cancelled, "BHP/AUD", now)
    assert [o["status"] for o in await sim.fetch_closed_orders()] == ["closed", "canceled"]
    assert sim.has["fetchOrderBook"] is False
    with pytest.raises(NotSupported):
        await sim.fetch_order_book("SPY/USD")


async def test_candles_are_shown_only_once_they_have_closed(catalog: Any) -> None:
    sim = venue(catalog, start=datetime(2025, 3, 5, 4, 59, tzinfo=UTC))  # a minute before the ASX closes
    last = (await sim.fetch_ohlcv("BHP/AUD", "1d"))[-1]
    # a daily bar is stamped as IB dates it: 00:00 UTC of its session's day (the 4th's session opened 23:00 UTC the 3rd)
    assert last[0] == ms("2025-03-04T00:00"), "the 5th's session is still trading: its bar is not there yet"
    ticker = await sim.fetch_ticker("BHP/AUD")
    # the session in progress shows its open (known since the opening auction), nothing else of it
    assert ticker["info"] == {"simulated": True, "barStart": ms("2025-03-04T23:00"), "opening": True}
    sim.step(datetime(2025, 3, 5, 5, 0, tzinfo=UTC))
    today = (await sim.fetch_ohlcv("BHP/AUD", "1d"))[-1]
    assert today[0] == ms("2025-03-05T00:00")
    assert ticker["last"] == ticker["open"] == ticker["high"] == ticker["low"] == today[1] != last[4]
    assert ticker["baseVolume"] is None, "the session's volume is not known before it closes"
    closed = await sim.fetch_ticker("BHP/AUD")
    assert closed["last"] == today[4] and closed["info"]["opening"] is False
    since = await sim.fetch_ohlcv("BHP/AUD", "1d", since=ms("2025-03-04T00:00"), limit=1)
    assert [row[0] for row in since] == [ms("2025-03-04T00:00")]

    minutes = venue(catalog, symbols=["SPY/USD"], timeframe="1m", start=datetime(2024, 3, 4, 14, 34, tzinfo=UTC),
                    history_start=datetime(2024, 3, 4, tzinfo=UTC), end=datetime(2024, 3, 5, tzinfo=UTC))  # fmt: skip
    assert await minutes.fetch_ohlcv("SPY/USD", "5m") == [], "the session's first 5-minute bar ends at 14:35"
    assert (await minutes.fetch_ohlcv("SPY/USD", "1m"))[-1][0] == ms("2024-03-04T14:33")
    assert (await minutes.fetch_ticker("SPY/USD"))["info"]["opening"] is False, "mid-session: the last close"
    minutes.step(ms("2024-03-04T14:35"))
    assert (await minutes.fetch_ohlcv("SPY/USD", "5m"))[-1][0] == ms("2024-03-04T14:30")
    assert (await minutes.fetch_ohlcv("SPY/USD", "1m"))[-1][0] == ms("2024-03-04T14:34")


async def test_the_open_is_known_from_the_opening_to_the_first_close(catalog: Any) -> None:
    """What an order sent at the open is priced from: the session's opening price, as a trader sees it then (the IB
    venue's streamed quote after the opening auction); before the open, the last close; after the session's first
    bar closed, that close."""
    sim = venue(catalog, symbols=["SPY/USD"], timeframe="1m", start=datetime(2024, 3, 4, 14, 29, tzinfo=UTC),
                history_start=datetime(2024, 3, 1, tzinfo=UTC), end=datetime(2024, 3, 5, tzinfo=UTC))  # fmt: skip
    before = await sim.fetch_ticker("SPY/USD")
    friday = (await sim.fetch_ohlcv("SPY/USD", "1m"))[-1]
    assert before["last"] == friday[4] and before["info"]["opening"] is False
    sim.step(datetime(2024, 3, 4, 14, 30, tzinfo=UTC))
    at_open = await sim.fetch_ticker("SPY/USD")
    sim.step(datetime(2024, 3, 4, 14, 31, tzinfo=UTC))
    first = (await sim.fetch_ohlcv("SPY/USD", "1m"))[-1]
    assert first[0] == ms("2024-03-04T14:30")
    assert at_open["last"] == first[1] and at_open["info"]["opening"] is True
    after = await sim.fetch_ticker("SPY/USD")
    assert after["last"] == first[4] and after["info"]["opening"] is False


async def test_an_order_fills_at_the_next_open_by_default_and_at_the_close_with_fill_at_close(catalog: Any) -> None:
    close = datetime(2025, 3, 4, 21, 0, tzinfo=UTC)  # the NYSE closes 16:00 New York
    bars = catalog.bars("SPY/USD", "1D", "2025-03-04T00:00Z", "2025-03-06T00:00Z")
    (_, march_4), (_, march_5) = bars.iterrows()

    next_open = venue(catalog, start=close)
    await next_open.create_order("SPY/USD", "market", "buy", 10, None, {"clientOrderId": "a"})
    assert (await next_open.fetch_order("a"))["status"] == "open", "nothing trades before the next session"
    next_open.step(datetime(2025, 3, 5, 21, 0, tzinfo=UTC))
    order = await next_open.fetch_order("a")
    expected = quote_for(D(repr(float(march_5["open"]))), US_EQUITY).ask
    assert (order["average"], order["trades"][0]["timestamp"]) == (float(expected), ms("2025-03-05T14:30"))

    at_close = venue(catalog, start=close, fill_at="close")
    filled = await at_close.create_order("SPY/USD", "market", "buy", 10, None, {"clientOrderId": "a"})
    assert filled["status"] == "closed" and filled["average"] == float(march_4["close"])
    assert filled["trades"][0]["timestamp"] == ms("2025-03-04T21:00")
    with pytest.raises(InvalidOrder, match="no closing auction"):
        await at_close.create_order("AUD/USD", "market", "buy", 20_000, None, {"clientOrderId": "fx"})


async def test_venue_errors_are_ccxts(catalog: Any) -> None:
    sim = venue(catalog, symbols=["BHP/AUD", "SPY/USD", "AUD/USD", "XJO/AUD"])
    with pytest.raises(BadSymbol, match="not simulated here"):
        await sim.create_order("CBA/AUD", "limit", "buy", 10, 100.0)
    with pytest.raises(InvalidOrder, match="no market orders for BHP/AUD"):
        await sim.create_order("BHP/AUD", "market", "buy", 10)
    with pytest.raises(InvalidOrder, match="index"):
        await sim.create_order("XJO/AUD", "limit", "buy", 1, 8000.0)
    with pytest.raises(InvalidOrder, match=r"not a multiple of 0\.01"):
        await sim.create_order("BHP/AUD", "limit", "buy", 10, 37.905)
    with pytest.raises(InvalidOrder, match="no opening auction"):
        await sim.create_order("AUD/USD", "limit", "buy", 20_000, 0.62, {"timeInForce": "OPG"})
    # 25% initial margin on AUD 1,000,000 + USD 100,000 x ~1.61 of equity: about AUD 4.6M of stock at most
    with pytest.raises(InsufficientFunds, match="initial margin"):
        await sim.create_order("BHP/AUD", "limit", "buy", 200_000, 37.0)
    with pytest.raises(OrderNotFound):
        await sim.fetch_order("nope")
    with pytest.raises(BadRequest, match="not simulated"):
        await sim.fetch_ohlcv("BHP/AUD", "1w")
    assert await sim.fetch_open_orders() == [] and await sim.fetch_closed_orders() == []


async def test_a_client_order_id_makes_create_order_idempotent(catalog: Any) -> None:
    sim = venue(catalog)
    first = await sim.create_order("BHP/AUD", "limit", "buy", 100, 37.0, {"clientOrderId": "trd-x"})
    again = await sim.create_order("BHP/AUD", "limit", "buy", 100, 37.0, {"clientOrderId": "trd-x"})
    assert again["id"] == first["id"] and len(await sim.fetch_open_orders()) == 1


async def test_sleeping_on_the_venues_clock_steps_the_simulation(catalog: Any) -> None:
    sim = venue(catalog)
    await sim.create_order("BHP/AUD", "limit", "buy", 100, 38.0, {"clientOrderId": "a"})
    assert await sim.fetch_time() == ms("2025-03-04T06:00") and sim.clock.now() == ms("2025-03-04T06:00") / 1000
    await sim.clock.sleep(86_400)
    assert await sim.fetch_time() == ms("2025-03-05T06:00")
    assert (await sim.fetch_order("a"))["status"] == "closed", "the 5th's bar was worked while the clock slept"
    with pytest.raises(ValueError, match="forward only"):
        sim.step(ms("2025-03-05T05:00"))


async def run_once(catalog: Any) -> str:
    """A scripted run over two weeks of real bars: limits, stops, an OPG, a DAY order and a market order."""
    sim = venue(catalog)
    script = [
        ("BHP/AUD", "limit", "buy", 300, 37.87, {"timeInForce": "GTC"}),
        ("BHP/AUD", "stop", "sell", 100, None, {"stopPrice": 37.50}),
        ("SPY/USD", "market", "buy", 20, None, {"timeInForce": "OPG"}),
        ("SPY/USD", "limit", "sell", 10, 590.0, {"timeInForce": "DAY"}),
        ("AUD/USD", "market", "sell", 25_000, None, {}),
    ]
    for n, (symbol, type, side, amount, price, params) in enumerate(script):
        await sim.create_order(symbol, type, side, amount, price, {**params, "clientOrderId": f"trd-{n}"})
    day = 86_400_000
    for _ in range(14):
        sim.step(sim.now_ms + day)
    state = {
        "orders": await sim.fetch_closed_orders() + await sim.fetch_open_orders(),
        "trades": await sim.fetch_my_trades(),
        "balance": await sim.fetch_balance(),
        "positions": await sim.fetch_positions(),
        "equity": await sim.get_equity(),
    }
    return json.dumps(state, sort_keys=True, default=str)


async def test_two_runs_of_the_same_script_are_identical(catalog: Any) -> None:
    first, second = await run_once(catalog), await run_once(catalog)
    assert first == second
    state = json.loads(first)
    assert len(state["trades"]) >= 4 and state["positions"], "the script traded"


async def test_a_simulation_is_paper_and_its_orders_pass_the_risk_manager_at_ibs_costs(catalog: Any) -> None:
    """The live gate sees a simulated paper venue; the instruments are IB's contracts, so the RiskManager estimates a
    cost by the schedule the simulated fills are charged by (it refused every order as cost_unavailable before)."""
    settings = load_settings()
    sim = venue(catalog, start=datetime(2025, 3, 4, 15, 0, tzinfo=UTC))  # NYSE open
    mode = venue_mode(sim, settings)
    assert (mode.mode, mode.simulated, mode.broker) == ("paper", True, "simulated venue (SIM)")
    assert not is_live(mode, execute=True)
    spec = await sim.fetch_instrument("SPY/USD")
    assert spec.venue == "IB"
    intent = OrderIntent(symbol="SPY/USD", side="buy", type="market", amount=D(10), origin="manual:test")
    context = await build_risk_context(sim, "SPY/USD", pnl_today=0, now=datetime(2025, 3, 4, 15, 0, tzinfo=UTC))
    decision = RiskManager(settings, CostTracker(settings)).validate(intent, context)
    assert isinstance(decision, Approved), decision
    assert decision.cost.currency == "USD" and decision.cost.amount is not None and decision.cost.amount > 0
