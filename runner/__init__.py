"""The StrategyRunner and the services it shares with the MCP server (issue #7).

* :mod:`sdk.services` — :func:`~sdk.services.build_services`: execution (risk-checked, idempotent by
  client order id, shadow or real), plans, portfolio, the one service set every front end uses.
* :mod:`runner.runner` — :class:`~runner.runner.StrategyRunner`: the bar-close loop (``trader run``).
* :mod:`runner.strategies` — the strategy plugin registry and the built-ins.

Nothing here runs at import time. See ``docs/runner.md``.
"""
