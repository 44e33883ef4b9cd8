"""The services the runner and the MCP server share: one execution path, one plan store, one portfolio.

Build them once per process with :func:`build_services` (the runner at start, the MCP server in its
lifespan)::

    from sdk.services import build_services

    services = await build_services(settings, trader, ledger, session_id=run_id, shadow=not settings.execute_orders)
    decision = await services.execution.preview(intent)    # RiskManager on fresh facts, no side effects
    result = await services.execution.submit(intent)       # idempotent by intent.client_order_id
    plan = await services.plans.create(PlanRequest(...))   # entry through execution; stop/target stored
    snapshot = await services.portfolio.record()           # equity in AUD, to the ledger

Modules: :mod:`.execution` (:class:`ExecutionService`, :class:`ExecutionResult`), :mod:`.plans`
(:class:`PlanService`, :class:`PlanRequest`, :class:`Plan`), :mod:`.portfolio` (:class:`PortfolioTracker`),
:mod:`.shadow` (the shadow account and simulated venue), :mod:`.records` (ledger rows <-> ccxt),
:mod:`.guarded` (the trader ``create_trader()`` returns: a venue whose orders go through these services).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sdk.base import BaseTrader
from sdk.costs import CostTracker
from sdk.ledger import Ledger, LedgerInputError, LedgerWriter, git_sha, session_fields
from sdk.risk import RiskManager
from sdk.services.execution import ExecutionResult, ExecutionService, ExecutionStats
from sdk.services.live_gate import record_venue
from sdk.services.plans import Plan, PlanRequest, PlanService
from sdk.services.portfolio import PortfolioSnapshot, PortfolioTracker
from sdk.services.shadow import ShadowBook, ShadowVenue
from sdk.settings import Settings
from sdk.venues.mode import settings_mode, venue_mode

__all__ = [
    "ExecutionResult",
    "ExecutionService",
    "ExecutionStats",
    "Plan",
    "PlanRequest",
    "PlanService",
    "PortfolioSnapshot",
    "PortfolioTracker",
    "Services",
    "ShadowBook",
    "ShadowVenue",
    "build_services",
    "session_mode",
]


@dataclass(slots=True)
class Services:
    """The service set of one process on one venue and one ledger session.

    Attributes:
        trader: the real venue (market data always comes from it).
        venue: where orders go: ``trader``, or the :class:`ShadowVenue` over it in shadow mode
            (its positions, balances and equity are the shadow account's).
        execution, plans, portfolio: the services.
        risk, costs: the RiskManager and CostTracker they use.
        ledger, writer: the ledger; ``session_id`` the run every row belongs to.
        shadow: True in shadow mode (nothing is sent to the venue).
    """

    settings: Settings
    trader: BaseTrader
    venue: BaseTrader
    execution: ExecutionService
    plans: PlanService
    portfolio: PortfolioTracker
    risk: RiskManager
    costs: CostTracker
    ledger: Ledger
    writer: LedgerWriter
    session_id: str
    shadow: bool


def session_mode(settings: Settings, shadow: bool, trader: BaseTrader | None = None) -> str:
    """The ledger session mode: ``shadow`` (nothing is sent), else ``paper`` or ``live`` from the facts
    (:func:`sdk.venues.mode.venue_mode` of the connected ``trader``; before connecting, the settings':
    ``IB_PAPER``, ``IB_PORT``, ``IB_ACCOUNT_ID`` or ``CCXT_SANDBOX``).

    Raises:
        ModeConflict: the facts disagree (``IB_PAPER=true`` on a ``U…`` account): refused, never guessed.
    """
    if shadow:
        return "shadow"
    return (venue_mode(trader, settings) if trader is not None else settings_mode(settings)).mode


async def build_services(
    settings: Settings,
    trader: BaseTrader,
    ledger: Ledger,
    *,
    session_id: str,
    shadow: bool,
    program: str = "runner",
    clock: Callable[[], float] | None = None,
    book: ShadowBook | None = None,
    writer: LedgerWriter | None = None,
) -> Services:
    """Build execution, plans and portfolio for ``trader`` writing to ``ledger`` as run ``session_id``.

    The run is started in the ledger (venue, masked account, base currency, mode, config hash, git sha)
    unless it is already there (a resumed run keeps its row).

    Args:
        settings: the process's settings (limits, prefix, base currency).
        trader: a connected venue.
        ledger: an opened, migrated ledger (:func:`sdk.ledger.open_ledger`).
        session_id: the run id (``sdk.logs.get_run_id()`` for a fresh run).
        shadow: simulate fills instead of sending (``not settings.execute_orders`` unless overridden).
        program: ``runner`` or ``mcp`` (the session's and events' source).
        clock: the venue's time in epoch seconds (default: the trader's clock, else the wall clock).
        book: the shadow account to use (default: seeded from the venue's account).
        writer: a writer to use (default ``ledger.writer(session_id)``).

    Returns:
        :class:`Services`.
    """
    writer = writer or ledger.writer(session_id)
    await asyncio.to_thread(_ensure_session, writer, settings, trader, session_id, shadow, program)
    await asyncio.to_thread(record_venue, writer, settings, trader, shadow=shadow, source=program)
    costs = CostTracker(settings)
    risk = RiskManager(settings, costs)
    holder: dict[str, PortfolioTracker] = {}

    async def pnl_today() -> Decimal:
        return await holder["portfolio"].pnl_today()

    execution = ExecutionService(
        trader, risk, costs, writer, session_id=session_id, shadow=shadow, settings=settings,
        pnl_today=pnl_today, clock=clock, book=book, source=program,
    )  # fmt: skip
    venue = await execution.venue()
    portfolio = PortfolioTracker(
        venue, writer, session_id=session_id, base_currency=settings.base_currency, clock=execution.clock
    )
    holder["portfolio"] = portfolio
    execution.fill_listeners.append(portfolio.on_fills)
    plans = PlanService(execution, writer, ledger)
    return Services(
        settings=settings, trader=trader, venue=venue, execution=execution, plans=plans, portfolio=portfolio,
        risk=risk, costs=costs, ledger=ledger, writer=writer, session_id=session_id, shadow=shadow,
    )  # fmt: skip


def _ensure_session(
    writer: LedgerWriter, settings: Settings, trader: BaseTrader, session_id: str, shadow: bool, program: str
) -> None:
    try:
        writer.session(session_id)
        return
    except LedgerInputError:
        pass
    fields = session_fields(settings)
    account = trader.account_id or fields["account"]  # the session's (IB: the first managed one when unset)
    writer.start_session(
        venue=trader.id, account=account, base_currency=fields["base_currency"],
        mode=session_mode(settings, shadow, trader), config_hash=fields["config_hash"], program=program,
        run_id=session_id, git_sha=git_sha(),
    )  # fmt: skip
