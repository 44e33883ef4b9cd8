"""Corporate actions read from vendor files: each reader returns :class:`CorporateAction` events, sorted.

=========================  ===========================================================================
reader                     what it reads
=========================  ===========================================================================
read_alphavantage_actions  Alpha Vantage ``TIME_SERIES_DAILY_ADJUSTED`` (``dividend_amount``,
                           ``split_coefficient`` on the ex-date row; 1.0 and 0.0 mean none). Amounts are
                           per share at the ex-date (AAPL 2012-08-09: 2.65, before the 7:1 and 4:1 splits).
read_yahoo_actions         Yahoo/yfinance ``Dividends`` and ``Stock Splits`` columns (0 means none). Yahoo
                           reports dividends adjusted for later splits (AAPL's 3.29 of 2014-05-08 as 0.47:
                           pandas-dev/pandas-datareader#651); the reader multiplies each amount by the
                           ratios of the splits the same file declares after it, to the ex-date basis.
                           Yahoo has not always been consistent about this (ranaroussi/yfinance#307).
read_adj_close_actions     events implied by ``Adj Close`` vs ``Close`` (Yahoo's multipliers, below).
read_marketstack_actions   marketstack ``splits`` (date, split_factor, symbol), ``dividends`` (date,
                           dividend, symbol) and ``eod`` (split_factor, dividend per row) lists.
read_action_csv            our own event list (:mod:`sdk.data.corporate_actions`).
=========================  ===========================================================================

:func:`read_actions` picks the reader from a file's header; :func:`read_actions_dir` reads every file of
a directory that declares events (``../shared/data/corporate_actions``) and says which it skipped.

**Implied events** (:func:`read_adj_close_actions`). Yahoo's Adj Close is Close times a cumulative
multiplier, ``1 - D / close_before`` per dividend and ``1 / ratio`` per split ("What is the adjusted close?",
Yahoo Finance help, adhering to CRSP standards). Where the multiplier ``m = Adj Close / Close`` changes
between two rows by more than :data:`IMPLIED_TOLERANCE` (relative), the later row is an ex-date with
factor ``f = m_before / m_after``: a split when ``f`` is at least 20% from 1 and snaps to ``1/ratio`` for a
ratio with a denominator up to 20, else a dividend of ``(1 - f) * close_before``. These are not declared
events but a vendor's arithmetic read back, in the share basis of the file's Close: a file whose Close is
split-adjusted (every Yahoo download after a split) gives amounts adjusted for the later splits; pass the
symbol's declared splits (``splits=``) to bring them to the ex-date basis. :func:`read_actions` does not
read them; call the reader yourself.

Currencies: a dividend is in the instrument's quote currency (``AAPL/USD``: USD; ``BHP/AUD``: AUD, which is
what Yahoo reports for BHP.AX although BHP declares in USD).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from sdk.data.corporate_actions import CorporateAction, canonical_symbol, read_action_csv
from sdk.data.files import candidate_files
from sdk.data.formats import FileFormat, UnsupportedFile, detect, parse_times, read_table, sniff
from sdk.data.frames import TIME_ZONES
from sdk.data.instruments import TickerFacts, describe_ticker

__all__ = [
    "IMPLIED_TOLERANCE",
    "ActionFiles",
    "read_actions",
    "read_actions_dir",
    "read_adj_close_actions",
    "read_alphavantage_actions",
    "read_marketstack_actions",
    "read_yahoo_actions",
]

log = logging.getLogger(__name__)

#: A change of ``Adj Close / Close`` between two rows larger than this (relative) is an implied event. Rounding
#: of a 6-decimal Adj Close moves the ratio by at most 6e-7 in the real files (ASX banks 2015-2022, NVDA 2023).
IMPLIED_TOLERANCE: Final = 1e-5
_SPLIT_DENOMINATOR: Final = 20


@dataclass(frozen=True, slots=True)
class ActionFiles:
    """:func:`read_actions_dir`'s answer: the events, the files they came from, and the files skipped (why)."""

    actions: tuple[CorporateAction, ...]
    files: tuple[str, ...]
    skipped: dict[str, str] = field(default_factory=dict)


def _sorted(actions: Iterable[CorporateAction]) -> list[CorporateAction]:
    return sorted(actions, key=lambda a: (a.symbol, a.ex_date, a.kind, a.source))


def _bar_file(path: Path) -> tuple[FileFormat, pd.DataFrame, TickerFacts]:
    """A single-instrument bar file's format, its table (normalised names) and its instrument."""
    fmt = detect(sniff(path))
    if fmt.multi_ticker or fmt.ticker is None:
        raise UnsupportedFile(f"{path.name}: a bar file must hold one instrument named by its content or file name")
    facts = describe_ticker(fmt.ticker)
    if facts is None:
        raise UnsupportedFile(f"{path.name}: {fmt.ticker!r} is not an ASX or US listing")
    return fmt, read_table(path, fmt), facts


def _local_dates(table: pd.DataFrame, fmt: FileFormat, market: str) -> list[date]:
    """Each row's exchange-local trading date."""
    times = parse_times(table["time"], fmt, tz=TIME_ZONES[market])
    if times.tz is not None:
        times = times.tz_convert(TIME_ZONES[market]).tz_localize(None)
    return [ts.date() for ts in times]


def _numbers(table: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(table[column], errors="coerce").to_numpy(dtype="float64")


def read_alphavantage_actions(path: Path | str) -> list[CorporateAction]:
    """Splits and dividends of an Alpha Vantage daily-adjusted file (see the module table).

    Raises:
        UnsupportedFile: not such a file (no ``split_coefficient``/``dividend_amount`` column).
    """
    path = Path(path)
    fmt, table, facts = _bar_file(path)
    if "split_coefficient" not in fmt.columns or "dividend_amount" not in fmt.columns:
        raise UnsupportedFile(f"{path.name}: no split_coefficient and dividend_amount columns (Alpha Vantage)")
    days = _local_dates(table, fmt, facts.market)
    found: list[CorporateAction] = []
    for day, ratio, amount in zip(days, _numbers(table, "splits"), _numbers(table, "dividends"), strict=True):
        if math.isfinite(ratio) and ratio not in (0.0, 1.0):
            found.append(CorporateAction.split(facts.symbol, day, ratio, source=path.name))
        if math.isfinite(amount) and amount > 0:
            found.append(CorporateAction.dividend(facts.symbol, day, amount, facts.currency, source=path.name))
    return _sorted(found)


def read_yahoo_actions(path: Path | str) -> list[CorporateAction]:
    """Splits and dividends of a Yahoo/yfinance file's ``Dividends`` and ``Stock Splits`` columns, amounts
    brought to the ex-date basis with the file's own later splits (see the module table).

    Raises:
        UnsupportedFile: no ``Dividends`` and ``Stock Splits`` columns.
    """
    path = Path(path)
    fmt, table, facts = _bar_file(path)
    if not {"dividends", "splits"} <= set(fmt.columns.values()) or "split_coefficient" in fmt.columns:
        raise UnsupportedFile(f"{path.name}: no Dividends and Stock Splits columns (Yahoo)")
    days = _local_dates(table, fmt, facts.market)
    splits = [
        CorporateAction.split(facts.symbol, day, ratio, source=path.name)
        for day, ratio in zip(days, _numbers(table, "splits"), strict=True)
        if math.isfinite(ratio) and ratio not in (0.0, 1.0)
    ]
    dividends = [
        CorporateAction.dividend(
            facts.symbol, day, amount * _later_ratio(splits, day), facts.currency, source=path.name
        )
        for day, amount in zip(days, _numbers(table, "dividends"), strict=True)
        if math.isfinite(amount) and amount > 0
    ]
    return _sorted(splits + dividends)


def _later_ratio(splits: Iterable[CorporateAction], ex_date: date, until: date | None = None) -> float:
    """The product of the ratios of the splits after ``ex_date`` (up to ``until``): shares now per share then."""
    product = 1.0
    for s in splits:
        if s.kind == "split" and s.ex_date > ex_date and (until is None or s.ex_date <= until):
            assert s.ratio is not None
            product *= s.ratio
    return product


def read_adj_close_actions(path: Path | str, *, splits: Iterable[CorporateAction] = ()) -> list[CorporateAction]:
    """Events implied by a file's ``Adj Close`` against its ``Close`` (see "Implied events" above).

    ``splits``: the symbol's declared splits; a dividend's amount is multiplied by the ratios of those after
    its ex-date and up to the file's last row (use when the file's Close is split-adjusted). ``source`` of
    each event is ``"<file name> (Adj Close)"``.

    Raises:
        UnsupportedFile: the file has no Adj Close column, or holds fewer than two rows.
    """
    path = Path(path)
    fmt, table, facts = _bar_file(path)
    if "adj_close" not in fmt.columns.values():
        raise UnsupportedFile(f"{path.name}: no Adj Close column to compare with Close")
    days = np.array(_local_dates(table, fmt, facts.market), dtype=object)
    close, adj = _numbers(table, "close"), _numbers(table, "adj_close")
    keep = np.isfinite(close) & np.isfinite(adj) & (close > 0) & (adj > 0)
    order = np.argsort(days[keep], kind="stable")
    days, close, adj = days[keep][order], close[keep][order], adj[keep][order]
    if len(days) < 2:
        raise UnsupportedFile(f"{path.name}: fewer than two rows with Close and Adj Close")
    multiplier = adj / close
    factor = multiplier[:-1] / multiplier[1:]
    declared = [s for s in splits if s.symbol == facts.symbol]
    source = f"{path.name} (Adj Close)"
    found: list[CorporateAction] = []
    for i in np.flatnonzero(np.abs(factor - 1) > IMPLIED_TOLERANCE):
        f, day = float(factor[i]), days[i + 1]
        ratio = Fraction(1 / f).limit_denominator(_SPLIT_DENOMINATOR)
        if abs(math.log(f)) >= math.log(1.25) and math.isclose(1 / f, float(ratio), rel_tol=1e-3):
            found.append(CorporateAction.split(facts.symbol, day, float(ratio), source=source))
        elif f < 1:
            amount = (1 - f) * float(close[i]) * _later_ratio(declared, day, days[-1])
            found.append(CorporateAction.dividend(facts.symbol, day, amount, facts.currency, source=source))
        else:
            log.warning("%s: Adj Close/Close rises ×%.6f on %s: no split or dividend does that; left out",
                        path.name, f, day)  # fmt: skip
    return _sorted(found)


def read_marketstack_actions(path: Path | str) -> list[CorporateAction]:
    """Events of a marketstack ``splits``, ``dividends`` or ``eod`` CSV; tickers that name no ASX or US
    listing are left out (logged). Amounts are as marketstack lists them: raw at the ex-date in recent years,
    but split-adjusted for AAPL before 1996 (0.00054 in 1987): not corrected here.

    Raises:
        UnsupportedFile: none of those layouts.
    """
    path = Path(path)
    table = pd.read_csv(path, dtype={"symbol": "str", "date": "str"})
    columns = set(table.columns)
    if not {"date", "symbol"} <= columns or not columns & {"split_factor", "dividend"}:
        raise UnsupportedFile(f"{path.name}: not a marketstack list (date, symbol and split_factor or dividend)")
    found: list[CorporateAction] = []
    unknown: set[str] = set()
    for row in table.itertuples(index=False):
        try:
            symbol = canonical_symbol(str(row.symbol))
        except ValueError:
            unknown.add(str(row.symbol))
            continue
        day = date.fromisoformat(str(row.date)[:10])
        ratio = float(getattr(row, "split_factor", 1.0))
        amount = float(getattr(row, "dividend", 0.0))
        if math.isfinite(ratio) and ratio not in (0.0, 1.0):
            found.append(CorporateAction.split(symbol, day, ratio, source=path.name))
        if math.isfinite(amount) and amount > 0:
            found.append(CorporateAction.dividend(symbol, day, amount, symbol.partition("/")[2], source=path.name))
    if unknown:
        log.info("%s: left out tickers that name no ASX or US listing: %s", path.name, ", ".join(sorted(unknown)))
    return _sorted(found)


def read_actions(path: Path | str) -> list[CorporateAction]:
    """The declared events of one file, the reader chosen from its header: our event list, a marketstack
    list, an Alpha Vantage daily-adjusted file, or a Yahoo file with Dividends/Stock Splits.

    Raises:
        UnsupportedFile: the file declares no events (a bar file without event columns: its Adj Close, if
            any, is read by :func:`read_adj_close_actions` only on request).
        ValueError: a bad row in our own event list.
    """
    path = Path(path)
    first = sniff(path).head[0].lstrip("\ufeff")
    header = {c.strip().strip('"').lower() for c in first.split(",")}
    if {"symbol", "ex_date", "kind"} <= header:
        return read_action_csv(path)
    if "symbol" in header and header & {"split_factor", "dividend"}:
        return read_marketstack_actions(path)
    if {"split_coefficient", "dividend_amount"} <= header:
        return read_alphavantage_actions(path)
    if "stock splits" in header and "dividends" in header:
        return read_yahoo_actions(path)
    raise UnsupportedFile(f"{path.name}: declares no corporate actions (no split or dividend columns)")


def read_actions_dir(directory: Path | str) -> ActionFiles:
    """Every event declared by the files under ``directory`` (recursively; hidden entries skipped).

    Files that declare none (raw bar files, notes) are listed in :attr:`ActionFiles.skipped` with the
    reason. Events are not merged: several files may declare one event (:func:`merge_actions` settles it).

    Raises:
        FileNotFoundError: ``directory`` is not a directory.
    """
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"corporate-action directory {root} does not exist or is not a directory")
    found: list[CorporateAction] = []
    files: list[str] = []
    skipped: dict[str, str] = {}
    for path in candidate_files(root)[0]:
        rel = path.relative_to(root).as_posix()
        try:
            actions = read_actions(path)
        except (UnsupportedFile, ValueError, OSError) as exc:
            skipped[rel] = str(exc).removeprefix(f"{path.name}: ")
            continue
        found += actions
        files.append(rel)
    return ActionFiles(tuple(_sorted(found)), tuple(files), skipped)
