""".env.template lists every setting, with its real default, and nothing that is not a setting."""

from __future__ import annotations

from pathlib import Path

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


def test_template_loads_to_the_defaults(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("\n".join(f"{k}={v}" for k, v in _template_entries().items() if v))
    assert DotEnvSettingsSource(Settings, env_file=env)()  # pydantic-settings parses the file
    assert load_settings(env) == load_settings()
