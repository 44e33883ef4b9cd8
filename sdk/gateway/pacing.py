"""IB's historical-data pacing rules, enforced on the simulated clock.

Source: IB "Historical Data Limitations" (https://interactivebrokers.github.io/tws-api/historical_limitations.html),
summarised in ``../shared/docs/ib-reference.md``. A request violates pacing when

1. an identical request (same contract, end, duration, bar size, whatToShow, useRTH) was made
   within the last 15 seconds;
2. it is the sixth (or later) request for the same contract, exchange and tick type within 2 seconds;
3. it would make more than 60 requests within any 10 minutes;

and ``BID_ASK`` requests count twice. IB says the limits are "lifted" for bars of 1 minute and
above but still asks for restraint, so they are applied to every bar size here. A violating
request is answered with error 162 and is not counted (it was not served). The limits are
account-wide, so one pacer serves all clients of a gateway. Times are simulated epoch seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field

__all__ = ["HistoricalPacer", "PacingDecision"]

IDENTICAL_WINDOW = 15.0
BURST_WINDOW, BURST_LIMIT = 2.0, 6
LONG_WINDOW, LONG_LIMIT = 600.0, 60


@dataclass(frozen=True, slots=True)
class PacingDecision:
    """``allowed`` False carries the rule that was broken in ``reason`` (for the 162 text)."""

    allowed: bool
    reason: str = ""


@dataclass
class HistoricalPacer:
    """Remembers served historical requests and judges new ones against IB's three rules."""

    enabled: bool = True
    requests: int = 0
    violations: int = 0
    _served: deque[tuple[float, Hashable, Hashable, int]] = field(default_factory=deque)

    def check(self, now: float, *, series: Hashable, identity: Hashable, what_to_show: str) -> PacingDecision:
        """Judge a request at simulated time ``now`` and record it when allowed.

        Args:
            now: simulated epoch seconds.
            series: (contract, exchange, tick type) -- the key of the 2-second rule.
            identity: every parameter of the request -- the key of the 15-second rule.
            what_to_show: ``BID_ASK`` counts twice.
        """
        weight = 2 if what_to_show.upper() == "BID_ASK" else 1
        self.requests += 1
        if not self.enabled:
            return PacingDecision(True)
        while self._served and self._served[0][0] <= now - LONG_WINDOW:
            self._served.popleft()
        decision = self._judge(now, series, identity, weight)
        if decision.allowed:
            self._served.append((now, series, identity, weight))
        else:
            self.violations += 1
        return decision

    def _judge(self, now: float, series: Hashable, identity: Hashable, weight: int) -> PacingDecision:
        total = weight
        burst = weight
        for when, seen_series, seen_identity, seen_weight in self._served:
            total += seen_weight
            if seen_identity == identity and when > now - IDENTICAL_WINDOW:
                return PacingDecision(False, "identical request within 15 seconds")
            if seen_series == series and when > now - BURST_WINDOW:
                burst += seen_weight
        if burst >= BURST_LIMIT:
            return PacingDecision(False, "6 or more requests for the same contract and tick type within 2 seconds")
        if total > LONG_LIMIT:
            return PacingDecision(False, "more than 60 requests within 10 minutes")
        return PacingDecision(True)

    def state(self) -> dict[str, int | bool]:
        """``{"enabled", "requests", "violations"}`` for ``GET /state``."""
        return {"enabled": self.enabled, "requests": self.requests, "violations": self.violations}
