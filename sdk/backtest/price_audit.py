"""What the adjuster does not do, said out loud: price jumps that look like undeclared splits, declared events
the prices contradict, and event sources that disagree. Reported, never corrected.

    from sdk.backtest.price_audit import audit_prices

    report = audit_prices(bars, actions, symbol="AAPL/USD")
    for line in report.lines():
        log.warning(line)                        # "AAPL/USD 2000-09-29: close 53.5 -> 25.75 (×0.4813) ..."
    summary["price_audit"] = report.to_dict()

* :func:`suspicious_jumps`: a move from one bar's close to the next of at least ``threshold`` (30% by
  default) either way, within :data:`JUMP_TOLERANCE` of the move a split of a common ratio would make
  (:data:`SPLIT_RATIOS`: 2:1 halves the price, 1:5 multiplies it by five), with no split declared there.
  Declared splits are taken out first, so AAPL's 4:1 of 2020-08-31 is not reported and its ×0.48 crash of
  2000-09-29 is. Bars more than :data:`MAX_GAP_DAYS` apart are not compared (a gap in the data). A split on a
  day the price also moved a lot can fall outside the tolerance (NVDA's 2:1 of 2000-06-27 shows as ×0.43).
  A real crash can look like a split and a split can be missing from a vendor's list: only a
  person can tell, so the jump stays in the prices and in the report.
* :func:`contradicted_actions`: a declared split the prices do not show (the close moves by less than
  ``threshold`` after taking the split out: the bars may be split-adjusted already, or the date wrong), and
  a dividend of at least :data:`LARGE_DIVIDEND` of the close before it (GOOGL's 567.97 USD of 2014-04-03,
  50% of its price: Alpha Vantage's booking of the class C share distribution, a 2:1 split elsewhere).
* conflicts: the same day declared differently by two sources (:func:`sdk.data.corporate_actions.merge_actions`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import numpy as np
import pandas as pd

from sdk.backtest.adjust import PriceMode, plan_adjustment, resolve_market
from sdk.data.corporate_actions import ActionConflict, CorporateAction, format_ratio, merge_actions
from sdk.data.formats import PriceBasis
from sdk.data.frames import TIME_ZONES

__all__ = [
    "JUMP_THRESHOLD",
    "JUMP_TOLERANCE",
    "LARGE_DIVIDEND",
    "MAX_GAP_DAYS",
    "SPLIT_RATIOS",
    "ContradictedAction",
    "PriceAudit",
    "SuspiciousJump",
    "audit_prices",
    "contradicted_actions",
    "suspicious_jumps",
]

#: Close-to-close moves at least this large (as a fraction, either way: ×0.7 or ×1/0.7) are examined.
JUMP_THRESHOLD: Final = 0.3
#: A move within this (relative) of a split's ``1/ratio`` looks like that split (AAPL 2000-09-29: ×0.4813 is
#: 3.7% from ×0.5).
JUMP_TOLERANCE: Final = 0.1
#: Two bars whose sessions lie further apart (calendar days) are a gap in the data, not a move: not compared.
#: Ten days span the longest market closures (NYSE 2001-09-11 to 09-17).
MAX_GAP_DAYS: Final = 10
#: A dividend of at least this share of the close before it is reported (no regular dividend comes close).
LARGE_DIVIDEND: Final = 0.25
#: Split ratios (new shares per old) a jump is compared with: forward splits and their reverse.
SPLIT_RATIOS: Final[tuple[float, ...]] = tuple(
    sorted({r for n in (2, 3, 4, 5, 6, 7, 8, 10, 15, 20, 25, 30, 40, 50, 100) for r in (n, 1 / n)} | {1.5, 2 / 3})
)


@dataclass(frozen=True, slots=True)
class SuspiciousJump:
    """A bar-to-bar move that looks like a split nobody declared.

    ``time``: the later bar's start (UTC); ``session``: its exchange date; ``previous_close``/``close``: the
    two closes as given (quote currency, the bars' own basis); ``ratio``: the move once declared splits are
    taken out; ``split_ratio``: the split (new shares per old) it resembles; ``declared``: events declared
    that day (a dividend booked where the prices show a split).
    """

    symbol: str | None
    time: pd.Timestamp
    session: date
    previous_close: float
    close: float
    ratio: float
    split_ratio: float
    declared: tuple[CorporateAction, ...] = ()

    def describe(self) -> str:
        said = "none is declared"
        if self.declared:
            said = "no split is agreed on; declared that day: " + ", ".join(
                f"{a.what} ({a.source})" if a.source else a.what for a in self.declared
            )
        return (
            f"{self.symbol or 'series'} {self.session.isoformat()}: close {self.previous_close:g} -> {self.close:g} "
            f"(×{self.ratio:.4f}) looks like a {format_ratio(self.split_ratio)} split, but {said}; left as it is "
            "(a crash or a missing event: declare the split in an event list if it is one)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol, "time": self.time.isoformat(), "session": self.session.isoformat(),
            "previous_close": self.previous_close, "close": self.close, "ratio": self.ratio,
            "looks_like_split": format_ratio(self.split_ratio), "declared": [a.to_dict() for a in self.declared],
            "description": self.describe(),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class ContradictedAction:
    """A declared event the prices argue with: ``ratio`` is the close-to-close move across its ex-date (in
    the bars' own basis), ``reason`` says what does not fit."""

    action: CorporateAction
    ratio: float
    reason: str

    def describe(self) -> str:
        return f"{self.action.describe()}: {self.reason}; applied as declared"

    def to_dict(self) -> dict[str, Any]:
        return {**self.action.to_dict(), "ratio": self.ratio, "reason": self.reason, "description": self.describe()}


@dataclass(frozen=True, slots=True)
class PriceAudit:
    """:func:`audit_prices`' report for one series."""

    symbol: str | None
    jumps: tuple[SuspiciousJump, ...]
    contradicted: tuple[ContradictedAction, ...]
    conflicts: tuple[ActionConflict, ...]

    @property
    def clean(self) -> bool:
        """Nothing to report."""
        return not (self.jumps or self.contradicted or self.conflicts)

    def lines(self) -> list[str]:
        """One plain sentence per finding, conflicts first."""
        return ([f"event sources disagree: {c.describe()}" for c in self.conflicts]
                + [c.describe() for c in self.contradicted] + [j.describe() for j in self.jumps])  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, for ``summary.json``."""
        return {
            "symbol": self.symbol,
            "suspicious_jumps": [j.to_dict() for j in self.jumps],
            "contradicted_actions": [c.to_dict() for c in self.contradicted],
            "conflicts": [c.to_dict() for c in self.conflicts],
        }


def _mine(actions: Iterable[CorporateAction], symbol: str | None) -> list[CorporateAction]:
    return [a for a in actions if symbol is None or a.symbol == symbol]


def _only_symbol(actions: list[CorporateAction]) -> str | None:
    symbols = {a.symbol for a in actions}
    return symbols.pop() if len(symbols) == 1 else None


def _nearest_split(ratio: float) -> float:
    """The split ratio (new per old) whose price move ``1/split`` is nearest ``ratio`` (in log terms)."""
    return min(SPLIT_RATIOS, key=lambda split: abs(math.log(ratio * split)))


def _sessions(bars: pd.DataFrame, market: str) -> list[date]:
    """Each bar's exchange-local date."""
    return [ts.date() for ts in pd.DatetimeIndex(bars.index).tz_convert(TIME_ZONES[market])]


def _big(ratio: float, threshold: float) -> bool:
    return abs(math.log(ratio)) >= -math.log(1 - threshold)


def suspicious_jumps(
    bars: pd.DataFrame,
    actions: Iterable[CorporateAction],
    threshold: float = JUMP_THRESHOLD,
    *,
    symbol: str | None = None,
    basis: PriceBasis = "raw",
    market: str | None = None,
    tolerance: float = JUMP_TOLERANCE,
) -> list[SuspiciousJump]:
    """Close-to-close moves of at least ``threshold`` that look like an undeclared split (module docstring).

    ``bars``: a normalised frame in ``basis``; ``actions``: the declared events (those of other symbols are
    ignored when ``symbol`` is given; days the sources disagree about count as undeclared). Nothing is
    changed: the answer is a list, in time order.

    Raises:
        ValueError: ``threshold`` not in (0, 1), or the arguments :func:`plan_adjustment` refuses.
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold is a fraction of the price in (0, 1), e.g. 0.3; got {threshold}")
    mine = _mine(actions, symbol)
    market = resolve_market(market, symbol or _only_symbol(mine))
    merged = merge_actions(mine)
    if len(bars) < 2:
        return []
    splits = [a for a in merged.actions if a.kind == "split"]
    mode: PriceMode = "total_return" if basis == "total_return" else "split_adjusted"
    plan = plan_adjustment(bars, splits, mode, symbol=symbol, basis=basis, market=market)
    given = bars["close"].to_numpy(dtype="float64")
    close = given * plan.price_factor
    ratios = close[1:] / close[:-1]
    sessions = _sessions(bars, market)
    declared_on: dict[date, list[CorporateAction]] = {}
    for action in [*merged.actions, *(a for c in merged.conflicts for a in c.actions)]:
        declared_on.setdefault(action.ex_date, []).append(action)
    found: list[SuspiciousJump] = []
    for i in np.flatnonzero(np.isfinite(ratios) & (ratios > 0)):
        ratio = float(ratios[i])
        if not _big(ratio, threshold) or (sessions[i + 1] - sessions[i]).days > MAX_GAP_DAYS:
            continue
        split = _nearest_split(ratio)
        if abs(ratio * split - 1) > tolerance:
            continue
        day = sessions[i + 1]
        found.append(SuspiciousJump(
            symbol, bars.index[i + 1], day, float(given[i]), float(given[i + 1]), ratio, split,
            tuple(declared_on.get(day, [])),
        ))  # fmt: skip
    return found


def contradicted_actions(
    bars: pd.DataFrame,
    actions: Iterable[CorporateAction],
    threshold: float = JUMP_THRESHOLD,
    *,
    symbol: str | None = None,
    basis: PriceBasis = "raw",
    market: str | None = None,
    large_dividend: float = LARGE_DIVIDEND,
) -> list[ContradictedAction]:
    """Declared events the prices argue with (module docstring), in ex-date order.

    A split is checked against the bars' own basis: in raw bars the close should move by ``1/ratio`` across
    the ex-date, in adjusted bars not at all. Events on days the sources disagree about are left to the
    conflict report.
    """
    mine = _mine(actions, symbol)
    market = resolve_market(market, symbol or _only_symbol(mine))
    merged = merge_actions(mine)
    index = pd.DatetimeIndex(bars.index)
    if len(index) < 2:
        return []
    close = bars["close"].to_numpy(dtype="float64")
    tz = TIME_ZONES[market]
    sessions = _sessions(bars, market)
    found: list[ContradictedAction] = []
    splits = [a for a in merged.actions if a.kind == "split"]
    # raw closes: a dividend is measured against the raw close before it (a total-return series has no raw
    # closes left; its own closes stand in, a little low)
    raw = close
    if basis != "total_return":
        raw = close * plan_adjustment(bars, splits, "raw", symbol=symbol, basis=basis, market=market).price_factor
    for action in merged.actions:
        midnight = pd.Timestamp(action.ex_date).tz_localize(tz).tz_convert("UTC")
        k = int(index.searchsorted(midnight, side="left"))
        if k == 0 or k >= len(index) or (sessions[k] - sessions[k - 1]).days > MAX_GAP_DAYS:
            continue  # no bar on one side, or a gap in the data across the ex-date: nothing to compare
        ratio = float(close[k] / close[k - 1])
        if action.kind == "split":
            assert action.ratio is not None
            expected = 1 / action.ratio if basis == "raw" else 1.0
            if _big(ratio / expected, threshold):
                found.append(ContradictedAction(action, ratio, (
                    f"the close moved ×{ratio:.4f} across the ex-date where the split makes ×{expected:.4f}: "
                    "the bars may be adjusted already, or the date is wrong"
                )))  # fmt: skip
        else:
            assert action.amount is not None
            share = action.amount / float(raw[k - 1])
            if share >= large_dividend:
                split = _nearest_split(ratio)
                like = f" (≈ a {format_ratio(split)} split)" if abs(ratio * split - 1) <= JUMP_TOLERANCE else ""
                found.append(ContradictedAction(action, ratio, (
                    f"the dividend is {share:.1%} of the close before it ({float(raw[k - 1]):g}) and the close "
                    f"moved ×{ratio:.4f}{like}: a split or a distribution booked as a cash dividend?"
                )))  # fmt: skip
    return found


def audit_prices(
    bars: pd.DataFrame,
    actions: Iterable[CorporateAction],
    *,
    symbol: str | None = None,
    basis: PriceBasis = "raw",
    market: str | None = None,
    threshold: float = JUMP_THRESHOLD,
) -> PriceAudit:
    """Suspicious jumps, contradicted events and source conflicts of one series (module docstring).

    ``market``: whose local dates the ex-dates are (default: from the symbol, as :func:`plan_adjustment`).
    """
    mine = _mine(actions, symbol)
    return PriceAudit(
        symbol,
        tuple(suspicious_jumps(bars, mine, threshold, symbol=symbol, basis=basis, market=market)),
        tuple(contradicted_actions(bars, mine, threshold, symbol=symbol, basis=basis, market=market)),
        merge_actions(mine).conflicts,
    )
