"""A seeded synthetic universe for machines without market data: plausible, reproducible, plainly fake.

Six instruments (:data:`UNIVERSE`): BHP/AUD, CBA/AUD, CSL/AUD (ASX), SPY/USD, AAPL/USD (NYSE hours)
and AUD/USD (IDEALPRO, 24/5). Each gets 1-minute bars in every session (:mod:`sdk.calendars`, holidays
and early closes included) from ``start`` to ``end``: a geometric Brownian motion sampled four times a
minute (open = first sample, close = last, high/low = extremes), a gap at each session's open, prices
rounded to the instrument's tick (ASX/US 0.01, IDEALPRO 0.00005), and a U-shaped intraday volume
profile. The same ``seed``, symbol and span always give the same bars (numpy PCG64 seeded with
``[seed, crc32(symbol)]``).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

import numpy as np
import pandas as pd

from sdk.calendars import get_calendar
from sdk.data.frames import normalise
from sdk.data.instruments import TickerFacts, describe_ticker

__all__ = ["UNIVERSE", "SyntheticSpec", "default_span", "synthetic_minutes", "synthetic_sessions"]


@dataclass(frozen=True, slots=True)
class SyntheticSpec:
    """One synthetic instrument: start price (quote currency), annual volatility, mean daily volume (shares)."""

    symbol: str
    ticker: str
    price: float
    volatility: float
    daily_volume: float
    tick: float


UNIVERSE: Final[tuple[SyntheticSpec, ...]] = (
    SyntheticSpec("BHP/AUD", "BHP.AX", 45.0, 0.24, 6_000_000, 0.01),
    SyntheticSpec("CBA/AUD", "CBA.AX", 125.0, 0.18, 2_000_000, 0.01),
    SyntheticSpec("CSL/AUD", "CSL.AX", 280.0, 0.22, 900_000, 0.01),
    SyntheticSpec("SPY/USD", "SPY", 560.0, 0.15, 60_000_000, 0.01),
    SyntheticSpec("AAPL/USD", "AAPL", 220.0, 0.27, 50_000_000, 0.01),
    SyntheticSpec("AUD/USD", "AUDUSD", 0.66, 0.09, 0.0, 0.00005),
)
_SUBSTEPS: Final = 4


def default_span(today: date | None = None) -> tuple[date, date]:
    """(start, end) of the default synthetic span: the year of sessions ending yesterday (UTC)."""
    end = (today or datetime.now(UTC).date()) - timedelta(days=1)
    return end - timedelta(days=365), end


def meta_of(spec: SyntheticSpec) -> TickerFacts:
    """The instrument facts of a synthetic symbol (as a real file of its ticker would give)."""
    meta = describe_ticker(spec.ticker)
    assert meta is not None and meta.symbol == spec.symbol
    return meta


def synthetic_sessions(market: str, start: date, end: date) -> tuple[np.ndarray, np.ndarray]:
    """Session opens and closes (int64 ns UTC) of ``market`` for trading days ``start``..``end``."""
    calendar = get_calendar(market)
    lo = datetime.combine(start, time(0), UTC) - timedelta(days=1)
    hi = datetime.combine(end, time(0), UTC) + timedelta(days=2)
    sessions = [s for s in calendar.sessions(lo, hi) if start <= s.day <= end]
    opens = np.array([int(s.open.timestamp()) for s in sessions], dtype="int64") * 1_000_000_000
    closes = np.array([int(s.close.timestamp()) for s in sessions], dtype="int64") * 1_000_000_000
    return opens, closes


def synthetic_minutes(spec: SyntheticSpec, *, seed: int, start: date, end: date) -> pd.DataFrame:
    """The 1-minute bars of one synthetic instrument over trading days ``start``..``end`` (normalised)."""
    meta = meta_of(spec)
    opens, closes = synthetic_sessions(meta.market, start, end)
    minute = 60 * 1_000_000_000
    counts = ((closes - opens) // minute).astype("int64")
    total = int(counts.sum())
    rng = np.random.default_rng([seed, zlib.crc32(spec.symbol.encode())])
    session_of = np.repeat(np.arange(len(counts)), counts)
    first_minute = np.r_[0, np.cumsum(counts)[:-1]] if len(counts) else np.array([], dtype="int64")
    offset = np.arange(total) - np.repeat(first_minute, counts)
    starts = opens[session_of] + offset * minute

    per_session = float(np.mean(counts)) if len(counts) else 1.0
    step_sigma = spec.volatility / np.sqrt(252.0 * per_session * _SUBSTEPS)
    steps = rng.normal(-0.5 * step_sigma**2, step_sigma, size=(total, _SUBSTEPS))
    gaps = rng.normal(0.0, spec.volatility / np.sqrt(252.0) * 0.35, size=len(counts))
    steps[first_minute, 0] += gaps  # the overnight move lands on the session's first sample
    log_path = np.log(spec.price) + np.cumsum(steps.ravel()).reshape(total, _SUBSTEPS)
    previous = np.r_[np.log(spec.price), log_path[:-1, -1]] if total else np.array([])
    opening = np.where(offset == 0, log_path[:, 0], previous)  # a session opens at its first (gapped) sample
    samples = np.exp(np.column_stack([opening, log_path]))
    prices = np.round(samples / spec.tick) * spec.tick
    open_, close = prices[:, 0], prices[:, -1]
    high, low = prices.max(axis=1), prices.min(axis=1)

    if spec.daily_volume > 0:
        position = (offset + 0.5) / np.repeat(counts, counts)
        shape = 1.0 + 3.0 * (2.0 * position - 1.0) ** 2  # busy open and close
        weights = shape / np.repeat(np.bincount(session_of, weights=shape, minlength=len(counts)), counts)
        noise = rng.lognormal(0.0, 0.5, size=total)
        volume = np.round(spec.daily_volume * weights * noise / 100.0) * 100.0
    else:
        volume = np.zeros(total)
    index = pd.DatetimeIndex(starts).tz_localize("UTC")
    frame = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)
    return normalise(frame, source=f"synthetic:{spec.symbol}")
