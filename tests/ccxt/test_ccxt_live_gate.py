"""A ccxt venue is gated like IB (issue 12, situation 4): ``--execute`` against an exchange's real API (no
``CCXT_SANDBOX``) is live, so the runner refuses without ``CCXT_ALLOW_LIVE=true`` and a validated sandbox run,
and the (fake) Gemini on loopback receives no order."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from runner.config import RunnerConfig
from runner.runner import StrategyRunner
from sdk.errors import LiveTradingNotAllowed
from sdk.ledger import open_ledger, upgrade
from sdk.ledger import queries as q
from sdk.services.clock import WallClock
from sdk.settings import load_settings


async def test_the_runner_refuses_a_ccxt_venue_executing_without_a_sandbox(
    gemini: Any, make_trader: Any, gemini_credentials: tuple[str, str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/trader.db"
    upgrade(url)
    key, secret = gemini_credentials
    settings = load_settings(active_exchange="gemini", ccxt_api_key=key, ccxt_secret=secret, execute_orders=True,
                             allowed_symbols="BTC/USD", allowed_instrument_types="crypto")  # fmt: skip
    gemini.fill_new_orders = True
    async with make_trader(gemini.url, settings) as trader:
        assert trader.mode_facts() == {"sandbox": False}
        with open_ledger(url) as ledger:
            config = RunnerConfig(symbols=("BTC/USD",), timeframe="1h", shadow=False, until=time.time() + 5)
            runner = StrategyRunner(settings, config, clock=WallClock(), trader=trader, ledger=ledger)
            with pytest.raises(LiveTradingNotAllowed) as refused:
                await runner.run()
            (session,) = q.sessions(ledger)
    message = str(refused.value)
    assert "CCXT_SANDBOX=false (live)" in message and "CCXT_ALLOW_LIVE: set CCXT_ALLOW_LIVE=true" in message
    assert "paper run validated" in message and "gemini's sandbox (CCXT_SANDBOX=true)" in message
    assert key not in message and secret not in message
    assert (
        session["mode"] == "live"
        and session["venue"] == "gemini"
        and session["end_reason"] == "refused by the live gate"
    )
    assert gemini.new_order_requests == [], "an order reached the exchange"


async def test_ccxt_sandbox_is_the_exchanges_test_api_and_an_exchange_without_one_says_so() -> None:
    from sdk.errors import NotSupported
    from sdk.venues.ccxt import CcxtTrader
    from sdk.venues.mode import venue_mode

    settings = load_settings(active_exchange="gemini", ccxt_sandbox=True)
    sandboxed = CcxtTrader(settings, "gemini")
    try:
        assert sandboxed.mode_facts() == {"sandbox": True} and "sandbox" in str(sandboxed.exchange.urls["api"])
        assert venue_mode(sandboxed, settings).mode == "paper"
    finally:
        await sandboxed.close()
    with pytest.raises(NotSupported, match="CCXT_SANDBOX=true but kraken has no sandbox/testnet in ccxt"):
        CcxtTrader(load_settings(active_exchange="kraken", ccxt_sandbox=True), "kraken")
