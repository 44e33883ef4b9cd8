"""Price ladders: the legal price increments of an instrument, by price band.

A ladder is IB's market rule: a list of ``(low_edge, increment)`` bands (``reqMarketRule`` answers
``PriceIncrement(lowEdge, increment)`` rows; ``ContractDetails.marketRuleIds`` names the rule per
valid exchange). The built-in ladders:

* ASX equities (ASX Operating Rules Procedure 3100, "price steps"): below AUD 0.10 in 0.001;
  from 0.10 to below 2.00 in 0.005; from 2.00 in 0.01.
* US equities (SEC Regulation NMS Rule 612, sub-penny rule): from USD 1.00 in 0.01; below 1.00 in 0.0001.
* IDEALPRO FX (IB contract details of ``AUD.USD`` and peers): 0.00005; JPY-quoted pairs 0.005.

The market rule ids below are the offline gateway's (stable, documented, not IB's own numbering); a
ladder built from a real ``reqMarketRule`` answer works the same way. All arithmetic is decimal, so
``45.005`` on a 0.01 ladder is off-tick and rounds exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Literal

__all__ = [
    "ASX_EQUITY",
    "FX_IDEALPRO",
    "FX_IDEALPRO_JPY",
    "MARKET_RULES",
    "US_EQUITY",
    "PriceLadder",
    "RoundingDirection",
    "ladder_for",
    "safe_direction",
]

RoundingDirection = Literal["down", "up", "nearest"]


def _dec(value: float | str | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True, slots=True)
class PriceLadder:
    """Price bands ``((low_edge, increment), ...)`` sorted by ``low_edge``; the first starts at 0.

    Prices are in the instrument's quote currency.
    """

    bands: tuple[tuple[Decimal, Decimal], ...]
    market_rule_id: int | None = None

    @classmethod
    def from_increments(
        cls,
        increments: Iterable[tuple[float | str | Decimal, float | str | Decimal]],
        market_rule_id: int | None = None,
    ) -> PriceLadder:
        """Build from ``(lowEdge, increment)`` pairs, e.g. ib_async ``PriceIncrement`` rows."""
        bands = tuple(sorted((_dec(low), _dec(inc)) for low, inc in increments))
        if not bands or bands[0][0] != 0 or any(inc <= 0 for _, inc in bands):
            raise ValueError(f"a price ladder needs a band from 0 and positive increments, got {bands}")
        return cls(bands, market_rule_id)

    def increment_at(self, price: float | str | Decimal) -> Decimal:
        """The increment of the band holding ``price`` (a band includes its low edge)."""
        p = _dec(price)
        increment = self.bands[0][1]
        for low, inc in self.bands:
            if p >= low:
                increment = inc
            else:
                break
        return increment

    def is_on_ladder(self, price: float | str | Decimal) -> bool:
        """True when ``price`` is a whole number of increments of its band (IB error 110 otherwise)."""
        p = _dec(price)
        if p <= 0:
            return False
        return (p % self.increment_at(p)) == 0

    def round(self, price: float | str | Decimal, direction: RoundingDirection) -> Decimal:
        """``price`` moved to the ladder: ``down``, ``up`` or to the ``nearest`` step.

        Rounding down across a band edge lands on the lower band's grid (1.999 -> 1.995 on ASX).
        """
        p = _dec(price)
        if p <= 0:
            raise ValueError(f"price must be positive, got {price}")
        mode = {"down": ROUND_FLOOR, "up": ROUND_CEILING, "nearest": ROUND_HALF_EVEN}[direction]
        inc = self.increment_at(p)
        candidate = (p / inc).quantize(Decimal(1), rounding=mode) * inc
        if candidate <= 0:
            candidate = inc
        # A step up may cross into a coarser band: snap up again on that band's grid.
        if self.increment_at(candidate) != inc and direction != "down":
            coarse = self.increment_at(candidate)
            candidate = (candidate / coarse).quantize(Decimal(1), rounding=ROUND_CEILING) * coarse
        return candidate


def safe_direction(side: Literal["buy", "sell"]) -> RoundingDirection:
    """The rounding that never worsens a limit price: a buy pays no more, a sell takes no less."""
    return "down" if side == "buy" else "up"


ASX_EQUITY = PriceLadder.from_increments([(0, "0.001"), ("0.10", "0.005"), ("2.00", "0.01")], market_rule_id=1001)
US_EQUITY = PriceLadder.from_increments([(0, "0.0001"), ("1.00", "0.01")], market_rule_id=1002)
FX_IDEALPRO = PriceLadder.from_increments([(0, "0.00005")], market_rule_id=1003)
FX_IDEALPRO_JPY = PriceLadder.from_increments([(0, "0.005")], market_rule_id=1004)

#: Market rule id -> ladder, as the offline gateway serves them through ``reqMarketRule``.
MARKET_RULES: dict[int, PriceLadder] = {
    ladder.market_rule_id: ladder
    for ladder in (ASX_EQUITY, US_EQUITY, FX_IDEALPRO, FX_IDEALPRO_JPY)
    if ladder.market_rule_id is not None
}


def ladder_for(sec_type: str, currency: str, primary_exchange: str = "") -> PriceLadder:
    """The built-in ladder for an instrument: ASX for AUD stocks, US for USD stocks, IDEALPRO for FX.

    Raises:
        ValueError: no built-in ladder; ask IB with ``reqMarketRule`` for the contract's rule ids.
    """
    if sec_type == "CASH":
        return FX_IDEALPRO_JPY if currency == "JPY" else FX_IDEALPRO
    if sec_type in ("STK", "IND") and (currency == "AUD" or primary_exchange == "ASX"):
        return ASX_EQUITY
    if sec_type in ("STK", "IND") and currency == "USD":
        return US_EQUITY
    raise ValueError(f"no built-in price ladder for secType={sec_type} currency={currency}; use reqMarketRule")
