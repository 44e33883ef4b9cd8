"""The backtest engine: the runner's own :class:`~runner.runner.StrategyRunner` over a simulated venue.

A backtest takes the decision path of ``trader run`` by construction, not by imitation::

    Strategy.on_bar -> DecisionExecutor (sizing, client order ids, the market-hours gate)
        -> ExecutionService -> RiskManager (limits, kill switch, daily loss limit) -> SimulatedVenue
        -> PlanMonitor (a plan's stop and target)

:func:`run_backtest` builds, for one :class:`~runner.backtest.prepare.PreparedRun`:

* the venue: :class:`~sdk.sim.venue.SimulatedVenue` over the prepared bars (:class:`~runner.backtest.prepare.
  PricedCatalog`), its fill model from ``--fill``, ``--slippage-bps`` and ``--fill-volume-share``, opening cash from
  ``--cash``, IB's commission schedules and the catalog's FX. It is a simulation (``mode_facts``: ``simulated``), so
  the live gate sees a paper venue;
* the clock: :class:`~runner.backtest.clock.SteppedClock`, the venue's time, stepped by the runner's waits (no wall
  time passes), recording equity at every bar close (:class:`~runner.backtest.record.EquityRecorder`);
* the settings: the caller's, with ``EXECUTE_ORDERS=true`` (orders go to the simulated venue), ``ALLOWED_SYMBOLS``
  the run's symbols, and a kill-switch file and ledger of the run's own: a SQLite file in a temporary directory,
  deleted at the end (written without ``fsync``: nothing needs to survive it), so a backtest neither reads nor
  writes the trading ledger and a trader's engaged kill switch does not stop a simulation;
* the runner's configuration: ``shadow=False``, ``until`` the day after ``--end``, ``settle=0`` (a simulated bar is
  final at its end), ``resume=False``, and the run id :meth:`~runner.backtest.config.BacktestConfig.engine_run_id`.

The strategy is warmed up by the runner's own backfill from the venue's ``fetch_ohlcv`` (the bars closed before
``--start``). Everything is read back from the venue at the end: orders, fills, equity; :func:`run_backtest` returns
them with the closed trades and the metrics (:func:`sdk.backtest.compute_metrics`).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from ccxt.base.types import Order, Trade
from sqlalchemy import event

from runner.backtest.clock import SteppedClock, market_events
from runner.backtest.prepare import PreparedRun
from runner.backtest.record import EquityRecorder, FillRow, OpenAtEnd, fill_rows, round_trips
from runner.config import RunnerConfig
from runner.runner import StrategyRunner
from sdk.backtest import ClosedTrade, PerformanceMetrics, compute_metrics
from sdk.backtest.metrics import NYSE_SESSION_SECONDS
from sdk.ledger import Ledger, open_ledger, upgrade
from sdk.settings import Settings
from sdk.sim.bars import BarSeries
from sdk.sim.matching import FillConfig
from sdk.sim.venue import SimulatedVenue

__all__ = ["BacktestResult", "run_backtest", "run_settings"]

#: Regular session seconds per market, for intraday annualisation (:func:`sdk.backtest.periods_per_year`).
SESSION_SECONDS = {"NYSE": NYSE_SESSION_SECONDS, "ASX": 21_600, "FX": 86_400}
#: The runner's counters a backtest reports (its latencies mean nothing on a stepped clock).
COUNTERS = (
    "bars", "decisions", "orders_proposed", "orders_approved", "orders_sent", "orders_replayed", "plans_proposed",
    "plan_exits", "deferred", "deferred_dropped", "step_errors", "bars_failed", "rejections",
)  # fmt: skip


@dataclass(frozen=True)
class BacktestResult:
    """What one backtest produced (units: prices in each symbol's quote currency, money in the base currency).

    Attributes:
        prepared: the run's inputs.
        engine_run_id: the runner's run id (the client order ids derive from it).
        reason: how the runner ended (``until reached``).
        counters: the runner's counters (:data:`COUNTERS`).
        orders, trades: every order and fill of the venue (ccxt structures), oldest first.
        fills: the fills with their costs (:class:`~runner.backtest.record.FillRow`).
        account: equity, cash and exposure per bar close (:meth:`EquityRecorder.frame`).
        closed: the round trips (open positions closed at the last close included); ``open_at_end`` those.
        decisions: every bar that brought decisions: ``{"symbol", "bar_ts", "decisions": [...]}``.
        metrics: :func:`sdk.backtest.compute_metrics` of the run.
        engine_seconds: wall seconds inside the runner (the simulation itself).
        series: per symbol, the bars replayed as the venue reads them (their ``[start, end)``).
        steps: how many times the runner's waits moved the clock.
    """

    prepared: PreparedRun
    engine_run_id: str
    reason: str
    counters: dict[str, Any]
    orders: list[Order]
    trades: list[Trade]
    fills: list[FillRow]
    account: pd.DataFrame
    closed: list[ClosedTrade]
    open_at_end: list[OpenAtEnd]
    decisions: list[dict[str, Any]]
    metrics: PerformanceMetrics
    engine_seconds: float
    series: dict[str, BarSeries] = field(default_factory=dict)
    steps: int = 0

    @property
    def equity(self) -> pd.Series:
        return self.account["equity"]

    @property
    def exposure(self) -> pd.DataFrame:
        columns = {f"exposure:{s}": s for s in self.prepared.config.symbols}
        return self.account[list(columns)].rename(columns=columns)


def run_settings(settings: Settings, prepared: PreparedRun, workdir: Path) -> Settings:
    """``settings`` as the run uses them (module docstring): executing, the run's symbols allowed, the run's own
    ledger and kill-switch file under ``workdir``."""
    return settings.model_copy(
        update={
            "execute_orders": True,
            "allowed_symbols": list(prepared.config.symbols),
            "database_url": f"sqlite:///{workdir / 'ledger.db'}",
            "kill_switch_file": workdir / "KILL_SWITCH",
        }
    )


def _without_fsync(ledger: Ledger) -> None:
    """The run's own ledger is deleted at the end: commit without waiting for the disk."""

    def pragma(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA synchronous = OFF")

    event.listen(ledger.engine, "connect", pragma)
    ledger.engine.dispose()  # the connection opened by the migration check was made before the listener


def _venue(settings: Settings, prepared: PreparedRun) -> SimulatedVenue:
    config = prepared.config
    return SimulatedVenue(
        settings, prepared.view, symbols=config.symbols, timeframe=config.timeframe,
        start=datetime.fromtimestamp(config.start_ts, UTC), end=datetime.fromtimestamp(config.until, UTC),
        history_start=prepared.history_start, cash=config.opening_cash,
        config=FillConfig(fill_volume_share=config.fill_volume_share, slippage_bps=config.slippage_bps),
        fill_at="close" if config.fill == "at-close" else "next_open",
    )  # fmt: skip


def _series(prepared: PreparedRun) -> dict[str, BarSeries]:
    config = prepared.config
    until = datetime.fromtimestamp(config.until, UTC)
    return {
        s: BarSeries.from_catalog(prepared.view, s, prepared.bar_size, prepared.history_start, until)
        for s in config.symbols
    }


def _session_seconds(prepared: PreparedRun) -> int:
    markets = set(prepared.markets.values())
    return SESSION_SECONDS.get(markets.pop(), NYSE_SESSION_SECONDS) if len(markets) == 1 else NYSE_SESSION_SECONDS


def _last_bars(
    venue: SimulatedVenue, series: dict[str, BarSeries], until: int
) -> dict[str, tuple[int, Decimal, Decimal]]:
    last: dict[str, tuple[int, Decimal, Decimal]] = {}
    for symbol, bars in series.items():
        n = bars.closed_by(until)
        if n:
            end = int(bars.end[n - 1])
            rate = venue.rates.rate(symbol.split("/")[1], venue.base_currency, end)
            last[symbol] = (end, Decimal(repr(float(bars.close[n - 1]))), rate)
    return last


async def run_backtest(prepared: PreparedRun, settings: Settings) -> BacktestResult:
    """Run ``prepared`` through the runner on a simulated venue (module docstring) and read the results back.

    Args:
        prepared: a checked run (:func:`runner.backtest.prepare.prepare`).
        settings: the caller's settings (risk limits, commission plan, base currency, client order prefix).

    Raises:
        RunnerError: the runner refused to start (it names why).
        FxRateUnavailable: a currency the run needs has no FX bars then.
        ValueError: the account was ruined (equity at or below zero), so the metrics have no returns.
    """
    config = prepared.config
    with tempfile.TemporaryDirectory(prefix="trader-backtest-") as tmp:
        workdir = Path(tmp)
        used = run_settings(settings, prepared, workdir)
        await asyncio.to_thread(upgrade, used.database_url)
        venue = _venue(used, prepared)
        series = _series(prepared)
        recorder = EquityRecorder(venue, config.symbols, daily=not prepared.bar_size.intraday)
        events = market_events(prepared.markets.values(), prepared.bar_size.seconds, prepared.start_ms,
                               prepared.until_ms)  # fmt: skip
        clock = SteppedClock(
            venue, events=events, ends=(int(t) for b in series.values() for t in b.end), end_ms=prepared.until_ms,
            on_close=recorder.on_close,
        )  # fmt: skip
        runner_config = RunnerConfig(
            symbols=config.symbols, strategy=config.strategy, params=dict(config.params), timeframe=config.timeframe,
            shadow=False, until=config.until, order_value=config.order_value, settle=0.0, resume=False,
            plugins=config.plugins, send_at_close=config.fill == "at-close",
        )  # fmt: skip
        decisions: list[dict[str, Any]] = []

        def on_event(kind: str, payload: dict[str, Any]) -> None:
            if kind == "bar" and payload.get("decisions"):
                decisions.append({"symbol": payload["symbol"], "bar_ts": payload["bar_ts"],
                                  "decisions": payload["decisions"]})  # fmt: skip

        with open_ledger(used.database_url) as ledger:
            _without_fsync(ledger)
            runner = StrategyRunner(
                used, runner_config, clock=clock, trader=venue, ledger=ledger, on_event=on_event,
                run_id=config.engine_run_id(),
            )  # fmt: skip
            started = time.perf_counter()
            outcome = await runner.run()
            engine_seconds = time.perf_counter() - started
    orders = sorted(await venue.fetch_closed_orders() + await venue.fetch_open_orders(),
                    key=lambda o: (int(o["timestamp"] or 0), str(o["id"])))  # fmt: skip
    trades = await venue.fetch_my_trades()
    fills = fill_rows(venue, trades, orders, prepared.frames(), at_close=config.fill == "at-close")
    closed, still = round_trips(fills, _last_bars(venue, series, prepared.until_ms))
    account = recorder.frame()
    columns = {f"exposure:{s}": s for s in config.symbols}
    metrics = compute_metrics(
        account["equity"], closed, account[list(columns)].rename(columns=columns), timeframe=config.timeframe,
        risk_free_rate=config.risk_free_rate, session_seconds=_session_seconds(prepared),
    )  # fmt: skip
    telemetry = outcome.telemetry
    return BacktestResult(
        prepared=prepared, engine_run_id=config.engine_run_id(), reason=outcome.reason,
        counters={k: telemetry.get(k) for k in COUNTERS}, orders=orders, trades=trades, fills=fills,
        account=account, closed=closed, open_at_end=still, decisions=decisions, metrics=metrics,
        engine_seconds=engine_seconds, series=series, steps=clock.steps,
    )  # fmt: skip
