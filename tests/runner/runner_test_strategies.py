"""Strategies for the runner's tests, loaded with ``--plugin runner_test_strategies`` (this folder on PYTHONPATH).

``alternate`` trades at every bar (buys when flat, sells when long), so a short replay has order flow;
``fragile`` does the same but raises on every bar of ``CBA/AUD``, to show one symbol's failure does not stop
the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import ClassVar

from runner.strategies import BarContext, Decision, Signal, Strategy, register_strategy


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
