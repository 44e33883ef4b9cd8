"""Pricing an order for the checks, and normalising it for the venue.

* A limit price is moved onto the instrument's tick ladder in the safe direction
  (:func:`sdk.ticks.safe_direction`: a buy never pays more, a sell never takes less); an off-tick
  price is never sent raw (IB error 110, ASX price steps).
* A market order is priced from the far side of the book (the ask for a buy, the bid for a sell),
  else from the last trade, plus ``MARKET_ORDER_BUFFER_PCT``; with neither it is refused, never sent
  unpriced. Where the venue takes no market orders (Gemini; ``InstrumentSpec.market_orders_allowed``)
  it becomes a marketable limit at that price, immediate-or-cancel, which is what Gemini's API
  documentation prescribes instead ("use the immediate-or-cancel order execution option, coupled
  with an aggressive limit price").
* A stop price is moved onto the ladder the same way (a sell stop triggers no later, a buy stop no later).
* An amount is cut down to the size step (never more than asked).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from sdk.instruments import InstrumentSpec
from sdk.risk.context import Quote
from sdk.risk.intent import OrderIntent, OrderType, TimeInForce
from sdk.ticks import PriceLadder, safe_direction

__all__ = ["PricedOrder", "PricingRefused", "price_order", "round_amount"]


class PricingRefused(Exception):
    """The order cannot be priced; ``code`` is a rejection code, ``reason`` says what to do."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PricedOrder:
    """An order's legal prices and the price the checks value it at (all in the quote currency).

    ``marketable``: it may trade against the book at once (market, converted market, or a limit through
    the far touch), so spread and liquidity checks apply.
    """

    type: OrderType
    price: Decimal | None
    stop_price: Decimal | None
    tif: TimeInForce | None
    reference: Decimal
    marketable: bool
    warnings: tuple[str, ...]


def _on_ladder(ladder: PriceLadder, value: Decimal, side: str, what: str, symbol: str) -> tuple[Decimal, str | None]:
    direction = safe_direction("buy" if side == "buy" else "sell")
    rounded = ladder.round(value, direction)
    if rounded == value:
        return rounded, None
    step = ladder.increment_at(value)
    why = "a buy never pays more" if side == "buy" else "a sell never takes less"
    return rounded, (
        f"{what} {value} of {symbol} is off the price step ({step} at this price); rounded {direction} to {rounded} "
        f"({why})"
    )


def round_amount(amount: Decimal, step: Decimal) -> Decimal:
    """``amount`` cut down to a whole number of ``step`` (base units)."""
    return (amount / step).to_integral_value(rounding=ROUND_FLOOR) * step


def price_order(
    intent: OrderIntent, instrument: InstrumentSpec, quote: Quote | None, buffer_pct: Decimal
) -> PricedOrder:
    """Legal prices and the check price of ``intent`` on ``instrument`` given the top of book.

    Raises:
        PricingRefused: ``no_quote`` when a market order (or a stop the venue must send as a limit)
            has no far side and no last price; ``invalid_order`` when the buffer leaves no positive price.
    """
    ladder, side, symbol = instrument.ladder, intent.side, intent.symbol
    warnings: list[str] = []
    q = quote or Quote()
    far = q.ask if side == "buy" else q.bid
    if intent.type == "limit":
        assert intent.price is not None
        price, note = _on_ladder(ladder, intent.price, side, "limit price", symbol)
        warnings += [note] if note else []
        marketable = far is not None and (price >= far if side == "buy" else price <= far)
        return PricedOrder("limit", price, None, intent.tif, price, marketable, tuple(warnings))
    if intent.type == "stop_limit":
        assert intent.price is not None and intent.stop_price is not None
        price, note = _on_ladder(ladder, intent.price, side, "limit price", symbol)
        stop, stop_note = _on_ladder(ladder, intent.stop_price, side, "stop price", symbol)
        warnings += [n for n in (note, stop_note) if n]
        return PricedOrder("stop_limit", price, stop, intent.tif, price, False, tuple(warnings))
    buffer = buffer_pct / 100
    sign = 1 if side == "buy" else -1
    if intent.type == "stop":
        assert intent.stop_price is not None
        stop, note = _on_ladder(ladder, intent.stop_price, side, "stop price", symbol)
        warnings += [note] if note else []
        reference = stop * (1 + sign * buffer)
        if reference <= 0:
            raise PricingRefused("invalid_order", f"MARKET_ORDER_BUFFER_PCT={buffer_pct} leaves no positive price")
        if instrument.market_orders_allowed:
            return PricedOrder("stop", None, stop, intent.tif, reference, False, tuple(warnings))
        limit, _ = _on_ladder(ladder, reference, side, "stop limit", symbol)
        warnings.append(
            f"{instrument.venue} takes no market orders for {symbol}: the stop becomes a stop-limit at {limit} "
            f"(stop {stop} {'+' if side == 'buy' else '-'} {buffer_pct}%)"
        )
        return PricedOrder("stop_limit", limit, stop, intent.tif, limit, False, tuple(warnings))
    # market
    touch = "ask" if side == "buy" else "bid"
    if far is None:
        if q.last is None:
            raise PricingRefused(
                "no_quote",
                f"no {touch} and no last price for {symbol}: a market order cannot be priced, so it is not sent; "
                "wait for a quote or send a limit order with the price you accept",
            )
        far = q.last
        warnings.append(f"no {touch} for {symbol}; the market order is priced from the last trade {q.last}")
    reference = far * (1 + sign * buffer)
    if reference <= 0:
        raise PricingRefused("invalid_order", f"MARKET_ORDER_BUFFER_PCT={buffer_pct} leaves no positive price")
    if instrument.market_orders_allowed:
        return PricedOrder("market", None, None, intent.tif, reference, True, tuple(warnings))
    limit, _ = _on_ladder(ladder, reference, side, "marketable limit", symbol)
    tif: TimeInForce = intent.tif or "IOC"
    warnings.append(
        f"{instrument.venue} takes no market orders for {symbol}: sent as a marketable limit at {limit} "
        f"({touch} {far} {'+' if side == 'buy' else '-'} {buffer_pct}%), {tif}"
    )
    return PricedOrder("limit", limit, None, tif, limit, True, tuple(warnings))
