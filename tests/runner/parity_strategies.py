"""The strategy of the shadow/execute parity test, loaded with ``--plugin parity_strategies``.

``parity_sized`` is ``parity`` of :mod:`crash_strategies` (a position computable from the bars alone: long after a
bar of even index, flat after an odd one; ``BHP/AUD`` through plans, every other symbol through market signals)
with every opening decision sized by the runner (``--order-value`` in the base currency), so one strategy trades
an ASX stock, a US ETF and an FX pair at sizes each of them takes. With ``below`` > 0 a plan's entry is a limit
``below`` percent under the bar's close (it rests until the market comes down to it, or its day ends) instead of
an entry now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import ClassVar

from crash_strategies import Parity

from runner.strategies import BarContext, Decision, PlanProposal, Signal, register_strategy


@register_strategy("parity_sized")
class ParitySized(Parity):
    defaults: ClassVar[Mapping[str, float]] = {"units": 100, "below": 0}

    def on_bar(self, ctx: BarContext) -> Sequence[Decision]:
        below = Decimal(str(self.params["below"]))
        entry = ctx.instrument.ladder.round(ctx.close * (1 - below / 100), "down") if below > 0 else None
        decided = []
        for d in super().on_bar(ctx):
            if isinstance(d, PlanProposal):
                d = replace(d, amount=None, entry=entry)
            elif isinstance(d, Signal) and not d.is_exit:
                d = replace(d, amount=None)
            decided.append(d)
        return decided
