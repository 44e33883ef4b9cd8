"""Checks of a ``create_order`` request that need no connection: its params, its size, a reused client order id.

Each raises the ccxt error a caller sees, naming what was wrong and what to do instead; nothing has been sent
when one raises. The tables they read are in :mod:`sdk.venues.ib.parsing`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sdk.errors import InvalidOrder, NotSupported
from sdk.instruments import InstrumentSpec
from sdk.venues.ib.brackets import Bracket
from sdk.venues.ib.order_records import OrderRecord
from sdk.venues.ib.parsing import ORDER_PARAMS, REFUSED_ORDER_PARAMS

__all__ = ["check_params", "check_size", "same_request"]


def check_params(params: dict[str, Any]) -> None:
    """Refuse, before anything is sent, every param IBTrader would not honour (``NotSupported`` naming it)."""
    for name in sorted(params):
        if name in REFUSED_ORDER_PARAMS:
            raise NotSupported(f"IB create_order does not honour params['{name}']: {REFUSED_ORDER_PARAMS[name]}")
    unknown = sorted(set(params) - ORDER_PARAMS)
    if unknown:
        raise NotSupported(
            f"IB create_order does not know params {unknown}; it honours {sorted(ORDER_PARAMS)} (nothing was sent)"
        )


def check_size(spec: InstrumentSpec, amount: float) -> None:
    """Refuse an amount off the instrument's size increment or below its minimum (``InvalidOrder``)."""
    size = Decimal(repr(float(amount)))
    step = spec.size_increment
    if step > 0 and size % step != 0:
        raise InvalidOrder(
            f"amount {amount} is not a multiple of {spec.symbol}'s size increment {step} {spec.base}; "
            f"e.g. {(size // step) * step}"
        )
    if size < spec.min_size:
        raise InvalidOrder(f"amount {amount} is below {spec.symbol}'s minimum size {spec.min_size} {spec.base}")


def same_request(
    record: OrderRecord, symbol: str, type: str, side: str, amount: float, bracket: Bracket | None
) -> None:
    """Refuse a reused client order id whose earlier order differs (``InvalidOrder``): a retry must ask the same."""
    exits = (bracket.stop_loss, bracket.take_profit) if bracket is not None else (None, None)
    if (record.symbol, record.type, record.side, record.amount, record.stop_loss_price, record.take_profit_price) != (
        symbol, type, side, float(amount), *exits
    ):  # fmt: skip
        raise InvalidOrder(
            f"clientOrderId {record.client_order_id} was already used for {record.side} {record.amount} "
            f"{record.symbol} ({record.type}); use a new clientOrderId for a different order"
        )
