"""Output of ``get_trading_context``: who, where, what may be traded, when markets open, the limits."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["Limits", "MarketHours", "TradingContextOut"]


class MarketHours(BaseModel):
    """One market's continuous trading session now and next (times ISO 8601 UTC)."""

    market: Literal["ASX", "NYSE", "FX"] = Field(description="ASX (Sydney), NYSE (New York) or FX (IDEALPRO 24/5)")
    timezone: str = Field(description="the market's IANA time zone, e.g. Australia/Sydney")
    open_now: bool = Field(description="True when the market is in continuous trading at now_utc")
    session_open_utc: str | None = Field(description="open of the current session (None when closed)")
    session_close_utc: str | None = Field(description="close of the current session (None when closed)")
    next_open_utc: str = Field(description="open of the next session")
    next_close_utc: str = Field(description="close of the next session")


class Limits(BaseModel):
    """The RiskManager's limits; every money figure is in ``currency`` (the account's base currency)."""

    currency: str = Field(description="currency of every money limit here (the base currency, AUD by default)")
    max_order_value: float = Field(description="largest notional of one order, in currency")
    max_position_value: float = Field(description="largest position in one symbol, in currency")
    symbol_max_position_value: dict[str, float] = Field(description="per-symbol position caps, in currency")
    max_total_exposure: float = Field(description="largest gross exposure (longs plus shorts), in currency")
    min_trade_size: float = Field(description="smallest notional of one order, in currency")
    min_top_of_book_notional: float = Field(description="least notional resting at the touch, in currency")
    daily_loss_limit: float = Field(description="today's loss that stops every opening order, in currency")
    max_spread_pct: float = Field(description="widest bid/ask spread traded into, percent of mid")
    market_order_buffer_pct: float = Field(description="percent beyond the far touch a market order is checked at")


class TradingContextOut(BaseModel):
    """Everything an agent should know before it trades."""

    venue: str = Field(description="IB or a ccxt exchange id")
    account: str | None = Field(description="the account, masked (DU****567)")
    base_currency: str = Field(description="the account's base currency: equity and every limit are in it")
    mode: Literal["shadow", "paper", "live"] = Field(
        description="shadow: simulated fills, nothing sent; paper: a paper account; live: real money"
    )
    mode_facts: list[str] = Field(
        default_factory=list,
        description="what decided paper or live: IB_PAPER, the port, the account prefix (DU paper, U/F live); "
        "CCXT_SANDBOX for ccxt",
    )
    simulated_venue: bool = Field(
        False, description="the venue is the offline gateway (replayed data, simulated fills), not a broker"
    )
    live_gate_missing: list[str] = Field(
        default_factory=list,
        description="live mode only: the live checklist items still missing; order tools refuse until it is empty",
    )
    trading_enabled: bool = Field(description="write tools are registered (MCP_TRADING_ENABLED=true)")
    kill_switch_engaged: bool = Field(
        description="while True no position is opened (KILL_SWITCH_FILE: every write tool refuses; the ledger's "
        "switch, trader killswitch on: opening orders are rejected with code kill_switch, exits still go)"
    )
    now_utc: str = Field(description="the server's time (the venue's clock), ISO 8601 UTC")
    allowed_symbols: list[str] = Field(description="canonical BASE/QUOTE symbols that may be traded")
    all_symbols_allowed: bool = Field(description="ALLOWED_SYMBOLS=*: any symbol of an allowed type")
    allowed_instrument_types: list[str] = Field(description="stock, etf, fx, index, crypto")
    markets: list[MarketHours]
    limits: Limits
    symbol_convention: str = Field(description="how symbols, amounts and prices are expressed")
