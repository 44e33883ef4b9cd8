"""Outputs of the write tools: previews with a confirmation token, placements, cancellations, plans."""

from __future__ import annotations

from pydantic import BaseModel, Field

from mcp_server.schemas.account import OrderOut, PlanOut

__all__ = [
    "CancelOut",
    "CostOut",
    "NormalisedOrderOut",
    "PlaceOut",
    "PlanCancelOut",
    "PlanCreatedOut",
    "PreviewOut",
]


class NormalisedOrderOut(BaseModel):
    """The order exactly as it would be sent: prices on the tick ladder, amount on the size step."""

    symbol: str
    side: str
    type: str = Field(description="limit, market, stop or stop_limit (a market order may have become a limit)")
    amount: float = Field(description="base units")
    price: float | None = Field(description="limit price, in price_currency")
    stop_price: float | None = Field(description="trigger price, in price_currency")
    price_currency: str
    tif: str | None = Field(description="time in force; None: the venue's default")
    reduce_only: bool
    client_order_id: str = Field(description="the id it will be sent with (IB orderRef); retries reuse it")


class CostOut(BaseModel):
    """The estimated cost: in the venue's currency and in the base currency."""

    amount: float = Field(description="in currency")
    currency: str
    amount_base: float = Field(description="in base_currency (FX spread buffer included when converted)")
    base_currency: str
    schedule: str
    source: str


class PreviewOut(BaseModel):
    """An approved order and the single-use token that places exactly it."""

    order: NormalisedOrderOut
    mode: str = Field(description="shadow (simulated fill, nothing sent), paper or live")
    reference_price: float = Field(description="price the checks used, in price_currency")
    notional: float = Field(description="amount x reference_price, in price_currency")
    notional_base: float = Field(description="notional in base_currency")
    base_currency: str
    fx_rate: float = Field(description="units of base_currency per unit of price_currency")
    cost: CostOut
    opening: bool = Field(description="True when the order opens or grows a position")
    position_after: float = Field(description="signed position after a full fill, base units")
    exposure_after_base: float = Field(description="gross exposure after a full fill, in base_currency")
    warnings: list[str] = Field(description="what was changed or could not be checked")
    token: str = Field(description="pass to place_order to place exactly this order, once")
    token_expires_in_s: float = Field(description="seconds the token stays valid")


class PlaceOut(BaseModel):
    """What placing the confirmed order did."""

    client_order_id: str
    shadow: bool = Field(description="True: simulated (shadow mode), nothing was sent to the venue")
    order: OrderOut
    warnings: list[str] = Field(default_factory=list)


class CancelOut(BaseModel):
    """The order after the cancel request."""

    order: OrderOut


class PlanCreatedOut(BaseModel):
    """The plan as stored; the PlanMonitor watches its entry, stop and target."""

    plan: PlanOut


class PlanCancelOut(BaseModel):
    """The plan after cancellation (and any of its open orders cancelled)."""

    plan: PlanOut
