"""A history download's plan and record: the chunks it asks a venue for, and what became of each (resume).

``trader data download`` (:mod:`sdk.services.history_download`) plans a range as chunks of at most one history
request each (IB's duration table: :meth:`sdk.base.BaseTrader.ohlcv_request_span`) and records the plan, and every
chunk's outcome, in a JSON file beside the cache::

    <cache>/.downloads/<BASE>-<QUOTE>__<bar>__<WHAT>__<rth|all>.json     the plan (this module)
    <cache>/.downloads/<BASE>-<QUOTE>__<bar>__<WHAT>__<rth|all>/         a finished chunk's bars, until they are
        <start ms>-<end ms>.parquet                                       merged into the cache's partitions

(hidden: the market-data catalog skips entries whose name starts with a dot). The plan file::

    {"version": 1, "symbol": "SPY/USD", "bar_size": "1 min", "what_to_show": "TRADES", "rth": true,
     "start": ms, "end": ms, "head": ms | null,
     "chunks": [{"start": ms, "end": ms, "status": "pending|done|no_data|closed|failed", "bars": n,
                 "error": str | null, "attempts": n}],
     "pid": int | null, "host": str, "started_at": ms, "updated_at": ms, "finished_at": ms | null,
     "verify": {counts} | null}

A chunk is ``done`` once its bars are on disk (written atomically before the plan says so), ``no_data`` when the
venue answered that it holds none ("HMDS query returned no data"), ``closed`` when the exchange calendar has no
session in it (never requested), ``failed`` when the venue refused it for good (the error is kept); ``pending``
otherwise, including a transient failure (the error and attempts are kept, and the next run asks again). Every write
is atomic (a temporary file, then ``os.replace``): a kill never leaves a torn plan or chunk.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["DOWNLOADS_DIR", "PLAN_VERSION", "ChunkStatus", "DownloadPlan", "PlannedChunk", "atomic_write_text"]

PLAN_VERSION = 1
#: The plans' folder inside a cache (hidden from the catalog's scan).
DOWNLOADS_DIR = ".downloads"
ChunkStatus = Literal["pending", "done", "no_data", "closed", "failed"]
#: Statuses a later run does not ask the venue for again.
FINISHED: frozenset[str] = frozenset({"done", "no_data", "closed", "failed"})
_COLUMNS = ("time", "open", "high", "low", "close", "volume")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace`` (never a torn file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass(slots=True)
class PlannedChunk:
    """One request's window ``[start, end)`` (ms UTC) and its outcome (module docstring)."""

    start: int
    end: int
    status: ChunkStatus = "pending"
    bars: int = 0
    error: str | None = None
    attempts: int = 0

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(slots=True)
class DownloadPlan:
    """The plan of one download: a symbol's bars of one size, whatToShow and hours, over ``[start, end)`` (ms)."""

    symbol: str
    bar_size: str
    bar_label: str
    what_to_show: str
    rth: bool
    start: int
    end: int
    head: int | None = None
    chunks: list[PlannedChunk] = field(default_factory=list)
    pid: int | None = None
    host: str = field(default_factory=socket.gethostname)
    started_at: int | None = None
    updated_at: int | None = None
    finished_at: int | None = None
    verify: dict[str, Any] | None = None

    # --- where -------------------------------------------------------------------------------------
    @staticmethod
    def key_of(symbol: str, bar_label: str, what_to_show: str, rth: bool) -> str:
        """The plan's file stem: ``SPY-USD__1min__TRADES__rth``."""
        return f"{symbol.replace('/', '-')}__{bar_label}__{what_to_show}__{'rth' if rth else 'all'}"

    @property
    def key(self) -> str:
        return self.key_of(self.symbol, self.bar_label, self.what_to_show, self.rth)

    def path(self, cache: Path) -> Path:
        return cache / DOWNLOADS_DIR / f"{self.key}.json"

    def chunk_dir(self, cache: Path) -> Path:
        return cache / DOWNLOADS_DIR / self.key

    def chunk_path(self, cache: Path, chunk: PlannedChunk) -> Path:
        return self.chunk_dir(cache) / f"{chunk.start}-{chunk.end}.parquet"

    # --- the record ----------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        body = {"version": PLAN_VERSION, **asdict(self)}
        body["chunks"] = [asdict(c) for c in self.chunks]
        return body

    def save(self, cache: Path, now_ms: int) -> None:
        """Write the plan (atomically), stamped ``updated_at`` = ``now_ms``."""
        self.updated_at = now_ms
        atomic_write_text(self.path(cache), json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> DownloadPlan:
        """A plan file as written by :meth:`save`.

        Raises:
            ValueError: not a plan of this version (the message names the file and what to do).
        """
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            why = f"{path}: not a readable download plan ({exc}); delete it to plan the download again"
            raise ValueError(why) from None
        if body.get("version") != PLAN_VERSION:
            raise ValueError(f"{path}: plan version {body.get('version')} (this SDK reads {PLAN_VERSION}); delete it")
        body.pop("version")
        chunks = [PlannedChunk(**c) for c in body.pop("chunks")]
        return cls(**body, chunks=chunks)

    def extend(self, windows: Iterable[tuple[int, int]], start: int, end: int) -> int:
        """Add the windows not planned yet (a later run over a wider range); keeps every recorded outcome.
        Returns how many were added."""
        known = {(c.start, c.end) for c in self.chunks}
        added = [PlannedChunk(s, e) for s, e in windows if (s, e) not in known]
        self.chunks = sorted([*self.chunks, *added], key=lambda c: c.start)
        self.start, self.end = min(self.start, start), max(self.end, end)
        return len(added)

    def coverage(self) -> list[list[int]]:
        """The finished chunks' windows merged into spans ``[[start, end], ...]`` (ms): what the plan answered."""
        spans: list[list[int]] = []
        for c in sorted((c for c in self.chunks if c.finished and c.status != "failed"), key=lambda c: c.start):
            if spans and c.start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], c.end)
            else:
                spans.append([c.start, c.end])
        return spans

    # --- chunk bars ------------------------------------------------------------------------------------
    def write_chunk(self, cache: Path, chunk: PlannedChunk, rows: list[list[float]]) -> None:
        """Store a chunk's bars (ccxt OHLCV rows) atomically; the plan is saved after, so a chunk recorded done
        always has its bars."""
        frame = pd.DataFrame(rows, columns=list(_COLUMNS)) if rows else pd.DataFrame(columns=list(_COLUMNS))
        table = pa.Table.from_pandas(frame.astype({"time": "int64", **dict.fromkeys(_COLUMNS[1:], "float64")}),
                                     preserve_index=False)  # fmt: skip
        path = self.chunk_path(cache, chunk)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)

    def read_chunks(self, cache: Path) -> pd.DataFrame:
        """Every stored chunk's bars as one frame (columns ``time`` ms, open, high, low, close, volume), unsorted."""
        paths = sorted(self.chunk_dir(cache).glob("*.parquet")) if self.chunk_dir(cache).exists() else []
        frames = [pq.read_table(p).to_pandas() for p in paths]
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(_COLUMNS))
