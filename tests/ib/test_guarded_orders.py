"""Safe by default (issue 13): ``create_trader("IB")`` on the offline gateway, over a real socket.

The trader ``create_trader`` returns keeps every guard ``.env`` promises between an order and the venue:
``EXECUTE_ORDERS=false`` fills in shadow against the live quote and sends nothing; a symbol outside
``ALLOWED_SYMBOLS`` is a ``BadSymbol``; the RiskManager refuses 10,000,000 shares and a buy limit far through the
ask; a live account needs the live gate. With ``EXECUTE_ORDERS=true`` on a paper account the order reaches the
gateway, once per client order id, recorded in the ledger. ``raw=True`` is the venue itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from ccxt.test.exchange.base.test_order import test_order as check_order
from ib_support import FAST_BACKOFF  # type: ignore[import-not-found]
from support.waiting import round_trip

from sdk.base import BaseTrader
from sdk.clock import SimulatedClock
from sdk.errors import (
    BadSymbol,
    InvalidOrder,
    LiveTradingNotAllowed,
    NotSupported,
    RiskRejected,
    SymbolNotAllowed,
)
from sdk.ledger import killswitch, open_ledger, upgrade
from sdk.ledger import queries as q
from sdk.registry import create_trader
from sdk.services.guarded import PROGRAM, REFUSED_HAS, GuardedTrader
from sdk.services.live_gate import REFUSED_EVENT
from sdk.services.records import ledger_order
from sdk.settings import load_settings
from sdk.venues.ib.pacing import PacingBudget
from sdk.venues.ib.trader import IBTrader

MakeTrader = Callable[..., Any]


@pytest.fixture
async def make_guarded(make_gateway: MakeTrader) -> AsyncIterator[MakeTrader]:
    """``await make_guarded(gw, raw=False, **settings)``: ``create_trader("IB", ...)`` on ``gw``, connected, closed
    after (before the gateways stop). The settings come from the (cleaned) environment plus ``settings``;
    EXECUTE_ORDERS is false by default."""
    traders: list[BaseTrader] = []

    async def make(gw: Any, *, raw: bool = False, **settings: Any) -> Any:
        clock = SimulatedClock(gw.clock)
        trader = create_trader(
            "IB", load_settings(ib_host="127.0.0.1", ib_port=gw.port, ib_connect_timeout=3, **settings), raw=raw,
            clock=clock, budget=PacingBudget(clock), backoff=FAST_BACKOFF, heartbeat_interval=0.5,
            quote_timeout=2.0, ack_timeout=3.0,
        )  # fmt: skip
        traders.append(trader)
        await trader.connect()
        return trader

    yield make
    for trader in traders:
        await trader.close()


async def near_ask(trader: BaseTrader, symbol: str, factor: float = 1.002) -> float:
    """A buy limit ``factor`` times the ask, rounded up onto the instrument's price ladder."""
    ticker = await trader.fetch_ticker(symbol)
    spec = await trader.fetch_instrument(symbol)
    return float(spec.ladder.round(ticker["ask"] * factor, "up"))


async def passive_bid(trader: BaseTrader, symbol: str, ticks_below: int = 20) -> float:
    ticker = await trader.fetch_ticker(symbol)
    spec = await trader.fetch_instrument(symbol)
    return float(spec.ladder.round(ticker["bid"], "down") - spec.ladder.increment_at(ticker["bid"]) * ticks_below)


async def nothing_sent(trader: Any, gw: Any) -> None:
    """After a barrier on the trader's connection: the gateway holds no order and no execution."""
    venue = trader.venue if isinstance(trader, GuardedTrader) else trader  # the guarded trader hides connection
    await round_trip(venue.connection.ib)
    state = gw.state()
    assert state["orders"] == [] and state["executions"] == [], "nothing reached the gateway"


async def test_shadow_by_default_fills_against_the_live_quote_and_sends_nothing(
    make_guarded: MakeTrader, gateway: Any, ccxt_for: Any
) -> None:
    trader = await make_guarded(gateway)  # EXECUTE_ORDERS unset: false
    assert isinstance(trader, GuardedTrader) and isinstance(trader.venue, IBTrader) and trader.shadow
    ask = (await trader.fetch_ticker("BHP/AUD"))["ask"]
    order = await trader.create_limit_buy_order("BHP/AUD", 100, await near_ask(trader, "BHP/AUD"))
    check_order(ccxt_for(trader), {}, "createOrder", order, "BHP/AUD", int(gateway.clock.timestamp() * 1000) + 1)
    assert (order["info"]["shadow"], order["info"]["sent"]) == (True, False)
    assert order["id"].startswith("shadow:") and order["clientOrderId"].startswith("trd-")
    assert (order["status"], order["filled"], order["average"]) == ("closed", 100, ask), "filled at the live ask"
    assert order["info"]["riskDecision"]["ok"] is True
    assert (await trader.fetch_order(order["id"]))["status"] == "closed"
    assert [t["amount"] for t in await trader.fetch_my_trades("BHP/AUD")] == [100]
    assert await trader.fetch_positions() == [], "the account reads are the venue's: nothing was bought there"
    await nothing_sent(trader, gateway)


@pytest.mark.parametrize("execute", [False, True])
async def test_a_symbol_outside_allowed_symbols_is_bad_symbol_and_nothing_is_sent(
    make_guarded: MakeTrader, gateway: Any, execute: bool
) -> None:
    trader = await make_guarded(gateway, allowed_symbols="BHP/AUD", execute_orders=execute)
    price = await near_ask(trader, "CBA/AUD")
    advice = r"CBA/AUD is not in ALLOWED_SYMBOLS; add it \(ALLOWED_SYMBOLS=BHP/AUD,CBA/AUD\) to trade it"
    with pytest.raises(BadSymbol, match=advice):
        await trader.create_order("CBA/AUD", "limit", "buy", 10, price)
    with pytest.raises(SymbolNotAllowed) as refused:
        await trader.create_limit_buy_order("CBA/AUD", 10, price)  # a convenience goes the same way
    assert refused.value.code == "symbol_not_allowed" and "nothing was sent" in str(refused.value)
    await nothing_sent(trader, gateway)


@pytest.mark.parametrize("execute", [False, True])
async def test_ten_million_shares_are_refused_by_the_risk_manager(
    make_guarded: MakeTrader, gateway: Any, execute: bool
) -> None:
    trader = await make_guarded(gateway, execute_orders=execute)
    price = await near_ask(trader, "BHP/AUD")
    with pytest.raises(InvalidOrder, match=r"\[max_order_value\].*above MAX_ORDER_VALUE 25,000.00") as refused:
        await trader.create_order("BHP/AUD", "limit", "buy", 10_000_000, price)
    assert isinstance(refused.value, RiskRejected) and refused.value.rejection["limit"] == "25000"
    await nothing_sent(trader, gateway)


async def test_a_buy_limit_far_through_the_ask_is_refused(make_guarded: MakeTrader, gateway: Any) -> None:
    trader = await make_guarded(gateway, execute_orders=True)
    price = await near_ask(trader, "BHP/AUD", factor=1.5)
    with pytest.raises(InvalidOrder, match=r"\[price_off_market\].*% above the ask .*MAX_PRICE_OFF_MARKET_PCT 10%"):
        await trader.create_limit_buy_order("BHP/AUD", 20, price)
    await nothing_sent(trader, gateway)


async def test_params_the_risk_manager_does_not_check_are_refused(make_guarded: MakeTrader, gateway: Any) -> None:
    trader = await make_guarded(gateway, execute_orders=True)
    price = await passive_bid(trader, "BHP/AUD")
    with pytest.raises(NotSupported, match=r"\['outsideRth'\] are not checked by the RiskManager.*raw=True"):
        await trader.create_order("BHP/AUD", "limit", "buy", 100, price, {"outsideRth": True})
    with pytest.raises(InvalidOrder, match="a limit order needs price"):
        await trader.create_order("BHP/AUD", "limit", "buy", 100)
    await nothing_sent(trader, gateway)


async def test_executing_on_a_paper_account_sends_once_and_records_it(
    make_guarded: MakeTrader, gateway: Any, ccxt_for: Any
) -> None:
    trader = await make_guarded(gateway, execute_orders=True)
    assert not trader.shadow and trader.has == {**IBTrader.has, **REFUSED_HAS} and trader.id == "IB"
    price = await passive_bid(trader, "BHP/AUD")
    order = await trader.create_limit_buy_order("BHP/AUD", 100, price, {"clientOrderId": "trd-guarded-0001"})
    check_order(ccxt_for(trader), {}, "createOrder", order, "BHP/AUD", int(gateway.clock.timestamp() * 1000) + 1)
    (sent,) = [o for o in gateway.state()["orders"] if o["orderRef"] == "trd-guarded-0001"]
    assert order["id"] == str(sent["permId"]) and (order["info"]["shadow"], order["info"]["sent"]) == (False, True)
    again = await trader.create_limit_buy_order("BHP/AUD", 100, price, {"clientOrderId": "trd-guarded-0001"})
    assert again["id"] == order["id"] and len(gateway.state()["orders"]) == 1, "a retry with its id sends nothing"
    services = await trader.services()
    row = ledger_order(services.ledger, "trd-guarded-0001")
    assert row is not None and row["shadow"] is False and row["risk_decision"]["ok"] is True
    assert [o["id"] for o in await trader.fetch_open_orders("BHP/AUD")] == [order["id"]]
    cancelled = await trader.cancel_order(order["id"])
    assert cancelled["status"] == "canceled" and gateway.state()["orders"][0]["status"] == "Cancelled"
    assert ledger_order(services.ledger, "trd-guarded-0001")["status"] == "canceled"  # type: ignore[index]


async def test_raw_is_the_venue_itself_and_reaches_the_gateway(make_guarded: MakeTrader, gateway: Any) -> None:
    trader = await make_guarded(gateway, raw=True, allowed_symbols="BHP/AUD")  # EXECUTE_ORDERS=false: not consulted
    assert type(trader) is IBTrader
    order = await trader.create_order("CBA/AUD", "limit", "buy", 10, await passive_bid(trader, "CBA/AUD"))
    assert [o["permId"] for o in gateway.state()["orders"]] == [int(order["id"])]


async def test_a_live_account_needs_the_live_gate(make_guarded: MakeTrader, make_gateway: Any) -> None:
    gw = await make_gateway(account="U1234567")
    trader = await make_guarded(gw, ib_paper=False, ib_allow_live=True, execute_orders=True)
    price = await passive_bid(trader, "BHP/AUD")
    with pytest.raises(LiveTradingNotAllowed, match=r"live trading refused .*IB_ACCOUNT_ID.*paper run validated"):
        await trader.create_order("BHP/AUD", "limit", "buy", 100, price)
    await nothing_sent(trader, gw)
    services = await trader.services()
    assert [e["kind"] for e in q.recent_events(services.ledger, kinds=[REFUSED_EVENT])] == [REFUSED_EVENT]


async def test_a_configured_ledger_records_the_session_and_a_private_one_is_deleted_at_close(
    make_guarded: MakeTrader, make_gateway: Any, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'trader.db'}"
    upgrade(url)
    configured = await make_guarded(await make_gateway(), database_url=url)
    order = await configured.create_limit_buy_order("BHP/AUD", 100, await near_ask(configured, "BHP/AUD"))
    await configured.close()
    with open_ledger(url) as ledger:
        (session,) = q.sessions(ledger)
        assert (session["program"], session["mode"], session["end_reason"]) == (PROGRAM, "shadow", "stopped")
        row = ledger_order(ledger, order["clientOrderId"])
        assert row is not None and row["shadow"] is True and row["status"] == "closed"

    private = await make_guarded(await make_gateway())  # DATABASE_URL unset
    await private.create_limit_buy_order("BHP/AUD", 100, await near_ask(private, "BHP/AUD"))
    database = Path(str((await private.services()).ledger.url.database))
    assert database.is_file() and database.parent != Path.cwd()
    await private.close()
    assert not database.parent.exists(), "the private ledger is gone with the trader"


async def test_the_default_ledger_once_made_carries_the_kill_switch(
    make_guarded: MakeTrader, gateway: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DATABASE_URL unset, but the default ledger (./data/trader.db) exists and its kill switch is engaged, as
    ``trader killswitch on`` would leave it: a guarded trader executing orders opens no position (a private
    ledger would not see the switch)."""
    monkeypatch.chdir(tmp_path)
    url = load_settings().database_url
    (tmp_path / "data").mkdir()
    upgrade(url)
    with open_ledger(url) as ledger:
        killswitch.engage(ledger, by="test", reason="drill")
    trader = await make_guarded(gateway, execute_orders=True)
    with pytest.raises(RiskRejected, match="kill"):
        await trader.create_limit_buy_order("BHP/AUD", 100, await passive_bid(trader, "BHP/AUD"))
    await nothing_sent(trader, gateway)
    assert Path(str((await trader.services()).ledger.url.database)).resolve() == tmp_path / "data" / "trader.db"


async def test_no_way_around_the_checks_through_the_wrappers(make_guarded: MakeTrader, gateway: Any) -> None:
    """The guarded trader and its shadow account pass the venue's reads through, never what places orders."""
    trader = await make_guarded(gateway)
    shadow_account = (await trader.services()).venue
    for wrapper in (trader, shadow_account):
        for name in ("orders", "connection", "create_order_with_take_profit_and_stop_loss", "exchange"):
            with pytest.raises(AttributeError, match="only the venue's reads pass through"):
                getattr(wrapper, name)
        assert wrapper.health == trader.venue.health and wrapper.account_id == trader.venue.account_id
    assert trader.has["createOrderWithTakeProfitAndStopLoss"] is False
