"""A backtest's inputs, checked before anything runs: the strategy, the symbols, the timeframe, the window, one price
basis per symbol, and the bars in the run's price mode.

:func:`prepare` turns a :class:`~runner.backtest.config.BacktestConfig` and a market-data catalog into a
:class:`PreparedRun`: each symbol's bars from its warm-up to ``--end`` in the run's price mode
(:func:`sdk.backtest.price_data.prepare_prices`: the declared corporate actions of ``DATA/corporate_actions`` applied
backward as of ``--end``, so a run on data that ends earlier sees the same prices), what the price audit found, and
:class:`PricedCatalog`, the view of the catalog the simulated venue replays. Every problem a person must fix is a
:class:`~runner.backtest.config.BacktestInputError` naming the problem and the fix:

* an unknown strategy or parameter (or a plugin that cannot be imported);
* a symbol the data does not hold (with close matches), a timeframe finer than its data, or one the runner's bar
  schedule does not align with the catalog's bars (:data:`TIMEFRAMES`);
* a window outside the data, or one in which a symbol has no bars;
* files of one symbol that mix price bases over the run (:class:`~sdk.backtest.price_data.MixedPriceSources`), a
  price mode the data cannot give (raw prices from a total-return file), event sources that disagree;
* ``--fill at-close`` for a market without a closing auction (FX).

**Warm-up.** Each symbol's bars start far enough before ``--start`` for the runner's backfill: the strategy's
``warmup`` plus the five bars the runner adds and a margin (:data:`WARMUP_MARGIN`), as the data holds them.

**Data hash** (:meth:`PreparedRun.data_hash`): SHA-256 of the bars the venue replays (times, prices and volumes in
the run's price mode, per symbol in order), the FX bars that value them in the base currency up to the run's end,
and the adjustments applied: a revision of the data or of the declared events changes it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runner.backtest.config import BacktestConfig, BacktestInputError
from runner.strategies import Strategy, create_strategy
from sdk.backtest.price_data import MixedPriceSources, PreparedPrices, check_price_sources, prepare_prices
from sdk.calendars import get_calendar
from sdk.data.action_files import read_actions_dir
from sdk.data.barsizes import BAR_SIZES, BarSize, parse_bar_size
from sdk.data.corporate_actions import ConflictingActions, CorporateAction
from sdk.errors import BadSymbol
from sdk.sim.orders import AUCTION_MARKETS

__all__ = ["TIMEFRAMES", "WARMUP_MARGIN", "PreparedRun", "PricedCatalog", "build_strategy", "prepare", "warmup_bars"]

#: Timeframes a backtest runs on: the runner's bar schedule aligns intraday bars to UTC multiples of the timeframe
#: and the catalog to the session open (NYSE 09:30, ASX 10:00); they agree for these.
TIMEFRAMES: tuple[str, ...] = ("1m", "2m", "3m", "5m", "10m", "15m", "30m", "1d")
#: Bars loaded before ``--start`` beyond the runner's backfill (``warmup + 5``, fetched with 2 more).
WARMUP_MARGIN = 5
_EVENTS_DIR = "corporate_actions"


def build_strategy(config: BacktestConfig) -> Strategy:
    """Import ``config.plugins`` and build the strategy (as ``trader run`` does).

    Raises:
        BacktestInputError: a plugin that cannot be imported, an unknown strategy or a bad parameter.
    """
    for module in config.plugins:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise BacktestInputError(
                f"--plugin {module!r} cannot be imported ({exc}); check the module's name and PYTHONPATH"
            ) from None
    try:
        return create_strategy(config.strategy, **config.params)
    except ValueError as exc:
        raise BacktestInputError(f"{exc}; fix --strategy or --param NAME=NUMBER") from None


class PricedCatalog:
    """The market data as the backtest's simulated venue reads it: the run's symbols at the run's bar size from the
    prepared frames (the run's price mode), anything else (the FX pairs that value positions) from ``catalog``; no
    bar that starts at or after ``until`` (ms UTC).

    Answers what :class:`~sdk.sim.venue.SimulatedVenue` and :class:`~sdk.sim.rates.CatalogRates` ask a catalog:
    ``instruments``, ``info``, ``bars``.
    """

    def __init__(self, catalog: Any, frames: Mapping[str, pd.DataFrame], bar_size: BarSize, until: int) -> None:
        self.catalog = catalog
        self.frames = dict(frames)
        self.bar_size = bar_size
        self.until = pd.Timestamp(until, unit="ms", tz="UTC")
        self.instruments = catalog.instruments
        self.data_dir = getattr(catalog, "data_dir", None)

    def info(self, symbol: str) -> Any:
        return self.catalog.info(symbol)

    def bars(
        self, symbol: str, bar_size: str | BarSize, start: Any = None, end: Any = None, *, rth_only: bool = True
    ) -> pd.DataFrame:
        """Bars with ``start <= time < end`` (and before the run's end): the prepared frame for a run symbol.

        Raises:
            ValueError: another bar size for a run symbol (the run replays one), or what ``catalog.bars`` raises.
        """
        size = parse_bar_size(bar_size)
        hi = self.until if end is None else min(pd.Timestamp(end).tz_convert("UTC"), self.until)
        if symbol in self.frames:
            if size != self.bar_size:
                raise ValueError(f"the backtest replays {symbol} at {self.bar_size.label} bars only, not {size.label}")
            frame = self.frames[symbol]
            lo = None if start is None else pd.Timestamp(start).tz_convert("UTC")
            keep = frame.index < hi
            if lo is not None:
                keep &= frame.index >= lo
            return frame[keep]
        return self.catalog.bars(symbol, size, start, hi, rth_only=rth_only)


@dataclass(frozen=True)
class PreparedRun:
    """A checked backtest, ready to run (see the module docstring).

    Attributes:
        config: the configuration (settings included).
        catalog: the catalog the data came from; ``data_dir`` its directory (None for another source).
        view: what the venue replays (:class:`PricedCatalog`).
        bar_size: the catalog's bar size of ``config.timeframe``.
        strategy: the strategy built from the configuration (its ``warmup``).
        prices: per symbol, its prepared prices (bars in the run's price mode, adjustment plan, audit).
        history_start: the first bar loaded (warm-up included), UTC.
        markets: per symbol, its market (``ASX``, ``NYSE``, ``FX``).
        quotes: per symbol, its quote currency.
        event_files: the corporate-action files read (relative to ``DATA/corporate_actions``).
    """

    config: BacktestConfig
    catalog: Any
    data_dir: Path | None
    view: PricedCatalog
    bar_size: BarSize
    strategy: Strategy
    prices: Mapping[str, PreparedPrices]
    history_start: datetime
    markets: Mapping[str, str]
    quotes: Mapping[str, str]
    event_files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def until_ms(self) -> int:
        return int(self.config.until * 1000)

    @property
    def start_ms(self) -> int:
        return int(self.config.start_ts * 1000)

    def frames(self) -> dict[str, pd.DataFrame]:
        """Per symbol, the bars the venue replays (warm-up included), in the run's price mode."""
        return {s: self.prices[s].bars for s in self.config.symbols}

    def fx_pairs(self) -> list[str]:
        """The catalog's FX pairs that value the run's currencies in the base currency (direct pairs)."""
        base = self.config.base_currency
        currencies = sorted({*self.quotes.values(), *self.config.opening_cash} - {base})
        pairs = []
        for currency in currencies:
            for pair in (f"{currency}/{base}", f"{base}/{currency}"):
                if pair in self.catalog.instruments:
                    pairs.append(pair)
                    break
        return pairs

    def data_hash(self) -> str:
        """SHA-256 (hex) of the data the run reads (module docstring)."""
        digest = hashlib.sha256()
        for symbol in self.config.symbols:
            digest.update(symbol.encode())
            _hash_frame(digest, self.prices[symbol].bars)
            digest.update(json.dumps(self.prices[symbol].plan.to_dict(), sort_keys=True, default=str).encode())
        for pair in self.fx_pairs():
            digest.update(pair.encode())
            _hash_frame(digest, self.view.bars(pair, "1D", rth_only=False))
        return digest.hexdigest()

    def warnings(self) -> list[str]:
        """The price audit's findings, one sentence each (suspicious jumps, contradicted events, conflicts)."""
        return [line for s in self.config.symbols for line in self.prices[s].audit.lines()]


def _hash_frame(digest: Any, frame: pd.DataFrame) -> None:
    digest.update(np.ascontiguousarray(frame.index.asi8, dtype=np.int64).tobytes())
    for column in ("open", "high", "low", "close", "volume"):
        digest.update(np.ascontiguousarray(frame[column].to_numpy(dtype="float64")).tobytes())


# --- the checks ----------------------------------------------------------------------------------------
def _bar_size(timeframe: str) -> BarSize:
    if timeframe not in TIMEFRAMES:
        raise BacktestInputError(
            f"--timeframe {timeframe!r} is not backtested; use one of {', '.join(TIMEFRAMES)} (the runner aligns "
            "intraday bars to UTC multiples of the timeframe and the data to the session open: they agree for these)"
        )
    return next(b for b in BAR_SIZES.values() if b.timeframe == timeframe)


def _check_symbol(catalog: Any, symbol: str, size: BarSize) -> None:
    try:
        catalog.info(symbol)
    except BadSymbol as exc:
        raise BacktestInputError(f"--symbols: {exc}") from None
    available = catalog.available_bar_sizes(symbol)
    if size.label not in available:
        spans = catalog.native_spans(symbol)
        holds = "; ".join(f"{k} bars {a:%Y-%m-%d}..{b:%Y-%m-%d}" for k, (a, b) in spans.items())
        coarse = [BAR_SIZES[a].timeframe for a in available if BAR_SIZES[a].timeframe in TIMEFRAMES]
        raise BacktestInputError(
            f"--timeframe {size.timeframe} is finer than the data for {symbol}: it holds {holds}; give a "
            f"--timeframe of {', '.join(coarse) or '1d'}"
        )


def _session_day(market: str, ts: datetime) -> date:
    calendar = get_calendar(market)
    session = calendar.session_at(ts) or calendar.next_session(ts)
    return session.day


def _check_window(catalog: Any, config: BacktestConfig, symbol: str, size: BarSize) -> None:
    """The window must lie within the span of the data fine enough for the timeframe."""
    market = catalog.info(symbol).market
    spans = [
        (a, b) for label, (a, b) in catalog.native_spans(symbol).items() if BAR_SIZES[label].seconds <= size.seconds
    ]
    first = _session_day(market, min(a for a, _ in spans))
    last = _session_day(market, max(b for _, b in spans))
    if config.start < first or config.end > last:
        raise BacktestInputError(
            f"the window {config.start}..{config.end} is outside the data: {symbol} has {size.timeframe} bars from "
            f"{first} to {last}; give --start and --end within it"
        )


def _history_start(catalog: Any, symbol: str, size: BarSize, start: pd.Timestamp, bars: int) -> pd.Timestamp:
    """The start of the ``bars``-th bar before ``start`` the data holds (``start`` when none is before it)."""
    reach = pd.Timedelta(days=bars * 2 + 20) if not size.intraday else pd.Timedelta(seconds=bars * size.seconds * 4)
    for _ in range(6):
        before = catalog.bars(symbol, size, start - reach, start)
        if len(before) >= bars:
            return pd.Timestamp(before.index[-bars])
        reach = reach * 4
    return pd.Timestamp(before.index[0]) if len(before) else start


def _closing_by(frame: pd.DataFrame, size: BarSize, config: BacktestConfig) -> pd.DataFrame:
    """The bars that close within the run: a daily bar dated up to ``--end``, an intraday one ending by the end."""
    if not size.intraday and "session" in frame.columns:
        return frame[np.asarray([d <= config.end for d in frame["session"]], dtype=bool)]
    ends = frame.index + pd.Timedelta(seconds=size.seconds)
    return frame[ends <= pd.Timestamp(config.until, unit="s", tz="UTC")]


def _actions(data_dir: Path | None) -> tuple[list[CorporateAction], tuple[str, ...]]:
    if data_dir is None or not (data_dir / _EVENTS_DIR).is_dir():
        return [], ()
    found = read_actions_dir(data_dir / _EVENTS_DIR)
    return list(found.actions), found.files


def prepare(config: BacktestConfig, catalog: Any, *, check_window: bool = True) -> PreparedRun:
    """Check ``config`` against ``catalog`` and load its bars (module docstring); nothing runs yet.

    Args:
        config: the configuration (with its settings: :meth:`BacktestConfig.with_settings`).
        catalog: a :class:`sdk.data.Catalog`, or a view of one (a test's truncated copy).
        check_window: refuse a window outside the data (a test replaying truncated data passes False).

    Raises:
        BacktestInputError: the first problem found (module docstring), with its fix.
    """
    strategy = build_strategy(config)
    if getattr(catalog, "synthetic", False):
        raise BacktestInputError(
            f"{catalog.data_dir or 'no directory'} holds no market data the catalog reads (it would serve the "
            "synthetic universe); give --data DIR with real bars, e.g. --data ../shared/data"
        )
    size = _bar_size(config.timeframe)
    for symbol in config.symbols:
        _check_symbol(catalog, symbol, size)
        if check_window:
            _check_window(catalog, config, symbol, size)
        market = catalog.info(symbol).market
        if config.fill == "at-close" and market not in AUCTION_MARKETS:
            raise BacktestInputError(
                f"--fill at-close fills in the closing auction, and {symbol} trades on {market}, which has none; "
                "use --fill next-open, or symbols of ASX or NYSE/Nasdaq listings"
            )
    start = pd.Timestamp(config.start_ts, unit="s", tz="UTC")
    until = pd.Timestamp(config.until, unit="s", tz="UTC")
    needed = strategy.warmup + 5 + 2 + WARMUP_MARGIN
    history = min(_history_start(catalog, s, size, start, needed) for s in config.symbols)
    try:
        check_price_sources(catalog, config.symbols, history, until)
    except MixedPriceSources as exc:
        raise BacktestInputError(str(exc)) from None
    data_dir = Path(catalog.data_dir) if getattr(catalog, "data_dir", None) is not None else None
    actions, event_files = _actions(data_dir)
    prices: dict[str, PreparedPrices] = {}
    for symbol in config.symbols:
        try:
            prepared = prepare_prices(
                catalog, symbol, size.label, history, until, actions=actions, mode=config.price_mode,
                as_of=config.end,
            )  # fmt: skip
        except ConflictingActions as exc:
            raise BacktestInputError(f"{symbol}: {exc}") from None
        except MixedPriceSources as exc:
            raise BacktestInputError(str(exc)) from None
        except ValueError as exc:
            raise BacktestInputError(f"{symbol}: {exc} (`trader data list` shows each file's price basis)") from None
        bars = _closing_by(prepared.bars, size, config)
        in_window = bars[bars.index >= start] if len(bars) else bars
        if not len(in_window):
            spans = ", ".join(
                f"{p.rel} {p.first:%Y-%m-%d}..{p.last:%Y-%m-%d}" for p in catalog.price_sources(symbol) if p.merged
            )
            raise BacktestInputError(
                f"{symbol} has no {config.timeframe} bars between {config.start} and {config.end} (its files: "
                f"{spans}); give a window the data covers"
            )
        prices[symbol] = PreparedPrices(
            prepared.symbol, bars, prepared.basis, prepared.files, prepared.plan, prepared.audit
        )
    view = PricedCatalog(catalog, {s: p.bars for s, p in prices.items()}, size, int(config.until * 1000))
    return PreparedRun(
        config=config, catalog=catalog, data_dir=data_dir, view=view, bar_size=size, strategy=strategy,
        prices=prices, history_start=history.to_pydatetime().astimezone(UTC),
        markets={s: catalog.info(s).market for s in config.symbols},
        quotes={s: s.split("/")[1] for s in config.symbols}, event_files=event_files,
    )  # fmt: skip


def warmup_bars(prepared: PreparedRun) -> dict[str, int]:
    """Per symbol, how many bars before ``--start`` were loaded for the warm-up."""
    start = pd.Timestamp(prepared.start_ms, unit="ms", tz="UTC")
    return {s: int((p.bars.index < start).sum()) for s, p in prepared.prices.items()}
