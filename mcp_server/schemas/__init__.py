"""Typed outputs of the MCP tools (pydantic): units and currencies in field names or descriptions.

Every tool's output schema is generated from these models, and every result is validated against
its model before it leaves the server. Inputs are typed parameters of the tool functions.
"""

from mcp_server.schemas.account import (
    Balance,
    BalanceOut,
    EquityOut,
    OrderOut,
    OrdersOut,
    PlanOut,
    PlansOut,
    PositionOut,
    PositionsOut,
    TradeOut,
    TradesOut,
)
from mcp_server.schemas.context import Limits, MarketHours, TradingContextOut
from mcp_server.schemas.market import CostEstimateOut, MarketDataOut, OhlcvOut, OrderBookOut, TickerOut
from mcp_server.schemas.orders import (
    CancelOut,
    CostOut,
    NormalisedOrderOut,
    PlaceOut,
    PlanCancelOut,
    PlanCreatedOut,
    PreviewOut,
)

__all__ = [
    "Balance",
    "BalanceOut",
    "CancelOut",
    "CostEstimateOut",
    "CostOut",
    "EquityOut",
    "Limits",
    "MarketDataOut",
    "MarketHours",
    "NormalisedOrderOut",
    "OhlcvOut",
    "OrderBookOut",
    "OrderOut",
    "OrdersOut",
    "PlaceOut",
    "PlanCancelOut",
    "PlanCreatedOut",
    "PlanOut",
    "PlansOut",
    "PositionOut",
    "PositionsOut",
    "PreviewOut",
    "TickerOut",
    "TradeOut",
    "TradesOut",
    "TradingContextOut",
]
