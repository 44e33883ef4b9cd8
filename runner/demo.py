"""``trader demo``: the daily job on the offline gateway, start to finish, in well under two minutes.

1. The market data: ``--data`` (default ``MARKET_DATA_DIR``, ``../shared/data``) when it is there, else
   the gateway's seeded synthetic universe (said plainly: its prices are not real).
2. The ledger at ``DATABASE_URL`` (default ``./data/trader.db``) is migrated; the run gets a fresh run id
   and earlier runs are kept, so the demo can be run again without clearing anything.
3. An offline IB Gateway starts in this process at the open of the session ``--sessions`` sessions
   before the end of the data, paused while the runner connects and backfills history for its
   moving averages (through the DataFetchCoordinator), then replays at ``--speed`` while the market
   trades and twenty times faster while it is shut (:class:`ReplayDriver`).
4. The StrategyRunner runs the strategy in shadow mode over the replayed sessions (orders filled locally
   with the gateway's fill model, nothing sent), printing each bar's decision, each order and plan.
5. A summary: orders, fills, commissions in AUD, realised and unrealised PnL and equity in AUD; then the
   commands that open the dashboard and the MCP server on the same ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from runner.runner import RunResult, StrategyRunner
from sdk.ledger import Ledger, mask_url
from sdk.ledger import queries as q
from sdk.services.plans import units
from sdk.settings import Settings
from sdk.sim.account import Holding
from sdk.symbols import parse_symbol

__all__ = ["DemoOptions", "DemoOutcome", "run_demo", "summary_rows"]

log = logging.getLogger(__name__)
Print = Callable[[str], None]
DEFAULT_SYMBOLS = ("BHP/AUD", "CBA/AUD", "CSL/AUD", "AUD/USD")


@dataclass(frozen=True)
class DemoOptions:
    """``trader demo`` options: data folder (None: ``MARKET_DATA_DIR``), symbols, strategy and its params,
    sessions replayed, replay speed in sessions (simulated seconds per wall second) and how many times faster
    closed hours pass (``idle_factor``), timeframe, order value (base currency)."""

    data_dir: Path | None = None
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    strategy: str = "ma_crossover"
    params: Mapping[str, float] = field(default_factory=dict)
    sessions: int = 20
    speed: float = 20_000.0
    idle_factor: float = 20.0
    timeframe: str = "1d"
    order_value: Decimal | None = None


@dataclass(frozen=True)
class DemoOutcome:
    """What the demo did: the run, whether the data was synthetic, the replayed window, the summary rows."""

    result: RunResult
    synthetic: bool
    start: datetime
    end: datetime
    rows: list[dict[str, Any]]


def _money(value: Decimal | float | None, places: int = 2) -> str:
    if value is None:
        return "-"
    return f"{Decimal(str(value)):,.{places}f}"


def _window(catalog: Any, symbols: tuple[str, ...], sessions: int) -> tuple[datetime, datetime]:  # local times
    """Open of the first and close of the last of the data's last ``sessions`` sessions (first symbol's market)."""
    from sdk.calendars import get_calendar

    info = catalog.instruments[symbols[0]]
    calendar = get_calendar(info.market)
    days = calendar.sessions(info.last - timedelta(days=3 * sessions + 30), info.last + timedelta(days=1))
    days = [d for d in days if d.open <= info.last]
    if len(days) < sessions:
        raise ValueError(
            f"the data of {symbols[0]} holds {len(days)} sessions; ask for --sessions {len(days)} or fewer"
        )
    return days[-sessions].open.astimezone(calendar.tz), days[-1].close.astimezone(calendar.tz)


async def run_demo(settings: Settings, options: DemoOptions, out: Print) -> DemoOutcome:
    """Run the demo (module docstring), printing as it goes through ``out``.

    Raises:
        ValueError: a symbol the data does not hold, or more sessions than it has (the message says which).
    """
    from runner.config import RunnerConfig
    from runner.runner import StrategyRunner
    from sdk.clock import SimulatedClock
    from sdk.data import load_catalog
    from sdk.gateway import GatewayConfig, OfflineGateway
    from sdk.ledger import open_ledger, upgrade
    from sdk.registry import create_trader
    from sdk.services.clock import SimClockFollower

    data_dir = options.data_dir or settings.market_data_dir
    real = data_dir.is_dir() and ((data_dir / "README.md").is_file() or any(data_dir.glob("*/*.csv")))
    catalog = await asyncio.to_thread(load_catalog, data_dir if real else None)
    if catalog.synthetic:
        out(f"market data: SYNTHETIC — no market data at {data_dir}; the offline gateway replays its seeded synthetic "
            "universe (made-up prices, not real ones). Pass --data ../shared/data for real data.")  # fmt: skip
    else:
        out(f"market data: real, from {data_dir}")
    missing = [s for s in options.symbols if s not in catalog.instruments]
    if missing:
        raise ValueError(
            f"the market data has no {', '.join(missing)}; it has {', '.join(sorted(catalog.instruments))}"
        )
    start, end = _window(catalog, options.symbols, options.sessions)
    until = end + timedelta(minutes=5)

    await asyncio.to_thread(upgrade, settings.database_url)
    ledger = open_ledger(settings.database_url, configured_url=True)
    out(f"ledger: {ledger.masked_url} (migrated; earlier runs are kept)")
    gw = OfflineGateway(
        GatewayConfig(port=0, control_port=0, speed=0, start=start, base_currency=settings.base_currency,
                      commission_plan=settings.ib_commission_plan, gst=settings.ib_gst),
        catalog=catalog,
    )  # fmt: skip
    demo_settings = settings.model_copy(
        update={"active_exchange": "IB", "ib_host": "127.0.0.1", "ib_port": 0, "ib_account_id": None,
                "ib_paper": True, "execute_orders": False}
    )  # fmt: skip
    try:
        await gw.start()
        demo_settings = demo_settings.model_copy(update={"ib_port": gw.port})
        venue_clock = SimulatedClock(gw.clock)
        trader = create_trader("IB", demo_settings, raw=True, clock=venue_clock)
        out(f"offline IB gateway on 127.0.0.1:{gw.port}, replaying {options.sessions} sessions "
            f"{start.date()} .. {end.date()} at x{options.speed:,.0f} (closed hours x"
            f"{options.speed * options.idle_factor:,.0f})")  # fmt: skip
        config = RunnerConfig(
            symbols=options.symbols, strategy=options.strategy, params=dict(options.params),
            timeframe=options.timeframe, shadow=True, until=until.timestamp(), order_value=options.order_value,
            resume=False,
        )  # fmt: skip
        printer = _Printer(out)
        markets = {catalog.instruments[s].market for s in options.symbols} - {"FX"} or {"FX"}
        pacer = ReplayDriver(gw, markets, options.speed, options.speed * options.idle_factor)

        def on_event(kind: str, payload: dict[str, Any]) -> None:
            if kind == "started":
                pacer.start()
            printer(kind, payload)

        try:
            await trader.connect()
            clock = SimClockFollower(gw.clock, driven_speed=lambda: pacer.speed)
            runner = StrategyRunner(demo_settings, config, clock=clock, trader=trader, ledger=ledger, on_event=on_event)
            pacer.follow(runner)
            result = await runner.run()
        finally:
            await pacer.stop()
            await trader.close()
        orders, executions = gw.state()["orders"], gw.state()["executions"]
        if orders or executions:  # shadow mode must never reach the venue
            raise AssertionError(f"shadow demo sent {len(orders)} orders to the gateway")
        rows = await asyncio.to_thread(summary_rows, ledger, result)
    finally:
        await gw.stop()
        ledger.close()
    _print_summary(out, result, rows, catalog.synthetic, start, end, settings)
    return DemoOutcome(result, bool(catalog.synthetic), start, end, rows)


class ReplayDriver:
    """Moves an in-process gateway's (paused) clock forward in small steps while this process is idle.

    ``session_speed`` simulated seconds per wall second while any of ``markets`` trades, ``idle_speed`` while
    they are all shut (nights and weekends pass quickly), stopping exactly at each open and close. Time
    only moves between the runner's steps: a step that keeps the event loop busy for 100 ms does not let
    the market run ahead by 100 ms × the speed, and while ``hold()`` is true (the runner is in a step,
    awaiting the venue: :meth:`follow`) the clock waits too, at most ``max_hold`` wall seconds at a time (a
    step that needs the market to move, such as a paper order waiting for its fill, is not stalled for
    long). So a replay far faster than real time still gives every session to the runner (a clock running
    freely at ×200,000 can pass a 0.1 s ASX session during one slow history request). :attr:`speed` is the
    nominal speed in force, for the runner's latency figures.
    """

    def __init__(
        self,
        gw: Any,
        markets: set[str],
        session_speed: float,
        idle_speed: float,
        step: float = 0.005,
        *,
        hold: Callable[[], bool] | None = None,
        max_hold: float = 2.0,
    ) -> None:
        from sdk.calendars import get_calendar

        self.gw = gw
        self.calendars = [get_calendar(m) for m in sorted(markets)]
        self.session_speed = session_speed
        self.idle_speed = max(idle_speed, session_speed)
        self.step = step
        self.hold = hold
        self.max_hold = max_hold
        self.speed = 0.0
        self._task: asyncio.Task[None] | None = None

    def follow(self, runner: StrategyRunner) -> None:
        """Hold the clock while ``runner`` is in a step (it moves only while the runner waits for its next wake)."""
        self.hold = lambda: not runner.waiting

    def _next_change(self) -> tuple[float, float]:
        now = self.gw.clock.now()
        open_now = [c.session_at(now) for c in self.calendars]
        if any(open_now):
            return self.session_speed, min(s.close.timestamp() for s in open_now if s is not None)
        return self.idle_speed, min(c.next_session(now).open.timestamp() for c in self.calendars)

    async def _run(self) -> None:
        last = time.perf_counter()
        held_since: float | None = None
        while True:
            await asyncio.sleep(self.step)
            wall = time.perf_counter()
            elapsed, last = min(wall - last, 2 * self.step), wall
            if self.hold is not None and self.hold():
                held_since = wall if held_since is None else held_since
                if wall - held_since < self.max_hold:
                    continue
            else:
                held_since = None
            self.speed, change = self._next_change()
            now = self.gw.clock.timestamp()
            seconds = self.speed * elapsed
            if change > now:
                seconds = min(seconds, change - now + 0.001)
            self.gw.clock.advance(seconds)

    def start(self) -> None:
        """Begin moving the clock (the gateway must be paused: ``speed=0``)."""
        if self._task is None:
            self.speed = self._next_change()[0]
            self._task = asyncio.get_running_loop().create_task(self._run(), name="demo-replay-driver")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class _Printer:
    """Readable lines for the runner's events."""

    def __init__(self, out: Print) -> None:
        self.out = out

    def __call__(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "bar":
            day = datetime.fromtimestamp(payload["bar_ts"] / 1000, UTC).date()
            text = "; ".join(f"{d['side']} ({d['reason']}) -> {d['outcome']}" for d in payload["decisions"])
            self.out(f"{day}  {payload['symbol']:<8} close {payload['close']:>10,.4f}  {text or '-'}")
        elif kind == "plan":
            plan = payload["plan"]
            held = f"held {plan['held']}" if plan["status"] == "active" else plan["status"]
            self.out(f"            plan {plan['plan_id']} {plan['symbol']} {held}: stop {plan['stop']}, "
                     f"target {plan['target']}" + (f" — {payload['why']}" if payload.get("why") else ""))  # fmt: skip
        elif kind == "order":
            order = (payload["result"] or {}).get("order") or {}
            self.out(f"            order {order.get('symbol')} {order.get('side')} {order.get('amount')} "
                     f"{order.get('status')} avg {order.get('average')}")  # fmt: skip


def summary_rows(ledger: Ledger, result: RunResult) -> list[dict[str, Any]]:
    """Per symbol of the run: orders, fills, units bought and sold, position, realised and unrealised PnL and
    commissions in the base currency (realised at average cost, converted at the run's last FX rates)."""
    run_id = result.run_id
    snapshot = result.portfolio
    rates = dict(snapshot.fx_rates) if snapshot else {}
    base = snapshot.base_currency if snapshot else "AUD"
    trades = sorted((t for t in q.trades_with_commissions(ledger, limit=None) if t.get("run_id") == run_id),
                    key=lambda t: (t["timestamp"], t["id"]))  # fmt: skip
    order_rows = _run_orders(ledger, run_id)
    positions = {p["symbol"]: p for p in (snapshot.positions if snapshot else ())}
    symbols = sorted({t["symbol"] for t in trades} | {o["symbol"] for o in order_rows} | set(positions))
    rows = []
    for symbol in symbols:
        quote = parse_symbol(symbol).quote
        rate = Decimal(1) if quote == base else Decimal(str(rates.get(quote, "0")))
        holding = Holding(symbol)
        bought = sold = commissions = Decimal(0)
        for t in (t for t in trades if t["symbol"] == symbol):
            holding.apply(t["side"], Decimal(str(t["amount"])), Decimal(str(t["price"])))
            bought += units(t["amount"]) if t["side"] == "buy" else 0
            sold += units(t["amount"]) if t["side"] == "sell" else 0
            commissions += Decimal(str(t["fee_in_base"] or 0))
        position = positions.get(symbol)
        unrealized = Decimal(str(position.get("unrealizedPnl") or 0)) * rate if position else Decimal(0)
        rows.append({
            "symbol": symbol,
            "orders": sum(1 for o in order_rows if o["symbol"] == symbol),
            "fills": sum(1 for t in trades if t["symbol"] == symbol),
            "bought": bought, "sold": sold,
            "position": units(position["contracts"]) if position else Decimal(0),
            "mark": position.get("markPrice") if position else None,
            "realized_base": holding.realized * rate,
            "unrealized_base": unrealized,
            "commissions_base": commissions,
        })  # fmt: skip
    return rows


def _run_orders(ledger: Ledger, run_id: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from sdk.ledger.models import OrderRow

    with ledger.read() as conn:
        return [dict(r) for r in conn.execute(select(OrderRow.__table__).where(OrderRow.run_id == run_id)).mappings()]


def _print_summary(
    out: Print, result: RunResult, rows: list[dict[str, Any]], synthetic: bool, start: datetime, end: datetime,
    settings: Settings,
) -> None:  # fmt: skip
    snap = result.portfolio
    base = snap.base_currency if snap else settings.base_currency
    t = result.telemetry
    out("")
    out(f"run {result.run_id}: {result.reason}; shadow mode (nothing sent), {'SYNTHETIC' if synthetic else 'real'} "
        f"data {start.date()} .. {end.date()}")  # fmt: skip
    header = (f"{'symbol':<9}{'orders':>7}{'fills':>6}{'bought':>10}{'sold':>10}{'position':>10}{'mark':>11}"
              f"{'realised ' + base:>16}{'unrealised ' + base:>18}{'commissions ' + base:>18}")  # fmt: skip
    out(header)
    out("-" * len(header))
    totals = {k: Decimal(0) for k in ("realized_base", "unrealized_base", "commissions_base")}
    for row in rows:
        for key in totals:
            totals[key] += row[key]
        mark = _money(row["mark"], 4) if row["mark"] is not None else "-"
        out(f"{row['symbol']:<9}{row['orders']:>7}{row['fills']:>6}{row['bought']:>10,}{row['sold']:>10,}"
            f"{row['position']:>10,}{mark:>11}{_money(row['realized_base']):>16}{_money(row['unrealized_base']):>18}"
            f"{_money(row['commissions_base']):>18}")  # fmt: skip
    out("-" * len(header))
    out(f"{'total':<9}{sum(r['orders'] for r in rows):>7}{sum(r['fills'] for r in rows):>6}{'':>40}"
        f"{_money(totals['realized_base']):>16}{_money(totals['unrealized_base']):>18}"
        f"{_money(totals['commissions_base']):>18}")  # fmt: skip
    if snap is not None:
        out(f"equity {base} {_money(snap.equity)} = cash {_money(snap.cash_base)} + positions "
            f"{_money(snap.positions_value)} (marks and FX of the last replayed minute; commissions in {base} at the "
            "rate of each fill)")  # fmt: skip
    rejections = ", ".join(f"{k} {v}" for k, v in t["rejections"].items()) or "none"
    out(
        f"bars {t['bars']}, plans {t['plans_proposed']}, orders approved {t['orders_approved']} (shadow-filled "
        f"{t['orders_shadow']}), decisions deferred to the open {t['deferred']}, risk rejections: {rejections}"
    )
    out(f"bar close -> decision p95 {t['bar_lag_ms']['p95']} ms, order ready -> executed p95 "
        f"{t['submit_latency_ms']['p95']} ms (wall time at x replay speed)")  # fmt: skip
    url = mask_url(settings.database_url)
    out("")
    out("The same ledger, from here on:")
    trader = trader_command()
    out(f"  dashboard:   DATABASE_URL='{url}' {trader} dashboard")
    out(f"  MCP server:  DATABASE_URL='{url}' {trader} mcp        (tools for an LLM agent; stdio)")
    out(f"  this run:    run id {result.run_id} in the sessions table")


def trader_command() -> str:
    """How to call ``trader`` from the current directory: ``trader`` when the shell finds this installation's
    script on ``PATH``, else its path (``.venv/bin/trader`` after ``make demo``, which does not activate the venv)."""
    script = Path(sys.executable).with_name("trader")
    found = shutil.which("trader")
    if not script.exists() or (found is not None and Path(found).resolve() == script.resolve()):
        return "trader"
    with contextlib.suppress(ValueError):
        return str(script.relative_to(Path.cwd()))
    return str(script)
