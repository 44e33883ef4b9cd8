"""The strategy of the randomized crash test, loaded with ``--plugin crash_strategies``.

``parity`` wants a position computable from the bars alone: after a bar whose index (its start time divided by
the timeframe, :func:`intended`) is even it wants ``units`` long, after an odd one flat. It trades towards that
from the position it is given, so a decision lost or expired while the runner was down is made good at the next
bar it decides on, and a doubled order shows as a position the bars never asked for. ``BHP/AUD`` trades through
plans (entry now, a stop at half and a target at twice the close: never reached, so only the strategy's exit
closes it); every other symbol through market signals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import ClassVar

from runner.strategies import BarContext, Decision, PlanProposal, Signal, Strategy, register_strategy
from sdk.timeframes import TIMEFRAME_SECONDS

__all__ = ["PLAN_SYMBOL", "intended"]

#: The symbol traded through plans; the others trade through signals.
PLAN_SYMBOL = "BHP/AUD"


def intended(bar_ts: int, timeframe: str, units: Decimal) -> Decimal:
    """The position (base units) ``parity`` wants after the bar starting at ``bar_ts`` (epoch ms)."""
    index = int(bar_ts) // (TIMEFRAME_SECONDS[timeframe] * 1000)
    return units if index % 2 == 0 else Decimal(0)


@register_strategy("parity")
class Parity(Strategy):
    defaults: ClassVar[Mapping[str, float]] = {"units": 100}

    @property
    def warmup(self) -> int:
        return 1

    def on_bar(self, ctx: BarContext) -> Sequence[Decision]:
        units = Decimal(int(self.params["units"]))
        want = intended(int(ctx.bars[-1][0]), ctx.timeframe, units)
        why = f"bar index parity wants {want}"
        if want > 0 and ctx.position <= 0:
            if ctx.symbol != PLAN_SYMBOL:
                return [Signal("buy", amount=units, reason=why)]
            if ctx.open_plans:
                return []  # its entry is on its way
            ladder = ctx.instrument.ladder
            stop, target = ladder.round(ctx.close / 2, "down"), ladder.round(ctx.close * 2, "up")
            return [PlanProposal("buy", stop=stop, target=target, amount=units, reason=why)]
        if want == 0 and ctx.position > 0:
            return [Signal("sell", amount=ctx.position, is_exit=True, reason=why)]
        return []
