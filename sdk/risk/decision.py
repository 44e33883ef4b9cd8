"""What :meth:`sdk.risk.RiskManager.validate` answers: :class:`Approved` (with the normalised order to
send) or :class:`Rejected` (a stable machine code, a sentence saying what to do instead, and the
limit and value compared, in their currency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from sdk.costs.fx import FxRate
from sdk.costs.model import Cost
from sdk.risk.intent import OrderIntent, OrderType, Side, TimeInForce

__all__ = ["Approved", "Decision", "NormalisedOrder", "RejectCode", "Rejected"]


class RejectCode(StrEnum):
    """Stable machine codes of a rejection (the ledger, the dashboard and agents key on them)."""

    INVALID_ORDER = "invalid_order"
    REDUCE_ONLY = "reduce_only"
    DAILY_LOSS_LIMIT = "daily_loss_limit"
    SYMBOL_NOT_ALLOWED = "symbol_not_allowed"
    INSTRUMENT_TYPE_NOT_ALLOWED = "instrument_type_not_allowed"
    MARKET_CLOSED = "market_closed"
    NO_QUOTE = "no_quote"
    PRICE_OFF_MARKET = "price_off_market"
    MIN_SIZE = "min_size"
    FX_UNAVAILABLE = "fx_unavailable"
    MIN_TRADE_SIZE = "min_trade_size"
    MIN_PARCEL = "min_parcel"
    MAX_ORDER_VALUE = "max_order_value"
    MAX_POSITION_VALUE = "max_position_value"
    POSITION_UNPRICED = "position_unpriced"
    MAX_TOTAL_EXPOSURE = "max_total_exposure"
    SPREAD_TOO_WIDE = "spread_too_wide"
    THIN_BOOK = "thin_book"
    COST_UNAVAILABLE = "cost_unavailable"
    KILL_SWITCH = "kill_switch"  # the kill switch is engaged (or unreadable): no position is opened


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Rejected:
    """The order must not be sent.

    Attributes:
        code: a stable :class:`RejectCode`.
        reason: one sentence: what was wrong and what to do instead.
        limit: the limit compared against, when there is one.
        value: the order's value that broke it.
        currency: the currency of ``limit`` and ``value`` (the base currency for money limits).
        intent: the intent as received.
    """

    code: RejectCode
    reason: str
    limit: Decimal | None
    value: Decimal | None
    currency: str | None
    intent: OrderIntent

    @property
    def ok(self) -> Literal[False]:
        """Always False: nothing to send."""
        return False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (decimals as strings) for the ledger, logs and MCP tool errors."""
        return {
            "ok": False,
            "code": self.code.value,
            "reason": self.reason,
            "limit": _dec(self.limit),
            "value": _dec(self.value),
            "currency": self.currency,
            "symbol": self.intent.symbol,
            "origin": self.intent.origin,
        }


@dataclass(frozen=True, slots=True)
class NormalisedOrder:
    """The order exactly as it may be sent: prices on the tick ladder, amount on the size step.

    ``price`` and ``stop_price`` are in the quote currency, ``amount`` in base units. A market order the
    venue or session does not take has become a marketable ``limit`` (``IOC`` unless the intent chose).
    """

    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    tif: TimeInForce | None
    reduce_only: bool
    client_order_id: str | None
    origin: str

    def create_order_args(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`sdk.base.BaseTrader.create_order` (floats, ccxt param names)::

        await trader.create_order(**approved.order.create_order_args())
        """
        params: dict[str, Any] = {}
        if self.client_order_id:
            params["clientOrderId"] = self.client_order_id
        if self.stop_price is not None:
            params["triggerPrice"] = float(self.stop_price)
        if self.tif:
            params["timeInForce"] = self.tif
        if self.reduce_only:
            params["reduceOnly"] = True
        return {
            "symbol": self.symbol,
            "type": self.type,
            "side": self.side,
            "amount": float(self.amount),
            "price": float(self.price) if self.price is not None else None,
            "params": params,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (decimals as strings)."""
        return {
            "symbol": self.symbol,
            "side": self.side,
            "type": self.type,
            "amount": str(self.amount),
            "price": _dec(self.price),
            "stop_price": _dec(self.stop_price),
            "tif": self.tif,
            "reduce_only": self.reduce_only,
            "client_order_id": self.client_order_id,
            "origin": self.origin,
        }


@dataclass(frozen=True, slots=True)
class Approved:
    """The order may be sent as :attr:`order`.

    Attributes:
        order: the normalised order.
        intent: the intent as received.
        reference_price: the price the checks valued the order at, in the quote currency: the most a
            buy pays (its limit, or the far touch plus the buffer), the highest of a sell's own prices,
            the bid, the last and the mark (:mod:`sdk.risk.pricing`).
        notional: ``order.amount × reference_price`` in the quote currency.
        notional_base: the same in the base currency, at :attr:`fx`.
        quote_currency: the instrument's quote currency.
        base_currency: the account's base currency.
        fx: the rate used for :attr:`notional_base`, with its source and time.
        cost: the cost estimate (in its currency and in the base currency).
        opening: True when the order opens or grows a position; False when it only reduces one.
        position_after: the signed position after a full fill, in base units.
        exposure_after_base: gross exposure (longs plus shorts) after a full fill, in the base currency.
        warnings: what was changed or could not be checked, one sentence each.
    """

    order: NormalisedOrder
    intent: OrderIntent
    reference_price: Decimal
    notional: Decimal
    notional_base: Decimal
    quote_currency: str
    base_currency: str
    fx: FxRate
    cost: Cost
    opening: bool
    position_after: Decimal
    exposure_after_base: Decimal
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> Literal[True]:
        """Always True: :attr:`order` may be sent."""
        return True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (decimals as strings) for previews, the ledger and logs."""
        return {
            "ok": True,
            "order": self.order.to_dict(),
            "reference_price": str(self.reference_price),
            "notional": str(self.notional),
            "quote_currency": self.quote_currency,
            "notional_base": str(self.notional_base),
            "base_currency": self.base_currency,
            "fx_rate": str(self.fx.rate),
            "fx_source": self.fx.source,
            "fx_as_of": self.fx.as_of.isoformat() if self.fx.as_of else None,
            "cost": self.cost.to_dict(),
            "opening": self.opening,
            "position_after": str(self.position_after),
            "exposure_after_base": str(self.exposure_after_base),
            "warnings": list(self.warnings),
        }


Decision = Approved | Rejected
