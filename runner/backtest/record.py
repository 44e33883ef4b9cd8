"""What a backtest records as it runs and reads back at the end: equity at each bar close, the fills with their costs
in the base currency, and the round trips the metrics count.

* **Equity** (:class:`EquityRecorder`): after the venue has worked a bar (the stepped clock's ``on_close``), the
  account's equity in the base currency (cash plus positions at the last closes, FX at the last closed FX bar:
  :meth:`sdk.sim.broker.SimBroker.equity`), its cash and each symbol's signed position value (exposure). For a daily
  run the series keeps the last close of each UTC day, so symbols of several markets (ASX closes at 05:00 or 06:00
  UTC, NYSE at 20:00 or 21:00) give one point a day and the annualisation of :func:`sdk.backtest.periods_per_year`
  holds; an intraday run keeps every close.
* **Fills** (:func:`fill_rows`): each execution with its fee and value in the base currency (FX at the fill) and
  its **slippage**: what the fill cost against its reference price, ``(price - reference) × amount`` for a buy and
  the opposite for a sell, in the base currency. The reference is the price the order met before the spread and
  ``--slippage-bps``: the open of the bar it traded in for a taker fill (the close of the bar it was placed at, for
  a closing-auction fill; for a stop, the worse of its trigger and that open); a maker fill (a resting limit at its
  limit) has none. It is already in the prices: reported, never subtracted again.
* **Round trips** (:func:`round_trips`): fills matched first in, first out per symbol into
  :class:`~sdk.backtest.trades.ClosedTrade` (entry and exit values at the FX rate of each fill, PnL in the base
  currency net of both fills' share of commissions). A position still open at the end is closed at the last bar's
  close for the metrics and flagged (:class:`OpenAtEnd`): no order was placed for it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from sdk.backtest.trades import ClosedTrade
from sdk.sim.venue import SimulatedVenue

__all__ = ["EquityRecorder", "FillRow", "OpenAtEnd", "fill_rows", "round_trips"]


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class EquityRecorder:
    """Equity, cash and exposure in the base currency at each bar close (module docstring).

    Args:
        venue: the simulated venue.
        symbols: the run's symbols (one exposure column each, in this order).
        daily: keep the last point of each UTC day (a daily run).
    """

    def __init__(self, venue: SimulatedVenue, symbols: Iterable[str], *, daily: bool) -> None:
        self.venue = venue
        self.symbols = tuple(symbols)
        self.daily = daily
        self.rows: list[tuple[int, float, float, tuple[float, ...]]] = []

    def on_close(self, ms: int) -> None:
        """Record the account at ``ms`` (a bar close the venue has just worked).

        Raises:
            FxRateUnavailable: a currency without a rate then.
        """
        venue = self.venue
        base = venue.base_currency
        marks = venue.marks()

        def rate(currency: str) -> Decimal:
            return venue.rates.rate(currency, base, ms)

        equity = venue.broker.equity(marks, ms)
        cash = venue.account.to_base(venue.account.cash, rate)
        held = venue.account.positions()
        exposure = []
        for symbol in self.symbols:
            holding = held.get(symbol)
            if holding is None or holding.amount == 0 or symbol not in marks:
                exposure.append(0.0)
            else:
                exposure.append(float(holding.amount * marks[symbol] * rate(holding.quote)))
        point = (ms, float(equity), float(cash), tuple(exposure))
        if self.daily and self.rows and _utc(self.rows[-1][0]).date() == _utc(ms).date():
            self.rows[-1] = point
        else:
            self.rows.append(point)

    def frame(self) -> pd.DataFrame:
        """``equity``, ``cash`` and one ``exposure:<symbol>`` column per symbol (base currency), indexed by the bar
        close (UTC)."""
        index = pd.DatetimeIndex([pd.Timestamp(r[0], unit="ms", tz="UTC") for r in self.rows], name="time")
        data: dict[str, list[float]] = {"equity": [r[1] for r in self.rows], "cash": [r[2] for r in self.rows]}
        for i, symbol in enumerate(self.symbols):
            data[f"exposure:{symbol}"] = [r[3][i] for r in self.rows]
        return pd.DataFrame(data, index=index)


@dataclass(frozen=True, slots=True)
class FillRow:
    """One fill with its costs (module docstring). Prices in ``currency`` (the quote currency); ``*_base`` in the base
    currency; ``fx_rate`` base units per quote unit at the fill; ``timestamp`` ms UTC."""

    timestamp: int
    fill_id: str
    order_id: str
    client_order_id: str | None
    symbol: str
    side: str
    amount: Decimal
    price: Decimal
    currency: str
    liquidity: str
    reference_price: Decimal
    fee: Decimal | None
    fee_currency: str | None
    fx_rate: Decimal
    fee_base: Decimal
    value_base: Decimal
    slippage_base: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _reference(trade: Mapping[str, Any], order: Mapping[str, Any], bars: pd.DataFrame, at_close: bool) -> Decimal:
    price = Decimal(str(trade["price"]))
    if trade.get("takerOrMaker") == "maker":
        return price
    ts = pd.Timestamp(int(trade["timestamp"]), unit="ms", tz="UTC")
    if at_close and int(trade["timestamp"]) == int(order["timestamp"]) and ts not in bars.index:
        before = bars[bars.index < ts]
        return Decimal(repr(float(before["close"].iloc[-1]))) if len(before) else price
    if ts not in bars.index:
        return price
    reference = Decimal(repr(float(bars.at[ts, "open"])))
    trigger = order.get("triggerPrice") or order.get("stopPrice")
    if trigger:
        stop = Decimal(str(trigger))
        reference = max(stop, reference) if trade["side"] == "buy" else min(stop, reference)
    return reference


def fill_rows(
    venue: SimulatedVenue,
    trades: Iterable[Mapping[str, Any]],
    orders: Iterable[Mapping[str, Any]],
    bars: Mapping[str, pd.DataFrame],
    *,
    at_close: bool,
) -> list[FillRow]:
    """The fills (ccxt trades of ``venue``) with their costs in the base currency, in the order booked.

    Args:
        venue: the venue (its rates value each fill at the fill's time).
        trades: ``venue.fetch_my_trades()``.
        orders: every order of the venue (ccxt orders), for each fill's order type and trigger.
        bars: per symbol, the bars replayed (the reference prices).
        at_close: the run filled at the close (closing-auction references).

    Raises:
        FxRateUnavailable: a fill's currency without a rate then.
    """
    by_id = {str(o["id"]): o for o in orders}
    base = venue.base_currency
    rows: list[FillRow] = []
    for trade in trades:
        ts, symbol = int(trade["timestamp"]), str(trade["symbol"])
        quote = symbol.split("/")[1]
        order = by_id[str(trade["order"])]
        price, amount = Decimal(str(trade["price"])), Decimal(str(trade["amount"]))
        rate = venue.rates.rate(quote, base, ts)
        fee = trade.get("fee")
        fee_amount = Decimal(str(fee["cost"])) if fee else None
        fee_currency = str(fee["currency"]) if fee else None
        fee_base = (
            fee_amount * venue.rates.rate(fee_currency, base, ts)
            if fee_amount is not None and fee_currency
            else Decimal(0)
        )
        reference = _reference(trade, order, bars[symbol], at_close)
        direction = Decimal(1) if trade["side"] == "buy" else Decimal(-1)
        row = FillRow(
            timestamp=ts, fill_id=str(trade["id"]), order_id=str(trade["order"]),
            client_order_id=trade.get("clientOrderId"), symbol=symbol, side=str(trade["side"]), amount=amount,
            price=price, currency=quote, liquidity=str(trade.get("takerOrMaker") or ""), reference_price=reference,
            fee=fee_amount, fee_currency=fee_currency, fx_rate=rate, fee_base=fee_base,
            value_base=price * amount * rate, slippage_base=(price - reference) * amount * direction * rate,
        )  # fmt: skip
        rows.append(row)
    return rows


@dataclass(frozen=True, slots=True)
class OpenAtEnd:
    """A position still open at the run's end, closed at ``price`` (the last close) for the metrics only."""

    symbol: str
    side: str
    amount: float
    price: float
    time: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "side": self.side, "amount": self.amount, "price": self.price,
                "time": self.time.isoformat().replace("+00:00", "Z")}  # fmt: skip


@dataclass(slots=True)
class _Lot:
    side: str
    amount: Decimal
    price: Decimal
    rate: Decimal
    time: int
    fee_per_unit: Decimal
    slip_per_unit: Decimal


def _trade(symbol: str, lot: _Lot, closed: Decimal, exit_price: Decimal, exit_rate: Decimal, exit_time: int,
           exit_fee: Decimal, exit_slip: Decimal) -> ClosedTrade:  # fmt: skip
    long = lot.side == "buy"
    entry_value = closed * lot.price * lot.rate
    exit_value = closed * exit_price * exit_rate
    commission = lot.fee_per_unit * closed + exit_fee
    gross = exit_value - entry_value if long else entry_value - exit_value
    return ClosedTrade(
        symbol=symbol, side="long" if long else "short", amount=float(closed), entry_time=_utc(lot.time),
        exit_time=_utc(exit_time), entry_price=float(lot.price), exit_price=float(exit_price),
        entry_value=float(entry_value), exit_value=float(exit_value), pnl=float(gross - commission),
        commission=float(commission), slippage=float(lot.slip_per_unit * closed + exit_slip),
    )  # fmt: skip


def round_trips(
    fills: Iterable[FillRow], last: Mapping[str, tuple[int, Decimal, Decimal]]
) -> tuple[list[ClosedTrade], list[OpenAtEnd]]:
    """Closed trades from ``fills`` (first in, first out per symbol), and the positions left open.

    Args:
        fills: the fills in the order booked.
        last: per symbol, ``(ms, close, fx rate)`` of its last bar, where an open position is closed for the metrics.

    Returns:
        ``(trades, open_at_end)``: one trade per lot closed (a fill closing several lots gives several), the open
        positions closed at their last close included; and those positions.
    """
    lots: dict[str, deque[_Lot]] = {}
    trades: list[ClosedTrade] = []
    for fill in fills:
        book = lots.setdefault(fill.symbol, deque())
        left = fill.amount
        fee_unit = fill.fee_base / fill.amount
        slip_unit = fill.slippage_base / fill.amount
        while left > 0 and book and book[0].side != fill.side:
            lot = book[0]
            closed = min(lot.amount, left)
            trades.append(_trade(fill.symbol, lot, closed, fill.price, fill.fx_rate, fill.timestamp,
                                 fee_unit * closed, slip_unit * closed))  # fmt: skip
            lot.amount -= closed
            left -= closed
            if lot.amount == 0:
                book.popleft()
        if left > 0:
            book.append(_Lot(fill.side, left, fill.price, fill.fx_rate, fill.timestamp, fee_unit, slip_unit))
    still: list[OpenAtEnd] = []
    for symbol in sorted(lots):
        book = lots[symbol]
        if not book:
            continue
        ms, close, rate = last[symbol]
        side = book[0].side
        amount = sum((lot.amount for lot in book), Decimal(0))
        still.append(OpenAtEnd(symbol, "long" if side == "buy" else "short", float(amount), float(close), _utc(ms)))
        for lot in book:
            trades.append(_trade(symbol, lot, lot.amount, close, rate, ms, Decimal(0), Decimal(0)))
    return trades, still
