"""Strategies for the runner's tests, loaded with ``--plugin runner_test_strategies`` (this folder on PYTHONPATH).

``alternate`` trades at every bar (buys when flat, sells when long), so a short replay has order flow;
``fragile`` does the same but raises on every bar of ``CBA/AUD``, to show one symbol's failure does not stop
the others; ``rest_once`` leaves one DAY limit buy resting under the market; ``poisoned`` decides nothing and
raises on the second bar it sees, every time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import ClassVar

from runner.strategies import BarContext, Decision, PlanProposal, Signal, Strategy, register_strategy


@register_strategy("alternate")
class Alternate(Strategy):
    defaults: ClassVar[Mapping[str, float]] = {"units": 0}

    @property
    def warmup(self) -> int:
        return 1

    def on_bar(self, ctx: BarContext) -> Sequence[Decision]:
        units = Decimal(int(self.params["units"])) if self.params["units"] else None
        if ctx.position <= 0:
            return [Signal("buy", amount=units, reason="flat: buy")]
        return [Signal("sell", amount=ctx.position, is_exit=True, reason="long: sell")]


@register_strategy("fragile")
class Fragile(Alternate):
    def on_bar(self, ctx: BarContext) -> Sequence[Decision]:
        if ctx.symbol == "CBA/AUD":
            raise RuntimeError(f"fragile strategy fails on {ctx.symbol} by design")
        return super().on_bar(ctx)


@register_strategy("rest_once")
class RestOnce(Strategy):
    """One plan per process, when flat and without a plan: a DAY limit buy of ``units`` ``below`` percent under the
    bar's close (it rests at the venue until the market comes down to it), stop at half and target at twice
    the close (never reached), so the only fill of a run is that entry's."""

    defaults: ClassVar[Mapping[str, float]] = {"below": 0.3, "units": 100}

    def __init__(self, **params: float) -> None:
        super().__init__(**params)
        self.proposed = False

    @property
    def warmup(self) -> int:
        return 1

    def on_bar(self, ctx: BarContext) -> Sequence[Decision]:
        if self.proposed or ctx.position != 0 or ctx.open_plans:
            return []
        self.proposed = True
        close, ladder = ctx.close, ctx.instrument.ladder
        entry = ladder.round(close * (1 - Decimal(str(self.params["below"])) / 100), "down")
        stop, target = ladder.round(close / 2, "down"), ladder.round(close * 2, "up")
        units = Decimal(int(self.params["units"]))
        return [PlanProposal("buy", stop=stop, target=target, entry=entry, amount=units, reason="rest below the close")]


@register_strategy("poisoned")
class Poisoned(Strategy):
    """Decides nothing, but raises on every try of the second distinct bar it is given (per symbol)."""

    def __init__(self, **params: float) -> None:
        super().__init__(**params)
        self.seen: dict[str, list[int]] = {}

    @property
    def warmup(self) -> int:
        return 1

    def on_bar(self, ctx: BarContext) -> Sequence[Decision]:
        seen = self.seen.setdefault(ctx.symbol, [])
        ts = int(ctx.bars[-1][0])
        if ts not in seen:
            seen.append(ts)
        if len(seen) >= 2 and ts == seen[1]:
            raise RuntimeError(f"poisoned bar {ts} of {ctx.symbol}")
        return []
