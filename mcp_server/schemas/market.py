"""Outputs of the market-data tools: ticker, top of book, candles (columnar), order book, cost estimate."""

from __future__ import annotations

from pydantic import BaseModel, Field

from mcp_server.untrusted import UntrustedText

__all__ = ["CostEstimateOut", "MarketDataOut", "OhlcvOut", "OrderBookOut", "TickerOut"]


class TickerOut(BaseModel):
    """A ccxt ticker, trimmed: prices in ``price_currency``, sizes and volume in base units."""

    symbol: str
    price_currency: str = Field(description="currency of every price here (the symbol's quote)")
    timestamp_ms: int | None = Field(description="time of the quote, ms since the epoch UTC")
    last: float | None = Field(description="last trade price")
    bid: float | None
    ask: float | None
    bid_size: float | None = Field(description="base units at the best bid")
    ask_size: float | None = Field(description="base units at the best ask")
    open: float | None = Field(description="today's open")
    high: float | None = Field(description="today's high")
    low: float | None = Field(description="today's low")
    previous_close: float | None = Field(description="previous session's close")
    base_volume: float | None = Field(description="base units traded today")
    name: UntrustedText | None = Field(None, description="the instrument's name as the venue gives it")


class MarketDataOut(BaseModel):
    """Top of book with derived figures: spread in percent of mid, order-book imbalance in [-1, 1]."""

    symbol: str
    price_currency: str = Field(description="currency of every price here")
    timestamp_ms: int | None = Field(description="time of the quote, ms UTC")
    price: float | None = Field(description="last trade, else the bid/ask midpoint")
    bid: float | None
    ask: float | None
    bid_size: float | None = Field(description="base units at the best bid")
    ask_size: float | None = Field(description="base units at the best ask")
    base_volume: float | None = Field(description="base units traded today")
    spread_pct: float | None = Field(description="(ask - bid) / mid x 100")
    ob_imbalance: float | None = Field(description="(bid_size - ask_size) / (bid_size + ask_size)")


class OhlcvOut(BaseModel):
    """Completed candles in columns (oldest first): bar i opens at ``t0_ms + t_offset_s[i] x 1000``.

    Columnar and offset-encoded to keep an agent's context small; the last bar is complete (the one
    still forming is left out).
    """

    symbol: str
    timeframe: str = Field(description="ccxt timeframe: 1m, 5m, 1h, 1d, ...")
    timezone: str = Field(description="time zone of the timestamps: always UTC")
    price_currency: str = Field(description="currency of o, h, l, c")
    volume_unit: str = Field(description="what v counts (base units: shares, FX base currency, coins)")
    count: int = Field(description="number of bars")
    t0_ms: int | None = Field(description="open time of the first bar, ms since the epoch UTC")
    t_offset_s: list[int] = Field(description="open time of each bar, seconds after t0_ms")
    o: list[float | int] = Field(description="open prices")
    h: list[float | int] = Field(description="high prices")
    l: list[float | int] = Field(description="low prices")  # noqa: E741 - the candle's usual column name
    c: list[float | int] = Field(description="close prices")
    v: list[float | int] = Field(description="volumes in volume_unit")
    limit_capped: bool = Field(description="True when the limit asked for was above the cap and was lowered")


class OrderBookOut(BaseModel):
    """Price levels: ``[price, amount]`` rows, bids descending and asks ascending."""

    symbol: str
    price_currency: str = Field(description="currency of the prices")
    amount_unit: str = Field(description="what amounts count (base units)")
    timestamp_ms: int | None = Field(description="time of the book, ms UTC")
    bids: list[tuple[float, float]] = Field(description="[price, amount] best first")
    asks: list[tuple[float, float]] = Field(description="[price, amount] best first")
    depth_source: str = Field(description="'depth' when the venue served levels, 'top_of_book' otherwise")


class CostEstimateOut(BaseModel):
    """What an order would cost, by the same CostTracker the RiskManager uses (taker, conservative)."""

    symbol: str
    side: str
    amount: float = Field(description="base units")
    price: float = Field(description="price used, in price_currency (given, else the far touch)")
    price_currency: str
    notional: float = Field(description="amount x price, in price_currency")
    notional_base: float = Field(description="notional in base_currency at fx_rate")
    cost: float = Field(description="commission and fees, in cost_currency")
    cost_currency: str = Field(description="currency the venue charges in")
    cost_base: float = Field(description="cost in base_currency (FX spread buffer included when converted)")
    base_currency: str
    fx_rate: float = Field(description="units of base_currency per unit of price_currency")
    schedule: str = Field(description="the schedule applied, e.g. 'IB ASX fixed'")
    source: str = Field(description="where the rates come from (an IB page)")
    parts: dict[str, float] = Field(description="itemised third-party fees, in cost_currency")
