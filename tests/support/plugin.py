"""The fixtures several test areas share (loaded through ``pytest_plugins`` in ``tests/conftest.py``).

* ``catalog``: the real market data of ``../shared/data`` (``sdk.data.load_catalog``), loaded once per
  session for every area (``tests/data`` overrides it with the pinned folders).
* ``gateway_defaults``: the :class:`sdk.gateway.GatewayConfig` fields ``make_gateway`` starts from; an area
  overrides this fixture in its conftest to change them for all its tests. A callable value is called
  with the gateway's index in the test (0, 1, ...), so each gateway can get a file of its own.
* ``make_gateway``: ``await make_gateway(**config)`` starts an offline gateway on free ports (port 0) over
  ``catalog`` (``catalog_=`` another one), stopped after the test.
* ``gateway``: one such gateway with the defaults.
* ``backtest_data``: a data directory of links to the few real files backtests read (BHP, SPY and AUD/USD daily).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

__all__ = ["ASX_OPEN"]

#: Tuesday 4 March 2025, 11:00 Sydney: ASX open, inside the real ASX daily, SPY daily and AUD/USD data.
ASX_OPEN = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def catalog(shared_data: Path) -> Any:
    """The real market data (``sdk.data.Catalog`` of ``../shared/data``), loaded once per session."""
    from sdk.data import load_catalog

    return load_catalog(shared_data)


@pytest.fixture
def gateway_defaults(tmp_path: Path) -> dict[str, Any]:
    """A paused gateway (speed 0) at :data:`ASX_OPEN` on free ports, account ``DU0000001`` with 1M AUD and
    50k USD, its state in a file of its own under ``tmp_path``."""
    return {
        "host": "127.0.0.1", "port": 0, "control_port": 0, "speed": 0, "start": ASX_OPEN, "account": "DU0000001",
        "cash": {"AUD": 1_000_000, "USD": 50_000}, "state_file": lambda n: tmp_path / f"gateway-{n}.json",
    }  # fmt: skip


@pytest.fixture
async def make_gateway(catalog: Any, gateway_defaults: dict[str, Any]) -> AsyncIterator[Callable[..., Any]]:
    """``await make_gateway(catalog_=None, **config)``: a started gateway (``gateway_defaults`` updated by
    ``config``) over ``catalog`` or ``catalog_``; every gateway is stopped after the test."""
    from sdk.gateway import GatewayConfig, OfflineGateway

    started: list[Any] = []

    async def make(*, catalog_: Any = None, **overrides: Any) -> Any:
        n = len(started)
        options = {key: value(n) if callable(value) else value for key, value in gateway_defaults.items()}
        options.update(overrides)
        gw = OfflineGateway(GatewayConfig(**options), catalog=catalog_ if catalog_ is not None else catalog)
        await gw.start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        await gw.stop()


@pytest.fixture
async def gateway(make_gateway: Callable[..., Any]) -> Any:
    """A gateway with the area's ``gateway_defaults``."""
    return await make_gateway()


#: The files of ``../shared/data`` the backtest tests read (BHP/AUD raw to 2022 and dividend-adjusted from 2024, SPY
#: daily, AUD/USD daily): a catalog of them loads in a fraction of a second, where all of ``../shared/data`` takes
#: seconds each time ``trader backtest`` starts.
BACKTEST_FILES = ("asx_daily_long/BHP.AX.csv", "asx_daily/BHP.AX.csv", "us_daily/SPY.csv", "fx/AUDUSD_daily.csv")


@pytest.fixture(scope="session")
def backtest_data(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A market-data directory of symlinks to :data:`BACKTEST_FILES` (same relative paths)."""
    root = tmp_path_factory.mktemp("backtest-data")
    for rel in BACKTEST_FILES:
        link = root / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(shared_data / rel)
    return root
