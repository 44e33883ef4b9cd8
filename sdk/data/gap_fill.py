"""Fill what IB could not give from local files (``trader data download --fill-from DIR``, issue 15, "Gap fill").

After a download, the bars its verification found missing (:attr:`sdk.data.verify.VerifyReport.missing_spans`) are
looked up in ``DIR``, read by the market-data catalog (any CSV or Parquet format it reads). A span's bars are taken
only when:

* the file's prices are on the download's basis: a raw series (``TRADES``, ``MIDPOINT``) is never filled from a
  dividend- or split-adjusted file, an ``ADJUSTED_LAST`` series never from a raw one (the catalog's adjusted flag,
  :mod:`sdk.data.formats`);
* they pass the download's own checks (:func:`sdk.data.verify.verify_frame`: no duplicates, no rows out of order, no
  OHLC violations, no negative volume).

Taken bars keep their source: they are written with :data:`FILL_AUTHORITY` (below IB's own,
:data:`sdk.data.partitions.AUTHORITY`), the file is named in the month file's ``sources`` and ``filled`` metadata,
and nothing IB gave is replaced. What is refused is said, with the reason, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sdk.data.barsizes import BarSize
from sdk.data.verify import MissingSpan, verify_frame

__all__ = ["FILL_AUTHORITY", "Fill", "fill_gaps"]

#: The authority of bars taken from local files (a vendor's rank in the catalog: below IB's 3).
FILL_AUTHORITY = np.int8(1)
_FAULTS = ("duplicates", "out_of_order", "ohlc_violations")


@dataclass(slots=True)
class Fill:
    """What a gap fill took and refused: ``frame`` the bars taken (normalised, with ``authority``), ``sources`` the
    files they came from, ``spans`` the filled spans (ms), ``notes`` what was refused and why."""

    frame: pd.DataFrame
    sources: list[str] = field(default_factory=list)
    spans: list[list[int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame(
        columns=["open", "high", "low", "close", "volume"], index=pd.DatetimeIndex([], tz="UTC", name="time")
    )
    return frame.astype("float64").assign(authority=np.int8(0))[:0]


def fill_gaps(
    directory: Path, symbol: str, size: BarSize, *, market: str, rth: bool, adjusted: bool, gaps: list[MissingSpan]
) -> Fill:
    """Bars of ``symbol`` for ``gaps`` from the files in ``directory`` (module docstring).

    Raises:
        FileNotFoundError: ``directory`` is not a directory.
    """
    from sdk.data import load_catalog

    if not gaps:
        return Fill(_empty())
    catalog = load_catalog(directory)
    if symbol not in catalog.instruments:
        return Fill(_empty(), notes=[f"{directory} holds no {symbol}: {len(gaps)} missing spans stay missing"])
    entry = catalog.instruments[symbol]
    file_adjusted = bool(entry.adjusted_sources)
    if file_adjusted != adjusted:
        basis = "adjusted" if file_adjusted else "raw"
        wanted = "adjusted (ADJUSTED_LAST)" if adjusted else "raw"
        return Fill(_empty(), notes=[f"{directory}'s {symbol} prices are {basis}, the download's are {wanted}: "
                                     "not filled from it (never two price scales in one series)"])  # fmt: skip
    taken: list[pd.DataFrame] = []
    fill = Fill(_empty(), sources=[f"file:{s}" for s in entry.sources])
    for gap in gaps:
        try:
            bars = catalog.bars(symbol, size.label, gap.start, gap.end, rth_only=rth)
        except ValueError as exc:  # a bar size finer than the files hold
            fill.notes.append(f"{gap.start:%Y-%m-%d %H:%M}: not filled ({exc})")
            continue
        if not len(bars):
            continue
        report = verify_frame(bars, market=market, bar_size=size, rth=rth, start=gap.start, end=gap.end)
        faults = {name: getattr(report, name) for name in _FAULTS if getattr(report, name)}
        if faults or bool((bars["volume"] < 0).any()):
            fill.notes.append(f"{gap.start:%Y-%m-%d %H:%M}-{gap.end:%H:%M}: the files' bars fail the checks "
                              f"({faults or 'negative volume'}): not filled")  # fmt: skip
            continue
        part = bars[["open", "high", "low", "close", "volume"]].astype("float64").copy()
        part["authority"] = FILL_AUTHORITY
        taken.append(part)
        fill.spans.append([int(gap.start.value // 1_000_000), int(gap.end.value // 1_000_000)])
    if taken:
        fill.frame = pd.concat(taken).sort_index()
    return fill
