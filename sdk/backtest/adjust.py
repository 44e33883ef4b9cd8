"""Price modes: bars adjusted backward for declared splits and dividends (raw, split-adjusted, total return).

    from sdk.backtest.adjust import adjust, plan_adjustment

    daily = catalog.bars("AAPL/USD", "1 day", start, end)            # raw prices
    bars = adjust(daily, actions, "total_return", symbol="AAPL/USD")  # same shape, adjusted
    plan = plan_adjustment(daily, actions, "total_return", symbol="AAPL/USD")
    summary["price_adjustment"] = plan.to_dict()                      # what was applied, for summary.json

**Backward adjustment** (CRSP's "Adjusted Data", CRSP US Stock Databases Data Descriptions Guide, "CRSP
Calculations"): the adjustment base date is the last bar (or ``as_of``); bars on and after an event's
ex-date are left as they are, and every bar before it is multiplied by the event's factor; factors of
several events compound (CRSP's "Cumulative Factor to Adjust Prices", CFACPR: "prices can be divided by
the cumulative price adjustment factor to get prices adjusted to the basis of the last available price",
crsp.org data definitions). Factors, per event:

* a split of ``ratio`` new shares per old: prices × ``1 / ratio`` (a 4-for-1 split: × 0.25; a 1-for-5
  reverse split: × 5); volume × ``ratio`` ("shares and volumes are only adjusted using stock splits and
  stock dividends", CRSP). Applied in ``split_adjusted`` and ``total_return`` modes.
* a cash dividend ``D``: prices × ``1 - D / close_before``, where ``close_before`` is the raw close of the
  last bar before the ex-date; volume unchanged. Applied in ``total_return`` mode only. This is Yahoo
  Finance's dividend multiplier ("What is the adjusted close?": "the pre-dividend data is multiplied by
  (1 - 0.08/24.96)", adhering to CRSP standards); ``dividend_rule="ex_date_close"`` uses CRSP's factor for
  distributions instead, ``close_ex / (close_ex + D)`` with the close of the ex-date (CRSP's Factor to
  Adjust Price = DIVAMT / P(t) on the Ex-Distribution Date), which is what Alpha Vantage's
  ``adjusted_close`` applies (AAPL 2020-11-05: 119.03 × 118.69 / 118.895 = 118.8248, its 118.824767).
  The two agree when the price falls by exactly ``D`` on the ex-date.

Price modes (LEAN's data normalisation modes, named ours): ``raw`` (as traded), ``split_adjusted``,
``total_return`` (splits and dividends: a buy-and-hold of the adjusted series earns the dividends
reinvested on the ex-date).

Inputs in a basis other than raw: ``basis="split_adjusted"`` (yfinance's Close) is turned into any mode,
raw included, with the declared splits (the raw close a dividend factor needs is the adjusted close times
the splits after it); a ``total_return`` series can only stay what it is (its dividend factors are not
recoverable without the raw closes).

**Only declared events are applied.** A price jump without an event stays in the series (AAPL's ×0.48
crash of 2000-09-29), and a split booked as a dividend is applied as the dividend it was declared as:
:mod:`sdk.backtest.price_audit` reports both. Sources that disagree about an event raise
:class:`sdk.data.corporate_actions.ConflictingActions` instead of guessing.

**Precision.** Factors are float64 (CRSP's are floats too); an adjusted price is the raw price times a
product of at most a few dozen factors, within about 1e-15 of exact. Adjusted prices are not rounded
to a tick: 499.23 / 4 = 124.8075 is no price AAPL ever traded at. Split ratios are snapped to simple
fractions (:func:`sdk.data.corporate_actions.snap_ratio`): Alpha Vantage's own adjusted closes, computed
with 7.00000700001, differ from ours by 1.0e-6 before 2014-06-09 for that reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from sdk.data.corporate_actions import ActionConflict, ConflictingActions, CorporateAction, merge_actions
from sdk.data.formats import PriceBasis
from sdk.data.frames import TIME_ZONES

__all__ = [
    "PRICE_MODES",
    "AdjustmentPlan",
    "AppliedAction",
    "DividendRule",
    "PriceMode",
    "adjust",
    "plan_adjustment",
    "resolve_market",
]

PriceMode = PriceBasis  # the modes are the bases a series can be turned into: raw, split_adjusted, total_return
PRICE_MODES: Final[tuple[PriceMode, ...]] = ("raw", "split_adjusted", "total_return")
DividendRule = Literal["previous_close", "ex_date_close"]
_PRICE_COLUMNS: Final = ("open", "high", "low", "close", "wap")
_SPLIT_MODES: Final = frozenset({"split_adjusted", "total_return"})


@dataclass(frozen=True, slots=True)
class AppliedAction:
    """One event and what it did: ``price_factor`` multiplies every price before the ex-date (1.0 when the
    mode leaves it out), ``bars_before`` is how many bars that is, ``note`` says why it was not applied."""

    action: CorporateAction
    price_factor: float
    bars_before: int
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**self.action.to_dict(), "price_factor": self.price_factor, "bars_before": self.bars_before,
                "note": self.note}  # fmt: skip


@dataclass(frozen=True, slots=True)
class AdjustmentPlan:
    """The factors of one adjustment (:func:`plan_adjustment`): apply with :meth:`apply`, record with
    :meth:`to_dict`.

    ``price_factor`` and ``volume_factor`` hold one float64 per bar (aligned with the bars planned on);
    ``actions`` lists every event considered, in ex-date order.
    """

    symbol: str | None
    mode: PriceMode
    basis: PriceBasis
    as_of: date
    dividend_rule: DividendRule
    actions: tuple[AppliedAction, ...]
    price_factor: np.ndarray
    volume_factor: np.ndarray

    def apply(self, bars: pd.DataFrame) -> pd.DataFrame:
        """``bars`` with prices (open, high, low, close, wap) times ``price_factor`` and volume times
        ``volume_factor``; other columns untouched. A new frame; ``bars`` is not changed.

        Raises:
            ValueError: ``bars`` is not the frame this plan was made for (another length).
        """
        if len(bars) != len(self.price_factor):
            raise ValueError(f"the plan covers {len(self.price_factor)} bars, the frame holds {len(bars)}")
        out = bars.copy()
        for column in _PRICE_COLUMNS:
            if column in out.columns:
                out[column] = out[column].to_numpy(dtype="float64") * self.price_factor
        if "volume" in out.columns:
            out["volume"] = out["volume"].to_numpy(dtype="float64") * self.volume_factor
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe record for ``summary.json``: mode, input basis, base date, dividend rule, each event
        with its factor (or why it was left out)."""
        return {
            "symbol": self.symbol,
            "price_mode": self.mode,
            "input_basis": self.basis,
            "as_of": self.as_of.isoformat(),
            "dividend_rule": self.dividend_rule,
            "actions": [a.to_dict() for a in self.actions],
        }


def _boundaries(actions: list[CorporateAction], index: pd.DatetimeIndex, market: str) -> np.ndarray:
    """For each event, the number of bars before its ex-date (bars starting before local midnight of it)."""
    if not actions:
        return np.zeros(0, dtype="int64")
    midnights = pd.DatetimeIndex([pd.Timestamp(a.ex_date) for a in actions]).tz_localize(TIME_ZONES[market])
    return np.asarray(index.searchsorted(midnights.tz_convert("UTC"), side="left"), dtype="int64")


def _cumulative(factors: np.ndarray, before: np.ndarray, n: int) -> np.ndarray:
    """Per bar, the product of the factors of the events whose ex-date is after it."""
    per_bar = np.ones(n)
    for factor, k in zip(factors, before, strict=True):
        if k > 0:
            per_bar[k - 1] *= factor
    return np.cumprod(per_bar[::-1])[::-1] if n else per_bar


#: The exchange whose calendar dates a symbol's ex-dates, by quote currency (as sdk.data.instruments files them).
_MARKET_BY_QUOTE: Final = {"AUD": "ASX", "USD": "NYSE"}


def resolve_market(market: str | None, symbol: str | None) -> str:
    """``market`` when given, else the exchange of ``symbol``'s quote currency (``BHP/AUD`` -> ``ASX``,
    ``AAPL/USD`` -> ``NYSE``); ``NYSE`` when neither is known (no events: nothing depends on it).

    Raises:
        ValueError: an unknown ``market``, or a symbol whose exchange is not known (pass ``market=``).
    """
    if market is None and symbol is not None:
        market = _MARKET_BY_QUOTE.get(symbol.partition("/")[2])
        if market is None:
            raise ValueError(f"no exchange known for {symbol}; pass market= ({', '.join(_MARKET_BY_QUOTE.values())})")
    market = market or "NYSE"
    if market not in TIME_ZONES:
        raise ValueError(f"market must be one of {', '.join(TIME_ZONES)}, got {market!r}")
    return market


def _select(actions: Iterable[CorporateAction], symbol: str | None) -> tuple[str | None, list[CorporateAction]]:
    chosen = list(actions)
    if symbol is not None:
        return symbol, [a for a in chosen if a.symbol == symbol]
    symbols = sorted({a.symbol for a in chosen})
    if len(symbols) > 1:
        raise ValueError(f"events of {', '.join(symbols)} given for one series; pass symbol= to pick its own")
    return (symbols[0] if symbols else None), chosen


def _would_apply(conflict: ActionConflict, mode: PriceMode, basis: PriceBasis, as_of: date) -> bool:
    """Whether a disagreement concerns an event this conversion would apply (one after ``as_of``, or a dividend in a
    mode that applies none, changes no factor: a raw backtest is not stopped by two vendors' dividend amounts)."""
    if conflict.ex_date > as_of:
        return False
    kinds = {a.kind for a in conflict.actions}
    splits = mode in _SPLIT_MODES or basis == "split_adjusted"
    dividends = mode == "total_return" and basis != "total_return"
    return bool(kinds - {"split", "dividend"}) or ("split" in kinds and splits) or ("dividend" in kinds and dividends)


def plan_adjustment(
    bars: pd.DataFrame,
    actions: Iterable[CorporateAction],
    mode: PriceMode,
    *,
    symbol: str | None = None,
    basis: PriceBasis = "raw",
    as_of: date | None = None,
    market: str | None = None,
    dividend_rule: DividendRule = "previous_close",
) -> AdjustmentPlan:
    """The factors that turn ``bars`` (in ``basis``) into ``mode``, from the declared ``actions``.

    Args:
        bars: a normalised frame (:mod:`sdk.data.frames`): UTC ``DatetimeIndex`` of bar starts, sorted;
            prices in the quote currency, ``close`` required.
        actions: declared events; those of other symbols are ignored when ``symbol`` is given (else all
            must be of one symbol). Several sources may repeat an event (merged, :func:`merge_actions`).
        mode: ``raw``, ``split_adjusted`` or ``total_return`` (module docstring).
        basis: what ``bars`` are already adjusted for (``sdk.data.Catalog.price_sources`` says, per file).
        as_of: the adjustment base date: events with a later ex-date are left out (default: the exchange
            date of the last bar). An event after the last bar and up to ``as_of`` adjusts every bar (NVDA's
            raw file ends 2024-06-07; with ``as_of`` 2025-06-27 the 10:1 split of 2024-06-10 applies).
        market: the exchange whose local midnight starts an ex-date (``NYSE`` or ``ASX``; default: from the
            symbol's quote currency, :func:`resolve_market`): bars of the ex-date, pre-market ones included,
            are post-event.
        dividend_rule: ``previous_close`` (Yahoo, the default) or ``ex_date_close`` (CRSP, Alpha Vantage).

    Returns:
        An :class:`AdjustmentPlan`; its ``actions`` record every event with the factor applied, and the
        events left out with the reason (a dividend in ``split_adjusted`` mode, one before the first bar).

    Raises:
        ValueError: unknown mode/basis/market, a ``total_return`` basis turned into another mode, a dividend
            at least as large as the close it is measured against, a dividend whose factor needs a close the
            bars do not hold (ex-date after the last bar), or events of several symbols without ``symbol``.
        ConflictingActions: sources disagree about an event the conversion would apply (never settled here); a
            disagreement about an event after ``as_of``, or about dividends in a mode that applies none, is left out
            with the events of its day.
    """
    if mode not in PRICE_MODES or basis not in PRICE_MODES:
        raise ValueError(f"price mode and basis must be one of {', '.join(PRICE_MODES)}; got {mode!r}, {basis!r}")
    if basis == "total_return" and mode != "total_return":
        raise ValueError(
            f"the bars are total-return adjusted (dividends folded in); they cannot be turned into {mode} prices. "
            f"Use a raw or split-adjusted source for --price-mode {mode}, or --price-mode total_return"
        )
    symbol, chosen = _select(actions, symbol)
    market = resolve_market(market, symbol)
    merged = merge_actions(chosen)
    n = len(bars)
    index = pd.DatetimeIndex(bars.index)
    tz = TIME_ZONES[market]
    if as_of is None:
        as_of = index[-1].tz_convert(tz).date() if n else date.max
    relevant = [c for c in merged.conflicts if _would_apply(c, mode, basis, as_of)]
    if relevant:
        raise ConflictingActions(relevant)
    in_range = [a for a in merged.actions if a.ex_date <= as_of]
    later = [AppliedAction(a, 1.0, 0, f"ex-date after the adjustment base date {as_of}")
             for a in merged.actions if a.ex_date > as_of]  # fmt: skip
    before = _boundaries(in_range, index, market)
    identity = basis == mode == "total_return"
    splits = np.array([1 / a.ratio if a.kind == "split" and a.ratio else 1.0 for a in in_range])
    split_cum = _cumulative(splits, before, n)
    basis_split = split_cum if basis == "split_adjusted" else np.ones(n)
    mode_split = split_cum if mode in _SPLIT_MODES else np.ones(n)
    raw_close = bars["close"].to_numpy(dtype="float64") / basis_split if n else np.zeros(0)
    factors = np.ones(len(in_range))
    applied: list[AppliedAction] = []
    for i, (action, k) in enumerate(zip(in_range, before, strict=True)):
        note = ""
        if identity:
            note = "the bars are total-return adjusted already"
        elif k == 0:
            note = "no bar before the ex-date"
        elif action.kind == "split":
            factors[i] = splits[i] if mode in _SPLIT_MODES else 1.0
        elif mode != "total_return":
            note = f"dividends are not applied in {mode} mode"
        else:
            factors[i] = _dividend_factor(action, raw_close, int(k), dividend_rule)
        applied.append(AppliedAction(action, float(factors[i]) if not note else 1.0, int(k), note))
    if identity:
        price, volume = np.ones(n), np.ones(n)
    else:
        dividends = np.where([a.kind == "dividend" for a in in_range], factors, 1.0) if in_range else factors
        dividend_cum = _cumulative(dividends, before, n)
        price = mode_split * dividend_cum / basis_split
        volume = basis_split / mode_split
    return AdjustmentPlan(
        symbol, mode, basis, as_of, dividend_rule, tuple(sorted(applied + later, key=lambda a: a.action.ex_date)),
        price, volume,
    )  # fmt: skip


def _dividend_factor(action: CorporateAction, raw_close: np.ndarray, k: int, rule: DividendRule) -> float:
    """The price factor of one dividend whose ex-date starts at bar ``k`` (see the module docstring)."""
    assert action.amount is not None
    if rule == "previous_close":
        if k >= len(raw_close):
            raise ValueError(
                f"{action.describe()}: the ex-date is after the last bar; its factor needs the close before "
                "the ex-date: pass bars up to the ex-date or an as_of before it"
            )
        reference = float(raw_close[k - 1])
        factor = 1 - action.amount / reference
    elif rule == "ex_date_close":
        if k >= len(raw_close):
            raise ValueError(f"{action.describe()}: no bar on or after the ex-date to take CRSP's ex-date price from")
        reference = float(raw_close[k])
        factor = reference / (reference + action.amount)
    else:
        raise ValueError(f"dividend_rule must be previous_close or ex_date_close, got {rule!r}")
    if not 0 < factor < 1:
        raise ValueError(
            f"{action.describe()}: a dividend of {action.amount:g} against a close of {reference:g} gives the "
            f"factor {factor:g}, outside (0, 1); the amount or the bars' basis is wrong"
        )
    return factor


def adjust(
    bars: pd.DataFrame,
    actions: Iterable[CorporateAction],
    mode: PriceMode,
    *,
    symbol: str | None = None,
    basis: PriceBasis = "raw",
    as_of: date | None = None,
    market: str | None = None,
    dividend_rule: DividendRule = "previous_close",
) -> pd.DataFrame:
    """``bars`` in price mode ``mode``: :func:`plan_adjustment` (arguments, errors) applied.

    Returns a new frame of the same index and columns: prices (open, high, low, close, wap; quote currency)
    times the cumulative price factor, volume (shares) times the volume factor; ``bar_count`` and any
    other column unchanged.
    """
    plan = plan_adjustment(bars, actions, mode, symbol=symbol, basis=basis, as_of=as_of, market=market,
                           dividend_rule=dividend_rule)  # fmt: skip
    return plan.apply(bars)
