"""Fixtures of the IB venue's tests: the offline gateway over the real data (the shared ``make_gateway``
and ``gateway`` of ``tests/support`` with this area's :func:`gateway_defaults`), IBTraders connected to it
over a real socket on port 0, and ccxt's own structure validators.

Gateways run paused (speed 0): tests move simulated time with ``gw.clock.advance`` and the traders
use :class:`SimulatedClock` over it, so nothing waits for wall-clock time it does not need.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import ccxt
import pytest
from ib_support import ASX_OPEN, FAST_BACKOFF, PausedTime  # type: ignore[import-not-found]

from sdk.clock import Clock, SimulatedClock
from sdk.settings import load_settings
from sdk.venues.ib.connection import Backoff
from sdk.venues.ib.pacing import PacingBudget
from sdk.venues.ib.trader import IBTrader


@pytest.fixture
def paused_time() -> PausedTime:
    return PausedTime()


@pytest.fixture(autouse=True)
def _quiet_ib_async() -> None:
    logging.getLogger("ib_async").setLevel(logging.CRITICAL)


@pytest.fixture
def gateway_defaults(tmp_path: Path) -> dict[str, Any]:
    """For the shared ``make_gateway``/``gateway``: paused at :data:`ASX_OPEN` on a free port without a
    control port, account ``DU0000001`` with 1M AUD and 100k USD, a state file per gateway."""
    return {
        "host": "127.0.0.1", "port": 0, "control_port": None, "speed": 0, "start": ASX_OPEN, "account": "DU0000001",
        "base_currency": "AUD", "cash": {"AUD": 1_000_000, "USD": 100_000},
        "state_file": lambda n: tmp_path / f"gateway-{n}.json",
    }  # fmt: skip


@pytest.fixture
async def make_trader() -> AsyncIterator[Callable[..., Any]]:
    """``await make_trader(gw, client_id=1, connect=True, **settings)``: an IBTrader on ``gw`` (closed after).

    ``clock`` replaces the trader's :class:`SimulatedClock` over the gateway's clock; ``backoff`` the
    fast reconnect timing.
    """
    traders: list[IBTrader] = []

    async def make(
        gw: Any,
        *,
        client_id: int | None = None,
        client_id_max: int | None = None,
        connect: bool = True,
        heartbeat_interval: float = 0.5,
        ack_timeout: float = 3.0,
        clock: Clock | None = None,
        backoff: Backoff = FAST_BACKOFF,
        **settings: Any,
    ) -> IBTrader:
        clock = clock or SimulatedClock(gw.clock)
        trader = IBTrader(
            load_settings(ib_host="127.0.0.1", ib_port=gw.port, ib_connect_timeout=3, **settings),
            client_id=client_id,
            client_id_max=client_id_max,
            clock=clock,
            budget=PacingBudget(clock),
            backoff=backoff,
            heartbeat_interval=heartbeat_interval,
            quote_timeout=2.0,
            ack_timeout=ack_timeout,
        )
        traders.append(trader)
        if connect:
            await trader.connect()
        return trader

    yield make
    for trader in traders:
        await trader.close()


@pytest.fixture
async def trader(gateway: Any, make_trader: Callable[..., Any]) -> IBTrader:
    """An IBTrader connected to :func:`gateway` with client id 1."""
    return await make_trader(gateway)


@pytest.fixture
def ccxt_for() -> Callable[[IBTrader], Any]:
    """``ccxt_for(trader)``: the ``exchange`` argument of ccxt's structure validators, a plain
    ``ccxt.Exchange`` holding the trader's markets (so currencies are known and spot checks apply)."""

    def make(trader: IBTrader) -> Any:
        exchange = ccxt.Exchange()
        exchange.set_markets(list(trader.markets.values()))
        return exchange

    return make
