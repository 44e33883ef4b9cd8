"""The server's typed lifespan: one venue connection, the ledger, the shared services, the tokens.

:func:`make_lifespan` returns the lifespan :func:`mcp_server.build_server` hands to ``MCPServer``.
It opens the ledger (refusing an unmigrated one with the command that fixes it), connects the venue
with the server's own IB client id (``MCP_IB_CLIENT_ID``), records a ledger session
(``program="mcp"``), builds the runner's services and the market data coordinator
(``sdk.services.data.DataFetchCoordinator``), takes the account's trading lease (``mcp:<venue>:<masked account>``:
a second trading server on one account is refused, naming the first) and resyncs, so fills and status changes
nobody watched are recorded (orders sending for real only), starts the plan watcher when trading is enabled,
and undoes it all in reverse order at shutdown. Tools reach it as ``ctx.request_context.lifespan_context``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mcp_server.tokens import LedgerTokenStore, TokenStore
from sdk.calendars import market_status
from sdk.ledger import git_sha, open_ledger, session_fields
from sdk.logs import new_run_id, set_run_id

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from mcp_server.monitor import PlanWatch
    from mcp_server.ohlcv import OhlcvCache
    from sdk.base import BaseTrader
    from sdk.clock import Clock
    from sdk.ledger import Ledger, LedgerWriter
    from sdk.services import Services
    from sdk.services.data import DataFetchCoordinator
    from sdk.services.lease import LeaseKeeper
    from sdk.settings import Settings

__all__ = ["AppState", "ServicesFactory", "TraderFactory", "default_trader", "make_lifespan"]

log = logging.getLogger(__name__)

#: Builds the (unconnected) venue for the server from settings and the clock it should use.
TraderFactory = Callable[["Settings", "Clock"], "BaseTrader"]
#: Builds the runner's services (``sdk.services.build_services``: an async function).
ServicesFactory = Callable[..., Any]


@dataclass
class AppState:
    """What every tool call can use (the lifespan context).

    Attributes:
        settings: the server's settings.
        trader: the connected venue (its own IB client id).
        ledger: the ledger (reads through ``sdk.ledger.queries``).
        writer: the ledger writer bound to this server's session (audit events).
        run_id: this server's session in the ledger.
        clock: the venue's clock ("now" for market hours and history).
        tokens: the confirmation tokens of ``preview_order`` / ``place_order``.
        services: the runner's services (``sdk.services.Services``: execution, plans, portfolio, and
            ``venue``, the account orders go to: the shadow account in shadow mode).
        ohlcv: the cache of completed candles.
        data: the runner's :class:`sdk.services.data.DataFetchCoordinator` over ``trader``: the one way the market
            data tools and the plan watcher get tickers, books and candles (its IB guardrails, quote cache,
            shared in-flight requests and concurrency bound).
        watch: the plan watcher (stops and targets of the plans created here), when trading is enabled.
        lease: the lease of this trading session (``mcp:<venue>:<masked account>``, ``sdk.services.lease``) while
            ``MCP_TRADING_ENABLED`` and ``EXECUTE_ORDERS`` are true; ``lease.lost`` says why it was lost.
    """

    settings: Settings
    trader: BaseTrader
    ledger: Ledger
    writer: LedgerWriter
    run_id: str
    clock: Clock
    tokens: TokenStore | LedgerTokenStore
    ohlcv: OhlcvCache
    data: DataFetchCoordinator
    services: Services | None = None
    watch: PlanWatch | None = None
    mode: str = "shadow"
    lease: LeaseKeeper | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def account(self) -> BaseTrader:
        """Where balances, positions, orders and fills are read: the shadow account in shadow mode, else the venue."""
        return self.services.venue if self.services is not None else self.trader


def default_trader(settings: Settings, clock: Clock) -> BaseTrader:
    """The venue ``ACTIVE_EXCHANGE`` names; IB with the server's own client id ``MCP_IB_CLIENT_ID``."""
    from sdk.registry import create_trader

    own_id = {"ib_client_id": settings.mcp_ib_client_id, "ib_client_id_max": settings.mcp_ib_client_id}
    return create_trader(settings.active_exchange, settings.model_copy(update=own_id), raw=True, clock=clock)


async def _default_services(
    settings: Settings, trader: BaseTrader, ledger: Ledger, *, session_id: str, shadow: bool, **options: Any
) -> Any:
    from sdk.services import build_services  # the runner's one execution path (issue #7)

    return await build_services(settings, trader, ledger, session_id=session_id, shadow=shadow, **options)


async def _hold_trading_session(
    settings: Settings, ledger: Ledger, trader: BaseTrader, venue: str, account: str | None
) -> LeaseKeeper:
    """The lease ``mcp:<venue>:<masked account>`` of this trading session (``sdk.services.lease``), kept by a heartbeat.

    Raises:
        RunHeld: another live MCP server trades this account; the message names it (host, pid, client id).
        LeaseError: the ledger cannot be reached: refuse to trade.
    """
    from sdk.ledger.leases import Holder
    from sdk.redaction import mask_account
    from sdk.services.lease import LeaseKeeper, claim

    resource = f"mcp:{venue}:{mask_account(account) if account else ''}"
    holder, ttl = Holder.this_process(), settings.lease_ttl
    await asyncio.to_thread(claim, ledger, resource, holder, ttl=ttl)
    keeper = LeaseKeeper(ledger, resource, holder, ttl=ttl, on_lost=lambda why: log.critical(
        "the MCP server's trading lease is lost: stop this server", extra={"reason": why}))  # fmt: skip
    keeper.start()
    return keeper


async def _pick_up_unwatched(state: AppState) -> None:
    """At start, record fills and status changes of our orders that happened while no process watched (an
    earlier server stopped after placing, a runner that crashed): the runner's resync (``sdk.services.resync``)."""
    from sdk.services.resync import ResyncService

    if state.services is None:
        raise RuntimeError("the MCP server's services are built before it picks up unwatched orders")
    await ResyncService(state.services, source="mcp").run("start")


def make_lifespan(
    settings: Settings,
    *,
    trader_factory: TraderFactory | None = None,
    clock: Clock | None = None,
    token_clock: Callable[[], float] | None = None,
    services_factory: ServicesFactory | None = None,
    on_ready: Callable[[AppState], None] | None = None,
    watch_interval: float | None = None,
) -> Callable[[MCPServer[AppState]], Any]:
    """The server's lifespan (see the module doc).

    Args:
        settings: the settings in effect.
        trader_factory: builds the venue (default :func:`default_trader`); tests pass one that uses the
            offline gateway's simulated clock.
        clock: whose time the server follows: a ``now()``/``sleep()`` clock such as the runner's
            (:mod:`sdk.services.clock`: ``WallClock``, ``GatewayControlClock``). Default: the venue's own time
            (:class:`sdk.clock.VenueClock` over IB's ``reqCurrentTime``, which the trader also stamps
            its payloads with), so market hours, history and every time a tool answers or the audit records
            follow the venue, the offline gateway's replayed day included; the wall clock for ccxt venues.
        token_clock: the clock confirmation tokens expire on (default ``time.monotonic``).
        services_factory: builds the runner's services (default ``sdk.services.build_services``).
        on_ready: called with the :class:`AppState` once everything is up (tests and embedding programs).
        watch_interval: wall seconds between plan-watch rounds (default
            :data:`mcp_server.monitor.DEFAULT_INTERVAL_S`); 0 runs none (tests call ``state.watch.tick()``).
    """
    from mcp_server.ohlcv import OhlcvCache

    @asynccontextmanager
    async def lifespan(_server: MCPServer[AppState]) -> AsyncIterator[AppState]:
        from sdk.clock import VenueClock, WaitableClock
        from sdk.services.clock import WallClock, default_clock_spec
        from sdk.services.data import DataFetchCoordinator

        venue: list[Any] = []
        venue_clock: Any = clock
        if venue_clock is None:
            own_time = default_clock_spec(settings.active_exchange) == "venue"
            venue_clock = VenueClock(lambda: venue[0].fetch_time()) if own_time else WallClock()
        async with AsyncExitStack() as stack:
            ledger = open_ledger(settings.database_url, configured_url=True)
            stack.callback(ledger.close)
            trader = (trader_factory or default_trader)(settings, venue_clock)
            venue.append(trader)
            stack.push_async_callback(trader.close)
            await trader.connect()
            if isinstance(venue_clock, WaitableClock):  # a clock with a life cycle (the others just tell time)
                await venue_clock.start()
                stack.push_async_callback(venue_clock.close)
            fields = session_fields(settings)
            account = trader.account_id or fields["account"]
            writer = ledger.writer()
            run_id = new_run_id()
            set_run_id(run_id)
            await asyncio.to_thread(
                functools.partial(
                    writer.start_session,
                    venue=fields["venue"],
                    account=account,
                    base_currency=fields["base_currency"],
                    mode=fields["mode"],
                    config_hash=fields["config_hash"],
                    program="mcp",
                    run_id=run_id,
                    git_sha=git_sha(),
                )
            )
            state = AppState(
                settings=settings,
                trader=trader,
                ledger=ledger,
                writer=writer,
                run_id=run_id,
                clock=venue_clock,
                tokens=TokenStore(token_clock) if token_clock is not None else LedgerTokenStore(ledger),
                ohlcv=OhlcvCache(),
                data=DataFetchCoordinator(trader, venue_clock.now),
                mode=str(fields["mode"]),
            )
            build = services_factory or _default_services
            state.services = await build(
                settings,
                trader,
                ledger,
                session_id=run_id,
                shadow=not settings.execute_orders,
                program="mcp",
                clock=venue_clock.now,
                writer=writer,
            )
            if settings.execute_orders:
                if settings.mcp_trading_enabled:  # one trading server per account: RunHeld names the other
                    state.lease = await _hold_trading_session(settings, ledger, trader, str(fields["venue"]), account)
                    await state.lease.attach(writer, lambda: trader.client_id)
                    stack.push_async_callback(state.lease.stop)
                    lease = state.lease  # its write tools send nothing once another server holds the account
                    state.services.execution.lease_still_ours = lease.still_ours
                    state.services.execution.lease_lost = lambda: lease.lost
                await _pick_up_unwatched(state)
            await asyncio.to_thread(market_status, datetime.fromtimestamp(venue_clock.now(), UTC))  # warm calendars
            if settings.mcp_trading_enabled:
                from mcp_server.monitor import DEFAULT_INTERVAL_S, PlanWatch

                interval = DEFAULT_INTERVAL_S if watch_interval is None else watch_interval
                state.watch = PlanWatch(
                    state.services,
                    trader,
                    venue_clock.now,
                    interval or DEFAULT_INTERVAL_S,
                    data=state.data,
                    kill_switch_file=settings.kill_switch_file,
                    writer=writer,
                )
                if interval:
                    state.watch.start()
                stack.push_async_callback(state.watch.stop)
            if on_ready is not None:
                on_ready(state)
            reason = "stopped"
            log.info(
                "MCP server ready",
                extra={"venue": trader.id, "mode": state.mode, "trading": settings.mcp_trading_enabled},
            )
            try:
                yield state
            except BaseException as exc:
                reason = f"stopped by {type(exc).__name__}"
                raise
            finally:
                await asyncio.to_thread(writer.end_session, run_id, reason=reason)

    return lifespan
