"""`trader gateway`: run the offline IB Gateway (TWS API over replayed market data) until interrupted."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sdk.cli.common import state

if TYPE_CHECKING:
    from sdk.gateway import GatewayConfig

__all__ = ["build_config", "register"]

_OPTION = {
    "host": "--host", "port": "--port", "control_port": "--control-port", "data_dir": "--data", "start": "--start",
    "speed": "--speed", "seed": "--seed", "account": "--account", "base_currency": "--base-currency",
    "cash": "--cash", "state_file": "--state-file", "faults": "--faults", "commission_plan": "--commission-plan",
    "gst": "--gst", "pacing": "--pacing",
}  # fmt: skip


def build_config(**options: Any) -> GatewayConfig:
    """A :class:`GatewayConfig` from CLI options; raises ``typer.BadParameter`` naming the option at fault.

    ``--data`` must be an existing directory and ``--state-file`` must not be a directory.
    """
    from pydantic import ValidationError

    from sdk.gateway import GatewayConfig

    data_dir = options.get("data_dir")
    if data_dir is not None and not Path(data_dir).is_dir():
        what = "is not a directory" if Path(data_dir).exists() else "does not exist"
        raise typer.BadParameter(
            f"market data directory {data_dir} {what}; give the directory of the market data files, "
            "e.g. --data ../shared/data, or leave --data out to serve the synthetic universe",
            param_hint="--data",
        )
    state_file = options.get("state_file")
    if state_file is not None and Path(state_file).is_dir():
        raise typer.BadParameter(
            f"{state_file} is a directory; give a JSON file to keep the account in, e.g. --state-file data/paper.json",
            param_hint="--state-file",
        )
    start = options.get("start")
    if isinstance(start, str):
        try:
            options["start"] = datetime.fromisoformat(start)
        except ValueError:
            raise typer.BadParameter(
                f"{start!r} is not ISO 8601; give a time with its offset, e.g. 2025-03-03T10:00:00+11:00",
                param_hint="--start",
            ) from None
    try:
        return GatewayConfig(**{k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        raise typer.BadParameter(message, param_hint=_OPTION.get(field, field or None)) from None


async def serve(config: GatewayConfig) -> None:
    """Run a gateway until SIGINT or SIGTERM, then stop it cleanly (state file written)."""
    from sdk.gateway import OfflineGateway

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with OfflineGateway(config) as gw:
        typer.echo(
            f"offline IB gateway on {config.host}:{gw.port}"
            + (f", control API http://{config.host}:{gw.control_port}" if gw.control_port is not None else "")
            + f", simulated time {gw.clock.now().isoformat()} x{gw.clock.speed:g}. Ctrl-C stops it.",
            err=True,
        )
        await stop.wait()


def register(app: typer.Typer) -> None:
    """Add `trader gateway` to the root app."""

    @app.command(
        "gateway",
        help=(
            "Run the offline IB Gateway: a TWS API server (ib_async and ib_insync connect unchanged) replaying "
            "real market data (--data) or a seeded synthetic universe, with a simulated paper account, clock, "
            "pacing and faults. See docs/gateway.md."
        ),
    )
    def _gateway(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="Loopback address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TWS API port (0: a free port).")] = 4002,
        control_port: Annotated[int, typer.Option(help="Control API (HTTP, JSON) port; 0: a free port.")] = 4099,
        data: Annotated[
            Path | None, typer.Option(help="Market data directory (e.g. ../shared/data); default: synthetic data.")
        ] = None,
        start: Annotated[
            str | None,
            typer.Option(
                help="Simulated start, ISO 8601 with offset (default: a recent ASX open; on an existing "
                "--state-file, the clock saved in it, and never earlier)."
            ),
        ] = None,
        speed: Annotated[float, typer.Option(help="Simulated seconds per real second; 0 pauses.")] = 1.0,
        seed: Annotated[int, typer.Option(help="Seed of synthetic data, intraday paths and quote sizes.")] = 0,
        account: Annotated[str, typer.Option(help="Paper account number.")] = "DU0000001",
        base_currency: Annotated[str, typer.Option(help="Account base currency.")] = "AUD",
        cash: Annotated[str, typer.Option(help="Opening cash, e.g. AUD=1000000,USD=0.")] = "AUD=1000000",
        state_file: Annotated[
            Path | None, typer.Option(help="JSON file keeping account, orders and executions across restarts.")
        ] = None,
        faults: Annotated[
            str, typer.Option(help="Faults, e.g. drop_every=30,reject_next=1,delay_ms=50 (docs/gateway.md).")
        ] = "",
        commission_plan: Annotated[
            str | None, typer.Option(help="IB commission plan: fixed or tiered (default: IB_COMMISSION_PLAN).")
        ] = None,
        gst: Annotated[bool | None, typer.Option(help="Add 10% GST to commissions (default: IB_GST).")] = None,
        pacing: Annotated[bool, typer.Option(help="Enforce IB's historical-data pacing rules (error 162).")] = True,
    ) -> None:
        from sdk.gateway import ListenError

        settings = state(ctx).settings()
        config = build_config(
            host=host, port=port, control_port=control_port, data_dir=data, start=start, speed=speed, seed=seed,
            account=account, base_currency=base_currency, cash=cash, state_file=state_file, faults=faults,
            commission_plan=commission_plan or settings.ib_commission_plan,
            gst=settings.ib_gst if gst is None else gst, pacing=pacing,
        )  # fmt: skip
        try:
            asyncio.run(serve(config))
        except ListenError as exc:
            typer.echo(f"trader gateway: {exc}", err=True)
            raise typer.Exit(1) from None
        except (FileNotFoundError, ValueError) as exc:  # the market data or the state file (named in exc)
            typer.echo(f"trader gateway: {exc}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            typer.echo(f"trader gateway: {exc.strerror or exc}{where}; check the path and its permissions", err=True)
            raise typer.Exit(1) from None
