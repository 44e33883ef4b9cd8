"""`trader data download`: IB history into the Parquet cache, planned, paced, resumable (issue 15).

The work is :mod:`sdk.services.history_download`'s; this module parses the command line, connects the venue
(``ACTIVE_EXCHANGE``: IB, or the offline gateway at ``IB_HOST``/``IB_PORT``), shows progress (a bar per symbol on a
terminal, plain lines otherwise) and prints what each symbol's download did. Exit status: 0 every window finished,
1 some left pending or failed (run the same command again: it resumes), 2 bad input (nothing was requested).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sdk.cli.common import state

if TYPE_CHECKING:
    from sdk.data.download_plan import DownloadPlan, PlannedChunk
    from sdk.services.history_download import DownloadResult

__all__ = ["register"]

#: Symbols downloaded at once (the venue's pacing budget admits every request; this bounds open work).
CONCURRENT_SYMBOLS = 4


class _Lines:
    """Progress as log lines on stderr (no terminal)."""

    def planned(self, plan: DownloadPlan, todo: int) -> None:
        typer.echo(f"{plan.symbol}: {todo} of {len(plan.chunks)} windows to request", err=True)

    def advanced(self, plan: DownloadPlan, chunk: PlannedChunk) -> None:
        done = sum(c.finished for c in plan.chunks)
        typer.echo(f"{plan.symbol}: window {chunk.start} {chunk.status} ({chunk.bars} bars); "
                   f"{done}/{len(plan.chunks)} finished", err=True)  # fmt: skip

    def note(self, plan: DownloadPlan, message: str) -> None:
        typer.echo(f"{plan.symbol}: {message}", err=True)


class _Bars:
    """A rich progress bar per symbol: windows done / total, bars, time left at the pace so far."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.bars: dict[str, int] = {}

    def planned(self, plan: DownloadPlan, todo: int) -> None:
        self.bars[plan.symbol] = 0
        self.tasks[plan.symbol] = self.progress.add_task(plan.symbol, total=max(todo, 1), bars=0)
        if not todo:
            self.progress.update(self.tasks[plan.symbol], completed=1)

    def advanced(self, plan: DownloadPlan, chunk: PlannedChunk) -> None:
        self.bars[plan.symbol] += chunk.bars
        self.progress.update(self.tasks[plan.symbol], advance=1, bars=self.bars[plan.symbol])

    def note(self, plan: DownloadPlan, message: str) -> None:
        self.progress.console.print(f"{plan.symbol}: {message}")


def _symbols(text: str) -> list[str]:
    found = [s.strip() for s in text.split(",") if s.strip()]
    if not found:
        raise typer.BadParameter("give one or more symbols, comma-separated (e.g. SPY/USD,BHP/AUD)")
    return found


async def _download_all(ctx: typer.Context, requests: list[Any], progress: Any) -> list[DownloadResult | Exception]:
    from sdk.registry import create_trader
    from sdk.services.history_download import download

    settings = state(ctx).settings()
    trader = create_trader(settings.active_exchange, settings, raw=True)
    gate = asyncio.Semaphore(CONCURRENT_SYMBOLS)

    async def one(request: Any) -> DownloadResult | Exception:
        async with gate:
            try:
                return await download(trader, request, progress=progress)
            except Exception as exc:  # one symbol's failure never stops the others; reported below
                return exc

    await trader.connect()
    try:
        return list(await asyncio.gather(*(one(r) for r in requests)))
    finally:
        await trader.close()


def register(data_app: typer.Typer) -> None:
    """Add ``download`` to ``trader data``."""

    @data_app.command("download")
    def download_command(
        ctx: typer.Context,
        symbols: Annotated[str, typer.Argument(help="Canonical symbols, comma-separated: SPY/USD,BHP/AUD,AUD/USD.")],
        bar_size: Annotated[str, typer.Option("--bar-size", help="IB's bar size: '1 min', '5 mins', '1 day'.")],
        start: Annotated[str, typer.Option("--start", help="First trading date, YYYY-MM-DD.")],
        end: Annotated[str, typer.Option("--end", help="Last trading date, YYYY-MM-DD (inclusive).")],
        what_to_show: Annotated[
            str | None,
            typer.Option(
                "--what-to-show",
                help="TRADES|MIDPOINT|BID|ASK|BID_ASK|ADJUSTED_LAST (default: TRADES, MIDPOINT for FX).",
            ),
        ] = None,
        rth: Annotated[bool, typer.Option("--rth/--all-hours", help="Regular trading hours only (default).")] = True,
        cache: Annotated[
            Path | None, typer.Option("--cache", help="Cache directory (default: the DATA_CACHE_DIR setting).")
        ] = None,
        fill_from: Annotated[
            Path | None,
            typer.Option("--fill-from", help="Local files (any format the catalog reads) for bars IB cannot give."),
        ] = None,
    ) -> None:
        """Download IB history into the Parquet cache: planned per IB's request limits, paced, resumable."""
        from sdk.errors import BadRequest
        from sdk.services.history_download import DownloadRequest, check_request

        try:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError as exc:
            typer.echo(f"error: {exc}; give dates as YYYY-MM-DD", err=True)
            raise typer.Exit(2) from None
        directory = cache or state(ctx).settings().data_cache_dir
        if fill_from is not None and not fill_from.is_dir():
            typer.echo(
                f"error: --fill-from {fill_from} is not a directory; give a folder of market-data files", err=True
            )
            raise typer.Exit(2)
        requests = [DownloadRequest(s, bar_size, first, last, directory, what_to_show, rth, fill_from)
                    for s in _symbols(symbols)]  # fmt: skip
        try:
            check_request(requests[0])  # bad input is refused before anything connects
        except BadRequest as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[bars]} bars"), TimeRemainingColumn())  # fmt: skip
            with Progress(*columns, transient=False) as bars:
                results = asyncio.run(_download_all(ctx, requests, _Bars(bars)))
        else:
            results = asyncio.run(_download_all(ctx, requests, _Lines()))
        status = _report(requests, results)
        raise typer.Exit(status)


def _report(requests: list[Any], results: list[DownloadResult | Exception]) -> int:
    from sdk.errors import BadRequest, BadSymbol

    status = 0
    for request, result in zip(requests, results, strict=True):
        if isinstance(result, BadRequest | BadSymbol):
            typer.echo(f"{request.symbol}: error: {result}", err=True)
            status = max(status, 2)
            continue
        if isinstance(result, Exception):
            typer.echo(f"{request.symbol}: failed: {type(result).__name__}: {result}", err=True)
            status = max(status, 1)
            continue
        plan = result.plan
        counts: dict[str, int] = {}
        for chunk in plan.chunks:
            counts[chunk.status] = counts.get(chunk.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        hours = "rth" if plan.rth else "all hours"
        typer.echo(f"{plan.symbol} {plan.bar_size} {plan.what_to_show} {hours}: {result.bars} bars in "
                   f"{len(result.files)} month files, {result.requests} requests; windows: {summary}")  # fmt: skip
        for note in result.notes:
            typer.echo(f"  {note}")
        if plan.verify is not None:
            shown = ", ".join(f"{k} {v}" for k, v in plan.verify.items() if v or k in ("expected", "present"))
            typer.echo(f"  verify: {shown} (trader data verify {plan.symbol} --bar-size '{plan.bar_size}' for more)")
        if not result.complete:
            status = max(status, 1)
    return status
