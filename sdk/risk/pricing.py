"""Pricing an order for the checks, and normalising it for the venue.

* A limit price is moved onto the instrument's tick ladder in the safe direction
  (:func:`sdk.ticks.safe_direction`: a buy never pays more, a sell never takes less); an off-tick
  price is never sent raw (IB error 110, ASX price steps).
* A market order is priced from the far side of the book (the ask for a buy, the bid for a sell),
  else from the last trade, plus ``MARKET_ORDER_BUFFER_PCT``; with neither it is refused, never sent
  unpriced. Where the SDK's one market-order rule says no (``InstrumentSpec.market_orders_allowed``, from
  :func:`sdk.instruments.market_orders_taken`: ASX, venues without market orders such as Gemini,
  ``MARKET_ORDERS_AS_LIMITS``) it becomes a marketable limit at that price
  (:func:`sdk.instruments.market_order_cap`), immediate-or-cancel, which is what Gemini's API
  documentation prescribes instead ("use the immediate-or-cancel order execution option, coupled
  with an aggressive limit price"). The normalised order is what is sent: a preview's order is placed as is.
* A stop price is moved onto the ladder the same way (a sell stop triggers no later, a buy stop no later).
* An amount is cut down to the size step (never more than asked).

The check price (:attr:`PricedOrder.reference`, what every limit values the order at) is the
conservative, larger value of the trade, never a price the order merely allows:

* **buy**: the most it can pay. A limit (or a stop-limit's limit) caps the price paid, so it is the
  check price, through the market or not. A market order pays about the ask (else the last) plus
  the buffer (the marketable limit it becomes, where it becomes one). A stop has no cap: it is valued
  at the higher of its stop and the ask (else the last; a buy stop below the market triggers at
  once), plus the buffer.
* **sell**: a sell's limit is only the *least* it takes, and a short it opens is worth the market, not
  the limit (selling 15,000 SPY with a limit of 1.00 on a 596.08 bid sells about USD 8.9M). So a sell
  is valued at the highest of its own prices (limit, stop) and the market: the bid, the last trade
  and the position's mark. A market sell is therefore never valued below the bid: the buffer makes
  a buy bigger and never makes a sell smaller (it only sets the marketable limit sent). With no bid,
  no last and no mark, :attr:`PricedOrder.market` is None and the sell cannot be valued from above;
  :class:`sdk.risk.RiskManager` refuses it unless it only reduces a position.

A position after the order is valued at its mark, not at the check price (see
:meth:`sdk.risk.RiskManager.validate`). :func:`through_market` measures how far a limit goes through
the touch, for ``MAX_PRICE_OFF_MARKET_PCT``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from sdk.instruments import InstrumentSpec, market_order_cap, why_no_market_orders
from sdk.risk.context import Quote
from sdk.risk.intent import OrderIntent, OrderType, Side, TimeInForce
from sdk.ticks import PriceLadder, safe_direction

__all__ = ["PricedOrder", "PricingRefused", "market_price", "price_order", "round_amount", "through_market"]


class PricingRefused(Exception):
    """The order cannot be priced; ``code`` is a rejection code, ``reason`` says what to do."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PricedOrder:
    """An order's legal prices and the price the checks value it at (all in the quote currency).

    ``reference``: the check price (module docstring: the most a buy pays; the highest of a sell's own
    prices and the market). ``market``: the market price a sell was compared with (the highest of bid,
    last and mark), None for a sell with none of them and always None for a buy.
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
    market: Decimal | None = None


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


def market_price(quote: Quote | None, mark: Decimal | None = None) -> Decimal | None:
    """The highest of the bid, the last trade and ``mark`` (quote currency): what a sell is worth at least.

    None when none of them is known.
    """
    q = quote or Quote()
    known = [p for p in (q.bid, q.last, mark) if p is not None and p > 0]
    return max(known) if known else None


def through_market(side: Side, price: Decimal, quote: Quote | None) -> tuple[Decimal, str, Decimal] | None:
    """How far a limit goes through the market: ``(percent, touch name, touch price)``, or None.

    A buy is compared with the ask (else the last), a sell with the bid (else the last); the percent is
    ``(price - ask) / ask × 100`` for a buy and ``(bid - price) / bid × 100`` for a sell, positive when
    the limit is through the touch. None when the limit is not through it or there is no price to compare.
    """
    q = quote or Quote()
    touch, name = (q.ask, "ask") if side == "buy" else (q.bid, "bid")
    if touch is None:
        touch, name = q.last, "last trade"
    if touch is None:
        return None
    gap = price - touch if side == "buy" else touch - price
    return (gap / touch * 100, name, touch) if gap > 0 else None


def _sell_value(own: list[Decimal], market: Decimal | None) -> Decimal:
    return max([*own, market] if market is not None else own)


def price_order(
    intent: OrderIntent,
    instrument: InstrumentSpec,
    quote: Quote | None,
    buffer_pct: Decimal,
    *,
    mark: Decimal | None = None,
) -> PricedOrder:
    """Legal prices and the check price of ``intent`` on ``instrument`` given the top of book.

    ``mark`` is the held position's mark price (quote currency), when there is one; a sell is never valued
    below it. The check price rule is in the module docstring.

    Raises:
        PricingRefused: ``no_quote`` when a market order (or a stop the venue must send as a limit)
            has no far side and no last price; ``invalid_order`` when the buffer leaves no positive price.
    """
    ladder, side, symbol = instrument.ladder, intent.side, intent.symbol
    warnings: list[str] = []
    q = quote or Quote()
    far = q.ask if side == "buy" else q.bid
    market = market_price(q, mark) if side == "sell" else None
    if intent.type == "limit":
        assert intent.price is not None
        price, note = _on_ladder(ladder, intent.price, side, "limit price", symbol)
        warnings += [note] if note else []
        marketable = far is not None and (price >= far if side == "buy" else price <= far)
        reference = price if side == "buy" else _sell_value([price], market)
        return PricedOrder("limit", price, None, intent.tif, reference, marketable, tuple(warnings), market)
    if intent.type == "stop_limit":
        assert intent.price is not None and intent.stop_price is not None
        price, note = _on_ladder(ladder, intent.price, side, "limit price", symbol)
        stop, stop_note = _on_ladder(ladder, intent.stop_price, side, "stop price", symbol)
        warnings += [n for n in (note, stop_note) if n]
        reference = price if side == "buy" else _sell_value([price, stop], market)
        return PricedOrder("stop_limit", price, stop, intent.tif, reference, False, tuple(warnings), market)
    buffer = buffer_pct / 100
    sign = 1 if side == "buy" else -1
    if intent.type == "stop":
        assert intent.stop_price is not None
        stop, note = _on_ladder(ladder, intent.stop_price, side, "stop price", symbol)
        warnings += [note] if note else []
        trigger = stop * (1 + sign * buffer)
        if trigger <= 0:
            raise PricingRefused("invalid_order", f"MARKET_ORDER_BUFFER_PCT={buffer_pct} leaves no positive price")
        touch = q.ask if q.ask is not None else q.last
        buy_value = max(stop, touch) * (1 + buffer) if touch is not None else trigger
        if instrument.market_orders_allowed:
            reference = buy_value if side == "buy" else _sell_value([stop], market)
            return PricedOrder("stop", None, stop, intent.tif, reference, False, tuple(warnings), market)
        limit = market_order_cap(side, stop, ladder, buffer_pct)
        warnings.append(
            f"no market orders for {symbol} ({why_no_market_orders(instrument)}): the stop becomes a stop-limit "
            f"at {limit} (stop {stop} {'+' if side == 'buy' else '-'} {buffer_pct}%)"
        )
        reference = limit if side == "buy" else _sell_value([limit, stop], market)
        return PricedOrder("stop_limit", limit, stop, intent.tif, reference, False, tuple(warnings), market)
    # market
    touch_name = "ask" if side == "buy" else "bid"
    if far is None:
        if q.last is None:
            raise PricingRefused(
                "no_quote",
                f"no {touch_name} and no last price for {symbol}: a market order cannot be priced, so it is not "
                "sent; wait for a quote or send a limit order with the price you accept",
            )
        far = q.last
        warnings.append(f"no {touch_name} for {symbol}; the market order is priced from the last trade {q.last}")
    buffered = far * (1 + sign * buffer)
    if buffered <= 0:
        raise PricingRefused("invalid_order", f"MARKET_ORDER_BUFFER_PCT={buffer_pct} leaves no positive price")
    if instrument.market_orders_allowed:
        reference = buffered if side == "buy" else _sell_value([far], market)
        return PricedOrder("market", None, None, intent.tif, reference, True, tuple(warnings), market)
    limit = market_order_cap(side, far, ladder, buffer_pct)
    tif: TimeInForce = intent.tif or "IOC"
    warnings.append(
        f"no market orders for {symbol} ({why_no_market_orders(instrument)}): sent as a marketable limit at {limit} "
        f"({touch_name} {far} {'+' if side == 'buy' else '-'} {buffer_pct}%), {tif}"
    )
    reference = limit if side == "buy" else _sell_value([far, limit], market)
    return PricedOrder("limit", limit, None, tif, reference, True, tuple(warnings), market)
