"""Settings: defaults, every bad value named with an example, secrets masked, .env only when asked."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from sdk.redaction import registered_secrets
from sdk.settings import Settings, SettingsError, load_settings
from sdk.symbols import InstrumentType


def test_defaults_are_safe_and_aud_based() -> None:
    settings = load_settings()
    assert settings.active_exchange == "IB"
    assert settings.ib_host == "127.0.0.1" and settings.ib_port == 4002
    assert settings.base_currency == "AUD"
    assert settings.ib_exchange == "SMART"
    assert settings.ib_allow_live is False and settings.execute_orders is False
    assert settings.mcp_trading_enabled is False
    assert settings.ib_commission_plan == "fixed"
    assert settings.database_url.startswith("sqlite:///./data/")
    assert settings.ccxt_exchange == "gemini"
    assert InstrumentType.FX in settings.allowed_instrument_types


def test_environment_values_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_SYMBOLS", "BHP/AUD, AUD/USD")
    monkeypatch.setenv("ALLOWED_INSTRUMENT_TYPES", "STOCK,fx")
    monkeypatch.setenv("MAX_ORDER_VALUE", "10000.01")
    monkeypatch.setenv("SYMBOL_OVERRIDES", '{"BHP/USD": {"primary_exchange": "NYSE"}}')
    monkeypatch.setenv("ACTIVE_EXCHANGE", "Gemini")
    settings = load_settings()
    assert settings.allowed_symbols == ["BHP/AUD", "AUD/USD"]
    assert settings.allowed_instrument_types == [InstrumentType.STOCK, InstrumentType.FX]
    assert settings.max_order_value == Decimal("10000.01")
    assert settings.symbol_overrides["BHP/USD"].primary_exchange == "NYSE"
    assert settings.active_exchange == "gemini"


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("IB_PORT", "abc", "Example: IB_PORT=4002"),
        ("IB_PORT", "70000", "IB_PORT: Input should be less than or equal to 65535"),
        ("IB_BASE_CURRENCY", "aud", "Example: IB_BASE_CURRENCY=AUD"),
        ("IB_COMMISSION_PLAN", "cheap", "Example: IB_COMMISSION_PLAN=tiered"),
        (
            "ALLOWED_SYMBOLS",
            "BHP.AX,bhp,AUDUSD",
            "'BHP.AX' (did you mean 'BHP/AUD'?), 'bhp' (did you mean 'BHP/AUD'?), 'AUDUSD' (did you mean 'AUD/USD'?)",
        ),
        ("ALLOWED_INSTRUMENT_TYPES", "stock,bond", "ALLOWED_INSTRUMENT_TYPES"),
        ("ACTIVE_EXCHANGE", "nyse", "neither IB nor a ccxt exchange id"),
        ("SYMBOL_OVERRIDES", "{not json", "SYMBOL_OVERRIDES: is not valid JSON"),
        ("SYMBOL_OVERRIDES", '{"BHP/USD": {"primary": "NYSE"}}', "SYMBOL_OVERRIDES"),
        ("MAX_ORDER_VALUE", "-5", "Example: MAX_ORDER_VALUE=25000"),
        ("CLIENT_ORDER_PREFIX", "bad prefix!", "CLIENT_ORDER_PREFIX: must be 1-16 letters"),
        ("IB_ACCOUNT_ID", "12345", "IB_ACCOUNT_ID: must be an IB account number"),
        ("EXECUTE_ORDERS", "maybe", "Example: EXECUTE_ORDERS=false"),
    ],
)
def test_bad_value_names_variable_problem_and_example(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert expected in str(err.value)
    assert str(err.value).count("\n") == 1, "exactly one bad variable reported"


def test_client_id_range_must_be_ordered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IB_CLIENT_ID", "10")
    monkeypatch.setenv("IB_CLIENT_ID_MAX", "5")
    with pytest.raises(SettingsError, match="IB_CLIENT_ID_MAX must be >= IB_CLIENT_ID"):
        load_settings()


def test_secrets_never_show_in_repr_errors_or_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CCXT_API_KEY", "key-abcdef-123456")
    monkeypatch.setenv("CCXT_SECRET", "secret-zyxwvu-987654")
    monkeypatch.setenv("IB_ACCOUNT_ID", "DU7654321")
    settings = load_settings()
    text = repr(settings) + str(settings)
    for secret in ("key-abcdef-123456", "secret-zyxwvu-987654"):
        assert secret not in text
        assert secret in registered_secrets()
    assert "DU7654321" not in text
    assert "DU7654321" not in registered_secrets(), "masked by pattern, not as a secret"
    assert "DU****321" in text
    assert settings.ccxt_api_key is not None and settings.ccxt_api_key.get_secret_value() == "key-abcdef-123456"

    monkeypatch.setenv("IB_PORT", "not-a-port")
    monkeypatch.setenv("MCP_HTTP_TOKEN", "")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "key-abcdef-123456" not in str(err.value)


def test_secret_value_hidden_in_validation_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_HTTP_TOKEN", "x" * 5)
    monkeypatch.setenv("MCP_HTTP_PORT", "0")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "xxxxx" not in str(err.value)


def test_env_file_read_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("IB_PORT=4999\nIB_CLIENT_ID=7\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().ib_port == 4002, "a .env in the working directory is not read unless asked"
    settings = load_settings(env_file)
    assert (settings.ib_port, settings.ib_client_id) == (4999, 7)
    monkeypatch.setenv("IB_PORT", "4888")
    assert load_settings(env_file).ib_port == 4888, "the environment wins over the file"


def test_importing_the_sdk_reads_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / ".env").write_text("IB_PORT=definitely-bad\n")
    code = "import sdk, sdk.cli, sdk.venues.ib, sdk.registry; print('imported')"
    env = {"IB_PORT": "definitely-bad", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(Exception, match="frozen"):
        settings.ib_port = 1  # type: ignore[misc]
    logging.getLogger(__name__).debug("frozen ok")


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        (
            "SYMBOL_OVERRIDES",
            '{"BHP/USD":{"exchnage":"NYSE"}}',
            "SYMBOL_OVERRIDES['BHP/USD'].exchnage: Extra inputs are not permitted (got 'NYSE'); allowed keys: "
            "sec_type, ib_symbol, exchange, primary_exchange, instrument_type (did you mean 'exchange'?). "
            'Example: SYMBOL_OVERRIDES={"BHP/USD": {"primary_exchange": "NYSE"}}',
        ),
        ("SYMBOL_OVERRIDES", '{"BHP/USD":{"sec_type":"FUT"}}', "SYMBOL_OVERRIDES['BHP/USD'].sec_type: Input should be"),
        ("SYMBOL_OVERRIDES", '{"BHP/USD": 5}', "SYMBOL_OVERRIDES['BHP/USD']: Input should be a valid dictionary"),
        (
            "SYMBOL_MAX_POSITION_VALUE",
            '{"BHP/AUD": "lots"}',
            "SYMBOL_MAX_POSITION_VALUE['BHP/AUD']: Input should be a valid decimal (got 'lots'). "
            'Example: SYMBOL_MAX_POSITION_VALUE={"BHP/AUD": 50000}',
        ),
        ("ALLOWED_INSTRUMENT_TYPES", "stock,bond", "ALLOWED_INSTRUMENT_TYPES[1]: Input should be 'stock'"),
    ],
)
def test_a_nested_error_names_the_full_location_and_an_example(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert expected in str(err.value), str(err.value)
