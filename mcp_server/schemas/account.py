"""Outputs of the account tools: balances, equity, positions, orders, fills and plans."""

from __future__ import annotations

from pydantic import BaseModel, Field

from mcp_server.untrusted import UntrustedText

__all__ = [
    "Balance",
    "BalanceOut",
    "EquityOut",
    "OrderOut",
    "OrdersOut",
    "PlanOut",
    "PlansOut",
    "PositionOut",
    "PositionsOut",
    "TradeOut",
    "TradesOut",
]


class Balance(BaseModel):
    """Cash in one currency (amounts in ``currency``)."""

    currency: str
    free: float | None = Field(description="available, in currency")
    used: float | None = Field(description="reserved by open orders, in currency")
    total: float | None = Field(description="cash balance, in currency (negative when borrowed)")


class BalanceOut(BaseModel):
    """Cash per currency; see get_equity for the account's value in the base currency."""

    base_currency: str
    balances: list[Balance]


class EquityOut(BaseModel):
    """The account's equity (IB: NetLiquidation) in the base currency."""

    equity: float = Field(description="account equity, in currency")
    currency: str = Field(description="the base currency")
    timestamp_ms: int = Field(description="when it was read, ms UTC (the server's clock)")


class PositionOut(BaseModel):
    """One position: amounts in base units, prices and PnL in ``price_currency``."""

    symbol: str
    side: str = Field(description="long or short")
    amount: float = Field(description="base units held (positive; see side)")
    entry_price: float | None = Field(description="average entry, in price_currency")
    mark_price: float | None = Field(description="current mark, in price_currency")
    price_currency: str
    notional: float | None = Field(description="amount x mark, in price_currency")
    unrealized_pnl: float | None = Field(description="in price_currency")
    notional_base: float | None = Field(description="notional in base_currency (None: no FX rate now)")


class PositionsOut(BaseModel):
    """Open positions of the account."""

    base_currency: str
    positions: list[PositionOut]
    gross_exposure_base: float | None = Field(description="sum of |notional_base| (None if any is unknown)")


class OrderOut(BaseModel):
    """An order (ccxt's order structure, trimmed): amounts in base units, prices in ``price_currency``."""

    id: str | None = Field(description="the venue's order id (IB permId)")
    client_order_id: str | None = Field(description="our id (IB orderRef)")
    symbol: str
    side: str
    type: str
    status: str | None = Field(description="open, closed, canceled, rejected or expired")
    amount: float | None = Field(description="base units ordered")
    filled: float | None = Field(description="base units filled")
    remaining: float | None = Field(description="base units still open")
    price: float | None = Field(description="limit price, in price_currency")
    stop_price: float | None = Field(description="trigger price, in price_currency")
    average: float | None = Field(description="average fill price, in price_currency")
    price_currency: str
    fee: float | None = Field(description="commission so far, in fee_currency (None: pending, not zero)")
    fee_currency: str | None
    timestamp_ms: int | None = Field(description="when the order was created, ms UTC")
    time_in_force: str | None = None
    venue_message: UntrustedText | None = Field(None, description="the venue's status text, if any")


class OrdersOut(BaseModel):
    """Orders this SDK placed (client order id with CLIENT_ORDER_PREFIX)."""

    orders: list[OrderOut]


class TradeOut(BaseModel):
    """One fill: amount in base units, price in ``price_currency``, fee None while the venue's report is pending."""

    id: str | None = Field(description="the venue's execution id")
    order_id: str | None
    client_order_id: str | None
    symbol: str
    side: str
    amount: float = Field(description="base units")
    price: float = Field(description="in price_currency")
    price_currency: str
    cost: float | None = Field(description="amount x price, in price_currency")
    fee: float | None = Field(description="commission in fee_currency; None while pending (never 0 for unknown)")
    fee_currency: str | None
    taker_or_maker: str | None
    timestamp_ms: int | None = Field(description="ms UTC")


class TradesOut(BaseModel):
    """Own fills, oldest first."""

    trades: list[TradeOut]
    limit_capped: bool = Field(description="True when the limit asked for was above the cap and was lowered")


class PlanOut(BaseModel):
    """A trade plan: entry, stop and target in ``price_currency``; amount in base units."""

    plan_id: str
    symbol: str
    side: str
    status: str = Field(
        description="pending, active, closed, canceled, expired or rejected; ended: pending or active, but the run "
        "that watched it has ended (nothing manages its stop or target)"
    )
    amount: float | None = Field(description="base units")
    entry: float | None = Field(description="entry price (None: at market)")
    stop: float | None = Field(description="stop-loss trigger")
    target: float | None = Field(description="take-profit price")
    price_currency: str
    created_at_ms: int | None = None
    updated_at_ms: int | None = None
    valid_until_ms: int | None = None
    reason: str | None = Field(None, description="why the plan exists or last changed status")


class PlansOut(BaseModel):
    """Plans still in play (pending or active)."""

    plans: list[PlanOut]
