"""The paper account's margin check and what-if answers.

IB's rule kept here: a new stock order, or a modification of one, whose post-trade initial margin (25% of gross
stock value, IB's 4x intraday buying power) would exceed the equity with loan value is rejected with 201, in TWS's
words. A what-if order (``whatIf=True``) is answered with the margin before and after and the commission it would
pay by IB's published schedules (:func:`sdk.costs.schedules.ib_commission`), and creates no order.

Values are in the account's base currency (converted at the replay's FX rates), at the simulated time ``now``
(epoch seconds); quantities base units, prices the instrument's quote currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Literal, Protocol

from sdk.costs.schedules import ib_commission
from sdk.gateway.instruments import GatewayContract, InstrumentTable
from sdk.gateway.market import MarketReplay
from sdk.gateway.order_answers import WhatIf
from sdk.gateway.order_rules import OrderRejected
from sdk.gateway.records import PositionRecord

__all__ = ["INITIAL_MARGIN_RATE", "AccountView", "check_margin", "money", "net_liquidation", "stock_value", "what_if"]

INITIAL_MARGIN_RATE = Decimal("0.25")


class AccountView(Protocol):
    """What the margin check reads of the paper account (:class:`sdk.gateway.broker.Broker`)."""

    base_currency: str
    instruments: InstrumentTable
    market: MarketReplay
    positions: dict[str, PositionRecord]
    plan: Literal["fixed", "tiered"]
    gst: bool

    @property
    def cash(self) -> Mapping[str, Decimal]: ...


def money(value: Decimal) -> Decimal:
    """``value`` to IB's 4 decimal places."""
    return value.quantize(Decimal("0.0001"))


def stock_value(account: AccountView, now: float, extra: Iterable[tuple[str, Decimal, Decimal]] = ()) -> Decimal:
    """Gross value of stock positions in the base currency (plus hypothetical ``(symbol, qty, price)``)."""
    total = Decimal(0)
    quantities = {s: p.quantity for s, p in account.positions.items()}
    prices: dict[str, Decimal] = {}
    for symbol, qty, price in extra:
        quantities[symbol] = quantities.get(symbol, Decimal(0)) + qty
        prices[symbol] = price
    for symbol, qty in quantities.items():
        inst = account.instruments.get(symbol)
        if inst is None or inst.sec_type != "STK" or qty == 0:
            continue
        mark = prices.get(symbol) or account.market.mark(symbol, now)
        if mark is None:
            continue
        total += abs(qty) * mark * account.market.fx_rate(inst.currency, account.base_currency, now)
    return total


def net_liquidation(account: AccountView, now: float) -> Decimal:
    """Cash plus signed stock positions at market, in the base currency."""
    rate = account.market.fx_rate
    total = sum(
        (amount * rate(ccy, account.base_currency, now) for ccy, amount in account.cash.items() if amount), Decimal(0)
    )
    for symbol, pos in account.positions.items():
        inst = account.instruments.get(symbol)
        if inst is None or inst.sec_type != "STK" or pos.quantity == 0:
            continue
        mark = account.market.mark(symbol, now)
        if mark is not None:
            total += pos.quantity * mark * rate(inst.currency, account.base_currency, now)
    return total


def _order_price(account: AccountView, action: str, inst: GatewayContract, lmt: Decimal | None, now: float) -> Decimal:
    quote = account.market.quote(inst.symbol, now)
    if quote is None:
        if lmt is None:
            raise OrderRejected(201, f"no market data for {inst.ib_symbol} at this time; a price is needed")
        return lmt
    touch = Decimal(repr(quote.ask if action == "BUY" else quote.bid))
    return lmt if lmt is not None else touch


def check_margin(
    account: AccountView, action: str, inst: GatewayContract, qty: Decimal, lmt: Decimal | None, now: float
) -> None:
    """Refuse a stock order whose post-trade initial margin would exceed the equity.

    Raises:
        OrderRejected: 201 with TWS's text and both figures; or 201 when the order has no price to value it at.
    """
    price = _order_price(account, action, inst, lmt, now)
    signed = qty if action == "BUY" else -qty
    after = stock_value(account, now, [(inst.symbol, signed, price)]) * INITIAL_MARGIN_RATE
    equity = net_liquidation(account, now)
    if after > equity:
        raise OrderRejected(
            201,
            f"YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN "
            f"VALUE [{money(equity)} {account.base_currency}] MUST EXCEED THE INITIAL MARGIN "
            f"[{money(after)} {account.base_currency}]",
        )


def what_if(
    account: AccountView, action: str, inst: GatewayContract, qty: Decimal, lmt: Decimal | None, now: float
) -> WhatIf:
    """The what-if answer of an order: margins before and after, and its commission (module docstring).

    Raises:
        OrderRejected: 201 when the order has no price to value it at.
    """
    price = _order_price(account, action, inst, lmt, now)
    signed = qty if action == "BUY" else -qty
    before = stock_value(account, now) * INITIAL_MARGIN_RATE
    after = (
        stock_value(account, now, [(inst.symbol, signed, price)]) * INITIAL_MARGIN_RATE
        if inst.sec_type == "STK"
        else before
    )
    equity = net_liquidation(account, now)
    side: Literal["buy", "sell"] = "buy" if action == "BUY" else "sell"
    rate = account.market.fx_rate
    usd = rate(inst.currency, "USD", now) if inst.is_fx and inst.currency != "USD" else None
    commission = ib_commission(
        inst.sec_type, inst.currency, qty, price, side=side, plan=account.plan, gst=account.gst, usd_per_quote=usd
    )
    return WhatIf(money(before), money(before), money(equity), money(after - before), money(after - before),
                  -money(commission.amount * rate(commission.currency, account.base_currency, now)),
                  money(commission.amount), commission.currency)  # fmt: skip
