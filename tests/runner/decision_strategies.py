"""A strategy for the durable-decision tests, loaded with ``--plugin decision_strategies``.

``buy_bar`` buys (sized to the order value) on one bar only, the one dated ``bar`` (epoch ms), whenever that bar
is decided on: so a test knows exactly which decision may become an order, whatever other bars a resumed run
catches up on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from runner.strategies import BarContext, Decision, Signal, Strategy, register_strategy


@register_strategy("buy_bar")
class BuyBar(Strategy):
    defaults: ClassVar[Mapping[str, float]] = {"bar": 0}

    @property
    def warmup(self) -> int:
        return 1

    def on_bar(self, ctx: BarContext) -> Sequence[Decision]:
        if int(ctx.bars[-1][0]) != int(self.params["bar"]):
            return []
        return [Signal("buy", reason=f"the bar {int(self.params['bar'])}")]
