"""Fixtures of the market-data tests: the real catalog of ../shared/data, read once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdk.data import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog(pinned_data: Path) -> Catalog:
    """The catalog of the pinned folders of ../shared/data (``pinned_data``; frames load lazily, once)."""
    return load_catalog(pinned_data)


@pytest.fixture(autouse=True)
def _private_cache_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's default cache lives under XDG_CACHE_HOME: keep it out of the developer's home."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
