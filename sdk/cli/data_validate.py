"""`trader data validate SYMBOLS`: resolve many symbols at IB and report each one's contract, or why it failed.

Connects one IB session (the venue from the registry, ``create_trader("IB", raw=True)``, at ``IB_HOST``:``IB_PORT``
with the client id ``--client-id`` or ``IB_CLIENT_ID``; the offline gateway works the same) and runs
:func:`sdk.services.symbol_check.check_symbols` over the symbols given and/or a file of them (``--file``: one a
line, or a CSV, optionally gzipped, with a ``Symbol`` column, e.g. Nasdaq's screener export). For each: type,
exchange, currency, conId, head timestamp (``reqHeadTimeStamp``, paced like history; ``--no-head`` skips it) and
trading hours, or the reason it failed. Exit status 0 when every symbol resolved, 1 when some did not, 2 for bad
input or no IB session.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sdk.cli.common import state

if TYPE_CHECKING:
    from sdk.services.symbol_check import ContractFacts, SymbolCheck
    from sdk.settings import Settings
    from sdk.venues.ib.trader import IBTrader

__all__ = ["IBSymbolLookup", "read_symbol_file", "register"]


class IBSymbolLookup:
    """The IB venue's contract resolver and head timestamps as a :class:`sdk.services.symbol_check.SymbolLookup`."""

    def __init__(self, trader: IBTrader) -> None:
        self.trader = trader

    async def contract_facts(self, symbol: str) -> ContractFacts:
        """``reqContractDetails`` through the venue's resolver (``SYMBOL_OVERRIDES`` apply); ``BadSymbol`` when
        IB has no such contract (error 200) or several."""
        from sdk.services.symbol_check import ContractFacts

        resolved = await self.trader.resolver.resolve(symbol)
        contract = resolved.contract
        return ContractFacts(
            symbol=resolved.symbol,
            instrument_type=str(resolved.instrument_type.value),
            sec_type=contract.secType,
            exchange=contract.primaryExchange or contract.exchange,
            currency=contract.currency,
            con_id=resolved.con_id,
            long_name=resolved.long_name,
            time_zone=resolved.time_zone_id,
            trading_hours=resolved.trading_hours,
            liquid_hours=resolved.liquid_hours,
        )

    async def head_timestamp(self, symbol: str, what_to_show: str | None, rth: bool) -> int | None:
        """``reqHeadTimeStamp`` (ms UTC, None when IB holds no bars)."""
        return await self.trader.history.head_timestamp(symbol, what_to_show, rth)


def read_symbol_file(path: Path) -> list[str]:
    """Symbols from ``path``: a CSV (``.gz`` too) with a ``Symbol``/``symbol`` column, else one symbol a line
    (blank lines and ``#`` comments skipped).

    Raises:
        OSError: the file cannot be read. ValueError: a CSV header without a symbol column.
    """
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8-sig")
    first = text.splitlines()[0] if text.strip() else ""
    if "," in first:
        reader = csv.DictReader(io.StringIO(text))
        column = next((c for c in reader.fieldnames or [] if c.strip().lower() == "symbol"), None)
        if column is None:
            raise ValueError(f"{path}: a CSV without a Symbol column (columns: {', '.join(reader.fieldnames or [])})")
        return [row[column] for row in reader if row.get(column)]
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


async def _run(settings: Settings, symbols: list[str], options: dict[str, Any]) -> list[SymbolCheck]:
    from sdk.registry import create_trader
    from sdk.services.symbol_check import check_symbols
    from sdk.venues.ib.trader import IBTrader

    trader = create_trader("IB", settings, raw=True)
    assert isinstance(trader, IBTrader)  # the registry's IB venue
    # ib_async logs every unknown contract (IB error 200) at ERROR; each failure is reported per symbol instead
    wrapper = logging.getLogger("ib_async.wrapper")
    level = wrapper.level
    wrapper.setLevel(logging.CRITICAL)
    try:
        async with trader:
            return await check_symbols(symbols, IBSymbolLookup(trader), **options)
    finally:
        wrapper.setLevel(level)


def _hours(text: str | None) -> str:
    sessions = [s for s in (text or "").split(";") if s]
    return "; ".join(sessions[:2]) + (" ..." if len(sessions) > 2 else "")


def _print(results: list[SymbolCheck]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(results)} symbols, {sum(not r.ok for r in results)} failed", title_justify="left")
    for name in ("symbol", "type", "exchange", "currency", "conId", "head (UTC)", "time zone", "liquid hours"):
        table.add_column(name)
    for r in results:
        if r.ok:
            head = (r.head or "none").replace("T", " ").removesuffix("Z") if not r.head_error else "error"
            table.add_row(
                r.symbol, r.instrument_type, r.exchange, r.currency, str(r.con_id), head, r.time_zone,
                _hours(r.liquid_hours),
            )  # fmt: skip
    console = Console(width=200, soft_wrap=True)
    console.print(table)
    for r in results:
        if not r.ok:
            console.print(f"{r.symbol}: {r.error_type}: {r.error}", markup=False)
        elif r.head_error:
            console.print(f"{r.symbol}: head timestamp failed: {r.head_error}", markup=False)


def _validate(
    ctx: typer.Context,
    symbols: Annotated[
        list[str] | None, typer.Argument(help="Canonical symbols, e.g. SPY/USD BHP/AUD AUD/USD.", show_default=False)
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="More symbols: one a line, or a CSV (.gz too) with a Symbol column.")
    ] = None,
    quote: Annotated[
        str | None, typer.Option("--quote", help="Quote currency for bare tickers (AAPL -> AAPL/USD with --quote USD).")
    ] = None,
    what_to_show: Annotated[str | None, typer.Option(help="whatToShow of the head timestamp (default: IB's)")] = None,
    rth: Annotated[bool, typer.Option("--rth/--all-hours", help="Head timestamp of regular-hours bars only.")] = False,
    head: Annotated[bool, typer.Option("--head/--no-head", help="Ask reqHeadTimeStamp for each symbol.")] = True,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Symbols in flight at once.")] = 8,
    client_id: Annotated[int | None, typer.Option(help="IB client id (default: IB_CLIENT_ID).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one object per symbol).")] = False,
) -> None:
    """Resolve symbols at IB: type, exchange, currency, conId, head timestamp, trading hours, or why not."""
    from sdk.errors import ExchangeNotAvailable, NetworkError
    from sdk.services.symbol_check import canonical_symbols

    overrides: dict[str, Any] = {}
    if client_id is not None:
        overrides = {"ib_client_id": client_id, "ib_client_id_max": client_id}
    settings = state(ctx).settings(**overrides)
    texts = list(symbols or [])
    if file is not None:
        try:
            texts += read_symbol_file(file)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            typer.echo(f"error: --file {file}: {exc}", err=True)
            raise typer.Exit(2) from None
    wanted = canonical_symbols(texts, default_quote=quote)
    if not wanted:
        typer.echo("error: no symbols; give them as arguments (SPY/USD BHP/AUD) or with --file", err=True)
        raise typer.Exit(2)
    options = {"concurrency": concurrency, "what_to_show": what_to_show, "rth": rth, "head": head}
    try:
        results = asyncio.run(_run(settings, wanted, options))
    except (ExchangeNotAvailable, NetworkError, OSError) as exc:
        typer.echo(f"error: no IB session at {settings.ib_host}:{settings.ib_port}: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in results], indent=1))
    else:
        _print(results)
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


def register(data_app: typer.Typer) -> None:
    """Add ``validate`` to ``trader data`` (``data_app`` of :func:`sdk.cli.data.register`)."""
    data_app.command("validate")(_validate)
