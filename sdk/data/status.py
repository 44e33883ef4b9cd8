"""What the IB history cache holds and which downloads run: :func:`data_status` and :func:`ranges`.

Reads the cache ``trader data download`` writes (the ``DATA_CACHE_DIR`` setting, default ``./data/ib-cache``)::

    <cache>/<BASE>-<QUOTE>/<bar>/<WHAT>-<rth|all>/<YYYY-MM>.parquet     e.g. SPY-USD/1min/TRADES-rth/2024-03.parquet
    <cache>/.downloads/<BASE>-<QUOTE>__<bar>__<WHAT>__<rth|all>.json   one download plan each

Only each Parquet file's schema metadata is read (``pyarrow.parquet.read_schema``; key ``trader_sdk.data``, the
catalog's cache format of :mod:`sdk.data.cache` plus ``source``, ``what_to_show``, ``rth``, ``adjusted``, ``tz``,
``last_update`` and ``coverage``), never its rows, so a status of years of 1-minute bars costs one small read per
monthly file. A file or plan that cannot be read is listed under ``problems`` with the reason; it never hides the
rest.

Times are integer milliseconds UTC (``*_ms``) with an ISO-8601 UTC twin for people; ``coverage`` is the request
plan's ``[start_ms, end_ms)`` spans merged (touching or overlapping spans become one).

A download is ``finished`` when its plan has ``finished_at``; else ``running`` when its ``pid`` is alive on this
host (``os.kill(pid, 0)``), ``stopped`` when it is not (killed, crashed: the same ``trader data download`` resumes
it), and ``unknown`` when it ran on another host (its pid cannot be checked from here).
"""

from __future__ import annotations

import itertools
import json
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sdk.data.cache import read_info
from sdk.data.download_plan import DOWNLOADS_DIR

__all__ = [
    "DOWNLOADS_DIR",
    "SETTLED_CHUNKS",
    "SymbolNotInCache",
    "data_status",
    "download_state",
    "iso_utc",
    "merge_spans",
    "ranges",
    "symbol_dir",
]

#: The folder of download plans inside the cache.
#: Chunk statuses that need no further request: bars stored, IB had none, or the market was closed.
SETTLED_CHUNKS: Final = frozenset({"done", "no_data", "closed"})


class SymbolNotInCache(KeyError):
    """The cache holds no bars of the symbol asked for; the message names what it holds."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


def symbol_dir(symbol: str) -> str:
    """The cache folder of a symbol: ``SPY/USD`` -> ``SPY-USD``; ``SPY-USD`` is returned as it is.

    Raises:
        ValueError: neither ``BASE/QUOTE`` nor ``BASE-QUOTE`` (e.g. ``SPY``).
    """
    text = symbol.strip().upper()
    if "/" in text:
        base, _, quote = text.partition("/")
    else:
        base, _, quote = text.rpartition("-")
    if not base or not quote or "/" in quote:
        raise ValueError(f"{symbol!r} is not a symbol; give BASE/QUOTE or BASE-QUOTE, e.g. SPY/USD or SPY-USD")
    return f"{base}-{quote}"


def iso_utc(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO-8601 UTC with a Z (``None`` stays None)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _ms(text: Any) -> int | None:
    if text is None:
        return None
    if isinstance(text, int | float):
        return int(text)
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def merge_spans(spans: Iterable[Iterable[int]]) -> list[list[int]]:
    """``[[start_ms, end_ms], ...]`` sorted, with overlapping or touching spans merged into one.

    Raises:
        ValueError: a span is not two integers with start <= end.
    """
    cleaned: list[list[int]] = []
    for span in spans:
        pair = [int(x) for x in span]
        if len(pair) != 2 or pair[0] > pair[1]:
            raise ValueError(f"coverage span {pair} is not [start_ms, end_ms] with start <= end")
        cleaned.append(pair)
    merged: list[list[int]] = []
    for start, end in sorted(cleaned):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


@dataclass
class _Series:
    symbol: str
    bar_size: str
    what_to_show: str
    rth: bool
    files: int = 0
    rows: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    last_update_ms: int | None = None
    coverage: list[list[int]] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    adjusted: set[bool] = field(default_factory=set)

    def add(self, info: dict[str, Any]) -> None:
        self.files += 1
        self.rows += int(info.get("rows") or 0)
        first, last, update = _ms(info.get("first")), _ms(info.get("last")), _ms(info.get("last_update"))
        if first is not None:
            self.first_ms = first if self.first_ms is None else min(self.first_ms, first)
        if last is not None:
            self.last_ms = last if self.last_ms is None else max(self.last_ms, last)
        if update is not None:
            self.last_update_ms = update if self.last_update_ms is None else max(self.last_update_ms, update)
        coverage = info.get("coverage")
        if coverage:
            self.coverage.extend(coverage)
        elif first is not None and last is not None:  # no plan recorded: the file's own first to last bar
            self.coverage.append([first, last])
        if info.get("source"):
            self.sources.add(str(info["source"]))
        if "adjusted" in info:
            self.adjusted.add(bool(info["adjusted"]))

    def as_dict(self) -> dict[str, Any]:
        coverage = merge_spans(self.coverage)
        return {
            "symbol": self.symbol,
            "bar_size": self.bar_size,
            "what_to_show": self.what_to_show,
            "rth": self.rth,
            "files": self.files,
            "rows": self.rows,
            "first_ms": self.first_ms,
            "first": iso_utc(self.first_ms),
            "last_ms": self.last_ms,
            "last": iso_utc(self.last_ms),
            "last_update_ms": self.last_update_ms,
            "last_update": iso_utc(self.last_update_ms),
            "coverage": coverage,
            "sources": sorted(self.sources),
            "adjusted": (next(iter(self.adjusted)) if len(self.adjusted) == 1 else None),
        }


def _walk_series(root: Path, problems: list[dict[str, str]], only: str | None = None) -> dict[tuple[Any, ...], _Series]:
    series: dict[tuple[Any, ...], _Series] = {}
    pattern = f"{only}/*/*/*.parquet" if only else "*/*/*/*.parquet"
    for path in sorted(root.glob(pattern)):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(DOWNLOADS_DIR + "/"):
            continue
        sym_dir, bar, what_dir = path.relative_to(root).parts[:3]
        what, _, hours = what_dir.rpartition("-")
        try:
            info = read_info(path)
        except (ValueError, json.JSONDecodeError) as exc:
            problems.append({"path": rel, "error": str(exc)})
            continue
        symbol = str(info.get("symbol") or sym_dir.replace("-", "/", 1))
        rth = bool(info["rth"]) if "rth" in info else hours == "rth"
        what = str(info.get("what_to_show") or what)
        bar_size = str(info.get("bar_size") or bar)
        key = (symbol, bar_size, what, rth)
        entry = series.setdefault(key, _Series(symbol, bar_size, what, rth))
        try:
            entry.add(info)
        except (ValueError, TypeError) as exc:
            problems.append({"path": rel, "error": f"bad metadata: {exc}"})
    return series


def download_state(plan: dict[str, Any], *, host: str | None = None) -> str:
    """``finished``, ``running``, ``stopped`` or ``unknown`` (another host): see the module docstring."""
    if plan.get("finished_at") is not None:
        return "finished"
    here = host or socket.gethostname()
    if plan.get("host") not in (None, "", here):
        return "unknown"
    pid = plan.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return "stopped"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "stopped"
    except PermissionError:  # alive, owned by another user
        return "running"
    except OSError:
        return "stopped"
    return "running"


def _download(plan: dict[str, Any], rel: str, host: str | None) -> dict[str, Any]:
    chunks = plan.get("chunks") or []
    by_status: dict[str, int] = {}
    for chunk in chunks:
        status = str(chunk.get("status"))
        by_status[status] = by_status.get(status, 0) + 1
    errors = [
        {"start_ms": c.get("start"), "end_ms": c.get("end"), "error": c["error"], "attempts": c.get("attempts")}
        for c in chunks
        if c.get("error")
    ]
    return {
        "file": rel,
        "symbol": plan.get("symbol"),
        "bar_size": plan.get("bar_size"),
        "what_to_show": plan.get("what_to_show"),
        "rth": plan.get("rth"),
        "state": download_state(plan, host=host),
        "start_ms": plan.get("start"),
        "start": iso_utc(plan.get("start")),
        "end_ms": plan.get("end"),
        "end": iso_utc(plan.get("end")),
        "head_ms": plan.get("head"),
        "chunks_total": len(chunks),
        "chunks_done": sum(n for s, n in by_status.items() if s in SETTLED_CHUNKS),
        "chunks_failed": by_status.get("failed", 0),
        "chunks_by_status": by_status,
        "bars": sum(int(c.get("bars") or 0) for c in chunks),
        "pid": plan.get("pid"),
        "host": plan.get("host"),
        "started_at_ms": plan.get("started_at"),
        "updated_at_ms": plan.get("updated_at"),
        "updated_at": iso_utc(plan.get("updated_at")),
        "finished_at_ms": plan.get("finished_at"),
        "verify": plan.get("verify"),
        "errors": errors[-5:],
    }


def _downloads(root: Path, problems: list[dict[str, str]], host: str | None) -> list[dict[str, Any]]:
    found = []
    for path in sorted((root / DOWNLOADS_DIR).glob("*.json")):
        rel = path.relative_to(root).as_posix()
        try:
            plan = json.loads(path.read_text())
            if not isinstance(plan, dict):
                raise ValueError("not a JSON object")
            found.append(_download(plan, rel, host))
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            problems.append({"path": rel, "error": f"unreadable download plan: {exc}"})
    return found


def data_status(cache_dir: Path | str, *, host: str | None = None) -> dict[str, Any]:
    """What the cache at ``cache_dir`` holds and which downloads it records (JSON-ready).

    Args:
        cache_dir: the cache (``DATA_CACHE_DIR``). A missing directory is an empty cache (``exists`` False).
        host: this host's name for the download states (default ``socket.gethostname()``).

    Returns:
        ``{"cache_dir", "exists", "series": [...], "downloads": [...], "problems": [...]}``. Each series (one per
        symbol, bar size label, whatToShow and RTH flag): ``symbol, bar_size, what_to_show, rth, files, rows,
        first_ms/first, last_ms/last`` (the first and last bar's open time), ``last_update_ms/last_update``,
        ``coverage`` (merged ``[[start_ms, end_ms], ...]``), ``sources``, ``adjusted`` (None when files
        disagree). Each download: ``symbol, bar_size, what_to_show, rth, state, start/end, chunks_total,
        chunks_done`` (done, no_data or closed), ``chunks_failed, chunks_by_status, bars, pid, host,
        updated_at, verify`` (the counts of ``trader data verify``, or None) and the last few chunk ``errors``.
        ``problems``: ``{"path", "error"}`` for each file that could not be read.

    Raises:
        NotADirectoryError: ``cache_dir`` exists but is a file.
    """
    root = Path(cache_dir)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"{root} is a file, not a cache directory; give the DATA_CACHE_DIR folder")
    problems: list[dict[str, str]] = []
    if not root.exists():
        return {"cache_dir": str(root), "exists": False, "series": [], "downloads": [], "problems": []}
    series = [s.as_dict() for _, s in sorted(_walk_series(root, problems).items(), key=lambda kv: _order(kv[0]))]
    downloads = _downloads(root, problems, host)
    return {"cache_dir": str(root), "exists": True, "series": series, "downloads": downloads, "problems": problems}


def _order(key: tuple[Any, ...]) -> tuple[Any, ...]:
    from sdk.data.barsizes import parse_bar_size

    symbol, bar, what, rth = key
    try:
        seconds = parse_bar_size(bar).seconds
    except ValueError:
        seconds = 0
    return (symbol, seconds, bar, what, not rth)


def _symbols_held(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name.replace("-", "/", 1) for p in root.iterdir() if p.is_dir() and p.name != DOWNLOADS_DIR)


def ranges(cache_dir: Path | str, symbol: str) -> dict[str, Any]:
    """The spans of ``symbol`` the cache covers and the gaps between them, per bar size, whatToShow and RTH.

    Args:
        cache_dir: the cache (``DATA_CACHE_DIR``).
        symbol: ``BASE/QUOTE`` or its folder name ``BASE-QUOTE`` (``SPY/USD`` or ``SPY-USD``).

    Returns:
        ``{"symbol", "series": [{"bar_size", "what_to_show", "rth", "ranges": [...], "gaps": [...]}],
        "problems"}``; a range or gap is ``{"start_ms", "end_ms", "start", "end"}`` (end exclusive, ISO twins
        in UTC). Ranges come from the files' ``coverage`` (the request plans that filled them); a file without
        it counts from its first to its last bar. Gaps lie between consecutive ranges, none before the first
        or after the last.

    Raises:
        ValueError: ``symbol`` is neither ``BASE/QUOTE`` nor ``BASE-QUOTE``.
        SymbolNotInCache: the cache holds nothing of ``symbol``; the message lists what it holds.
    """
    root = Path(cache_dir)
    folder = symbol_dir(symbol)
    problems: list[dict[str, str]] = []
    found = _walk_series(root, problems, only=folder) if (root / folder).is_dir() else {}
    if not found:
        held = ", ".join(_symbols_held(root)) or "nothing"
        raise SymbolNotInCache(
            f"the cache {root} holds no bars of {folder.replace('-', '/', 1)}; it holds: {held}. "
            "Download them with `trader data download`"
        )
    series = []
    for key, entry in sorted(found.items(), key=lambda kv: _order(kv[0])):
        merged = merge_spans(entry.coverage)
        gaps = [[a[1], b[0]] for a, b in itertools.pairwise(merged)]
        series.append(
            {
                "bar_size": key[1],
                "what_to_show": key[2],
                "rth": key[3],
                "ranges": [_span(s) for s in merged],
                "gaps": [_span(g) for g in gaps],
            }
        )
    return {"symbol": next(iter(found))[0], "series": series, "problems": problems}


def _span(span: list[int]) -> dict[str, Any]:
    return {"start_ms": span[0], "end_ms": span[1], "start": iso_utc(span[0]), "end": iso_utc(span[1])}
