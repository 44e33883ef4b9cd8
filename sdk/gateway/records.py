"""The paper account's records: orders, executions, positions, and their JSON form for the state file.

Quantities are ``Decimal`` base units (shares, or the base currency of an FX pair); prices are
``Decimal`` in the instrument's quote currency; times are simulated epoch seconds (UTC). Status
names are IB's (``PendingSubmit``, ``PreSubmitted``, ``Submitted``, ``Filled``, ``Cancelled``,
``ApiCancelled``, ``Inactive``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any, Literal, TypeVar

__all__ = [
    "ACTIVE_STATUSES",
    "DONE_STATUSES",
    "ExecutionRecord",
    "OrderRecord",
    "PositionRecord",
    "from_json",
    "to_json",
]

Action = Literal["BUY", "SELL"]
ACTIVE_STATUSES = frozenset({"PendingSubmit", "PreSubmitted", "Submitted"})
DONE_STATUSES = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})


@dataclass
class OrderRecord:
    """One order as IB keeps it (keyed by ``perm_id``; ``(client_id, order_id)`` for its owner)."""

    order_id: int
    client_id: int
    perm_id: int
    symbol: str
    con_id: int
    action: Action
    total_quantity: Decimal
    order_type: str
    lmt_price: Decimal | None
    aux_price: Decimal | None
    tif: str
    order_ref: str
    account: str
    created: float
    outside_rth: bool = False
    status: str = "PendingSubmit"
    filled: Decimal = Decimal(0)
    avg_fill_price: Decimal = Decimal(0)
    last_fill_price: Decimal = Decimal(0)
    triggered: bool = False
    arrival: bool = True
    updated: float = 0.0
    completed_time: float | None = None
    completed_status: str = ""
    why_held: str = ""
    expires: float | None = None
    #: an OPG order's opening auction (the session open it trades at), None for other orders
    opens: float | None = None
    exchange: str = ""
    parent_id: int = 0  # the parent's orderId (same client) of an attached order, 0 for none
    parent_perm: int = 0  # the parent's permId
    oca_group: str = ""
    oca_type: int = 0
    #: a MKT order's protection cap (quote currency), set when it first meets the market; None before
    protection: Decimal | None = None

    @property
    def remaining(self) -> Decimal:
        return self.total_quantity - self.filled

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def side(self) -> Literal["BOT", "SLD"]:
        """IB's execution side."""
        return "BOT" if self.action == "BUY" else "SLD"


@dataclass
class ExecutionRecord:
    """One fill. ``liquidity``: IB's lastLiquidity (1 added, 2 removed); ``commission`` None while pending."""

    exec_id: str
    order_id: int
    client_id: int
    perm_id: int
    symbol: str
    con_id: int
    side: Literal["BOT", "SLD"]
    shares: Decimal
    price: Decimal
    time: float
    account: str
    exchange: str
    cum_qty: Decimal
    avg_price: Decimal
    order_ref: str
    liquidity: int
    commission: Decimal | None = None
    commission_currency: str = ""
    realized_pnl: Decimal | None = None


@dataclass
class PositionRecord:
    """A position: signed quantity in base units and average cost per unit in the quote currency."""

    symbol: str
    con_id: int
    quantity: Decimal = Decimal(0)
    avg_cost: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)


_Record = TypeVar("_Record", OrderRecord, ExecutionRecord, PositionRecord)
_DECIMAL_FIELDS: dict[type, frozenset[str]] = {}


def _decimal_fields(cls: type) -> frozenset[str]:
    if cls not in _DECIMAL_FIELDS:
        _DECIMAL_FIELDS[cls] = frozenset(f.name for f in fields(cls) if "Decimal" in str(f.type))
    return _DECIMAL_FIELDS[cls]


def to_json(record: OrderRecord | ExecutionRecord | PositionRecord) -> dict[str, Any]:
    """A record as JSON-ready values (Decimals as strings, exact)."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(record).items()}


def from_json(cls: type[_Record], data: dict[str, Any]) -> _Record:
    """The inverse of :func:`to_json`; unknown keys are ignored (older or newer state files)."""
    names = {f.name for f in fields(cls)}
    decimals = _decimal_fields(cls)
    values: dict[str, Any] = {
        k: (Decimal(v) if k in decimals and v is not None else v) for k, v in data.items() if k in names
    }
    return cls(**values)
