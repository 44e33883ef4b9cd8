"""The offline gateway's orders as the simulation core sees them: each working order has a *twin*.

The gateway keeps IB's record of an order (:class:`~sdk.gateway.records.OrderRecord`: ids, IB's statuses, the state
file); the simulation core's matching engine (:class:`sdk.sim.matching.MatchingEngine`) works its twin, a
:class:`~sdk.sim.orders.SimOrder` in ccxt's vocabulary, by the one rule set of :mod:`sdk.sim` (``docs/sim.md``).
This module maps one onto the other:

* the twin's id is the order's ``permId`` (text); its ``timestamp`` the simulated time it started working, in ms;
* IB's order types map onto ccxt's (``MKT`` -> ``market``, ``LMT`` -> ``limit``, ``STP`` -> ``stop``,
  ``STP LMT`` -> ``stop_limit``); IB's actions onto ccxt's sides;
* a gateway instrument (:class:`~sdk.gateway.instruments.GatewayContract`) becomes the core's
  :class:`~sdk.instruments.InstrumentSpec`: its ladder, whole shares (any positive FX amount, as the gateway takes
  it), and the calendar of its market (``ASX``, ``NYSE``, ``FX``);
* an attached order's twin carries as its ``amount`` what its parent has filled so far (IB's bracket pattern,
  :func:`sdk.gateway.brackets.workable`), so a child never closes more than its parent opened.

Times: the gateway's are epoch seconds (float), the core's integer milliseconds UTC (:func:`ms`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from sdk.gateway.instruments import GatewayContract
from sdk.gateway.records import ExecutionRecord, OrderRecord
from sdk.instruments import InstrumentSpec, market_orders_taken
from sdk.sim.orders import Execution, SimOrder

__all__ = ["CCXT_TYPES", "execution_of", "instrument_spec", "ms", "restored_twin", "twin"]

#: IB's order type -> ccxt's (the core's) order type.
CCXT_TYPES: dict[str, str] = {"MKT": "market", "LMT": "limit", "STP": "stop", "STP LMT": "stop_limit"}


def ms(seconds: float) -> int:
    """Epoch seconds (the gateway's simulated time) as integer milliseconds UTC (the core's)."""
    return round(seconds * 1000)


def _side(order: OrderRecord) -> Literal["buy", "sell"]:
    return "buy" if order.action == "BUY" else "sell"


def instrument_spec(inst: GatewayContract) -> InstrumentSpec:
    """The core's description of a gateway instrument: its ladder, sizes and market hours (module docstring)."""
    stock = inst.sec_type == "STK"
    base, _, quote = inst.symbol.partition("/")
    return InstrumentSpec(
        symbol=inst.symbol,
        instrument_type=inst.instrument_type,
        base=base,
        quote=quote or inst.currency,
        ladder=inst.ladder,
        size_increment=Decimal(1) if stock else Decimal(0),
        min_size=Decimal(1) if stock else Decimal(0),
        market=inst.market,
        market_orders_allowed=market_orders_taken(inst.market),
        venue="IB",
        con_id=inst.con_id,
        exchange=inst.primary_exchange or inst.exchange,
        long_name=inst.long_name,
    )


def twin(order: OrderRecord, at: float) -> SimOrder:
    """A new order's twin, starting to work at ``at`` (epoch seconds); the engine's ``submit`` schedules it."""
    return SimOrder(
        id=str(order.perm_id),
        client_order_id=order.order_ref or None,
        symbol=order.symbol,
        type=CCXT_TYPES[order.order_type],
        side=_side(order),
        amount=order.total_quantity,
        price=order.lmt_price,
        stop_price=order.aux_price,
        time_in_force=order.tif,
        timestamp=ms(at),
    )


def restored_twin(order: OrderRecord) -> SimOrder:
    """The twin of a working order read back from the state file, with its working state (filled, stop triggered,
    protection cap, arrival, expiry and opening auction)."""
    sim = twin(order, order.created)
    sim.filled, sim.cost = order.filled, order.avg_fill_price * order.filled
    sim.triggered, sim.cap, sim.arrival = order.triggered, order.protection, order.arrival
    sim.expires_at = ms(order.expires) if order.expires is not None else None
    sim.opens_at = ms(order.opens) if order.opens is not None else None
    sim.last_update = ms(order.updated)
    return sim


def execution_of(record: ExecutionRecord, order: OrderRecord) -> Execution:
    """The core's execution of a gateway execution record (to keep its commission pending across a restart)."""
    return Execution(
        id=record.exec_id,
        order_id=str(record.perm_id),
        client_order_id=record.order_ref or None,
        symbol=record.symbol,
        side="buy" if record.side == "BOT" else "sell",
        type=CCXT_TYPES.get(order.order_type, "market"),
        price=record.price,
        amount=record.shares,
        liquidity="maker" if record.liquidity == 1 else "taker",
        timestamp=ms(record.time),
    )
