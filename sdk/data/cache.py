"""The Parquet cache of normalised frames (pyarrow), and reading such files as a data source.

Layout of a cache directory::

    <cache>/manifest.json              which source files (size, mtime) the cache was built from
    <cache>/<BASE>-<QUOTE>/<bar>.parquet   one merged native frame per symbol and bar size,
                                       e.g. SPY-USD/1min.parquet, SPY-USD/1D.parquet, BRK.B-USD/1D.parquet

Each Parquet file holds the normalised frame (index ``time``, ``datetime64[ns, UTC]``; float64
``open, high, low, close, volume`` and ``wap``/``bar_count`` when present) plus an int8
``authority`` column (the merge rank of the source each row came from), and in its schema metadata
under ``trader_sdk.data`` a JSON object: ``version``, ``symbol``, ``bar_size``, ``meta`` (the
instrument's static facts), ``sources``, ``adjusted_sources``, ``first``, ``last``, ``rows``.
Scanning reads only that metadata. A directory of such files dropped into a data directory loads
like any other source.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sdk.data.barsizes import parse_bar_size
from sdk.data.formats import UnsupportedFile
from sdk.data.instruments import TickerFacts
from sdk.symbols import InstrumentType

__all__ = [
    "CACHE_VERSION",
    "METADATA_KEY",
    "cache_path",
    "default_cache_dir",
    "file_stamps",
    "read_frame",
    "read_info",
    "read_manifest",
    "scan_parquet",
    "write_frame",
    "write_manifest",
]

if TYPE_CHECKING:
    from sdk.data.files import SourceFile

log = logging.getLogger(__name__)

CACHE_VERSION: Final = 1
#: The whatToShow series the catalog reads from a download cache: bid, ask and bid/ask series of the same symbol are
#: other prices of it and are never merged with its trades.
CATALOG_SERIES: Final = frozenset({"TRADES", "MIDPOINT", "ADJUSTED_LAST"})
METADATA_KEY: Final = b"trader_sdk.data"
MANIFEST: Final = "manifest.json"


def default_cache_dir(data_dir: Path | None) -> Path:
    """The user cache of a data directory: ``$XDG_CACHE_HOME/trader-sdk/market-data/<name>-<hash>``.

    The hash of the resolved path keeps two directories of the same name apart; ``synthetic`` for None.
    """
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trader-sdk" / "market-data"
    if data_dir is None:
        return base / "synthetic"
    resolved = str(Path(data_dir).resolve())
    return base / f"{Path(resolved).name or 'root'}-{hashlib.sha256(resolved.encode()).hexdigest()[:10]}"


def cache_path(root: Path, symbol: str, bar_label: str) -> Path:
    """Where a symbol's frame of one bar size lives: ``<root>/SPY-USD/1min.parquet``."""
    return root / symbol.replace("/", "-") / f"{bar_label}.parquet"


def write_frame(
    path: Path,
    frame: pd.DataFrame,
    *,
    meta: TickerFacts,
    bar_label: str,
    sources: Iterable[str],
    adjusted_sources: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write a normalised frame (with its ``authority`` column) and its metadata to ``path`` (zstd), atomically;
    ``extra`` adds keys to the metadata (a download's ``what_to_show``, ``coverage``...: :mod:`sdk.data.partitions`)."""
    if "authority" not in frame.columns:
        raise ValueError(f"{path.name}: a cached frame needs its authority column")
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {
        "version": CACHE_VERSION,
        "symbol": meta.symbol,
        "bar_size": bar_label,
        "meta": {
            "symbol": meta.symbol,
            "instrument_type": meta.instrument_type.value,
            "sec_type": meta.sec_type,
            "ib_symbol": meta.ib_symbol,
            "currency": meta.currency,
            "exchange": meta.exchange,
            "market": meta.market,
            "long_name": meta.long_name,
        },
        "sources": list(sources),
        "adjusted_sources": list(adjusted_sources),
        "first": frame.index[0].isoformat() if len(frame) else None,
        "last": frame.index[-1].isoformat() if len(frame) else None,
        "rows": len(frame),
        **(extra or {}),
    }
    table = pa.Table.from_pandas(frame, preserve_index=True)
    metadata = dict(table.schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(info).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # hidden: a scan never reads a half-written file
    pq.write_table(table.replace_schema_metadata(metadata), tmp, compression="zstd")
    tmp.replace(path)


def read_info(path: Path) -> dict[str, Any]:
    """A cache file's ``trader_sdk.data`` metadata (schema only, no rows).

    Raises:
        UnsupportedFile: not readable, without the metadata, or of another cache version.
    """
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (pa.ArrowInvalid, OSError) as exc:
        raise UnsupportedFile(f"{path.name}: not a readable Parquet file ({exc})") from exc
    raw = metadata.get(METADATA_KEY)
    if raw is None:
        raise UnsupportedFile(
            f"{path.name}: a Parquet file without trader-sdk metadata; write caches with `trader data cache`"
        )
    info: dict[str, Any] = json.loads(raw)
    if info.get("version") != CACHE_VERSION:
        raise UnsupportedFile(f"{path.name}: cache version {info.get('version')} (this SDK reads {CACHE_VERSION})")
    return info


def _meta(info: dict[str, Any]) -> TickerFacts:
    m = info["meta"]
    return TickerFacts(
        m["symbol"],
        InstrumentType(m["instrument_type"]),
        m["sec_type"],
        m["ib_symbol"],
        m["currency"],
        m["exchange"],
        m["market"],
        m["long_name"],
    )


def scan_parquet(path: Path, rel: str, *, use_origin: bool = False) -> SourceFile:
    """Describe a cache Parquet file from its metadata only (a :class:`sdk.data.files.SourceFile`).

    Raises:
        UnsupportedFile: no trader-sdk metadata, another cache version, or no rows.
    """
    from sdk.data.files import SourceFile, SymbolSpan

    info = read_info(path)
    if not info.get("rows"):
        raise UnsupportedFile(f"{rel}: a cache file with no rows")
    what = info.get("what_to_show")
    if what is not None and what not in CATALOG_SERIES:
        raise UnsupportedFile(
            f"{rel}: {what} bars (a download's quote series); the catalog reads trades and FX midpoints "
            f"({', '.join(sorted(CATALOG_SERIES))})"
        )
    meta = _meta(info)
    span = SymbolSpan(meta, datetime.fromisoformat(info["first"]), datetime.fromisoformat(info["last"]))
    adjusted_origin = tuple(info.get("adjusted_sources", ()))
    return SourceFile(
        rel,
        path,
        "trader_parquet",
        parse_bar_size(info["bar_size"]),
        1,
        {meta.symbol: span},
        adjusted=bool(adjusted_origin),
        origin=tuple(info.get("sources", ())),
        origin_adjusted=adjusted_origin,
        use_origin=use_origin,
    )


def read_frame(path: Path) -> tuple[str, pd.DataFrame]:
    """Read a cache file: (symbol, frame with its ``authority`` column), exactly as written."""
    info = read_info(path)
    frame = pq.read_table(path).to_pandas()
    frame.index = frame.index.as_unit("ns")
    return str(info["symbol"]), frame


def file_stamps(paths: Iterable[Path], root: Path) -> dict[str, list[int]]:
    """``{relative path: [size, mtime_ns]}``: what a cache was built from."""
    stamps: dict[str, list[int]] = {}
    for path in paths:
        stat = path.stat()
        stamps[path.relative_to(root).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return stamps


def write_manifest(
    root: Path,
    *,
    data_dir: Path | None,
    stamps: dict[str, list[int]],
    synthetic: bool,
    skipped: dict[str, str] | None = None,
) -> Path:
    """Write ``manifest.json`` (after the frames, so a partial cache never looks complete)."""
    path = root / MANIFEST
    root.mkdir(parents=True, exist_ok=True)
    body = {
        "version": CACHE_VERSION,
        "data_dir": str(data_dir.resolve()) if data_dir is not None else None,
        "synthetic": synthetic,
        "files": stamps,
        "skipped": skipped or {},
    }
    path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")
    return path


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The cache's manifest, or None when absent, unreadable or of another version."""
    path = root / MANIFEST
    try:
        body: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return body if body.get("version") == CACHE_VERSION else None
