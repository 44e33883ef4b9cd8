""".env.template lists every setting, with its real default, and nothing that is not a setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import DotEnvSettingsSource

from sdk.settings import Settings, load_settings

TEMPLATE = Path(__file__).resolve().parents[2] / ".env.template"


def _template_entries() -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in TEMPLATE.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, rest = line.partition("=")
        entries[name.strip()] = rest.split("  #")[0].strip()
    return entries


def test_template_names_every_setting_once() -> None:
    names = set(_template_entries())
    fields = {name.upper() for name in Settings.model_fields}
    assert names == fields, f"missing: {sorted(fields - names)}, unknown: {sorted(names - fields)}"


def test_template_loads_to_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copying the template to .env, as it says, must start every program: the file as shipped, empty
    values (IB_CLIENT_ID_MAX=, IB_ACCOUNT_ID=, the secrets) and inline comments included."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    parsed = DotEnvSettingsSource(Settings, env_file=TEMPLATE)()  # pydantic-settings parses the file
    assert parsed["ib_client_id_max"] == "" and parsed["ib_account_id"] == "", "the template ships them empty"
    loaded = load_settings(TEMPLATE)
    assert loaded == load_settings() == Settings(_env_file=None)
    assert loaded.ib_client_id_max is None and loaded.ib_account_id is None and loaded.masked_account is None
    assert loaded.ccxt_api_key is None and loaded.ccxt_secret is None and loaded.mcp_http_token is None


@pytest.mark.parametrize("name", ["IB_CLIENT_ID_MAX", "IB_ACCOUNT_ID", "CCXT_API_KEY", "MCP_HTTP_TOKEN"])
def test_an_empty_optional_setting_is_unset(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "  ")
    assert getattr(load_settings(), name.lower()) is None
