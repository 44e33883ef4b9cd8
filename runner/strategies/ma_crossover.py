"""``ma_crossover``: long-only simple-moving-average crossover, deciding at bar close.

* The fast average crosses above the slow one and nothing is held: propose a plan to buy now, with a
  stop ``stop_atr`` ATRs below the close and a target ``target_atr`` ATRs above it (the plan monitor
  exits there).
* The fast average crosses below the slow one while long: exit (the runner closes the open plan).

Parameters: ``fast`` (10), ``slow`` (30), ``atr`` (14 bars), ``stop_atr`` (2.0), ``target_atr`` (3.0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import ClassVar

from runner.strategies import register_strategy
from runner.strategies.base import BarContext, Decision, PlanProposal, Signal, Strategy
from runner.strategies.indicators import atr, sma

__all__ = ["MovingAverageCrossover"]


@register_strategy("ma_crossover")
class MovingAverageCrossover(Strategy):
    """Long-only SMA crossover with ATR stop and target plans."""

    defaults: ClassVar[Mapping[str, float]] = {"fast": 10, "slow": 30, "atr": 14, "stop_atr": 2.0, "target_atr": 3.0}

    def __init__(self, **params: float) -> None:
        super().__init__(**params)
        if not 1 <= self.params["fast"] < self.params["slow"]:
            raise ValueError(
                f"ma_crossover needs 1 <= fast < slow, got fast={self.params['fast']:g} slow={self.params['slow']:g}"
            )

    @property
    def warmup(self) -> int:
        return int(max(self.params["slow"], self.params["atr"])) + 1

    def on_bar(self, ctx: BarContext) -> Sequence[Decision]:
        closes = ctx.closes
        fast, slow = int(self.params["fast"]), int(self.params["slow"])
        now_fast, now_slow = sma(closes, fast), sma(closes, slow)
        was_fast, was_slow = sma(closes, fast, offset=1), sma(closes, slow, offset=1)
        if None in (now_fast, now_slow, was_fast, was_slow):
            return []
        assert now_fast is not None and now_slow is not None and was_fast is not None and was_slow is not None
        crossed_up = was_fast <= was_slow and now_fast > now_slow
        crossed_down = was_fast >= was_slow and now_fast < now_slow
        why = f"SMA{fast} {now_fast:.4f} vs SMA{slow} {now_slow:.4f}"
        if crossed_up and ctx.position <= 0 and not ctx.open_plans:
            band = atr(ctx.bars, int(self.params["atr"]))
            if not band:
                return []
            close = ctx.close
            stop = close - Decimal(str(band * self.params["stop_atr"]))
            target = close + Decimal(str(band * self.params["target_atr"]))
            if stop <= 0:
                return []
            return [PlanProposal("buy", stop=_round(stop), target=_round(target), reason=f"crossed up: {why}")]
        if crossed_down and ctx.position > 0:
            return [Signal("sell", amount=ctx.position, is_exit=True, reason=f"crossed down: {why}")]
        return []


def _round(price: Decimal) -> Decimal:
    """Trigger levels need no tick ladder; six significant decimals keep them readable."""
    return price.quantize(Decimal("0.000001"))
