"""Fixtures of the MCP server's tests: the real data loaded once and a migrated SQLite ledger to copy.

Gateways, servers and client sessions are built with the helpers in ``mcp_helpers``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sdk.ledger import upgrade


@pytest.fixture(autouse=True)
def _quiet() -> None:
    logging.getLogger("ib_async").setLevel(logging.CRITICAL)


@pytest.fixture(scope="session")
def ledger_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite ledger migrated once; tests copy it."""
    path = tmp_path_factory.mktemp("mcp-ledger") / "trader.db"
    upgrade(f"sqlite:///{path}")
    return path
