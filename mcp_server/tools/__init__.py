"""The MCP tools, by concern: market data and context (:mod:`.market`), the account (:mod:`.account`),
and the write tools (:mod:`.trading`), registered only when ``MCP_TRADING_ENABLED=true``."""
