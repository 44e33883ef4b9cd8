"""What a strategy is given and what it answers.

A strategy sees each **completed** bar of a symbol (:class:`BarContext`) and answers a list of decisions:

* :class:`Signal` — trade now: ``buy`` or ``sell`` (an ``is_exit`` closes what the strategy holds);
  ``amount`` in base units, or None to let the runner size it (``--order-value`` in the base currency).
* :class:`PlanProposal` — a plan: entry (None: now), stop, target and size; the runner hands it to the
  :class:`~sdk.services.plans.PlanService` and the plan monitor exits it at the stop or the target.

Strategies decide at bar close and never place orders themselves: the runner turns every decision into
an :class:`~sdk.risk.OrderIntent` that goes through the RiskManager.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from sdk.base import OHLCV
from sdk.instruments import InstrumentSpec
from sdk.services.plans import Plan

__all__ = ["BarContext", "Decision", "PlanProposal", "Signal", "Strategy"]

Side = Literal["buy", "sell"]


@dataclass(frozen=True, slots=True)
class Signal:
    """Trade now. ``amount`` in base units (None: sized by the runner); ``is_exit`` only reduces a position."""

    side: Side
    amount: Decimal | None = None
    is_exit: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PlanProposal:
    """A plan: ``entry`` limit (None: now), ``stop`` and ``target`` in the quote currency, ``amount`` base units."""

    side: Side
    stop: Decimal
    target: Decimal
    entry: Decimal | None = None
    amount: Decimal | None = None
    reason: str = ""


Decision = Signal | PlanProposal


@dataclass(frozen=True, slots=True)
class BarContext:
    """One completed bar of one symbol, with what a strategy may read.

    Attributes:
        symbol: canonical ``BASE/QUOTE``.
        timeframe: ccxt timeframe (``1d``, ``5m``).
        bars: completed bars ``[ts_ms, open, high, low, close, volume]``, oldest first; ``bars[-1]`` just closed.
        position: the signed position held now, base units (shadow or real).
        instrument: tick ladder, size step, market.
        now: the clock's time at the decision (timezone-aware).
        open_plans: this strategy's open plans in the symbol.
    """

    symbol: str
    timeframe: str
    bars: Sequence[OHLCV]
    position: Decimal
    instrument: InstrumentSpec
    now: datetime
    open_plans: Sequence[Plan] = field(default_factory=tuple)

    @property
    def closes(self) -> list[float]:
        return [float(bar[4]) for bar in self.bars]

    @property
    def close(self) -> Decimal:
        """The last close, quote currency."""
        return Decimal(str(self.bars[-1][4]))


class Strategy(abc.ABC):
    """A plugin: subclass, set ``warmup``, implement :meth:`on_bar`, decorate with ``@register_strategy("name")``.

    ``params`` come from the command line (``--param fast=5``); unknown ones are refused by
    :meth:`configure`.
    """

    #: The registry name (set by :func:`~runner.strategies.register_strategy`).
    name: ClassVar[str] = ""
    #: Parameters and their defaults.
    defaults: ClassVar[Mapping[str, float]] = {}

    def __init__(self, **params: Any) -> None:
        self.params = self.configure(params)

    @classmethod
    def configure(cls, params: Mapping[str, Any]) -> dict[str, float]:
        """Defaults overlaid with ``params`` (numbers).

        Raises:
            ValueError: an unknown parameter or a value that is not a number (the message lists the known ones).
        """
        unknown = sorted(set(params) - set(cls.defaults))
        if unknown:
            known = ", ".join(f"{k}={v:g}" for k, v in cls.defaults.items())
            raise ValueError(f"strategy {cls.name} has no parameter(s) {unknown}; known: {known}")
        merged = dict(cls.defaults)
        for key, value in params.items():
            try:
                merged[key] = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"strategy {cls.name}: {key}={value!r} is not a number") from None
        return merged

    @property
    @abc.abstractmethod
    def warmup(self) -> int:
        """Completed bars needed before the first decision."""

    @abc.abstractmethod
    def on_bar(self, ctx: BarContext) -> Sequence[Decision]:
        """Decide at the close of ``ctx.bars[-1]``; an empty list means nothing to do."""
