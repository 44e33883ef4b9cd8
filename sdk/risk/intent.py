"""What a caller wants to trade, before risk has looked at it: :class:`OrderIntent`.

The runner (strategy signals), the plan monitor and the MCP tools all build one and hand it to
:meth:`sdk.risk.RiskManager.validate`; nothing places an order around it.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from ccxt.base.errors import BadSymbol
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sdk.symbols import parse_symbol

__all__ = ["OrderIntent", "OrderType", "Side", "TimeInForce"]

Side = Literal["buy", "sell"]
OrderType = Literal["limit", "market", "stop", "stop_limit"]
TimeInForce = Literal["DAY", "GTC", "IOC", "FOK"]

_ORIGIN = re.compile(r"^(strategy|agent|plan|manual):[A-Za-z0-9_.:@/-]{1,64}$")


class OrderIntent(BaseModel):
    """An order as a strategy, a plan or an agent asks for it (frozen; unknown fields are refused).

    Attributes:
        symbol: canonical ``BASE/QUOTE`` (``BHP/AUD``, ``AAPL/USD``, ``AUD/USD``, ``BTC/USD``).
        side: ``buy`` or ``sell``.
        type: ``limit``, ``market``, ``stop`` (market on trigger) or ``stop_limit``.
        amount: base units (shares; base currency for FX; coins); positive.
        price: limit price in the quote currency (``limit`` and ``stop_limit`` only).
        stop_price: trigger price in the quote currency (``stop`` and ``stop_limit`` only).
        tif: time in force; None leaves the venue's default.
        reduce_only: may only shrink an existing position (never open or flip one).
        is_exit: an exit or a flattening: reduce-only, and allowed while the daily-loss switch is on.
        client_order_id: our id for the order (must start with ``CLIENT_ORDER_PREFIX``); None lets the
            venue layer assign one. Set it to make a retry idempotent.
        origin: who asks: ``strategy:<name>``, ``agent:<id>``, ``plan:<id>`` or ``manual:<who>``.

    Raises:
        pydantic.ValidationError: a field is malformed; the message says which and why.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = Field(description="canonical BASE/QUOTE symbol, e.g. BHP/AUD")
    side: Side
    type: OrderType = "limit"
    amount: Decimal = Field(gt=0, description="quantity in base units (shares, FX base currency, coins)")
    price: Decimal | None = Field(None, gt=0, description="limit price in the quote currency")
    stop_price: Decimal | None = Field(None, gt=0, description="trigger price in the quote currency")
    tif: TimeInForce | None = None
    reduce_only: bool = False
    is_exit: bool = False
    client_order_id: str | None = Field(None, min_length=1, max_length=64)
    origin: str = Field(description="strategy:<name> | agent:<id> | plan:<id> | manual:<who>")

    @field_validator("symbol")
    @classmethod
    def _canonical(cls, value: str) -> str:
        try:
            parse_symbol(value)
        except BadSymbol as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("amount", "price", "stop_price")
    @classmethod
    def _finite(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not value.is_finite():
            raise ValueError("must be a finite number")
        return value

    @field_validator("origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        if not _ORIGIN.match(value):
            raise ValueError(
                f"{value!r} is not an origin; use strategy:<name>, agent:<id>, plan:<id> or manual:<who> "
                "(letters, digits and _ . : @ / - only)"
            )
        return value

    @model_validator(mode="after")
    def _prices_fit_type(self) -> OrderIntent:
        if self.type in ("limit", "stop_limit") and self.price is None:
            raise ValueError(f"a {self.type} order needs price (the limit, in the quote currency)")
        if self.type in ("market", "stop") and self.price is not None:
            raise ValueError(f"a {self.type} order takes no price; send a limit or stop_limit order to cap it")
        if self.type in ("stop", "stop_limit") and self.stop_price is None:
            raise ValueError(f"a {self.type} order needs stop_price (the trigger, in the quote currency)")
        if self.type in ("limit", "market") and self.stop_price is not None:
            raise ValueError(f"a {self.type} order takes no stop_price; use type stop or stop_limit")
        return self

    @property
    def closing_only(self) -> bool:
        """True when the order may only reduce a position (``reduce_only`` or ``is_exit``)."""
        return self.reduce_only or self.is_exit
