"""Indicators the built-in strategies use, as plain functions over closes and bars (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence

from sdk.base import OHLCV

__all__ = ["atr", "rate_of_change", "sma"]


def sma(values: Sequence[float], length: int, *, offset: int = 0) -> float | None:
    """Simple moving average of the ``length`` values ending ``offset`` values before the last (None if too few)."""
    end = len(values) - offset
    if length < 1 or end < length:
        return None
    window = values[end - length : end]
    return sum(window) / length


def atr(bars: Sequence[OHLCV], length: int) -> float | None:
    """Average true range over the last ``length`` bars (Wilder's true range, simple average), quote currency."""
    if len(bars) < length + 1:
        return None
    ranges = []
    for previous, bar in zip(bars[-length - 1 : -1], bars[-length:], strict=True):
        high, low, prev_close = float(bar[2]), float(bar[3]), float(previous[4])
        ranges.append(max(high - low, abs(high - prev_close), abs(low - prev_close)))
    return sum(ranges) / length


def rate_of_change(values: Sequence[float], length: int, *, offset: int = 0) -> float | None:
    """``values[-1 - offset] / values[-1 - offset - length] - 1`` (None if too few)."""
    end = len(values) - 1 - offset
    if end - length < 0 or values[end - length] == 0:
        return None
    return values[end] / values[end - length] - 1
