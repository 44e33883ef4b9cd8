"""Closed trades, the record the metrics and the report read: one row per round trip in one symbol.

A trade opens with an entry fill and closes with an exit fill of the same amount. A position built or
unwound in several fills is passed as several trades (one per closed lot, as FIFO accounting or
backtesting.py's ``Trade`` objects give them). An engine that ends a run with a position still open passes
it as a trade closed at the last bar's price (backtesting.py's ``finalize_trades`` does the same), so the
turnover and the trade statistics count it.

Columns of the normalised frame (:func:`trades_frame`), in this order (:data:`TRADE_COLUMNS`):

============== ================= ==========================================================================
column         dtype             meaning
============== ================= ==========================================================================
symbol         str               canonical ``BASE/QUOTE`` (``"SPY/USD"``)
side           str               ``"long"`` (bought first) or ``"short"`` (sold first)
amount         float64           base units (shares), > 0
entry_time     datetime64 UTC    the entry fill's time
exit_time      datetime64 UTC    the exit fill's time, >= ``entry_time``
entry_price    float64           the entry fill's price in the quote currency
exit_price     float64           the exit fill's price in the quote currency
entry_value    float64           ``amount × entry_price`` in the base currency (FX at the fill), >= 0
exit_value     float64           ``amount × exit_price`` in the base currency (FX at the fill), >= 0
pnl            float64           realised profit in the base currency, NET of ``commission`` (a loss < 0)
commission     float64           both fills' commissions in the base currency, >= 0
slippage       float64           the cost of slippage in the base currency (fill price against the
                                 reference price, both fills; > 0 costs). Already inside the prices and
                                 so inside ``pnl``: reported, never subtracted again
============== ================= ==========================================================================

Rows are sorted by ``(exit_time, entry_time, symbol)`` so the same trades give the same frame whatever
order the engine listed them in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal

import pandas as pd

__all__ = ["TRADE_COLUMNS", "ClosedTrade", "trades_frame"]

#: The columns of a trade frame, in order (see the module docstring for units).
TRADE_COLUMNS: tuple[str, ...] = (
    "symbol", "side", "amount", "entry_time", "exit_time", "entry_price", "exit_price",
    "entry_value", "exit_value", "pnl", "commission", "slippage",
)  # fmt: skip
_MONEY = ("amount", "entry_price", "exit_price", "entry_value", "exit_value", "pnl", "commission", "slippage")
_NON_NEGATIVE = ("entry_value", "exit_value", "commission")
SIDES = ("long", "short")


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One round trip (units in the module docstring): what an engine hands the metrics per closed lot.

    Times are timezone-aware (any zone; converted to UTC). ``pnl`` is net of ``commission``; ``slippage``
    is already in the prices and only reported.
    """

    symbol: str
    side: Literal["long", "short"]
    amount: float
    entry_time: datetime
    exit_time: datetime
    entry_price: float
    exit_price: float
    entry_value: float
    exit_value: float
    pnl: float
    commission: float = 0.0
    slippage: float = 0.0


def trades_frame(trades: pd.DataFrame | Iterable[ClosedTrade] | None) -> pd.DataFrame:
    """Validate closed trades and return them as the normalised frame (:data:`TRADE_COLUMNS`, sorted).

    Args:
        trades: a frame with at least :data:`TRADE_COLUMNS` (extra columns are dropped), an iterable of
            :class:`ClosedTrade`, or None for no trades.

    Returns:
        A new frame with a fresh ``RangeIndex``: ``symbol``/``side`` as str, times as UTC
        ``datetime64[ns, UTC]``, the rest float64. Empty (with these columns) when there are no trades.

    Raises:
        ValueError: a missing column, a naive time, an unknown side, an amount <= 0, an exit before its
            entry, a non-finite number, or a negative value, commission or notional; the message names
            the row (0-based, in the order given) and the column.
    """
    if trades is None:
        frame = pd.DataFrame({c: [] for c in TRADE_COLUMNS})
    elif isinstance(trades, pd.DataFrame):
        missing = [c for c in TRADE_COLUMNS if c not in trades.columns]
        if missing:
            raise ValueError(
                f"the trades frame lacks columns {missing}; it needs {list(TRADE_COLUMNS)} "
                "(see sdk.backtest.trades for their units)"
            )
        frame = trades.loc[:, list(TRADE_COLUMNS)].reset_index(drop=True)
    else:
        frame = pd.DataFrame([asdict(t) for t in trades], columns=list(TRADE_COLUMNS))
    out = pd.DataFrame(
        {
            "symbol": frame["symbol"].astype(str),
            "side": frame["side"].astype(str),
            **{c: _times(frame[c], c) for c in ("entry_time", "exit_time")},
            **{c: pd.to_numeric(frame[c], errors="raise").astype("float64") for c in _MONEY},
        }
    )[list(TRADE_COLUMNS)]
    _check(out)
    order = out.sort_values(["exit_time", "entry_time", "symbol"], kind="mergesort").index
    return out.loc[order].reset_index(drop=True)


def _times(values: pd.Series, column: str) -> pd.Series:
    """A column of timezone-aware times as ``datetime64[ns, UTC]`` (naive ones are an error)."""
    if len(values) == 0:
        return pd.Series(pd.DatetimeIndex([], tz="UTC"), dtype="datetime64[ns, UTC]")
    for row, value in enumerate(values):
        stamp = pd.Timestamp(value)
        if stamp is pd.NaT or stamp.tzinfo is None:
            raise ValueError(f"trade {row}: {column} {value!r} must be a timezone-aware time (e.g. UTC)")
    return pd.Series(pd.to_datetime(list(values), utc=True)).astype("datetime64[ns, UTC]")


def _check(frame: pd.DataFrame) -> None:
    for row in frame.itertuples(index=True):
        where = f"trade {row.Index} ({row.symbol})"
        if row.side not in SIDES:
            raise ValueError(f"{where}: side {row.side!r} must be one of {SIDES}")
        for column in _MONEY:
            value = getattr(row, column)
            if not math.isfinite(value):
                raise ValueError(f"{where}: {column} is {value}; every number must be finite")
        if row.amount <= 0:
            raise ValueError(f"{where}: amount {row.amount} must be > 0 (the side says the direction)")
        for column in _NON_NEGATIVE:
            if getattr(row, column) < 0:
                raise ValueError(f"{where}: {column} {getattr(row, column)} must be >= 0")
        if row.exit_time < row.entry_time:
            raise ValueError(f"{where}: exit_time {row.exit_time} is before entry_time {row.entry_time}")
