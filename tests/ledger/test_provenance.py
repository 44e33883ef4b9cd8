"""Where a run came from: the settings hash (no secrets, no account) and the mode a run records."""

from __future__ import annotations

import re

from sdk.ledger import config_hash, git_sha, session_fields
from sdk.settings import load_settings


def test_config_hash_follows_settings_but_not_secrets_or_the_account() -> None:
    base = load_settings()
    same = load_settings(ib_account_id="DU9990001", ccxt_api_key="k-123456789", mcp_http_token="t-123456789")
    other = load_settings(max_order_value="10000")
    assert re.fullmatch(r"[0-9a-f]{64}", config_hash(base))
    assert config_hash(base) == config_hash(same)
    assert config_hash(base) != config_hash(other)


def test_session_fields_name_the_mode() -> None:
    shadow = session_fields(load_settings(ib_account_id="DU9990001"))
    assert shadow["mode"] == "shadow" and shadow["venue"] == "IB" and shadow["account"] == "DU9990001"
    assert shadow["base_currency"] == "AUD"
    assert session_fields(load_settings(execute_orders=True))["mode"] == "paper"
    assert session_fields(load_settings(execute_orders=True, ib_paper=False, ib_port=4001))["mode"] == "live"
    assert session_fields(load_settings(execute_orders=True, active_exchange="gemini"))["mode"] == "live", "no sandbox"
    sandbox = load_settings(execute_orders=True, active_exchange="gemini", ccxt_sandbox=True)
    assert session_fields(sandbox)["mode"] == "paper"
    assert session_fields(load_settings(active_exchange="gemini", ib_account_id="DU9990001"))["account"] is None


def test_git_sha_of_this_checkout() -> None:
    sha = git_sha()
    assert sha is None or re.fullmatch(r"[0-9a-f]{40}", sha)
