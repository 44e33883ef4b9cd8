"""A backtest's prices: one price basis per symbol, turned into the run's price mode, audited.

    from sdk.backtest.price_data import check_price_sources, prepare_prices

    bases = check_price_sources(catalog, ["AAPL/USD", "TSLA/USD"], start, end)   # before anything runs
    prices = prepare_prices(catalog, "AAPL/USD", "1 day", start, end, actions=actions, mode="total_return")
    prices.bars                                     # adjusted frame the simulated venue replays
    summary["prices"]["AAPL/USD"] = prices.to_dict()  # mode, basis, files, events applied, audit findings

A symbol's files must agree on their price basis over the run's window (:meth:`sdk.data.Catalog.price_sources`):
raw and adjusted files overlapping in time (the catalog kept one apart) leave two prices for one bar, and raw
and adjusted files one after the other (the catalog unites them) change the price scale where they meet:
BHP/AUD is raw to 2022 (asx_daily_long) and dividend-adjusted from 2024 (asx_daily). Either is refused with
:class:`MixedPriceSources`, which names the files and the fix, phrased for ``trader backtest``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from sdk.backtest.adjust import AdjustmentPlan, DividendRule, PriceMode, plan_adjustment
from sdk.backtest.price_audit import PriceAudit, audit_prices
from sdk.data.catalog import Catalog, TimeArg
from sdk.data.corporate_actions import CorporateAction
from sdk.data.files import PriceSource
from sdk.data.formats import PriceBasis

__all__ = ["MixedPriceSources", "PreparedPrices", "check_price_sources", "prepare_prices", "price_basis_of"]


class MixedPriceSources(ValueError):
    """Files of one symbol disagree on the price basis over the window; ``problems`` maps symbol -> sentence."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        lines = "; ".join(self.problems.values())
        super().__init__(
            f"{lines}. A backtest reads one price basis per symbol. Fix: give `trader backtest --data DIR` a "
            "directory holding one basis for each symbol (the raw files, adjusted by --price-mode split_adjusted "
            "or total_return from the declared events; or the adjusted file alone, with --price-mode set to its "
            "basis), or narrow --start/--end to one file's span"
        )


def _utc(value: TimeArg) -> pd.Timestamp | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _overlapping(sources: Iterable[PriceSource], start: TimeArg, end: TimeArg) -> list[PriceSource]:
    lo, hi = _utc(start), _utc(end)
    return [
        p for p in sources
        if (hi is None or pd.Timestamp(p.first) <= hi) and (lo is None or pd.Timestamp(p.last) >= lo)
    ]  # fmt: skip


def _span(p: PriceSource) -> str:
    return f"{p.first.date().isoformat()}..{p.last.date().isoformat()}"


def _problem(symbol: str, sources: list[PriceSource]) -> str | None:
    apart = [p for p in sources if not p.merged]
    if apart:
        p = apart[0]
        raw = next((r for r in sources if r.rel == p.overlaps), None)
        beside = f"{p.overlaps} (raw, {_span(raw)})" if raw else f"{p.overlaps} (raw)"
        return f"{symbol}: {p.rel} ({p.basis}, {_span(p)}) overlaps {beside}: two prices for the same bars"
    bases = sorted({p.basis for p in sources})
    if len(bases) > 1:
        listed = ", ".join(f"{p.rel} ({p.basis}, {_span(p)})" for p in sources)
        return f"{symbol}: its files mix price bases ({listed}); united by time they change price scale where they meet"
    return None


def price_basis_of(catalog: Catalog, symbol: str, start: TimeArg = None, end: TimeArg = None) -> PriceBasis:
    """The price basis of ``symbol``'s files that overlap ``[start, end]`` (all its files when none does).

    Raises:
        MixedPriceSources: they mix bases, or one was kept apart beside a raw file (message: files and fix).
        ccxt.BadSymbol: unknown symbol.
    """
    every = list(catalog.price_sources(symbol))
    sources = _overlapping(every, start, end) or every
    problem = _problem(symbol, sources)
    if problem is not None:
        raise MixedPriceSources({symbol: problem})
    return sources[0].basis


def check_price_sources(
    catalog: Catalog, symbols: Iterable[str], start: TimeArg = None, end: TimeArg = None
) -> dict[str, PriceBasis]:
    """:func:`price_basis_of` for every symbol: ``{symbol: basis}``, or one error naming every problem.

    Raises:
        MixedPriceSources: one or more symbols mix price bases in the window.
        ccxt.BadSymbol: an unknown symbol.
    """
    bases: dict[str, PriceBasis] = {}
    problems: dict[str, str] = {}
    for symbol in symbols:
        try:
            bases[symbol] = price_basis_of(catalog, symbol, start, end)
        except MixedPriceSources as exc:
            problems.update(exc.problems)
    if problems:
        raise MixedPriceSources(problems)
    return bases


@dataclass(frozen=True, slots=True)
class PreparedPrices:
    """One symbol's bars in the run's price mode, with what was done to them and what looks wrong."""

    symbol: str
    bars: pd.DataFrame
    basis: PriceBasis
    files: tuple[str, ...]
    plan: AdjustmentPlan
    audit: PriceAudit

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, for ``summary.json``: ``price_mode``, input ``basis``, ``files``, ``adjustment`` (the
        events applied with their factors), ``audit`` (suspicious jumps, contradicted events, conflicts)."""
        return {
            "price_mode": self.plan.mode,
            "basis": self.basis,
            "files": list(self.files),
            "adjustment": self.plan.to_dict(),
            "audit": self.audit.to_dict(),
        }


def prepare_prices(
    catalog: Catalog,
    symbol: str,
    bar_size: str,
    start: TimeArg,
    end: TimeArg,
    *,
    actions: Iterable[CorporateAction],
    mode: PriceMode,
    as_of: date | None = None,
    dividend_rule: DividendRule = "previous_close",
) -> PreparedPrices:
    """``symbol``'s bars of ``[start, end)`` from the catalog, checked for one basis, adjusted to ``mode`` as
    of ``as_of`` (default: the last bar), and audited (:func:`sdk.backtest.price_audit.audit_prices`).

    Fix ``as_of`` to the run's configured end when runs on truncated data must see the same prices: the
    factors of events up to the base date change every earlier bar.

    Raises:
        MixedPriceSources: the files mix bases in the window.
        ConflictingActions: event sources disagree about an event the run would apply.
        ValueError: what :func:`sdk.backtest.adjust.plan_adjustment` refuses (a total-return source asked
            for raw prices, a dividend larger than its close).
    """
    basis = price_basis_of(catalog, symbol, start, end)
    market = catalog.info(symbol).market
    bars = catalog.bars(symbol, bar_size, start, end)
    mine = [a for a in actions if a.symbol == symbol]
    plan = plan_adjustment(bars, mine, mode, symbol=symbol, basis=basis, as_of=as_of, market=market,
                           dividend_rule=dividend_rule)  # fmt: skip
    audit = audit_prices(bars, mine, symbol=symbol, basis=basis, market=market)
    files = tuple(p.rel for p in _overlapping(catalog.price_sources(symbol), start, end) if p.merged)
    return PreparedPrices(symbol, plan.apply(bars), basis, files, plan, audit)
