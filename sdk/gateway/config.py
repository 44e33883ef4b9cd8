"""The offline gateway's configuration: one frozen model, the same for the CLI and in-process use."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sdk.gateway.clock import MAX_SPEED
from sdk.gateway.faults import parse_faults
from sdk.redaction import mask_account
from sdk.symbols import FIAT_CURRENCIES

__all__ = ["GatewayConfig", "parse_cash"]

_ACCOUNT = re.compile(r"D?[UF]\d{5,9}")


def parse_cash(spec: str) -> dict[str, Decimal]:
    """``"AUD=1000000,USD=0"`` -> ``{"AUD": Decimal("1000000"), "USD": Decimal("0")}``.

    Raises:
        ValueError: a malformed pair, an unknown currency or a negative amount.
    """
    cash: dict[str, Decimal] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        currency, eq, amount = part.partition("=")
        currency = currency.strip().upper()
        if not eq:
            raise ValueError(f"cash {part!r}: write CURRENCY=AMOUNT, e.g. AUD=1000000,USD=0")
        try:
            cash[currency] = Decimal(amount.strip())
        except InvalidOperation:
            raise ValueError(f"cash {part!r}: {amount.strip()!r} is not a number; e.g. AUD=1000000") from None
    return cash


class GatewayConfig(BaseModel):
    """Everything the offline gateway needs; unknown keys are rejected.

    Attributes:
        host: loopback address to listen on (the gateway has no authentication).
        port: TWS API port; 0 picks a free one (``OfflineGateway.port`` reports it).
        control_port: loopback HTTP control API port; 0 picks a free one, None disables it.
        data_dir: the real market data (``../shared/data``); None replays a seeded synthetic universe.
        start: simulated start time (with offset); None starts at the open of a recent ASX session
            in the data, ten sessions before its end.
        speed: simulated seconds per wall second; 0 pauses (tests move the clock themselves); finite, at most 1e9.
        seed: seeds the synthetic universe, intraday paths and quote sizes.
        account: the paper account number reported in managedAccounts (``DU`` + digits).
        base_currency: the account's base currency (AUD).
        cash: opening cash per currency (``{"AUD": 1000000}``).
        state_file: JSON file keeping account, orders and executions across restarts.
        faults: a fault spec (see :mod:`sdk.gateway.faults`).
        commission_plan: IB's ``fixed`` or ``tiered`` schedule for commission reports.
        gst: add 10% GST to commissions (Australian residents).
        pacing: enforce IB's historical-data pacing rules (error 162).
        participation: share of each interval's traded volume that this account's orders may take.
        tick_seconds: simulated seconds between replayed price points.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(4002, ge=0, le=65535)
    control_port: int | None = Field(4099, ge=0, le=65535)
    data_dir: Path | None = None
    start: datetime | None = None
    speed: float = Field(1.0, ge=0, le=MAX_SPEED, allow_inf_nan=False)
    seed: int = 0
    account: str = "DU0000001"
    base_currency: str = "AUD"
    cash: dict[str, Decimal] = Field(default_factory=lambda: {"AUD": Decimal(1_000_000)})
    state_file: Path | None = None
    faults: str = ""
    commission_plan: Literal["fixed", "tiered"] = "fixed"
    gst: bool = False
    pacing: bool = True
    participation: float = Field(1.0, gt=0, le=1)
    tick_seconds: float = Field(1.0, gt=0, le=60)

    @field_validator("host")
    @classmethod
    def _loopback(cls, value: str) -> str:
        if value == "localhost":
            return value
        try:
            loopback = ipaddress.ip_address(value).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"host {value!r} is not a loopback address; the gateway listens on 127.0.0.1 only")
        return value

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"start {value.isoformat()} needs a UTC offset, e.g. 2025-03-03T10:00:00+11:00")
        return value

    @field_validator("account")
    @classmethod
    def _account(cls, value: str) -> str:
        if not _ACCOUNT.fullmatch(value):
            raise ValueError(f"account {mask_account(value)!r} is not an IB account number such as DU0000001")
        return value

    @field_validator("base_currency")
    @classmethod
    def _base(cls, value: str) -> str:
        if value not in FIAT_CURRENCIES:
            raise ValueError(f"base currency {value!r} is not a currency IB supports (e.g. AUD, USD)")
        return value

    @field_validator("cash", mode="before")
    @classmethod
    def _cash_text(cls, value: Any) -> Any:
        return parse_cash(value) if isinstance(value, str) else value

    @field_validator("cash")
    @classmethod
    def _cash(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, amount in value.items():
            if currency not in FIAT_CURRENCIES:
                raise ValueError(f"cash currency {currency!r} is not one IB supports (e.g. AUD=1000000,USD=0)")
            if amount < 0:
                raise ValueError(f"cash {currency}={amount} is negative; opening balances are >= 0")
        return value

    @field_validator("faults")
    @classmethod
    def _faults(cls, value: str) -> str:
        parse_faults(value)
        return value

    @model_validator(mode="after")
    def _base_cash(self) -> GatewayConfig:
        if self.base_currency not in self.cash:
            object.__setattr__(self, "cash", {self.base_currency: Decimal(0), **self.cash})
        return self

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, (mask_account(value) if name == "account" else value)
