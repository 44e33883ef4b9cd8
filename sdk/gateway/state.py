"""The paper account's state file: account, orders and executions kept across a restart.

One JSON object (version :data:`STATE_VERSION`), rewritten atomically (a temporary file, then a rename) after every
change: ``account``, ``base_currency``, ``cash`` (currency -> amount), ``positions``, ``orders`` and ``executions``
(:mod:`sdk.gateway.records`, Decimals as exact strings), ``max_order_ids`` (client id -> the last order id it used),
``perm_seq`` and ``exec_seq`` (the last permId and execution number), ``monthly`` (month-to-date volume per market,
for IB's tiered commissions), ``pending_commissions`` (exec id -> [amount, currency] not reported yet) and ``clock``
(the simulated time, epoch seconds, so a restarted gateway resumes there).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sdk.gateway.records import ExecutionRecord, OrderRecord, PositionRecord, from_json
from sdk.redaction import mask_account

__all__ = ["STATE_KEYS", "STATE_VERSION", "SavedAccount", "read_state", "write_state"]

STATE_VERSION = 1
#: The keys every state file holds (``monthly``, ``pending_commissions`` and ``clock`` may be absent).
STATE_KEYS = ("account", "cash", "positions", "orders", "executions", "max_order_ids", "perm_seq", "exec_seq")


@dataclass(slots=True)
class SavedAccount:
    """A state file's content, parsed (module docstring)."""

    cash: dict[str, Decimal]
    positions: dict[str, PositionRecord]
    orders: dict[int, OrderRecord]
    executions: list[ExecutionRecord]
    max_order_ids: dict[int, int]
    perm_seq: int
    exec_seq: int
    monthly: dict[str, dict[str, str]]
    pending: dict[str, tuple[Decimal, str]]
    clock: float | None


def write_state(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` atomically (temp file then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True))
    os.replace(tmp, path)


def read_state(path: Path, account: str) -> SavedAccount:
    """The account kept in the state file ``path``, which must be ``account``'s.

    Raises:
        ValueError: the file is unreadable, not JSON, of another account, misses one of :data:`STATE_KEYS` or holds
            a malformed value; the message names the file, what is wrong and what to do.
    """
    fresh = "move it away (or pass another --state-file) to start a fresh account"
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"state file {path} is unreadable ({exc}); {fresh}") from None
    if not isinstance(data, dict):
        raise ValueError(f"state file {path} holds a JSON {type(data).__name__}, not this gateway's object; {fresh}")
    missing = [key for key in STATE_KEYS if key not in data]
    if missing:
        raise ValueError(
            f"state file {path} has no {', '.join(repr(k) for k in missing)} (a state file of this gateway has "
            f"{', '.join(STATE_KEYS)}); restore it from a copy, or {fresh}"
        )
    if data.get("account") != account:
        raise ValueError(
            f"state file {path} belongs to account {mask_account(data.get('account'))}, not "
            f"{mask_account(account)}; pass --account to match or use another --state-file"
        )
    try:
        clock = data.get("clock")
        if clock is not None and (
            isinstance(clock, bool) or not isinstance(clock, int | float) or not math.isfinite(clock)
        ):
            raise ValueError(f"clock {clock!r} is not epoch seconds")
        return SavedAccount(
            cash={k: Decimal(v) for k, v in data["cash"].items()},
            positions={p["symbol"]: from_json(PositionRecord, p) for p in data["positions"]},
            orders={o["perm_id"]: from_json(OrderRecord, o) for o in data["orders"]},
            executions=[from_json(ExecutionRecord, e) for e in data["executions"]],
            max_order_ids={int(k): int(v) for k, v in data["max_order_ids"].items()},
            perm_seq=int(data["perm_seq"]),
            exec_seq=int(data["exec_seq"]),
            monthly=dict(data.get("monthly") or {}),
            pending={k: (Decimal(a), str(c)) for k, (a, c) in (data.get("pending_commissions") or {}).items()},
            clock=float(clock) if clock is not None else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        what = f"misses {exc}" if isinstance(exc, KeyError) else f"holds a malformed value ({exc})"
        raise ValueError(f"state file {path} {what}; restore it from a copy, or {fresh}") from None
