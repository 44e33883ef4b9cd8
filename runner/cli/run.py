"""`trader run`: the StrategyRunner on ACTIVE_EXCHANGE (IB or any ccxt id), shadow by default.

Example (four symbols, daily bars, shadow, until a date on the venue's clock)::

    trader run --exchange IB --symbols BHP/AUD,CBA/AUD,CSL/AUD,AUD/USD --strategy ma_crossover --timeframe 1d \\
        --shadow --until 2025-12-31

The run follows the venue's clock by default on IB (``--clock venue``: IB's ``reqCurrentTime``, so an offline
gateway replaying another day at ×20,000 is followed at ×20,000), the wall clock on ccxt venues.

Exit status: 0 when the run reached ``--until`` or was stopped by SIGINT/SIGTERM (the ledger is
consistent either way), 1 when it failed, 2 for a bad option or setting (an ``--until`` already past on
the run's clock included; a ledger that cannot be reached to take the run's lease), 3 when the run to resume is
held by another live process (the message names its host, pid, client id and since when; ``--take-over`` waits
for a crashed holder's lease to expire), or when the run stopped because its lease was lost (taken over, or not
renewable for a whole ``LEASE_TTL``). See ``docs/runner.md``.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from sdk.cli.common import state

__all__ = ["register"]


_HELP = {
    "exchange": "IB or a ccxt exchange id (default ACTIVE_EXCHANGE).",
    "symbols": "Comma-separated canonical symbols (default ALLOWED_SYMBOLS).",
    "strategy": "A registered strategy: ma_crossover, momentum, ...",
    "param": "Strategy parameter NAME=NUMBER (repeatable), e.g. --param fast=5.",
    "timeframe": "Bar size the strategy decides on (5m, 1h, 1d, ...).",
    "shadow": "Simulate fills, nothing sent (--shadow) or execute (--execute); default EXECUTE_ORDERS.",
    "until": "Stop (exit 0) at this venue time: 2025-12-31 (00:00 UTC) or ISO 8601 with an offset.",
    "order_value": "Notional of one order in the base currency (default: MAX_ORDER_VALUE, at most 10000).",
    "clock": (
        "Whose time the run follows (--until, bar closes, market hours): venue (the venue's own time and speed, "
        "IB's reqCurrentTime: the offline gateway's replay included), wall, or the offline gateway's control URL "
        "(http://127.0.0.1:4099). Default: venue on IB, wall on ccxt venues."
    ),
    "resume": "Resume the interrupted run of this configuration, or start afresh (default: resume one if any).",
    "monitor_interval": "Venue seconds between plan checks and order refreshes.",
    "plugin": "A module to import first that registers strategies (repeatable), e.g. mydesk.strategies.",
    "take_over": (
        "When the run to resume is held by another process's lease, wait for that lease to expire (a crashed "
        "holder's: at most LEASE_TTL plus a margin) instead of refusing at once. A live holder is never displaced."
    ),
}


def _params(values: list[str]) -> dict[str, float]:
    params: dict[str, float] = {}
    for item in values:
        key, eq, value = item.partition("=")
        try:
            if not eq or not key.strip():
                raise ValueError
            params[key.strip()] = float(value)
        except ValueError:
            raise typer.BadParameter(
                f"{item!r}: write NAME=NUMBER, e.g. --param fast=5", param_hint="--param"
            ) from None
    return params


def register(app: typer.Typer) -> None:
    """Add `trader run` to the root app."""

    @app.command(
        "run",
        help=(
            "Run a strategy at every completed bar: strategy -> RiskManager -> execution, the ledger written as it "
            "goes. Shadow mode (EXECUTE_ORDERS=false, the default) fills orders locally against live quotes and "
            "sends nothing. A run killed mid-way is resumed by the same command. See docs/runner.md."
        ),
    )
    def _run(
        ctx: typer.Context,
        exchange: Annotated[str | None, typer.Option(help=_HELP["exchange"])] = None,
        symbols: Annotated[str | None, typer.Option(help=_HELP["symbols"])] = None,
        strategy: Annotated[str, typer.Option(help=_HELP["strategy"])] = "ma_crossover",
        param: Annotated[list[str] | None, typer.Option(help=_HELP["param"])] = None,
        timeframe: Annotated[str, typer.Option(help=_HELP["timeframe"])] = "5m",
        shadow: Annotated[bool | None, typer.Option("--shadow/--execute", help=_HELP["shadow"])] = None,
        until: Annotated[str | None, typer.Option(help=_HELP["until"])] = None,
        order_value: Annotated[str | None, typer.Option(help=_HELP["order_value"])] = None,
        clock: Annotated[str | None, typer.Option(help=_HELP["clock"])] = None,
        resume: Annotated[bool | None, typer.Option("--resume/--new-run", help=_HELP["resume"])] = None,
        monitor_interval: Annotated[float, typer.Option(help=_HELP["monitor_interval"])] = 60.0,
        plugin: Annotated[list[str] | None, typer.Option(help=_HELP["plugin"])] = None,
        take_over: Annotated[bool, typer.Option("--take-over", help=_HELP["take_over"])] = False,
    ) -> None:
        from runner.config import RunnerConfig, parse_until
        from runner.launch import run_until_done
        from runner.runner import RunnerError
        from sdk.errors import BaseError
        from sdk.ledger import LedgerError
        from sdk.ledger.leases import LeaseHeld
        from sdk.services.clock import default_clock_spec

        overrides: dict[str, object] = {}
        if exchange is not None:
            overrides["active_exchange"] = exchange
        if shadow is not None:
            overrides["execute_orders"] = not shadow
        settings = state(ctx).settings(**overrides)
        chosen = [s.strip() for s in (symbols.split(",") if symbols else settings.allowed_symbols) if s.strip() != "*"]
        try:
            value = Decimal(order_value) if order_value is not None else None
        except InvalidOperation:
            raise typer.BadParameter(
                f"{order_value!r} is not a number, e.g. 10000", param_hint="--order-value"
            ) from None
        try:
            config = RunnerConfig(
                symbols=tuple(s.strip() for s in chosen if s.strip()), strategy=strategy, params=_params(param or []),
                timeframe=timeframe, shadow=not settings.execute_orders,
                until=parse_until(until) if until else None, order_value=value, resume=resume,
                monitor_interval=monitor_interval, plugins=tuple(plugin or ()), take_over=take_over,
            )  # fmt: skip
        except (ValueError, BaseError) as exc:
            typer.echo(f"trader run: {exc}", err=True)
            raise typer.Exit(2) from None
        try:
            result = asyncio.run(
                run_until_done(settings, config, clock or default_clock_spec(settings.active_exchange))
            )
        except LeaseHeld as exc:  # another live process holds this run: refused before anything was sent
            typer.echo(f"trader run: refused: {exc}", err=True)
            raise typer.Exit(3) from None
        except (RunnerError, ValueError, LedgerError) as exc:
            typer.echo(f"trader run: {exc}", err=True)
            raise typer.Exit(2) from None
        except BaseError as exc:
            typer.echo(f"trader run: {type(exc).__name__}: {exc}", err=True)
            raise typer.Exit(1) from None
        lost_lease = "lease lost" in result.reason
        typer.echo(
            f"run {result.run_id} ended: {result.reason}; bars {result.telemetry['bars']}, orders "
            f"{result.telemetry['orders_approved']} approved ({result.telemetry['orders_sent']} sent, "
            f"{result.telemetry['orders_shadow']} shadow), plans {result.telemetry['plans_proposed']}"
            + (f"; equity {result.portfolio.equity} {result.portfolio.base_currency}" if result.portfolio else ""),
            err=lost_lease,
        )
        if lost_lease:  # another process owns the run now: not a clean end, whatever the loop did
            raise typer.Exit(3)
