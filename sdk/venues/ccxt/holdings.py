"""Spot holdings as ccxt positions: what a spot venue (Gemini) holds, in the shape the risk layer reads.

A spot account has balances, not positions; exposure still has to count them. Each non-fiat currency
held is reported as a long position in its market against the first quote of ``preferred_quotes``
the venue lists (the base currency, then USD ...), marked at that market's last price (else mid).
Fiat cash is not a position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from ccxt.base.types import Balances, Position

from sdk.symbols import is_fiat

__all__ = ["holding_symbol", "holdings_as_positions"]


def holding_symbol(currency: str, markets: Mapping[str, Any], preferred_quotes: Sequence[str]) -> str | None:
    """The market a held ``currency`` is valued in (``BTC`` -> ``BTC/USD``), or None when none is listed."""
    for quote in preferred_quotes:
        symbol = f"{currency}/{quote}"
        if symbol in markets:
            return symbol
    return None


def holdings_as_positions(
    balances: Balances,
    markets: Mapping[str, Any],
    marks: Mapping[str, float | None],
    *,
    preferred_quotes: Sequence[str],
) -> list[Position]:
    """Long positions for the non-fiat currencies in ``balances["total"]``.

    Args:
        balances: a ccxt balance structure.
        markets: the venue's markets by canonical symbol.
        marks: mark price per symbol (quote currency), None when the venue gave none.
        preferred_quotes: quotes to value holdings in, best first.

    Returns:
        ccxt positions (``side="long"``, ``contracts`` in base units, ``contractSize`` 1,
        ``notional`` in the quote currency, or None when unmarked); ``info`` names the balance.
    """
    positions: list[Position] = []
    totals: Mapping[str, Any] = balances.get("total") or {}
    for currency, total in sorted(totals.items()):
        if not total or float(total) <= 0 or is_fiat(currency):
            continue
        symbol = holding_symbol(currency, markets, preferred_quotes)
        if symbol is None:
            continue
        mark = marks.get(symbol)
        amount = float(total)
        position: dict[str, Any] = {
            "info": {"source": "spot balance", "currency": currency, "total": total},
            "id": None,
            "symbol": symbol,
            "timestamp": None,
            "datetime": None,
            "side": "long",
            "contracts": amount,
            "contractSize": 1.0,
            "entryPrice": None,
            "markPrice": mark,
            "notional": amount * mark if mark is not None else None,
            "unrealizedPnl": None,
            "marginMode": None,
            "hedged": False,
        }
        positions.append(cast(Position, position))
    return positions
