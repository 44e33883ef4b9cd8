"""One instrument description for the apps: runner, MCP server, dashboard and the service layer name only
``InstrumentSpec``; the data's, the gateway's and the IB venue's own classes stay in their layers (AGENTS.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("runner", "mcp_server", "dashboard", "sdk/services")
OTHER_INSTRUMENT_CLASSES = {"CatalogEntry", "TickerFacts", "GatewayContract", "ResolvedContract"}


def _imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return names


def test_the_apps_know_one_instrument_class() -> None:
    offenders = {
        f"{path.relative_to(ROOT)}: {sorted(found)}"
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if (found := _imported_names(path) & OTHER_INSTRUMENT_CLASSES)
    }
    assert not offenders, "use sdk.instruments.InstrumentSpec (BaseTrader.fetch_instrument) instead"
    assert any("InstrumentSpec" in _imported_names(p) for p in (ROOT / "runner").rglob("*.py"))
