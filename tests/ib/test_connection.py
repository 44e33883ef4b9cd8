"""The IB session against the offline gateway: live guard, client-id lease, heartbeat, health, events."""

from __future__ import annotations

from typing import Any

import pytest

from sdk.errors import ExchangeNotAvailable, LiveTradingNotAllowed
from sdk.registry import create_trader
from sdk.settings import SettingsError, load_settings
from sdk.venues.ib.connection import ConnectivityEvent, Health, check_live_allowed
from sdk.venues.ib.trader import IBTrader
from sdk.venues.mode import ModeConflict


def test_create_trader_builds_the_ib_venue() -> None:
    trader = create_trader("IB", load_settings(), raw=True)
    assert isinstance(trader, IBTrader) and trader.id == "IB" and trader.has["fetchOHLCV"]
    assert trader.health is Health.DISCONNECTED and trader.client_id is None, "nothing connects on construction"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ib_port": 7496}, "IB_PORT=7496 is a live-trading port"),
        ({"ib_port": 4001}, "IB_PORT=4001 is a live-trading port"),
        ({"ib_paper": False}, "IB_PAPER=false selects live trading"),
    ],
)
async def test_live_settings_are_refused_before_connecting(settings: dict[str, Any], message: str) -> None:
    trader = IBTrader(load_settings(**settings))
    with pytest.raises(LiveTradingNotAllowed, match=message):
        await trader.connect()
    assert not trader.connection.ib.isConnected()


async def test_a_live_account_is_refused_unless_allowed(make_gateway: Any, make_trader: Any) -> None:
    gw = await make_gateway(account="U7654321")
    with pytest.raises(LiveTradingNotAllowed, match=r"account U\*\*\*\*321 is a live account"):
        await make_trader(gw)
    await _settle(lambda: gw.state()["clients"] == [])  # the session was closed
    with pytest.raises(ModeConflict, match=r"IB_PAPER=true \(paper\) but account=U\*\*\*\*321 \(live\)"):
        await make_trader(gw, ib_allow_live=True)  # IB_PAPER=true on a live account: refused, never guessed
    await _settle(lambda: gw.state()["clients"] == [])
    allowed = await make_trader(gw, ib_allow_live=True, ib_paper=False)
    assert allowed.connection.account == "U7654321" and allowed.health is Health.HEALTHY


@pytest.mark.parametrize(
    ("account", "paper"),
    [("DU0000002", True), ("du0000003", False), ("DF1234567", True), ("D1234567", False), ("DI7654321", False)],
)
def test_paper_accounts_are_du_and_df(account: str, paper: bool) -> None:
    settings = load_settings()
    if paper:
        check_live_allowed(settings, 4002, account)
        return
    with pytest.raises(LiveTradingNotAllowed, match="is a live account"):
        check_live_allowed(settings, 4002, account)
    check_live_allowed(load_settings(ib_allow_live=True), 4002, account)


@pytest.mark.parametrize(("account", "paper"), [("DF1234567", True), ("F1234567", False)])
async def test_an_fa_paper_master_connects_and_an_fa_live_one_is_refused(
    make_gateway: Any, make_trader: Any, account: str, paper: bool
) -> None:
    gw = await make_gateway(account=account)
    if paper:
        trader = await make_trader(gw)
        assert trader.connection.account == account and trader.health is Health.HEALTHY
        return
    with pytest.raises(LiveTradingNotAllowed, match=r"is a live account .*paper accounts start with DU"):
        await make_trader(gw)
    await _settle(lambda: gw.state()["clients"] == [])


async def test_account_must_be_one_the_gateway_manages(gateway: Any, make_trader: Any) -> None:
    with pytest.raises(SettingsError, match=r"IB_ACCOUNT_ID: DU\*\*\*\*999 is not an account this gateway manages"):
        await make_trader(gateway, ib_account_id="DU9999999")


async def test_client_id_in_use_takes_the_next_id_of_the_lease(gateway: Any, make_trader: Any) -> None:
    first = await make_trader(gateway, client_id=5)
    second = await make_trader(gateway, client_id=5, client_id_max=7)
    assert (first.client_id, second.client_id) == (5, 6)
    assert sorted(gateway.state()["clients"]) == [5, 6]
    assert second.connection.lease.history == [6]


async def test_a_single_client_id_in_use_is_an_error_not_a_loop(gateway: Any, make_trader: Any) -> None:
    await make_trader(gateway, client_id=5)
    with pytest.raises(ExchangeNotAvailable, match=r"every client id of the lease is in use \(IB 326: 5\)"):
        await make_trader(gateway, client_id=5)


async def test_heartbeat_time_and_events(gateway: Any, make_trader: Any) -> None:
    events: list[ConnectivityEvent] = []
    trader = await make_trader(gateway, connect=False)
    trader.add_connectivity_listener(events.append)
    await trader.connect()
    assert [e.kind for e in events] == ["connected", "resynced"]
    assert all(e.client_id == 1 for e in events) and trader.health is Health.HEALTHY
    assert abs(await trader.fetch_time() - gateway.clock.timestamp() * 1000) < 1000, "IB's (simulated) time"
    await trader.close()
    assert events[-1].kind == "closed" and trader.health is Health.CLOSED


async def test_farm_notices_degrade_and_restore_health(gateway: Any, trader: IBTrader) -> None:
    events: list[ConnectivityEvent] = []
    trader.add_connectivity_listener(events.append)
    (session,) = list(gateway.sessions())
    session.error(-1, 2103, "usfarm")
    await _settle(lambda: trader.health is Health.DEGRADED)
    session.error(-1, 2104, "usfarm")
    await _settle(lambda: trader.health is Health.HEALTHY)
    assert [(e.kind, e.health) for e in events] == [("health", Health.DEGRADED), ("health", Health.HEALTHY)]
    assert "usfarm" in events[0].detail


async def _settle(condition: Any) -> None:
    from support.waiting import eventually

    await eventually(condition, what="the connection's health")
