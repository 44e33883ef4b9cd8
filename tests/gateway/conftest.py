"""Fixtures of the gateway tests: gateways with the plain :class:`GatewayConfig` defaults and ib_async clients.

``catalog``, ``make_gateway`` and ``gateway`` come from the shared plugin (``tests/support``); this area
only sets their defaults (:func:`gateway_defaults`). Waits: ``support.waiting``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from ib_async import IB
from support.waiting import eventually

from sdk.gateway import OfflineGateway

#: ``from .conftest import eventually`` keeps working for tests written before the plugin; new tests
#: import it from ``support.waiting``.
__all__ = ["ASX_OPEN_2025", "SPY_MINUTES_2024", "eventually"]

#: A Tuesday during ASX hours (11:00 Sydney), inside the real ASX, SPY daily and AUD/USD data.
ASX_OPEN_2025 = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)
#: During NYSE hours on a day with real SPY 1-minute bars (2024-03-01 10:30 New York).
SPY_MINUTES_2024 = datetime(2024, 3, 1, 15, 30, tzinfo=UTC)


@pytest.fixture
def gateway_defaults() -> dict[str, Any]:
    """Paused at :data:`ASX_OPEN_2025` on free ports; account, cash and state file as ``GatewayConfig``'s
    defaults (``DU0000001``, 1M AUD, no state file)."""
    return {"port": 0, "control_port": 0, "speed": 0, "start": ASX_OPEN_2025}


@pytest.fixture(scope="session")
def synthetic_catalog() -> Any:
    """The seeded synthetic universe over a fixed span (the same bars on every day the tests run)."""
    from sdk.data import load_catalog

    return load_catalog(None, seed=7, synthetic_start=date(2024, 1, 2), synthetic_end=date(2024, 6, 28))


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
