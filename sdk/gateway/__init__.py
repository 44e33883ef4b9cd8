"""The offline IB Gateway: a TWS API socket server replaying real market data for a paper account.

Unmodified ``ib_async`` (and ``ib_insync`` 0.9.86) connect to it as to IB Gateway::

    from sdk.gateway import GatewayConfig, OfflineGateway

    async with OfflineGateway(GatewayConfig(port=0, control_port=0, speed=0)) as gw:
        ...  # gw.port, gw.control_port, gw.clock, gw.state(), gw.set_faults(spec), await gw.restart()

The fill model it uses is :mod:`sdk.sim.fills` (pure, reusable by the runner's shadow mode).
See ``docs/gateway.md``.
"""

from sdk.gateway.config import GatewayConfig
from sdk.gateway.server import ListenError, OfflineGateway

__all__ = ["GatewayConfig", "ListenError", "OfflineGateway"]
