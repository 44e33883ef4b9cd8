"""`trader data verify`: check one symbol's bars against its exchange calendar (:mod:`sdk.data.verify`).

Reads the download cache (``--cache DIR``, default the ``DATA_CACHE_DIR`` setting, where ``trader data download``
writes) or any local files the catalog reads (``--data DIR``). Prints a table, or with ``--json`` one object: the
counts of :data:`sdk.data.verify.COUNT_NAMES` plus ``symbol``, ``bar_size`` and ``range`` (``start``, ``end``:
ISO 8601 UTC, end exclusive; ``rth``; ``market``).

Exit status: 0 nothing missing and no fault; 1 faults found (missing bars, duplicates, out-of-order rows, OHLC
violations, a wap outside its bar, stale repeats); 2 bad input (unknown symbol, a bar size IB does not offer or
finer than the data, start after end, an unreadable directory), said before anything is read where possible.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sdk.cli.common import state
from sdk.cli.data import _bound, _catalog

if TYPE_CHECKING:
    import pandas as pd

    from sdk.data import Catalog
    from sdk.data.verify import VerifyReport

__all__ = ["register"]

_SHOWN_SPANS = 20


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _load(ctx: typer.Context, data: Path | None, cache: Path | None) -> Catalog:
    from sdk.data import load_catalog

    if data is not None and cache is not None:
        raise _fail("give --cache DIR (the download cache) or --data DIR (local files), not both")
    if data is not None:
        return _catalog(ctx, data, False, 0, None)
    root = cache if cache is not None else state(ctx).settings().data_cache_dir
    if not root.is_dir():
        where = "" if cache is not None else " (the DATA_CACHE_DIR setting)"
        raise _fail(
            f"no download cache at {root}{where}; download first (`trader data download SYMBOL ...`), "
            "pass --cache DIR, or verify local files with --data DIR"
        )
    return load_catalog(root)


def _verify(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="Canonical symbol, e.g. SPY/USD, BHP/AUD, AUD/USD.")],
    bar_size: Annotated[str, typer.Option("--bar-size", help="IB bar size: 1 min, 5 mins, 1 hour, 1 day ...")],
    rth: Annotated[
        bool,
        typer.Option(
            "--rth/--all-hours",
            help="Regular trading hours only (IB's useRTH=1); --all-hours also accepts extended-hours bars.",
        ),
    ] = True,
    start: Annotated[str | None, typer.Option(help="First day (date or time; market time zone if none).")] = None,
    end: Annotated[str | None, typer.Option(help="End, exclusive (date or time; market time zone if none).")] = None,
    cache: Annotated[
        Path | None, typer.Option("--cache", help="Download cache to verify (default: the DATA_CACHE_DIR setting).")
    ] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Verify local files the catalog reads instead.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as one JSON object.")] = False,
) -> None:
    """Verify one symbol's bars against its exchange calendar: present, holiday, half-day, before-listing and
    missing bars; duplicates, out-of-order rows, OHLC violations, wap outside the bar, stale repeats."""
    from sdk.data import parse_bar_size
    from sdk.data.frames import TIME_ZONES
    from sdk.data.verify import stored_bars, verify_frame
    from sdk.errors import BadSymbol

    try:
        bar = parse_bar_size(bar_size)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    catalog = _load(ctx, data, cache)
    try:
        info = catalog.info(symbol)
    except BadSymbol as exc:
        raise _fail(str(exc)) from None
    tz = TIME_ZONES[info.market]
    lo, hi = _bound(start, tz, "start"), _bound(end, tz, "end")
    if lo is not None and hi is not None and lo > hi:
        raise _fail(f"--start {start} is after --end {end}; the end is exclusive and comes last")
    try:
        frame = stored_bars(catalog, symbol, bar, lo, hi, rth_only=rth)
        if len(frame) == 0 and (lo is None or hi is None):
            raise ValueError(f"{symbol} has no {bar.label} bars there; give --start and --end to verify a range")
        report = verify_frame(frame, market=info.market, bar_size=bar, rth=rth, start=lo, end=hi)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        body = {
            "symbol": symbol,
            "bar_size": bar.label,
            "range": {
                "start": report.start.isoformat(),
                "end": report.end.isoformat(),
                "rth": rth,
                "market": info.market,
            },
            **report.counts(),
        }
        typer.echo(json.dumps(body))
    else:
        _print_report(symbol, report, tz)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(symbol: str, report: VerifyReport, tz: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    hours = "regular hours" if report.rth else "all hours (extended-hours bars accepted, not expected)"

    def local(ts: pd.Timestamp) -> str:
        return f"{ts.tz_convert(tz):%Y-%m-%d %H:%M %Z}"

    table = Table(title=f"{symbol} {report.bar_size} bars, {hours}, {local(report.start)} .. {local(report.end)}")
    table.add_column("count")
    table.add_column("bars", justify="right")
    table.add_column("meaning")
    meanings = {
        "expected": "regular-hours bars of every weekday (the sum of the next five)",
        "present": "in a session, and there",
        "missing": "in a session after the listing, and not there",
        "holiday": f"weekdays the {report.market} calendar has no session",
        "half_day": "after an early close (expected absent)",
        "before_listing": "in a session before the first bar",
        "duplicates": "rows repeating an earlier row's time",
        "out_of_order": "rows earlier than the row before",
        "ohlc_violations": "high < max(open, close), low > min(open, close) or volume < 0",
        "wap_outside_range": "wap outside \\[low, high]",
        "stale_repeats": "zero-volume bars repeating the previous bar's OHLC",
    }
    for name, value in report.counts().items():
        flagged = name in report.faults
        table.add_row(name, f"[bold red]{value}[/]" if flagged else str(value), meanings[name])
    console.print(table)
    if report.missing_spans:
        spans = report.missing_spans
        shown = sorted(sorted(spans, key=lambda s: -s.bars)[:_SHOWN_SPANS], key=lambda s: s.start)
        longest = " (the longest shown)" if len(spans) > len(shown) else ""
        console.print(f"missing: {len(spans)} span(s){longest}, times in {tz}:")
        for span in shown:
            note = " (IB: no data)" if span.no_data else ""
            console.print(f"  {local(span.start)} .. {local(span.end)}  {span.bars} bar(s){note}")
        if len(spans) > len(shown):
            console.print(f"  ... and {len(spans) - len(shown)} shorter span(s)")
    if report.outside_spans:
        where = "outside the session" if report.rth else "on days without a session"
        console.print(f"bars {where} ({len(report.outside_spans)} spans, not counted as present):")
        for other in report.outside_spans[:_SHOWN_SPANS]:
            console.print(f"  {local(other.start)} .. {local(other.end)}  {other.bars} bar(s)")
    if report.ok:
        console.print("OK: nothing missing, no faults")
    else:
        found = ", ".join(f"{name} {value}" for name, value in report.faults.items())
        console.print(f"FAULTS: {found}")


def register(data_app: typer.Typer) -> None:
    """Add ``verify`` to the ``trader data`` group (``sdk.cli.data.register`` calls this)."""
    data_app.command("verify")(_verify)
