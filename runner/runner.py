"""The StrategyRunner: at each completed bar, per symbol: strategy -> RiskManager -> execution -> ledger.

What one run does (``trader run``)::

    runner = StrategyRunner(settings, RunnerConfig(symbols=("BHP/AUD", "AUD/USD"), timeframe="1d"), clock=clock)
    result = await runner.run()          # until config.until on the venue's clock, or request_stop()

1. **Wiring.** The venue comes from ``ACTIVE_EXCHANGE`` through the SDK's registry (IB on the runner's
   clock, or any ccxt id); the ledger from ``DATABASE_URL``; the services (:func:`sdk.services.build_services`)
   are the same ones the MCP server uses. A live IB account passes the live gate first
   (:mod:`sdk.services.live_gate`).
2. **Run id.** A fresh run, or the interrupted run of the same settings and configuration (a process
   killed mid-run: its session never ended), resumed: its plans, open orders, deferred decisions and
   the bars it had decided on come back from the ledger, and bars that completed meanwhile are decided
   on (with the same client order ids, so nothing already sent is sent again).
   The run is held by a lease in the ledger (:mod:`sdk.services.lease`): a run still held by another live
   process is refused (``RunHeld``, naming the holder); only a run whose lease expired is resumed.
3. **Resync** (:class:`~sdk.services.resync.ResyncService`) at start and after every reconnect.
4. **The loop**, driven by the clock (:mod:`sdk.services.clock`), not by a fixed wall interval: it sleeps
   until the next bar close of any symbol (:class:`~sdk.services.schedule.BarSchedule`: only within market
   hours), fetches the bars that became final (:class:`~sdk.services.data.DataFetchCoordinator`; every one,
   in order, even when the clock ran ahead), and for each: the strategy's decisions -> orders or plans
   (:class:`~runner.actions.DecisionExecutor`; decisions made while the market is shut wait for the
   open). Between bars it refreshes open orders and checks plans (:class:`~sdk.services.monitor.PlanMonitor`)
   while anything is open, and snapshots the portfolio; at the first step and every snapshot interval it
   records the venue's account summary (an ``account_summary`` event: IB's tags in the base currency, the
   dashboard's buying power). The health circuit
   (:class:`~runner.health.HealthCircuitManager`) holds the loop while the venue fails.
5. **Errors** in one symbol's step are logged with the symbol, timeframe, bar and stage, counted, and the
   bar is retried at the next close (up to three tries); a bar that fails its last try is given up (logged,
   counted as ``bars_failed``, a ``runner.bar_failed`` event) and the bars after it are decided on, in
   order. The loop never stops for them.
6. **Stop** (:meth:`StrategyRunner.request_stop`, SIGINT/SIGTERM in ``trader run``) between steps: a last
   snapshot, the telemetry, and the session's end are written, so the ledger is consistent.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from runner.actions import DecisionExecutor, EventSink
from runner.config import RunnerConfig, find_resumable, last_processed_bars
from runner.health import HealthCircuitManager
from runner.strategies import BarContext, Strategy, create_strategy
from runner.telemetry import Telemetry, WakeStamp, telemetry_log
from sdk.base import OHLCV, BaseTrader
from sdk.errors import BadSymbol, LiveTradingNotAllowed
from sdk.instruments import InstrumentSpec
from sdk.ledger import Ledger, open_ledger, session_fields
from sdk.ledger.leases import Holder
from sdk.ledger.leases import read as read_lease
from sdk.ledger.values import masked_account
from sdk.logs import new_run_id, set_run_id
from sdk.redaction import redact
from sdk.registry import create_trader
from sdk.services import PortfolioSnapshot, Services, build_services, session_mode
from sdk.services.clock import RunnerClock
from sdk.services.data import DataFetchCoordinator
from sdk.services.lease import LeaseKeeper, claim, run_resource
from sdk.services.live_gate import is_live, record_refusal, require_live_ready
from sdk.services.monitor import PlanMonitor
from sdk.services.records import trade_from_row
from sdk.services.resync import ResyncService
from sdk.services.schedule import BarSchedule
from sdk.settings import Settings
from sdk.venues.mode import venue_mode

__all__ = ["RunResult", "RunnerError", "StrategyRunner"]

log = logging.getLogger(__name__)
_MAX_RETRIES = 3
#: The event the dashboard reads buying power from (``dashboard.logic.reads.ACCOUNT_SUMMARY_KIND``).
ACCOUNT_SUMMARY_KIND = "account_summary"


@dataclass(slots=True)
class _Parts:
    """What one run's loop works with."""

    strategy: Strategy
    data: DataFetchCoordinator
    schedules: dict[str, BarSchedule]
    instruments: dict[str, InstrumentSpec]
    monitor: PlanMonitor
    executor: DecisionExecutor
    health: HealthCircuitManager


class RunnerError(RuntimeError):
    """The run cannot start as configured; the message says what to change."""


@dataclass(frozen=True)
class RunResult:
    """How a run ended: ``reason`` (``until reached``, ``stopped by SIGTERM``, ...), counters, last snapshot."""

    run_id: str
    reason: str
    resumed: bool
    until_reached: bool
    telemetry: dict[str, Any]
    portfolio: PortfolioSnapshot | None


class StrategyRunner:
    """Runs one strategy over symbols on one venue (see the module docstring).

    Args:
        settings: the SDK settings (venue, limits, ledger URL).
        config: what to run.
        clock: the runner's clock (wall, the gateway's simulated time, or the venue's).
        trader: an already connected venue (tests, the demo); by default one is created from
            ``ACTIVE_EXCHANGE`` through the registry on ``clock`` and closed at the end.
        ledger: an opened ledger (default: ``DATABASE_URL``, closed at the end).
        on_event: called with ``("started" | "bar" | "bar_failed" | "order" | "plan", payload)`` as the run goes
            (the demo prints them; ``started`` comes once, after the backfill, before the first bar).
        run_id: the id of a fresh run (default: a new random one). A backtest derives it from its configuration,
            so its client order ids (which derive from the run id) are the same in every run of it.
    """

    def __init__(
        self,
        settings: Settings,
        config: RunnerConfig,
        *,
        clock: RunnerClock,
        trader: BaseTrader | None = None,
        ledger: Ledger | None = None,
        on_event: EventSink | None = None,
        run_id: str | None = None,
    ) -> None:
        self.settings = settings
        self._fresh_run_id = run_id
        self.config = config
        self.clock = clock
        self.trader = trader
        self.ledger = ledger
        self.on_event = on_event
        self.telemetry = Telemetry()
        self._stop = asyncio.Event()
        self._stop_reason = ""
        self._due: dict[str, float] = {}
        self._retries: dict[tuple[str, int], int] = {}
        self._next_monitor = 0.0
        self._next_snapshot = 0.0
        self._next_account = 0.0
        self._final = False
        self._strategy_built: Strategy | None = None
        #: True while the loop waits for its next wake, between steps (a replay driver moves time only then).
        self.waiting = False
        self.run_id: str | None = None
        self.services: Services | None = None
        self.lease: LeaseKeeper | None = None
        self._previous_holder: dict[str, Any] | None = None

    def request_stop(self, reason: str = "stop requested") -> None:
        """Stop after the step in progress (safe from a signal handler)."""
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    # --- set-up -----------------------------------------------------------------------------------
    def _create_trader(self) -> BaseTrader:
        # raw: the runner builds its own services over the venue (sdk.services); a guarded trader would check twice
        return create_trader(self.settings.active_exchange, self.settings, raw=True, clock=self.clock)

    async def run(self) -> RunResult:
        """Run until ``config.until`` on the venue's clock or :meth:`request_stop`; see the module docstring.

        Raises:
            RunnerError: a strategy, symbol or resume request that cannot work, or ``until`` already past on the
                run's clock (nothing was traded).
            LiveTradingNotAllowed: a live account without ``IB_ALLOW_LIVE=true`` and the checklist.
            RunHeld: the run to resume is held by another live process's lease (the message names its host,
                pid, client id and since when); nothing was sent (a venue given, or ``--clock venue``, is already
                connected; otherwise none was).
            LeaseError: the ledger cannot be reached to take or read the run's lease.
            ccxt errors from connecting to the venue.
        """
        strategy = self.check()  # a bad strategy or plugin fails here, before anything connects
        async with AsyncExitStack() as stack:
            await self.clock.start()
            stack.push_async_callback(self.clock.close)
            self._check_until()
            ledger = self.ledger
            if ledger is None:
                ledger = open_ledger(self.settings.database_url, configured_url=True)
                stack.callback(ledger.close)
            trader = self.trader
            venue = trader.id if trader is not None else self.settings.active_exchange
            account = trader.account_id if trader is not None else session_fields(self.settings)["account"]
            resumed = await self._choose_run(ledger, venue, account)
            self.lease = await self._hold_run(ledger)  # RunHeld: another live process holds this run
            stack.push_async_callback(self.lease.stop)
            if trader is None:
                trader = self._create_trader()
                stack.push_async_callback(trader.close)
                await trader.connect()
            return await self._run(trader, ledger, strategy, resumed)
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_until(self) -> None:
        """Refuse an ``until`` already past on the run's clock (it would end at once, deciding nothing)."""
        until, now = self.config.until, self.clock.now()
        if until is not None and now >= until:
            raise RunnerError(
                f"--until {_iso(until)} is already past on the run's clock ({type(self.clock).__name__}: "
                f"{_iso(now)}); give a later --until in the venue's time, or the clock to follow (--clock)"
            )

    async def _choose_run(self, ledger: Ledger, venue: str, account: str | None) -> bool:
        """Pick the run id before anything is logged about the venue: a fresh one, or the interrupted run's."""
        resumed = None
        if self.config.resume is not False:
            fields = session_fields(self.settings)
            resumed = await asyncio.to_thread(
                find_resumable, ledger, venue=venue, account=masked_account(account) if account else None,
                mode=session_mode(self.settings, self.config.shadow, self.trader), config_hash=fields["config_hash"],
                fingerprint=self.config.fingerprint(),
            )  # fmt: skip
        if self.config.resume is True and resumed is None:
            raise RunnerError("no interrupted run of this configuration to resume; run without --resume")
        self.run_id = resumed or self._fresh_run_id or new_run_id()
        set_run_id(self.run_id)
        return resumed is not None

    async def _hold_run(self, ledger: Ledger) -> LeaseKeeper:
        """Take the run's lease (refuse, naming the holder, when another live process has it) and keep it."""
        assert self.run_id is not None
        resource, ttl = run_resource(self.run_id), self.settings.lease_ttl
        holder = Holder.this_process()
        previous = await asyncio.to_thread(read_lease, ledger, resource)
        await asyncio.to_thread(claim, ledger, resource, holder, ttl=ttl, take_over=self.config.take_over)
        if previous is not None:  # a crashed (or stopped) holder's: recorded once the run's session exists
            self._previous_holder = {
                "host": previous.host, "pid": previous.pid, "client_id": previous.client_id,
                "heartbeat_at": previous.heartbeat_at, "expires_at": previous.expires_at,
            }  # fmt: skip
        keeper = LeaseKeeper(
            ledger, resource, holder, ttl=ttl, on_lost=lambda why: self.request_stop(f"lease lost: {why}")
        )
        keeper.start()
        return keeper

    def check(self) -> Strategy:
        """The strategy, built once (plugins imported): call before connecting a venue to fail fast.

        Raises:
            RunnerError: a plugin that cannot be imported, an unknown strategy or a bad parameter.
        """
        if self._strategy_built is None:
            self._strategy_built = self._strategy()
        return self._strategy_built

    def _strategy(self) -> Strategy:
        for module in self.config.plugins:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise RunnerError(
                    f"strategy plugin {module!r} cannot be imported ({exc}); check its name and PYTHONPATH"
                ) from None
        try:
            return create_strategy(self.config.strategy, **self.config.params)
        except ValueError as exc:
            raise RunnerError(str(exc)) from None

    async def _instruments(self, trader: BaseTrader, ledger: Ledger) -> dict[str, InstrumentSpec]:
        """Each symbol's instrument (BadSymbol when the venue does not list one), then the live gate."""
        instruments: dict[str, InstrumentSpec] = {}
        for symbol in self.config.symbols:
            try:
                instruments[symbol] = await trader.fetch_instrument(symbol)
            except BadSymbol as exc:
                raise RunnerError(f"{symbol}: {exc}; give symbols {trader.id} lists (--symbols)") from None
        mode = venue_mode(trader, self.settings)  # the facts; a conflict between them is refused here
        if is_live(mode, execute=not self.config.shadow):
            markets = {s: spec.market for s, spec in instruments.items()}
            try:
                await asyncio.to_thread(
                    require_live_ready, self.settings, ledger, markets, mode=mode, fingerprint=self.config.fingerprint()
                )
            except LiveTradingNotAllowed as refused:
                assert self.run_id is not None
                await asyncio.to_thread(record_refusal, ledger, self.settings, trader, self.run_id, refused)
                raise
        return instruments

    async def _run(self, trader: BaseTrader, ledger: Ledger, strategy: Strategy, resumed: bool) -> RunResult:
        config, clock = self.config, self.clock
        instruments = await self._instruments(trader, ledger)
        run_id = self.run_id
        assert run_id is not None
        services = await build_services(
            self.settings, trader, ledger, session_id=run_id, shadow=config.shadow, clock=clock.now
        )
        self.services = services
        writer = services.writer
        if self.lease is not None:  # every order records this holder and the clientId it was sent under
            await self.lease.attach(writer, lambda: trader.client_id)
            services.execution.lease_still_ours = self.lease.still_ours  # a lost order is re-sent only by its owner
            lease = self.lease
            services.execution.lease_lost = lambda: lease.lost  # and nothing at all is sent once it is lost
        schedules = {s: BarSchedule(spec.market, config.timeframe) for s, spec in instruments.items()}
        data = DataFetchCoordinator(trader, clock.now)
        monitor = PlanMonitor(services.plans, services.execution, data, schedules.get, clock.now)
        order_value = config.order_value or min(self.settings.max_order_value, Decimal(10_000))
        executor = DecisionExecutor(
            services, monitor, self.telemetry, strategy=strategy.name, timeframe=config.timeframe,
            order_value=order_value, schedule_of=schedules.__getitem__, instrument_of=instruments.__getitem__,
            on_event=self.on_event, at_close=config.send_at_close,
        )  # fmt: skip
        health = HealthCircuitManager(trader, writer, session_id=run_id, clock=clock.now)
        resync = ResyncService(services)
        reason, until_reached = "stopped", False
        try:
            setup = {"fingerprint": config.fingerprint(), "resumed": resumed, "order_value": str(order_value),
                     "strategy": strategy.params}  # fmt: skip
            await self._event("runner.config", setup)
            if self._previous_holder is not None:
                await self._event("runner.lease_taken", {"previous": self._previous_holder})
            if resumed:
                await self._resume(services, monitor, executor)
            await resync.run("resume" if resumed else "start")
            health.on_resynced.append(resync.run)
            health.attach()
            await self._backfill(data, strategy, schedules, ledger, run_id if resumed else None)
            log.info(
                "runner started",
                extra={"run_id": run_id, "resumed": resumed, "venue": trader.id, "shadow": config.shadow,
                       "symbols": ",".join(config.symbols), "strategy": strategy.name, "timeframe": config.timeframe,
                       "clock": datetime.fromtimestamp(clock.now(), UTC).isoformat(), "speed": clock.speed},
            )  # fmt: skip
            parts = _Parts(strategy, data, schedules, instruments, monitor, executor, health)
            if self.on_event is not None:
                self.on_event("started", {"run_id": run_id, "resumed": resumed, "clock": clock.now()})
            reason, until_reached = await self._loop(parts)
        except asyncio.CancelledError:
            reason = "cancelled"
            raise
        except BaseException as exc:
            reason = f"error: {type(exc).__name__}: {exc}"
            raise
        finally:
            snapshot = await self._finish(services, health, reason)
        return RunResult(run_id, reason, resumed, until_reached, self.summary(), snapshot)

    def summary(self) -> dict[str, Any]:
        """The telemetry, with the order counts of the execution service (strategy orders, plan entries and exits)."""
        summary = self.telemetry.summary()
        if self.services is not None:
            stats = self.services.execution.stats
            summary.update(
                orders_proposed=stats.proposed, orders_approved=stats.approved, orders_sent=stats.sent,
                orders_shadow=stats.shadow_filled, orders_replayed=stats.replayed, rejections=dict(stats.rejections),
            )  # fmt: skip
        return summary

    async def _resume(self, services: Services, monitor: PlanMonitor, executor: DecisionExecutor) -> None:
        from sdk.ledger import queries as q

        plans = await services.plans.load()
        await monitor.load()
        fills = await asyncio.to_thread(q.trades_by_client_prefix, services.ledger, self.settings.client_order_prefix)
        services.portfolio.on_fills([trade_from_row(r) for r in fills if r.get("run_id") == services.session_id])
        rows = await asyncio.to_thread(
            q.orders_by_client_prefix, services.ledger, self.settings.client_order_prefix, statuses={"open"}
        )
        for row in rows:
            if row.get("run_id") == services.session_id and not services.shadow:
                services.execution.track(row["client_order_id"], row.get("plan_id"))
        deferred = await executor.restore_deferred()
        await self._event("runner.resumed", {"plans": len(plans), "deferred": deferred})
        log.warning("resumed an interrupted run", extra={"run_id": services.session_id, "plans": len(plans),
                                                         "deferred": deferred})  # fmt: skip

    async def _backfill(
        self,
        data: DataFetchCoordinator,
        strategy: Strategy,
        schedules: dict[str, BarSchedule],
        ledger: Ledger,
        resumed_run: str | None,
    ) -> None:
        config = self.config
        history = config.history or strategy.warmup + 5
        start = self.clock.now()  # bars completing from here on are decided on, even during the backfill
        await asyncio.gather(
            *(data.backfill(s, config.timeframe, history, schedules[s], as_of=start) for s in config.symbols)
        )
        last = (
            {}
            if resumed_run is None
            else await asyncio.to_thread(last_processed_bars, ledger, resumed_run, config.symbols)
        )
        for symbol in config.symbols:
            if symbol in last:
                data.rewind(symbol, config.timeframe, last[symbol])
                self._due[symbol] = start  # bars completed while the run was down are decided on now
            else:
                self._due[symbol] = schedules[symbol].next_close(start) + config.settle

    # --- the loop ---------------------------------------------------------------------------------
    async def _loop(self, parts: _Parts) -> tuple[str, bool]:
        config, clock = self.config, self.clock
        while True:
            if self._stop.is_set():
                return f"stopped by {self._stop_reason}", False
            now = clock.now()
            if config.until is not None and now >= config.until:
                self._final = True  # no later close to retry a failing bar at
                if await parts.health.allow():  # bars that completed by ``until`` are still decided on
                    await self._tick(config.until, parts, as_of=config.until)
                return "until reached", True
            if await parts.health.allow():
                await self._tick(now, parts)
            self.waiting = True
            try:
                await clock.sleep_until(self._next_wake(parts.executor), max_wall=0.25)
            finally:
                self.waiting = False

    def _next_wake(self, executor: DecisionExecutor) -> float:
        wake = min(self._due.values())
        if executor.deferred:
            wake = min(wake, min(d.not_before for d in executor.deferred))
        assert self.services is not None
        busy = self.services.execution.open_client_order_ids or any(p.is_open for p in self.services.plans.list())
        if busy:
            wake = min(wake, self._next_monitor)
        if self.config.until is not None:
            wake = min(wake, self.config.until)
        return wake

    async def _tick(self, now: float, parts: _Parts, *, as_of: float | None = None) -> None:
        config, services = self.config, self.services
        assert services is not None
        data, schedules, health = parts.data, parts.schedules, parts.health
        parts.executor.wake = WakeStamp.now(now, self.clock.speed)
        due = [s for s in config.symbols if now >= self._due[s]]
        if due:
            fetched = await asyncio.gather(
                *(data.completed_bars(s, config.timeframe, schedules[s], as_of=as_of) for s in due),
                return_exceptions=True,
            )
            for symbol, bars in zip(due, fetched, strict=True):
                self._due[symbol] = schedules[symbol].next_close(now) + config.settle
                if isinstance(bars, BaseException):
                    self._failed(symbol, None, "fetch bars", bars, health)
                    continue
                for bar in bars:
                    if not await self._decide(symbol, bar, parts):
                        break
        await self._guarded("deferred orders", parts.executor.run_deferred, health)
        speed = self.clock.speed
        if due or now >= self._next_monitor:
            if services.execution.open_client_order_ids or any(p.is_open for p in services.plans.list()):
                await self._guarded("plan monitor", lambda: self._monitor(parts.monitor), health)
            self._next_monitor = now + max(config.monitor_interval, config.min_wall_gap * speed)
        if due or now >= self._next_snapshot:
            await self._guarded("portfolio snapshot", services.portfolio.record, health)
            self._next_snapshot = now + max(config.snapshot_interval, 0.5 * speed)
        if now >= self._next_account:  # at the first tick, then every snapshot interval (not every bar)
            await self._guarded("account summary", self._account_summary, health)
            self._next_account = now + max(config.snapshot_interval, 0.5 * speed)

    async def _account_summary(self) -> None:
        """The venue's account summary (IB's tags, in the base currency) as an ``account_summary`` event.

        The payload is ``{tag: value}`` exactly as the dashboard reads it (``BuyingPower``, ``NetLiquidation``,
        ``AvailableFunds``, ... as numbers in ``IB_BASE_CURRENCY``; ``dashboard.logic.reads.latest_account_event``).
        A venue without one (``has["fetchAccountSummary"]`` False: ccxt) records nothing.
        """
        assert self.services is not None
        if not self.services.trader.has.get("fetchAccountSummary"):
            return
        summary = await self.services.trader.fetch_account_summary()
        payload = {str(tag): float(value) for tag, value in summary.items()}
        base = self.settings.ib_base_currency
        await self._event(ACCOUNT_SUMMARY_KIND, payload, message=f"{self.services.trader.id} account summary in {base}")

    async def _monitor(self, monitor: PlanMonitor) -> None:
        assert self.services is not None
        orders = await self.services.execution.refresh_open_orders()
        await monitor.on_orders(orders)
        changed = await monitor.check()
        for plan in changed:
            self.telemetry.counters.plan_exits += plan.status == "closed"
            if self.on_event is not None:
                self.on_event("plan", {"plan": plan.to_dict(), "why": plan.exit_reason})

    async def _guarded(self, stage: str, call: Callable[[], Any], health: HealthCircuitManager) -> None:
        try:
            await call()
            health.record_success()
        except Exception as exc:
            self._failed(None, None, stage, exc, health)

    def _failed(
        self, symbol: str | None, bar_ts: int | None, stage: str, exc: BaseException, health: HealthCircuitManager
    ) -> None:
        self.telemetry.counters.step_errors += 1
        health.record_failure(exc)
        log.error(
            "step failed: %s", stage, exc_info=exc,
            extra={"symbol": symbol, "timeframe": self.config.timeframe, "bar_ts": bar_ts, "stage": stage},
        )  # fmt: skip

    async def _decide(self, symbol: str, bar: OHLCV, parts: _Parts) -> bool:
        """Decide on one completed bar; False (and the bar handed back for a retry) when the step failed."""
        assert self.services is not None
        config, clock = self.config, self.clock
        strategy, data, executor, health = parts.strategy, parts.data, parts.executor, parts.health
        schedule, spec = parts.schedules[symbol], parts.instruments[symbol]
        bar_ts = int(bar[0])
        series = data.series(symbol, config.timeframe)
        window = [row for row in series if int(row[0]) <= bar_ts]
        lag_ms = executor.wake.wall_ms_since(schedule.bar_close(bar_ts)) if executor.wake is not None else None
        try:
            position = await self._position(symbol)
            plans = [p for p in self.services.plans.list() if p.symbol == symbol and p.is_open
                     and p.origin == f"strategy:{strategy.name}"]  # fmt: skip
            context = BarContext(symbol, config.timeframe, window, position, spec,
                                 datetime.fromtimestamp(clock.now(), UTC), tuple(plans))  # fmt: skip
            decisions = strategy.on_bar(context) if len(window) >= strategy.warmup else []
            outcomes = [await executor.act(symbol, bar, i, d) for i, d in enumerate(decisions)]
        except Exception as exc:
            self._failed(symbol, bar_ts, "decide", exc, health)
            tries = self._retries.get((symbol, bar_ts), 0) + 1
            self._retries[(symbol, bar_ts)] = tries
            if tries < _MAX_RETRIES and not self._final:
                data.rewind(symbol, config.timeframe, bar_ts - 1)  # decided on again at the next close
                return False
            await self._give_up(symbol, bar_ts, tries, exc)
            return True  # the bars after it are decided on, in order
        health.record_success()
        counters = self.telemetry.counters
        counters.bars += 1
        counters.decisions += len(decisions)
        if lag_ms is not None:
            self.telemetry.bar_lag.add(lag_ms)
        summary = [{"decision": type(d).__name__, "side": d.side, "reason": d.reason, "outcome": o}
                   for d, o in zip(decisions, outcomes, strict=True)]  # fmt: skip
        when = datetime.fromtimestamp(bar_ts / 1000, UTC).isoformat()
        telemetry_log.info(
            "bar",
            extra={"symbol": symbol, "timeframe": config.timeframe, "bar": when, "close": bar[4],
                   "decisions": len(decisions), "conId": spec.con_id, "exchange": spec.exchange,
                   "lag_ms": round(lag_ms, 2) if lag_ms is not None else None},
        )  # fmt: skip
        payload = {"symbol": symbol, "timeframe": config.timeframe, "bar_ts": bar_ts, "close": bar[4],
                   "decisions": summary, "lag_ms": round(lag_ms, 3) if lag_ms is not None else None}  # fmt: skip
        await self._event("runner.bar", payload, symbol=symbol)
        if self.on_event is not None:
            self.on_event("bar", payload)
        return True

    async def _give_up(self, symbol: str, bar_ts: int, tries: int, exc: BaseException) -> None:
        """A bar that failed its last try: counted, logged and a ``runner.bar_failed`` event; never decided on."""
        self._retries.pop((symbol, bar_ts), None)
        self.telemetry.counters.bars_failed += 1
        when = datetime.fromtimestamp(bar_ts / 1000, UTC).isoformat()
        error = redact(f"{type(exc).__name__}: {exc}")
        log.error(
            "bar given up after %d tries: %s %s %s", tries, symbol, self.config.timeframe, when,
            extra={"symbol": symbol, "timeframe": self.config.timeframe, "bar_ts": bar_ts, "tries": tries},
        )  # fmt: skip
        payload = {"symbol": symbol, "timeframe": self.config.timeframe, "bar_ts": bar_ts, "tries": tries,
                   "stage": "decide", "error": error}  # fmt: skip
        await self._event("runner.bar_failed", payload, symbol=symbol)
        if self.on_event is not None:
            self.on_event("bar_failed", payload)

    async def _position(self, symbol: str) -> Decimal:
        assert self.services is not None
        total = Decimal(0)
        for position in await self.services.venue.fetch_positions([symbol]):
            if position.get("symbol") == symbol:
                amount = Decimal(str(position.get("contracts") or 0))
                total += -amount if position.get("side") == "short" else amount
        return total

    async def _event(
        self, kind: str, payload: dict[str, Any], *, symbol: str | None = None, message: str | None = None
    ) -> None:
        assert self.services is not None
        await asyncio.to_thread(
            self.services.writer.record_event, kind, payload, symbol=symbol, source="runner", message=message,
            timestamp=int(self.clock.now() * 1000), run_id=self.services.session_id,
        )  # fmt: skip

    async def _finish(self, services: Services, health: HealthCircuitManager, reason: str) -> PortfolioSnapshot | None:
        health.detach()
        await health.drain()
        try:  # a fee the venue reported after the last step is in the ledger before the run ends
            await services.execution.refresh_open_orders()
        except Exception as exc:
            log.warning("final refresh of open orders failed; resync records it next start", extra={"error": str(exc)})
        snapshot: PortfolioSnapshot | None = None
        try:
            snapshot = await services.portfolio.record()
        except Exception as exc:
            log.warning("final snapshot failed", extra={"error": str(exc)})
        summary = self.summary()
        try:
            await self._event("runner.telemetry", summary)
            await asyncio.to_thread(services.writer.end_session, services.session_id, reason=reason)
        except Exception:
            log.exception("could not record the end of the run")
        telemetry_log.info(
            "run ended", extra={"reason": reason, **{k: v for k, v in summary.items() if k != "rejections"}}
        )
        return snapshot


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
