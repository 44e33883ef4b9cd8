"""Foundation figures: canonical symbol parsing, on the hot path of every order and ledger row."""

from __future__ import annotations

import time
from typing import Any

from sdk.symbols import parse_symbol

SYMBOLS = ["BHP/AUD", "CBA/AUD", "AAPL/USD", "AUD/USD", "BRK.B/USD"]


def figures() -> list[dict[str, Any]]:
    rounds = 20_000
    start = time.perf_counter()
    for _ in range(rounds):
        for symbol in SYMBOLS:
            str(parse_symbol(symbol))
    per_call_us = (time.perf_counter() - start) / (rounds * len(SYMBOLS)) * 1e6
    return [{"name": "symbols.parse_round_trip_us", "value": round(per_call_us, 3), "unit": "us", "target": "< 5"}]
