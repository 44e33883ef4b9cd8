"""`trader data status`: what the IB history cache holds (per symbol, bar size, whatToShow, RTH) and its downloads.

Reads only the cache's file metadata and download plans (:func:`sdk.data.status.data_status`); connects to
nothing. ``--cache`` defaults to the ``DATA_CACHE_DIR`` setting (``./data/ib-cache``). ``--json`` prints the
service's dict as it is (the same body as ``GET /data/status`` of ``trader api``). Exit status 0, or 2 when the
cache path is not a directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sdk.cli.common import state

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["register"]

CacheDirOption = Annotated[
    Path | None,
    typer.Option("--cache", help="The IB history cache (default: the DATA_CACHE_DIR setting, ./data/ib-cache)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def cache_dir(ctx: typer.Context, cache: Path | None) -> Path:
    """``--cache`` or the ``DATA_CACHE_DIR`` setting."""
    return cache if cache is not None else state(ctx).settings().data_cache_dir


def _day(iso: str | None) -> str:
    return (iso or "-").replace("T", " ").removesuffix("Z")[:16]


def _coverage(spans: list[list[int]]) -> str:
    from sdk.data.status import iso_utc

    if not spans:
        return "-"
    text = ", ".join(f"{(iso_utc(a) or '')[:10]}..{(iso_utc(b) or '')[:10]}" for a, b in spans[:3])
    return text + (f" (+{len(spans) - 3} more)" if len(spans) > 3 else "")


def print_status(status: dict[str, Any], console: Console) -> None:
    """The human report of :func:`sdk.data.status.data_status`: a table of series, one of downloads, problems."""
    from rich.table import Table

    from sdk.data.status import iso_utc

    if not status["exists"]:
        console.print(f"cache {status['cache_dir']}: empty (no such directory yet; `trader data download` fills it)")
        return
    series = Table(title=f"IB history cache {status['cache_dir']}", title_justify="left")
    for name in ("symbol", "bar", "whatToShow", "hours", "files", "rows", "first (UTC)", "last (UTC)", "updated",
                 "coverage"):  # fmt: skip
        series.add_column(name, justify="right" if name in ("files", "rows") else "left")
    for s in status["series"]:
        series.add_row(
            s["symbol"], s["bar_size"], s["what_to_show"], "RTH" if s["rth"] else "all", str(s["files"]),
            f"{s['rows']:,}", _day(s["first"]), _day(s["last"]), _day(s["last_update"]), _coverage(s["coverage"]),
        )  # fmt: skip
    console.print(series if status["series"] else f"cache {status['cache_dir']}: no bars yet")
    if status["downloads"]:
        downloads = Table(title="Downloads", title_justify="left")
        for name in ("symbol", "bar", "whatToShow", "hours", "state", "chunks", "failed", "bars", "updated", "verify"):
            downloads.add_column(name)
        for d in status["downloads"]:
            verify = d["verify"]
            checked = "-" if not verify else ", ".join(f"{k} {v}" for k, v in verify.items() if v)
            downloads.add_row(
                str(d["symbol"]), str(d["bar_size"]), str(d["what_to_show"]), "RTH" if d["rth"] else "all",
                d["state"] + (f" (pid {d['pid']} on {d['host']})" if d["state"] in ("running", "unknown") else ""),
                f"{d['chunks_done']}/{d['chunks_total']}", str(d["chunks_failed"]), f"{d['bars']:,}",
                _day(d["updated_at"]), checked,
            )  # fmt: skip
        console.print(downloads)
        for d in status["downloads"]:
            for e in d["errors"]:
                when = _day(iso_utc(e["start_ms"]) if isinstance(e["start_ms"], int) else None)
                console.print(f"{d['symbol']} {d['bar_size']}: chunk from {when}: {e['error']}", markup=False)
    for problem in status["problems"]:
        console.print(f"unreadable: {problem['path']}: {problem['error']}", markup=False, style="yellow")


def _status(ctx: typer.Context, cache: CacheDirOption = None, as_json: JsonOption = False) -> None:
    """Show the IB history cache: series (first, last, rows, files, coverage, last update) and downloads."""
    from rich.console import Console

    from sdk.data.status import data_status

    root = cache_dir(ctx, cache)
    try:
        status = data_status(root)
    except NotADirectoryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(status, indent=1))
        return
    print_status(status, Console(width=200, soft_wrap=True))


def register(data_app: typer.Typer) -> None:
    """Add ``status`` to ``trader data`` (``data_app`` of :func:`sdk.cli.data.register`)."""
    data_app.command("status")(_status)
