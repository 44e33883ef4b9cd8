"""`trader data`: list, show and cache the market data the offline gateway and the demo replay.

``--data`` defaults to the ``MARKET_DATA_DIR`` setting (``../shared/data``); ``--synthetic`` uses the
seeded synthetic universe instead. A cache written by ``trader data cache`` (default
``$XDG_CACHE_HOME/trader-sdk/market-data``) is used by ``list`` and ``show`` while it matches the
directory's files. The catalog itself is :mod:`sdk.data` (imported inside the commands, so
``trader --help`` stays fast).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sdk.cli.common import state

if TYPE_CHECKING:
    import pandas as pd

    from sdk.data import Catalog

__all__ = ["register"]

DataOption = Annotated[
    Path | None, typer.Option("--data", help="Market-data directory (default: the MARKET_DATA_DIR setting).")
]
SyntheticOption = Annotated[
    bool, typer.Option("--synthetic", help="Use the seeded synthetic universe instead of a directory.")
]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the synthetic universe and intraday paths.")]
CacheOption = Annotated[
    Path | None,
    typer.Option("--cache", help="Parquet cache to read when it matches the files (default: the user cache)."),
]


def _catalog(ctx: typer.Context, data: Path | None, synthetic: bool, seed: int, cache: Path | None) -> Catalog:
    from sdk.data import load_catalog
    from sdk.data.cache import default_cache_dir

    if synthetic:
        return load_catalog(None, seed=seed)
    if data is None:
        data = state(ctx).settings().market_data_dir
    try:
        return load_catalog(data, seed=seed, cache_dir=cache or default_cache_dir(data))
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _bound(text: str | None, tz: str, name: str) -> pd.Timestamp | None:
    import pandas as pd

    if text is None:
        return None
    try:
        ts = pd.Timestamp(text)
    except ValueError:
        typer.echo(f"error: --{name} {text!r} is not a date or time; use e.g. 2024-03-01 or 2024-03-01T10:00+11:00",
                   err=True)  # fmt: skip
        raise typer.Exit(2) from None
    return ts.tz_localize(tz) if ts.tzinfo is None else ts


def _list(ctx: typer.Context, data: DataOption = None, synthetic: SyntheticOption = False, seed: SeedOption = 0,
          cache: CacheOption = None) -> None:  # fmt: skip
    """List instruments: type, exchange, native bar sizes, span (UTC dates) and source files."""
    catalog = _catalog(ctx, data, synthetic, seed, cache)
    for line in catalog.summary():
        typer.echo(f"# {line}")
    typer.echo(f"{'symbol':<11} {'type':<6} {'exchange':<9} {'bars':<11} {'first':<10} {'last':<10} sources")
    for symbol, info in catalog.instruments.items():
        typer.echo(
            f"{symbol:<11} {info.instrument_type.value:<6} {info.exchange:<9} {','.join(info.bar_sizes):<11} "
            f"{info.first:%Y-%m-%d} {info.last:%Y-%m-%d} {' '.join(info.sources)}"
        )


def _show(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="Canonical symbol, e.g. BHP/AUD, SPY/USD, AUD/USD.")],
    bar: Annotated[str, typer.Option("--bar", help="IB bar size: 1 min, 5 mins, 1 hour, 1D, 1W ...")] = "1D",
    start: Annotated[str | None, typer.Option(help="First bar (date or time; market time zone if none).")] = None,
    end: Annotated[str | None, typer.Option(help="End, exclusive (date or time; market time zone if none).")] = None,
    rows: Annotated[int, typer.Option(help="How many rows to print (first rows with --start, else last).")] = 10,
    all_hours: Annotated[bool, typer.Option("--all-hours", help="Include bars outside regular hours.")] = False,
    data: DataOption = None,
    synthetic: SyntheticOption = False,
    seed: SeedOption = 0,
    cache: CacheOption = None,
) -> None:
    """Print a few bars of one instrument (times in UTC, prices in its quote currency)."""
    import pandas as pd

    from sdk.data.frames import TIME_ZONES
    from sdk.errors import BadSymbol

    catalog = _catalog(ctx, data, synthetic, seed, cache)
    try:
        info = catalog.info(symbol)
        tz = TIME_ZONES[info.market]
        frame = catalog.bars(symbol, bar, _bound(start, tz, "start"), _bound(end, tz, "end"), rth_only=not all_hours)
    except (BadSymbol, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"{symbol} ({info.long_name}; {info.sec_type} {info.ib_symbol} on {info.exchange}, {info.currency}, "
        f"{info.market} hours): {len(frame)} {bar} bars"
    )
    shown = frame.head(rows) if start is not None else frame.tail(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        typer.echo(shown.to_string() if len(shown) else "(no bars in that window)")


def _cache(
    ctx: typer.Context,
    data: DataOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Cache directory (default: the user cache).")] = None,
    synthetic: SyntheticOption = False,
    seed: SeedOption = 0,
) -> None:
    """Read every file once and write the Parquet cache (one file per symbol and native bar size)."""
    from sdk.data import load_catalog
    from sdk.data.cache import default_cache_dir

    if synthetic:
        catalog = load_catalog(None, seed=seed)
    else:
        if data is None:
            data = state(ctx).settings().market_data_dir
        try:
            catalog = load_catalog(data, seed=seed)
        except FileNotFoundError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    target = out or default_cache_dir(catalog.data_dir)
    written = catalog.write_cache(target)
    typer.echo(f"wrote {written} Parquet files for {len(catalog.instruments)} instruments to {target}")
    for rel, reason in catalog.skipped.items():
        typer.echo(f"skipped {rel}: {reason}", err=True)


def register(app: typer.Typer) -> None:
    """Add `trader data` (list, show, cache) to the root app."""
    data_app = typer.Typer(
        name="data",
        help="Market data: local files (list, show, cache); IB history (download, verify, status, validate).",
        no_args_is_help=True,
    )
    data_app.command("list")(_list)
    data_app.command("show")(_show)
    data_app.command("cache")(_cache)
    from sdk.cli import data_download, data_status, data_validate, data_verify

    for module in (data_download, data_verify, data_status, data_validate):
        module.register(data_app)
    app.add_typer(data_app, name="data")
