"""Fault injection: the failures a real IB connection has, on demand and deterministic.

A spec is comma-separated ``key=value`` pairs (``--faults`` on the command line, ``POST /faults`` on
the control port, :meth:`sdk.gateway.OfflineGateway.set_faults`); setting a spec replaces the
previous one, and the empty spec clears all faults.

=======================  ==========================================================================
``drop_every=SECONDS``   wall clock: close every client connection every SECONDS
``drop_at=ISO``          simulated time (with offset): close every client connection when reached
``refuse_next=N``        close the next N connections as soon as they are accepted
``reject_next=N``        reject the next N new orders with error 201
``lose_next=N``          the next N new orders never reach the broker: the connection that carried
                         each closes as it arrives (an order in flight when the link died; the
                         client can prove it lost from IB's open and completed orders)
``delay_ms=N``           hold every answer N ms before it is written
``farm_flap=SECONDS``    wall clock: every SECONDS send 1100 (connectivity lost), then 1101
                         (restored, data lost: market data subscriptions are dropped and must be
                         renewed) or 1102 (restored, data kept), alternately starting with 1101
``farm_flap_restore=``   ``1101``, ``1102`` or ``alternate`` (the default) for ``farm_flap``
``commission_delay_ms``  send each commission report N ms after its execution (exercises "pending")
=======================  ==========================================================================

IB's codes: ``../shared/docs/ib-reference.md`` (1100/1101/1102, 201).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["FaultSpec", "Faults", "parse_faults"]

Restore = Literal["1101", "1102", "alternate"]

_EXAMPLE = "drop_every=30,reject_next=1,delay_ms=50,commission_delay_ms=2000"


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A parsed fault spec; every field off (None or 0) by default."""

    drop_every: float | None = None
    drop_at: datetime | None = None
    refuse_next: int = 0
    reject_next: int = 0
    lose_next: int = 0
    delay_ms: int = 0
    farm_flap: float | None = None
    farm_flap_restore: Restore = "alternate"
    commission_delay_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the datetime as ISO 8601, unset faults left out."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if value in (None, 0) or (key == "farm_flap_restore" and value == "alternate"):
                continue
            out[key] = value.isoformat() if isinstance(value, datetime) else value
        return out


def _positive_float(key: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"fault {key}={raw!r}: expected a number of seconds, e.g. {key}=30") from None
    if value <= 0:
        raise ValueError(f"fault {key}={raw!r}: must be a positive number of seconds")
    return value


def _count(key: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"fault {key}={raw!r}: expected a whole number, e.g. {key}=2") from None
    if value < 0:
        raise ValueError(f"fault {key}={raw!r}: must be >= 0")
    return value


def parse_faults(spec: str | dict[str, Any] | None) -> FaultSpec:
    """Parse ``"drop_every=30,reject_next=1"`` (or the same as a JSON object) into a :class:`FaultSpec`.

    Raises:
        ValueError: an unknown key or a malformed value; the message names it and shows an example.
    """
    if spec is None:
        return FaultSpec()
    if isinstance(spec, dict):
        items = [(str(k), str(v)) for k, v in spec.items()]
    else:
        items = []
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            key, eq, value = part.partition("=")
            if not eq:
                raise ValueError(f"fault {part!r} has no value; write key=value, e.g. {_EXAMPLE}")
            items.append((key.strip(), value.strip()))
    values: dict[str, Any] = {}
    for key, raw in items:
        if key in ("drop_every", "farm_flap"):
            values[key] = _positive_float(key, raw)
        elif key in ("refuse_next", "reject_next", "lose_next", "delay_ms", "commission_delay_ms"):
            values[key] = _count(key, raw)
        elif key == "drop_at":
            try:
                when = datetime.fromisoformat(raw)
            except ValueError:
                raise ValueError(
                    f"fault drop_at={raw!r}: expected ISO 8601, e.g. drop_at=2025-03-03T11:00:00+11:00"
                ) from None
            if when.tzinfo is None:
                raise ValueError(f"fault drop_at={raw!r} needs a UTC offset, e.g. 2025-03-03T11:00:00+11:00")
            values[key] = when
        elif key == "farm_flap_restore":
            if raw not in ("1101", "1102", "alternate"):
                raise ValueError(f"fault farm_flap_restore={raw!r}: expected 1101, 1102 or alternate")
            values[key] = raw
        else:
            known = ", ".join(FaultSpec.__dataclass_fields__)
            raise ValueError(f"unknown fault {key!r}; known faults: {known}. Example: {_EXAMPLE}")
    return FaultSpec(**values)


@dataclass
class Faults:
    """The faults in force, with the counters that are used up as they fire."""

    spec: FaultSpec = field(default_factory=FaultSpec)
    refuse_left: int = 0
    reject_left: int = 0
    lose_left: int = 0
    flaps: int = 0

    def set(self, spec: FaultSpec) -> None:
        """Replace the faults in force (counters restart from the spec)."""
        self.spec = spec
        self.refuse_left = spec.refuse_next
        self.reject_left = spec.reject_next
        self.lose_left = spec.lose_next

    def take_refusal(self) -> bool:
        """True (and one fewer left) when the next connection must be refused."""
        if self.refuse_left > 0:
            self.refuse_left -= 1
            return True
        return False

    def take_rejection(self) -> bool:
        """True (and one fewer left) when the next new order must be rejected with 201."""
        if self.reject_left > 0:
            self.reject_left -= 1
            return True
        return False

    def take_loss(self) -> bool:
        """True (and one fewer left) when the next new order must be lost in flight (``lose_next``)."""
        if self.lose_left > 0:
            self.lose_left -= 1
            return True
        return False

    def next_restore_code(self) -> int:
        """1101 or 1102 for the next farm flap (alternating, starting with 1101, unless fixed)."""
        kind = self.spec.farm_flap_restore
        self.flaps += 1
        if kind == "alternate":
            return 1101 if self.flaps % 2 == 1 else 1102
        return int(kind)

    def state(self) -> dict[str, Any]:
        """The spec in force and what is left of its counters (``GET /faults``)."""
        return {
            "spec": self.spec.to_dict(),
            "refuse_left": self.refuse_left,
            "reject_left": self.reject_left,
            "lose_left": self.lose_left,
        }
