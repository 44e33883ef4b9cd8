"""Fixtures of the gateway tests: the real catalog (loaded once), gateways on port 0, ib_async clients."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from ib_async import IB

from sdk.gateway import GatewayConfig, OfflineGateway

#: A Tuesday during ASX hours (11:00 Sydney), inside the real ASX, SPY daily and AUD/USD data.
ASX_OPEN_2025 = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)
#: During NYSE hours on a day with real SPY 1-minute bars (2024-03-01 10:30 New York).
SPY_MINUTES_2024 = datetime(2024, 3, 1, 15, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def catalog(shared_data: Path) -> Any:
    """The real market data, scanned once for every gateway test."""
    from sdk.data import load_catalog

    return load_catalog(shared_data)


@pytest.fixture(scope="session")
def synthetic_catalog() -> Any:
    """The seeded synthetic universe over a fixed span (the same bars on every day the tests run)."""
    from sdk.data import load_catalog

    return load_catalog(None, seed=7, synthetic_start=date(2024, 1, 2), synthetic_end=date(2024, 6, 28))


@pytest.fixture
async def make_gateway(catalog: Any) -> AsyncIterator[Callable[..., Any]]:
    """``await make_gateway(start=..., speed=0, **config)``: a started gateway on free ports (stopped after)."""
    started: list[OfflineGateway] = []

    async def make(*, catalog_: Any = None, **overrides: Any) -> OfflineGateway:
        options: dict[str, Any] = {"port": 0, "control_port": 0, "speed": 0, "start": ASX_OPEN_2025}
        options.update(overrides)
        gw = OfflineGateway(GatewayConfig(**options), catalog=catalog_ or catalog)
        await gw.start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        await gw.stop()


@pytest.fixture
async def gateway(make_gateway: Callable[..., Any]) -> OfflineGateway:
    """A paused gateway at an ASX open in March 2025 over the real data."""
    gw: OfflineGateway = await make_gateway()
    return gw


@pytest.fixture
async def connect() -> AsyncIterator[Callable[..., Any]]:
    """``await connect(gw, client_id=1)``: an ib_async ``IB`` connected to ``gw`` (disconnected after)."""
    clients: list[IB] = []

    async def make(gw: OfflineGateway, client_id: int = 1, **kwargs: Any) -> IB:
        ib = IB()
        ib.RaiseRequestErrors = kwargs.pop("raise_errors", False)
        await ib.connectAsync("127.0.0.1", gw.port, clientId=client_id, timeout=kwargs.pop("timeout", 5), **kwargs)
        clients.append(ib)
        return ib

    yield make
    for ib in clients:
        ib.disconnect()


@pytest.fixture(autouse=True)
def _quiet_ib_async() -> None:
    logging.getLogger("ib_async").setLevel(logging.CRITICAL)
    logging.getLogger("ib_insync").setLevel(logging.CRITICAL)


async def settle(ib: Any, seconds: float = 0.05) -> None:
    """Let answers already written by the gateway reach the client."""
    await asyncio.sleep(seconds)


async def eventually(condition: Callable[[], Any], timeout: float = 2.0) -> None:
    """Wait (briefly, polling) until ``condition()`` is true; fail with its last value otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if condition():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition still false after {timeout} s")
        await asyncio.sleep(0.01)
