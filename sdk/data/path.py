"""Intraday price paths inside real bars: what the offline gateway streams between bar boundaries.

The path model, for one bar ``[start, end)`` with open O, high H, low L, close C and volume V, sampled
every ``step`` from the bar's start (``n = ceil((end - start) / step)`` samples, ``k = 0 .. n-1``):

* sample 0 is O and sample n-1 is C;
* two interior samples ``i < j`` (chosen by the seed) are H and L; which comes first is chosen by
  the seed too, so the path is open -> high -> low -> close or open -> low -> high -> close;
* between these anchors the price moves linearly plus a bounded wobble (a seeded uniform draw
  scaled by ``0.25 * (H - L) * 4u(1-u)``, zero at each anchor), clipped to ``[L, H]``;
* with fewer than four samples a bar keeps its open and close and as many extremes as fit (the one
  farther from the open/close first);
* ``volume`` is the bar's volume so far, spread evenly: ``V * (k + 1) / n``.

So every sample lies in ``[L, H]``, the path touches O, H, L and C exactly, and the same seed, symbol,
bar and step always give the same samples, whatever window is asked for: the random draws are a
counter-based hash (SplitMix64) of ``(seed, symbol, bar start, k)``, not a stream, so the work is
vectorised over all bars of a window and nothing needs caching between calls. Prices are not rounded
to the tick ladder (the gateway rounds with :mod:`sdk.ticks` if it needs to).
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

__all__ = ["generate_path", "symbol_key"]

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def symbol_key(seed: int, symbol: str) -> int:
    """The 64-bit key of a (seed, symbol) pair for the path hash."""
    return ((int(seed) & 0xFFFFFFFF) << 32) ^ zlib.crc32(symbol.encode())


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser over uint64 arrays (wrapping arithmetic)."""
    z = x + _M1
    z = (z ^ (z >> np.uint64(30))) * _M2
    z = (z ^ (z >> np.uint64(27))) * _M3
    return z ^ (z >> np.uint64(31))


def _uniform(x: np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1) from hashed uint64s (53 high bits)."""
    return (_mix(x) >> np.uint64(11)).astype("float64") / float(1 << 53)


def generate_path(
    starts: np.ndarray,
    ends: np.ndarray,
    ohlcv: np.ndarray,
    *,
    window_start: int,
    window_end: int,
    step: int,
    key: int,
) -> pd.DataFrame:
    """Sample the path of each bar (rules in the module docstring) at times in ``[window_start, window_end)``.

    Args:
        starts, ends: int64 ns UTC bar boundaries, sorted by start, non-overlapping.
        ohlcv: float64 array of shape (bars, 5): open, high, low, close, volume.
        window_start, window_end, step: int64 ns.
        key: :func:`symbol_key` of the seed and symbol.

    Returns:
        A frame indexed by ``time`` (UTC) with ``price`` (quote currency), ``volume`` (the bar's
        cumulative volume so far, NaN when the bar has none) and ``bar_time`` (the bar's start).
    """
    if step <= 0:
        raise ValueError("step must be positive")
    lo = np.searchsorted(ends, window_start, side="right")
    hi = np.searchsorted(starts, window_end, side="left")
    s, e, bars = starts[lo:hi], ends[lo:hi], ohlcv[lo:hi]
    n = np.maximum((e - s + step - 1) // step, 1)
    k_lo = np.clip(-((s - window_start) // step), 0, n)  # ceil((window_start - s) / step)
    k_hi = np.clip(-((s - window_end) // step), 0, n)
    counts = np.maximum(k_hi - k_lo, 0)
    total = int(counts.sum())
    index_name = "time"
    if total == 0:
        empty = pd.DatetimeIndex([], dtype="datetime64[ns, UTC]", name=index_name)
        return pd.DataFrame(
            {"price": np.array([], dtype="float64"), "volume": np.array([], dtype="float64"), "bar_time": empty},
            index=empty,
        )
    bar = np.repeat(np.arange(len(s)), counts)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    k = np.arange(total) - np.repeat(first, counts) + k_lo[bar]
    n_b = n[bar]
    o, h, low, c, v = (bars[bar, i] for i in range(5))

    # Per-bar anchors from the hash of (key, bar start): interior indices for the two extremes.
    bar_hash = (np.uint64(key) ^ s.astype("uint64")) * _M1
    u1, u2, u3 = _uniform(bar_hash), _uniform(bar_hash + np.uint64(1)), _uniform(bar_hash + np.uint64(2))
    interior = np.maximum(n - 2, 0)
    a = 1 + np.floor(u1 * interior).astype("int64")
    b = 1 + np.floor(u2 * np.maximum(interior - 1, 0)).astype("int64")
    b = np.where(b >= a, b + 1, b)  # distinct from a when there is room
    i_first, i_second = np.minimum(a, b), np.maximum(a, b)
    high_first = u3 < 0.5
    # Fewer than four samples: one interior slot holds the extreme farther from the open/close.
    body_hi, body_lo = np.maximum(bars[:, 0], bars[:, 3]), np.minimum(bars[:, 0], bars[:, 3])
    high_wins = (bars[:, 1] - body_hi) >= (body_lo - bars[:, 2])
    high_first = np.where(n == 3, high_wins, high_first)
    single = n < 4
    i_first = np.where(single, 1, i_first)
    i_second = np.where(single, np.where(n == 3, n - 1, 1), i_second)

    first_val = np.where(high_first[bar], h, low)
    second_val = np.where(high_first[bar], low, h)
    i1, i2 = i_first[bar], i_second[bar]
    last = n_b - 1
    # Anchor times and values around each sample: (0, O) -> (i1, X1) -> (i2, X2) -> (n-1, C).
    seg_lo = np.where(k < i1, 0, np.where(k < i2, i1, i2))
    seg_hi = np.where(k < i1, i1, np.where(k < i2, i2, last))
    val_lo = np.where(k < i1, o, np.where(k < i2, first_val, second_val))
    val_hi = np.where(k < i1, first_val, np.where(k < i2, second_val, c))
    span = np.maximum(seg_hi - seg_lo, 1)
    u = (k - seg_lo) / span
    price = val_lo + (val_hi - val_lo) * u
    wobble = (_uniform(bar_hash[bar] ^ (k.astype("uint64") * _M2)) * 2.0 - 1.0) * 0.25 * (h - low) * 4 * u * (1 - u)
    price = np.clip(price + wobble, low, h)
    # Exact anchors (no floating residue) where a sample sits on one.
    price = np.where(k == 0, o, price)
    price = np.where((k == i1) & (n_b >= 3), first_val, price)
    price = np.where((k == i2) & (n_b >= 4), second_val, price)
    price = np.where((k == last) & (n_b >= 2), c, price)
    volume = v * (k + 1) / n_b
    times = pd.DatetimeIndex(s[bar] + k * step).tz_localize("UTC").rename(index_name)
    bar_time = pd.DatetimeIndex(s[bar]).tz_localize("UTC")
    return pd.DataFrame({"price": price, "volume": volume, "bar_time": bar_time}, index=times)
