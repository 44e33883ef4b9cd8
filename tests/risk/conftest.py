"""Fixtures of the risk tests: real prices (``sdk.data``'s catalog over ``../shared/data``) and contexts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from risk_helpers import ASX_NOON, DATA_FOLDERS, NYSE_AFTERNOON, RealPrices

from sdk.costs import FxTable
from sdk.data import load_catalog
from sdk.instruments import InstrumentSpec
from sdk.risk import RiskContext


@pytest.fixture(scope="session")
def real(shared_data: Path) -> RealPrices:
    """Real prices read through ``sdk.data.load_catalog`` (the folders the tests need, once per session)."""
    return RealPrices(tuple(load_catalog(shared_data / folder) for folder in DATA_FOLDERS))


ContextFactory = Callable[..., RiskContext]


@pytest.fixture
def make_context(real: RealPrices) -> ContextFactory:
    """``make_context(instrument, quote=..., positions=..., now=..., pnl_today=..., fx=...)``, USD->AUD at the
    real rate of :data:`DAY` unless ``fx`` is given."""

    def build(instrument: InstrumentSpec, **fields: Any) -> RiskContext:
        positions = fields.pop("positions", {})
        facts = {p.symbol: p for p in positions} if isinstance(positions, list) else positions
        fields.setdefault("fx", FxTable.of("AUD", real.usd_to_aud()))
        fields.setdefault("now", ASX_NOON if instrument.market == "ASX" else NYSE_AFTERNOON)
        fields.setdefault("quote", None)
        return RiskContext(instrument=instrument, positions=facts, **fields)

    return build
