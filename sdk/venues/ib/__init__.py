"""The Interactive Brokers venue (ASX, US, FX; AUD base) on ib_async: ``create_trader("IB")``.

Split by concern: ``connection`` (live guard, client-id lease, heartbeat, reconnect, resync),
``contracts`` (canonical symbol <-> IB contract), ``parsing`` (pure code tables), ``pacing`` and
``clock`` (historical-data pacing on an injectable clock), ``timeframes``, ``market_data``, ``bars``
(keepUpToDate series), ``history`` (``fetch_ohlcv``), ``orders``, ``executions``, ``account``,
``fx`` and ``trader`` (the :class:`IBTrader` facade). Importing this package registers the venue;
nothing connects until ``connect()``.
"""

from sdk.venues.ib.contracts import ContractResolver, ResolvedContract
from sdk.venues.ib.trader import IBTrader

__all__ = ["ContractResolver", "IBTrader", "ResolvedContract"]
