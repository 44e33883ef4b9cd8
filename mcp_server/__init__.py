"""The MCP tool server: LLM agents reach the account through typed, audited tools (issue #8).

Read-only unless ``MCP_TRADING_ENABLED=true``; every order is previewed through the same
RiskManager as the runner (limits and costs in the base currency) and placed exactly once per
confirmation token. Build it with :func:`build_server`; run it with ``trader mcp``. See ``docs/mcp.md``.
"""

from mcp_server.server import BACKTEST_TOOLS, READ_TOOLS, WRITE_TOOLS, build_server
from mcp_server.state import AppState

__all__ = ["BACKTEST_TOOLS", "READ_TOOLS", "WRITE_TOOLS", "AppState", "build_server"]
