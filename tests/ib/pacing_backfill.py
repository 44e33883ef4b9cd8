"""One backfilling process for ``test_shared_pacing_processes``: a week of SPY 1-minute bars through the IB venue.

Settings come from the environment (``IB_PORT``, ``IB_CLIENT_ID``, ``DATABASE_URL`` when shared); argv[1] is the
Monday of the week. Prints one JSON line: the bars fetched and what the process's budget saw.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta

from sdk.registry import create_trader
from sdk.settings import load_settings


async def main(monday: datetime) -> None:
    settings = load_settings(None)
    trader = create_trader("IB", settings, raw=True)
    async with trader:
        since, until = monday, monday + timedelta(days=5)
        rows = await trader.fetch_ohlcv(
            "SPY/USD", "1m", since=int(since.timestamp() * 1000), params={"until": int(until.timestamp() * 1000)}
        )
        budget = trader.budget  # type: ignore[attr-defined]
        print(json.dumps({"bars": len(rows), "requests": budget.stats.requests, "kind": type(budget).__name__}))


if __name__ == "__main__":
    asyncio.run(main(datetime.fromisoformat(sys.argv[1]).replace(tzinfo=UTC)))
