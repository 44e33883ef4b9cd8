"""Pure translation of a ccxt market structure into what the SDK needs: tick ladder, size step,
:class:`~sdk.instruments.InstrumentSpec` and :class:`~sdk.costs.FeeRates`.

ccxt states precision in one of three modes (``exchange.precisionMode``, ccxt "Precision and Limits"
manual): ``TICK_SIZE`` (``precision.price`` is the increment itself, 0.01), ``DECIMAL_PLACES``
(the number of decimals, 2 -> 0.01) and ``SIGNIFICANT_DIGITS`` (the increment depends on the price's
magnitude; a ladder with one band per power of ten represents it exactly).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from ccxt.base.decimal_to_precision import DECIMAL_PLACES, SIGNIFICANT_DIGITS, TICK_SIZE

from sdk.costs.model import FeeRates, FeeSide
from sdk.errors import NotSupported
from sdk.instruments import InstrumentSpec, market_orders_taken
from sdk.symbols import InstrumentType, is_fiat
from sdk.ticks import PriceLadder

__all__ = [
    "fee_rates_from_market",
    "instrument_from_market",
    "market_orders_allowed",
    "price_ladder",
    "size_increment",
]

_PRECISION_MODES = {TICK_SIZE: "TICK_SIZE", DECIMAL_PLACES: "DECIMAL_PLACES", SIGNIFICANT_DIGITS: "SIGNIFICANT_DIGITS"}


def _step(value: Any, mode: int, what: str, symbol: str) -> Decimal:
    if value is None:
        raise NotSupported(f"the ccxt market {symbol} states no {what} precision; it cannot be traded safely here")
    number = Decimal(str(value))
    if mode == TICK_SIZE:
        step = number
    elif mode == DECIMAL_PLACES:
        step = Decimal(1).scaleb(-int(number))
    else:
        raise NotSupported(f"{what} precision mode {_PRECISION_MODES.get(mode, mode)} has no fixed step ({symbol})")
    if step <= 0:
        raise NotSupported(f"the ccxt market {symbol} states a non-positive {what} step {value}")
    return step


def price_ladder(market: Mapping[str, Any], precision_mode: int) -> PriceLadder:
    """The legal prices of a ccxt market as a :class:`PriceLadder`.

    ``TICK_SIZE`` and ``DECIMAL_PLACES`` give one band; ``SIGNIFICANT_DIGITS`` (``d`` digits) gives a band per
    power of ten, the increment of ``[10^k, 10^(k+1))`` being ``10^(k-d+1)``.

    Raises:
        NotSupported: the market states no price precision.
    """
    symbol = str(market.get("symbol"))
    value = (market.get("precision") or {}).get("price")
    if precision_mode == SIGNIFICANT_DIGITS:
        if value is None:
            raise NotSupported(f"the ccxt market {symbol} states no price precision")
        digits = int(value)
        bands = [(Decimal(0), Decimal(1).scaleb(-12 - digits + 1))]
        bands += [(Decimal(1).scaleb(k), Decimal(1).scaleb(k - digits + 1)) for k in range(-12, 13)]
        return PriceLadder.from_increments(bands)
    return PriceLadder.from_increments([(0, _step(value, precision_mode, "price", symbol))])


def size_increment(market: Mapping[str, Any], precision_mode: int) -> Decimal:
    """The step of ``amount`` in base units (``precision.amount`` in ccxt's precision mode).

    Raises:
        NotSupported: no amount precision, or one in significant digits (no fixed step).
    """
    value = (market.get("precision") or {}).get("amount")
    return _step(value, precision_mode, "amount", str(market.get("symbol")))


def market_orders_allowed(has: Mapping[str, Any]) -> bool:
    """True when ccxt says the venue takes market orders (``has["createMarketOrder"]`` True or emulated).

    Unknown (None) counts as not allowed: the risk layer then sends a marketable limit, never an
    unpriced order. Gemini's API takes limit orders only (Gemini REST API "Create New Order": "The API
    doesn't directly support market orders"), and ccxt's ``gemini.has`` says so.
    """
    return has.get("createMarketOrder") in (True, "emulated")


def instrument_from_market(
    market: Mapping[str, Any], *, venue: str, precision_mode: int, has: Mapping[str, Any], as_limits: bool = False
) -> InstrumentSpec:
    """The :class:`InstrumentSpec` of a ccxt spot market (crypto trades 24/7: ``market`` is None).

    ``market_orders_allowed`` follows the SDK's one market-order rule (:func:`sdk.instruments.market_orders_taken`)
    with what ccxt says the venue takes (:func:`market_orders_allowed`) and ``as_limits``
    (``MARKET_ORDERS_AS_LIMITS``).

    Raises:
        NotSupported: the market lacks the precision the risk layer needs.
    """
    step = size_increment(market, precision_mode)
    limits = market.get("limits") or {}
    minimum = (limits.get("amount") or {}).get("min")
    base, quote = str(market["base"]), str(market["quote"])
    return InstrumentSpec(
        symbol=str(market["symbol"]),
        instrument_type=InstrumentType.FX if is_fiat(base) and is_fiat(quote) else InstrumentType.CRYPTO,
        base=base,
        quote=quote,
        ladder=price_ladder(market, precision_mode),
        size_increment=step,
        min_size=Decimal(str(minimum)) if minimum is not None else step,
        market=None,
        market_orders_allowed=market_orders_taken(
            None, venue_takes_them=market_orders_allowed(has), as_limits=as_limits
        ),
        venue=venue,
        exchange=venue,
        long_name=str(market.get("id") or market["symbol"]),
    )


def fee_rates_from_market(market: Mapping[str, Any], *, venue: str) -> FeeRates:
    """The maker/taker rates ccxt states for a market (``market["maker"]``, ``market["taker"]``, ``feeSide``).

    Raises:
        NotSupported: the market states no taker rate (set ``COMMISSION_OVERRIDES`` for the venue).
    """
    taker, maker = market.get("taker"), market.get("maker")
    if taker is None:
        raise NotSupported(
            f"{venue} market {market.get('symbol')} states no taker fee; set "
            f'COMMISSION_OVERRIDES={{"{venue}": {{"maker": 0.001, "taker": 0.002}}}}'
        )
    fee_side = market.get("feeSide") or "quote"
    if fee_side not in ("quote", "base", "get", "give"):
        raise NotSupported(f"{venue} market {market.get('symbol')} has an unknown feeSide {fee_side!r}")
    return FeeRates(
        maker=Decimal(str(maker if maker is not None else taker)),
        taker=Decimal(str(taker)),
        fee_side=cast(FeeSide, fee_side),
        source=f"{venue} market {market.get('symbol')} (ccxt maker/taker)",
    )
