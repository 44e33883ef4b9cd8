"""Helpers for the simulation core's tests: a broker over real catalog bars, driven bar by bar."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sdk.sim.account import Account
from sdk.sim.bars import BarSeries
from sdk.sim.broker import SimBroker
from sdk.sim.commissions import CommissionModel, FreeCommissions
from sdk.sim.matching import FillConfig
from sdk.sim.orders import Execution
from sdk.sim.rates import FixedRates
from sdk.sim.venue import catalog_instrument

__all__ = ["D", "Driver", "ms"]

D = Decimal


def ms(text: str) -> int:
    """``"2025-03-04T06:00"`` (UTC) in ms."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


class Driver:
    """A :class:`SimBroker` over real bars of the catalog, fed bar by bar as a backtest feeds it.

    ``place(symbol, ...)`` places at ``at`` (ms); ``run(until)`` feeds every bar of every loaded series that closed
    by ``until`` and was not fed yet, in time order, then expires what is due.
    """

    def __init__(
        self,
        catalog: Any,
        series: Mapping[str, tuple[str, bool]],
        *,
        config: FillConfig | None = None,
        cash: Mapping[str, Decimal] | None = None,
        commissions: CommissionModel | None = None,
        rates: FixedRates | None = None,
        initial_margin: Decimal | None = None,
        window: tuple[str, str] = ("2024-01-01T00:00", "2026-01-01T00:00"),
    ) -> None:
        first, last = (datetime.fromisoformat(w).replace(tzinfo=UTC) for w in window)
        self.bars = {
            symbol: BarSeries.from_catalog(catalog, symbol, size, first, last, rth_only=rth)
            for symbol, (size, rth) in series.items()
        }
        self.instruments = {s: catalog_instrument(catalog, s) for s in series}
        self.broker = SimBroker(
            Account("AUD", cash or {"AUD": D(1_000_000), "USD": D(1_000_000)}),
            commissions or FreeCommissions(),
            rates or FixedRates({"USD": "1.5"}, base="AUD"),
            config=config,
            initial_margin=initial_margin,
        )
        self.fed = 0  # bars that closed by this time (ms) were fed

    def place(self, symbol: str, type: str, side: str, amount: int, price: str | None = None, *, at: int,
              **kwargs: Any) -> Any:  # fmt: skip
        return self.broker.place(
            self.instruments[symbol], type, side,  # type: ignore[arg-type]
            D(amount), D(price) if price is not None else None, at=at, marks={}, **kwargs,
        )  # fmt: skip

    def run(self, until: int) -> list[Execution]:
        fed: list[tuple[int, str, int]] = []
        for symbol, bars in self.bars.items():
            fed += [(int(bars.start[i]), symbol, i) for i in range(len(bars)) if self.fed < bars.end[i] <= until]
        executions: list[Execution] = []
        for _, symbol, i in sorted(fed):
            bars = self.bars[symbol]
            executions += self.broker.on_bar(
                symbol, float(bars.open[i]), float(bars.high[i]), float(bars.low[i]), float(bars.close[i]),
                bars.volume_at(i), int(bars.start[i]), int(bars.end[i]),
            )  # fmt: skip
        self.broker.expire(until)
        self.fed = until
        return executions

    def bar(self, symbol: str, start: str) -> dict[str, float]:
        """The bar of ``symbol`` starting at ``start`` (UTC ISO) as floats."""
        bars = self.bars[symbol]
        i = int(list(bars.start).index(ms(start)))
        return {k: float(getattr(bars, k)[i]) for k in ("open", "high", "low", "close", "volume")}
