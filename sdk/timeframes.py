"""ccxt timeframes and their lengths: the one table every part of the SDK and the apps reads.

A ccxt timeframe is a count and a unit (``s``, ``m``, ``h``, ``d``, ``w``, ``M``; ccxt Manual, "OHLCV
Candlestick Charts"). A month is counted as 30 days: a length used to plan windows and schedules, never to
place a bar (bars are placed by the market's calendar). A venue's own limits (IB's bar sizes and the longest
span one request covers) live in the venue's package and are asked through
:meth:`sdk.base.BaseTrader.ohlcv_request_span`.
"""

from __future__ import annotations

from collections.abc import Mapping

from sdk.errors import BadRequest

__all__ = ["TIMEFRAME_SECONDS", "timeframe_seconds"]

_DAY = 86_400
#: ccxt timeframe -> its length in seconds (a month counted as 30 days, for planning only).
TIMEFRAME_SECONDS: Mapping[str, int] = {
    "1s": 1, "5s": 5, "10s": 10, "15s": 15, "30s": 30,
    "1m": 60, "2m": 120, "3m": 180, "5m": 300, "10m": 600, "15m": 900, "20m": 1200, "30m": 1800,
    "1h": 3600, "2h": 7200, "3h": 10_800, "4h": 14_400, "8h": 28_800,
    "1d": _DAY, "1w": 7 * _DAY, "1M": 30 * _DAY,
}  # fmt: skip


def timeframe_seconds(timeframe: str) -> int:
    """A ccxt timeframe's length in seconds (``"5m"`` -> 300).

    Raises:
        BadRequest: an unknown timeframe (the message lists the supported ones).
    """
    try:
        return TIMEFRAME_SECONDS[timeframe]
    except KeyError:
        raise BadRequest(
            f"timeframe {timeframe!r} is not supported; use one of {', '.join(TIMEFRAME_SECONDS)}"
        ) from None
