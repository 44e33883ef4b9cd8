"""IB's historical-data pacing budget shared by every process on one IB login, through the ledger.

IB paces historical-data requests per login (IB "Historical Data Limitations":
https://interactivebrokers.github.io/tws-api/historical_limitations.html): a runner, an MCP server and a backfill
on one gateway spend one allowance, so three per-process budgets can together earn 162 pacing violations.
:class:`SharedPacingBudget` judges each request with :class:`~sdk.venues.ib.pacing.PacingBudget`'s rules against
the requests *every* process admitted, read and written under the login's row lock in the ledger
(:mod:`sdk.ledger.pacing`); a 162 one process earns holds them all back.

The login is named by a hash of the accounts the gateway manages (``ib:`` + 24 hex digits; account numbers never
reach the ledger), so every process on the login shares the budget whatever host name it dials. Every process must
pace on the same clock: the wall clock on a real login (IB's clock, which :class:`~sdk.clock.VenueClock` follows to
about a second: hence a one-second safety margin instead of the process budget's 50 ms), the gateway's clock on
the offline gateway.

:func:`default_budget` is what :class:`~sdk.venues.ib.trader.IBTrader` uses when it is given no budget: shared
through ``DATABASE_URL`` when that is set, the process's own budget otherwise.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Hashable
from dataclasses import replace

from sdk.clock import Clock
from sdk.ledger import Ledger, open_ledger
from sdk.ledger import pacing as rows
from sdk.ledger.errors import LedgerError
from sdk.settings import Settings
from sdk.venues.ib.pacing import PacingBudget, PacingRules, RequestLog, shared_budget

__all__ = ["SHARED_MARGIN", "SharedPacingBudget", "default_budget", "login_key"]

log = logging.getLogger(__name__)

#: Seconds added to every IB window when processes share a budget: their clocks agree to about a second.
SHARED_MARGIN = 1.0
_US = 1_000_000


def login_key(accounts: list[str] | tuple[str, ...]) -> str:
    """The budget's name for the IB login that manages ``accounts``: ``ib:`` + 24 hex digits of their SHA-256."""
    joined = ",".join(sorted(a for a in accounts if a))
    return "ib:" + hashlib.sha256(joined.encode()).hexdigest()[:24]


def _us(seconds: float) -> int:
    return round(seconds * _US)


class SharedPacingBudget(PacingBudget):
    """A :class:`PacingBudget` whose requests and holds are rows every process on the login reads.

    Args:
        ledger: the ledger the processes share (migrated: ``trader db upgrade``).
        login: the login's key, or a callable giving it once connected (:func:`login_key`).
        clock: the time pacing is measured in; every process on the login must use the same one.
        rules: IB's limits; the default margin is :data:`SHARED_MARGIN`.

    When the ledger cannot be reached, a request is judged by this process's own record and a warning says why
    (pacing protects IB's allowance, not money: a 162 that follows is held back as in a single process).
    """

    def __init__(
        self,
        ledger: Ledger,
        login: str | Callable[[], str],
        clock: Clock | None = None,
        rules: PacingRules | None = None,
    ) -> None:
        super().__init__(clock, rules or replace(PacingRules(), margin=SHARED_MARGIN))
        self.ledger = ledger
        self._login = login
        self._unavailable: str | None = None

    @property
    def login(self) -> str:
        """The login's key in the ledger."""
        return self._login if isinstance(self._login, str) else self._login()

    def _since_us(self, now: float) -> int:
        r = self.rules
        return _us(now - r.window - r.margin)

    def _locally(self, exc: LedgerError) -> None:
        reason = str(exc)
        if reason != self._unavailable:
            log.warning("pacing on this process's record only: %s", reason)
            self._unavailable = reason

    async def _admit(self, identity: Hashable, key: Hashable, weight: int, now: float) -> float:
        try:
            return await asyncio.to_thread(self._admit_shared, rows.digest(identity), rows.digest(key), weight, now)
        except rows.PacingUnavailable as exc:
            self._locally(exc)
            return await super()._admit(identity, key, weight, now)

    def _admit_shared(self, identity: str, series: str, weight: int, now: float) -> float:
        r = self.rules
        with rows.locked(self.ledger, self.login, since_us=self._since_us(now)) as login:
            admitted = RequestLog()
            horizon = _us(now + r.window)  # a row this far ahead was written before a replayed clock went back
            for request in login.state.requests:
                if request.at_us <= horizon:
                    admitted.add(request.identity, request.series, request.weight, request.at_us / _US)
            blocked_until = login.state.blocked_until_us / _US
            if blocked_until > now + r.window + r.margin:
                blocked_until = 0.0  # likewise: a hold set on a later replayed day
            wait = self.wait_in(admitted, blocked_until, identity, series, weight, now)
            if wait <= 0:
                login.admit(at_us=_us(now), weight=weight, identity=identity, series=series)
                self._count(weight, now)
            self._unavailable = None
            return wait

    async def record_violation(self) -> None:
        """Hold every process on the login back after IB's 162 (2 s, then 15 s, then 10 min while they repeat)."""
        now = self.clock.now()
        try:
            hold = await asyncio.to_thread(self._hold_shared, now)
        except rows.PacingUnavailable as exc:
            self._locally(exc)
            await super().record_violation()
            return
        self.stats.violations += 1
        log.warning(
            "IB reported a historical-data pacing violation; holding requests of every process on this login",
            extra={"violations": self.stats.violations, "hold_s": hold},
        )

    def _hold_shared(self, now: float) -> float:
        with rows.locked(self.ledger, self.login, since_us=self._since_us(now)) as login:
            state = login.state
            hold = self.hold_after(state.strikes)
            until = max(state.blocked_until_us, _us(now + hold))
            login.hold(blocked_until_us=until, strikes=state.strikes + 1, violation=True)
            return hold

    async def record_success(self) -> None:
        """A request was served: the escalation starts over for every process on the login."""
        now = self.clock.now()
        try:
            await asyncio.to_thread(self._reset_shared, now)
        except rows.PacingUnavailable as exc:
            self._locally(exc)
            await super().record_success()

    def _reset_shared(self, now: float) -> None:
        with rows.locked(self.ledger, self.login, since_us=self._since_us(now)) as login:
            if login.state.strikes:
                login.hold(blocked_until_us=login.state.blocked_until_us, strikes=0, violation=False)


_ledgers: dict[str, Ledger] = {}


def default_budget(settings: Settings, clock: Clock | None, login: Callable[[], str]) -> PacingBudget:
    """The budget an :class:`~sdk.venues.ib.trader.IBTrader` paces with when it is given none.

    Shared through the ledger when ``DATABASE_URL`` is set (every process on the login must set it to the same
    database, migrated with ``trader db upgrade``): a :class:`SharedPacingBudget` on the process's one connection
    pool to that ledger. Otherwise the process's own budget (:func:`~sdk.venues.ib.pacing.shared_budget`).

    Raises:
        LedgerError: ``DATABASE_URL`` is set but is not a usable ledger URL (the message says which and why).
    """
    if "database_url" not in settings.model_fields_set:
        return shared_budget(clock)
    url = settings.database_url
    ledger = _ledgers.get(url)
    if ledger is None:
        ledger = open_ledger(url, configured_url=True, check=False)  # connects lazily; rows say if unmigrated
        _ledgers[url] = ledger
    return SharedPacingBudget(ledger, login, clock)
