"""``momentum``: long-only rate-of-change signals, deciding at bar close.

* The ``lookback``-bar rate of change crosses above ``entry_pct`` percent while flat: buy now.
* It falls back below ``exit_pct`` percent while long: sell what is held.

Parameters: ``lookback`` (20 bars), ``entry_pct`` (2.0), ``exit_pct`` (0.0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from runner.strategies import register_strategy
from runner.strategies.base import BarContext, Decision, Signal, Strategy
from runner.strategies.indicators import rate_of_change

__all__ = ["Momentum"]


@register_strategy("momentum")
class Momentum(Strategy):
    """Long-only momentum: enter on strength, leave when it fades."""

    defaults: ClassVar[Mapping[str, float]] = {"lookback": 20, "entry_pct": 2.0, "exit_pct": 0.0}

    def __init__(self, **params: float) -> None:
        super().__init__(**params)
        if self.params["lookback"] < 1 or self.params["exit_pct"] > self.params["entry_pct"]:
            raise ValueError("momentum needs lookback >= 1 and exit_pct <= entry_pct")

    @property
    def warmup(self) -> int:
        return int(self.params["lookback"]) + 2

    def on_bar(self, ctx: BarContext) -> Sequence[Decision]:
        lookback = int(self.params["lookback"])
        now, before = rate_of_change(ctx.closes, lookback), rate_of_change(ctx.closes, lookback, offset=1)
        if now is None or before is None:
            return []
        entry, leave = self.params["entry_pct"] / 100, self.params["exit_pct"] / 100
        why = f"{lookback}-bar rate of change {now:+.2%}"
        if before <= entry < now and ctx.position <= 0:
            return [Signal("buy", reason=f"momentum up: {why}")]
        if now < leave <= before and ctx.position > 0:
            return [Signal("sell", amount=ctx.position, is_exit=True, reason=f"momentum faded: {why}")]
        return []
