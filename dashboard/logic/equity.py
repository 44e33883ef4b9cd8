"""Equity curve, drawdown and the day's PnL, from equity snapshots (``equity_snapshots`` rows).

Equity is the account's net liquidation value in its base currency (IB ``NetLiquidation``; AUD),
as the runner records it. Definitions:

* **drawdown** at time t: ``equity(t) / max(equity up to t) - 1`` (a fraction, 0 at a new high,
  negative below it); in money ``equity(t) - max(equity up to t)``.
* **max drawdown**: the most negative drawdown, with the peak before it and the trough.
* **the day's PnL**: the newest equity minus the first equity snapshot of its day (the calendar day
  in the account's home time zone, ``Australia/Sydney`` for AUD), the definition the runner's
  daily-loss switch uses (``sdk.services.portfolio``); when the newest snapshot is the day's only
  one, minus the previous day's last. Deposits and withdrawals count as PnL here (the ledger does
  not record them separately).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from dashboard.logic.formatting import to_decimal

__all__ = [
    "DayPnl",
    "Drawdown",
    "bucket_for_span",
    "day_pnl",
    "day_start_ms",
    "equity_frame",
    "max_drawdown",
    "series_label",
    "with_drawdown",
]

SERIES_COLUMNS = ["time", "series", "equity", "currency"]


def series_label(venue: str, account: str) -> str:
    """How a venue and account are named on charts: ``IB DU****567`` (``gemini`` alone without an account)."""
    return f"{venue} {account}".strip()


def equity_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Equity snapshots as a frame sorted by time: ``time`` (UTC datetime), ``series`` (venue and
    account), ``equity`` (float, in ``currency``), ``currency``."""
    records = [
        {
            "time": datetime.fromtimestamp(row["timestamp"] / 1000, UTC),
            "series": series_label(row["venue"], row["account"]),
            "equity": float(row["equity"]),
            "currency": row["currency"],
        }
        for row in rows
    ]
    frame = pd.DataFrame.from_records(records, columns=SERIES_COLUMNS)
    return frame.sort_values(["series", "time"], kind="stable").reset_index(drop=True)


def with_drawdown(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (from :func:`equity_frame`) plus ``peak`` (running maximum per series),
    ``drawdown`` (``equity - peak``, in ``currency``) and ``drawdown_pct`` (``equity / peak - 1``)."""
    result = frame.copy()
    result["peak"] = result.groupby("series", sort=False)["equity"].cummax()
    result["drawdown"] = result["equity"] - result["peak"]
    result["drawdown_pct"] = result["equity"] / result["peak"] - 1.0
    return result


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest fall from a peak: ``fraction`` (<= 0), ``amount`` (<= 0, in ``currency``), the
    peak's and the trough's times (ms UTC) and equity."""

    fraction: Decimal
    amount: Decimal
    currency: str
    peak_ms: int
    peak_equity: Decimal
    trough_ms: int
    trough_equity: Decimal


def max_drawdown(rows: Iterable[Mapping[str, Any]]) -> Drawdown | None:
    """The max drawdown of one series of equity snapshots (in time order, one currency), in Decimal.

    Returns:
        None for no snapshots; a zero drawdown (peak = trough) when equity never fell.

    Raises:
        ValueError: snapshots in more than one currency (convert first), or equity <= 0 at a peak.
    """
    best: Drawdown | None = None
    peak: tuple[int, Decimal] | None = None
    currency: str | None = None
    for row in sorted(rows, key=lambda r: r["timestamp"]):
        if currency is not None and row["currency"] != currency:
            raise ValueError(f"equity snapshots in {currency} and {row['currency']}: one currency per series")
        currency = row["currency"]
        equity = to_decimal(row["equity"])
        if equity is None:
            continue
        if peak is None or equity > peak[1]:
            peak = (row["timestamp"], equity)
        if peak[1] <= 0:
            raise ValueError(f"equity peak of {peak[1]} {currency}: a drawdown needs positive equity")
        fraction = equity / peak[1] - 1
        if best is None or fraction < best.fraction:
            best = Drawdown(fraction, equity - peak[1], currency, peak[0], peak[1], row["timestamp"], equity)
    return best


def day_start_ms(ms: int, tz: str) -> tuple[date, int]:
    """The local calendar day of ``ms`` in ``tz`` and its midnight, in ms UTC."""
    zone = ZoneInfo(tz)
    day = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone).date()
    midnight = datetime.combine(day, time(), zone)
    return day, int(midnight.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class DayPnl:
    """PnL of the newest snapshot's day, in the base currency.

    Attributes:
        day: the local trading day (in ``tz``) of the newest snapshot.
        pnl: ``end_equity - start_equity`` in ``currency``.
        start_ms, start_equity: the reference snapshot (the day's first, or the previous day's last).
        reference: ``"first snapshot of the day"`` or ``"previous day's last snapshot"``.
        fraction: ``pnl / start_equity`` (None when the start equity is not positive).
    """

    day: date
    tz: str
    pnl: Decimal
    currency: str
    start_ms: int
    start_equity: Decimal
    end_ms: int
    end_equity: Decimal
    reference: str
    fraction: Decimal | None


def day_pnl(
    latest: Mapping[str, Any] | None,
    first_of_day: Mapping[str, Any] | None,
    previous_close: Mapping[str, Any] | None,
    tz: str,
) -> DayPnl | None:
    """The day's PnL from the newest snapshot and a reference (see the module docstring).

    Args:
        latest: the newest equity snapshot.
        first_of_day: the first snapshot at or after the newest one's local midnight.
        previous_close: the last snapshot before that midnight (used when ``latest`` is the day's first).
        tz: the home time zone the day is counted in.

    Returns:
        None when there is no snapshot, or nothing earlier to compare the newest one with.

    Raises:
        ValueError: the snapshots are in different currencies.
    """
    if latest is None:
        return None
    reference, label = first_of_day, "first snapshot of the day"
    if reference is None or reference["timestamp"] >= latest["timestamp"]:
        reference, label = previous_close, "previous day's last snapshot"
    if reference is None or reference["timestamp"] >= latest["timestamp"]:
        return None
    if reference["currency"] != latest["currency"]:
        raise ValueError(f"equity in {reference['currency']} and {latest['currency']}: one currency per account")
    end, start = to_decimal(latest["equity"]), to_decimal(reference["equity"])
    if end is None or start is None:
        return None
    day, _midnight = day_start_ms(latest["timestamp"], tz)
    return DayPnl(
        day=day,
        tz=tz,
        pnl=end - start,
        currency=latest["currency"],
        start_ms=reference["timestamp"],
        start_equity=start,
        end_ms=latest["timestamp"],
        end_equity=end,
        reference=label,
        fraction=(end - start) / start if start > 0 else None,
    )


def bucket_for_span(first_ms: int | None, last_ms: int | None, max_points: int = 2000) -> int | None:
    """A bucket (ms) for :func:`sdk.ledger.queries.equity_curve` keeping a chart near ``max_points``:
    None (every snapshot) for spans up to 2 days, else whole minutes, hours or days."""
    if first_ms is None or last_ms is None or last_ms - first_ms <= 2 * 86_400_000:
        return None
    for step in (60_000, 300_000, 900_000, 3_600_000, 14_400_000, 86_400_000):
        if (last_ms - first_ms) / step <= max_points:
            return step
    return int(timedelta(days=7).total_seconds() * 1000)
