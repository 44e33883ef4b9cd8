"""``get_data_status``: what the IB history cache holds and which downloads run (reads files only).

Calls :func:`sdk.data.status.data_status` (and :func:`sdk.data.status.ranges` for one symbol) on the server's
``DATA_CACHE_DIR``; it reads Parquet metadata and download plans, never the venue. Registered by
:func:`register` (annotations :data:`mcp_server.toolkit.READ_LOCAL`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from mcp_server.errors import ToolError
from mcp_server.schemas.data import CachedSeries, DataDownload, DataStatusOut, SymbolRanges
from mcp_server.toolkit import READ_LOCAL, add_tool
from sdk.data.status import SymbolNotInCache, data_status, ranges

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from mcp_server.state import AppState

__all__ = ["get_data_status", "register"]


def _status(cache: Any, symbol: str | None) -> DataStatusOut:
    status = data_status(cache)
    found = ranges(cache, symbol) if symbol else None
    return DataStatusOut(
        cache_dir=status["cache_dir"],
        exists=status["exists"],
        series=[CachedSeries.model_validate(s) for s in status["series"]],
        downloads=[DataDownload.model_validate(d) for d in status["downloads"]],
        unreadable=[f"{p['path']}: {p['error']}" for p in status["problems"]],
        symbol=found["symbol"] if found else None,
        ranges=[
            SymbolRanges(
                bar_size=s["bar_size"], what_to_show=s["what_to_show"], rth=s["rth"],
                ranges=[[r["start_ms"], r["end_ms"]] for r in s["ranges"]],
                gaps=[[g["start_ms"], g["end_ms"]] for g in s["gaps"]],
            )
            for s in found["series"]
        ]
        if found
        else None,
    )  # fmt: skip


async def get_data_status(
    state: AppState,
    symbol: Annotated[
        str | None,
        Field(description="optional: a symbol (SPY/USD or SPY-USD) whose covered ranges and gaps to add"),
    ] = None,
) -> DataStatusOut:
    """The IB history cache: per symbol, bar size, whatToShow and hours the bars held (first, last, rows,
    coverage, last update), the downloads (running/stopped/finished, chunks done of total, verification), and
    for ``symbol`` its covered ranges and the gaps between them (ms UTC). Reads local files only; an unknown
    symbol is an error naming the symbols the cache holds."""
    try:
        return await asyncio.to_thread(_status, state.settings.data_cache_dir, symbol)
    except (SymbolNotInCache, NotADirectoryError) as exc:
        raise ToolError(f"{exc}; call get_data_status without a symbol to list what the cache holds") from exc


def register(server: MCPServer[Any]) -> None:
    """Add ``get_data_status`` to ``server`` (a read tool of this server's files: every mode)."""
    add_tool(server, get_data_status, title="Data cache status", annotations=READ_LOCAL)
