"""Structured logging: a run id on every line, human-readable text by default, JSON on request.

Use the standard library's loggers; pass structured fields with ``extra``::

    log = logging.getLogger(__name__)
    log.info("order sent", extra={"conId": 8644, "exchange": "ASX", "orderRef": "trd-1a2b"})

Text lines look like ``2026-11-21T03:04:05.123Z INFO  [run=3f9c2a1e] sdk.venues.ib: order sent conId=8644 …``;
JSON lines are one object each with ``ts``, ``level``, ``logger``, ``run_id``, ``msg`` and the extras.
Every line passes through :class:`RedactionFilter`, which masks registered secrets and account numbers in
the message, its arguments and its extras at any depth (a dict or list extra too), and the value under any
key that names a secret (``apiKey``, ``token``, ...; :data:`sdk.redaction.SECRET_KEY_PATTERN`).
Nothing here runs at import time: call :func:`configure_logging` once at program start.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from datetime import UTC, datetime
from typing import Any, TextIO

from sdk.redaction import SECRET_KEY_PATTERN, redact, redact_value

__all__ = ["RedactionFilter", "configure_logging", "get_run_id", "new_run_id", "set_run_id"]

_run_id: str | None = None

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime", "run_id"}
)


def new_run_id() -> str:
    """A fresh run id: 12 hex characters, unique enough to tell runs apart in one ledger."""
    return uuid.uuid4().hex[:12]


def get_run_id() -> str:
    """This process's run id (created on first use)."""
    global _run_id
    if _run_id is None:
        _run_id = new_run_id()
    return _run_id


def set_run_id(run_id: str) -> None:
    """Adopt ``run_id`` for every later log line (for example a run resumed from the ledger)."""
    global _run_id
    _run_id = run_id


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


class RedactionFilter(logging.Filter):
    """Masks secrets and account numbers in the message, its arguments and its extras; adds ``run_id``.

    Extras are redacted recursively (:func:`sdk.redaction.redact_value`): strings anywhere in a dict, list
    or tuple; the value under a secret-looking key, at the top level or nested, is replaced whole; any
    other object by its redacted ``str``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = redact_value(record.args, keep_objects=True)
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in _extras(record).items():
            masked = "***" if SECRET_KEY_PATTERN.search(key) and value not in (None, "") else redact_value(value)
            setattr(record, key, masked)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.run_id = get_run_id()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``<ts> <LEVEL> [run=<id>] <logger>: <msg> key=value …``"""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = (
            f"{_timestamp(record)} {record.levelname:<5} [run={getattr(record, 'run_id', '-')}] "
            f"{record.name}: {record.getMessage()}"
        )
        if fields:
            line = f"{line} {fields}"
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``run_id``, ``msg``, extras, ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "run_id": getattr(record, "run_id", None),
            "msg": record.getMessage(),
        }
        payload.update(_extras(record))
        if record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, default=str)


def configure_logging(
    level: str | int = "INFO",
    *,
    json_format: bool = False,
    run_id: str | None = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install one handler on the root logger (replacing any earlier one installed here).

    Args:
        level: a level name or number for the root logger.
        json_format: one JSON object per line instead of text.
        run_id: adopt this run id (else keep or create this process's).
        stream: where lines go (default ``sys.stderr``, keeping stdout for program output
            and for MCP's stdio transport).

    Returns:
        The installed handler (tests attach it to a buffer).
    """
    if run_id:
        set_run_id(run_id)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_trader_handler", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._trader_handler = True  # type: ignore[attr-defined]
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter() if json_format else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    return handler
