"""Argument types and small helpers the tools share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from ccxt.base.errors import BadSymbol
from pydantic import Field

from mcp_server.errors import ToolError
from sdk.symbols import Symbol, parse_symbol

if TYPE_CHECKING:
    from mcp_server.state import AppState

__all__ = ["SideArg", "SymbolArg", "as_float", "now_dt", "now_ms", "symbol_of"]

SymbolArg = Annotated[
    str,
    Field(
        description="canonical BASE/QUOTE symbol: BHP/AUD (ASX stock, prices in AUD), AAPL/USD (US stock), "
        "AUD/USD (FX: amount in AUD, price in USD per AUD)",
        min_length=3,
        max_length=32,
    ),
]
SideArg = Annotated[Literal["buy", "sell"], Field(description="buy or sell")]


def symbol_of(state: AppState, symbol: str) -> Symbol:
    """Parse ``symbol``.

    Raises:
        ToolError: not canonical; the message names the likely intended form.
    """
    try:
        return parse_symbol(symbol, default_quote=state.settings.base_currency)
    except BadSymbol as exc:
        raise ToolError(f"{exc} Use a symbol from get_trading_context's allowed_symbols.") from None


def now_ms(state: AppState) -> int:
    """The server's time (the venue's clock) in ms UTC."""
    return int(state.clock.now() * 1000)


def now_dt(state: AppState) -> datetime:
    """The server's time (the venue's clock), timezone-aware UTC."""
    return datetime.fromtimestamp(state.clock.now(), UTC)


def as_float(value: Any) -> float | None:
    """``value`` as a float; None for None, NaN or something that is not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number
