"""One strategy, one window of real data, two paths: ``trader backtest`` (the simulated venue) and ``trader run
--shadow`` over the offline gateway. The orders must be the same (bar, symbol, side, amount, type) and the fills
within the fill model's tolerance (issue 20, "Parity").

BHP/AUD daily bars of March 2019 (the raw file), ``alternate`` (it trades every bar, so ten sessions give ten
orders). The gateway replays the same catalog files the backtest reads, at ×20,000 until ``--until``.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_runner_processes import RunnerProcess, runner_env
from typer.testing import CliRunner

from sdk.cli import app
from sdk.ledger import open_ledger
from sdk.ledger import queries as q

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]

HERE = Path(__file__).resolve().parent
START, UNTIL = datetime(2019, 3, 4, tzinfo=UTC), "2019-03-15"
STRATEGY = ("--symbols", "BHP/AUD", "--strategy", "alternate", "--plugin", "runner_test_strategies",
            "--timeframe", "1d", "--order-value", "10000")  # fmt: skip
SYDNEY = "Australia/Sydney"
#: The fill model's tolerance between the two paths on daily bars: the gateway replays a day along a path inside its
#: range (``docs/gateway.md``), and a shadow fill comes a few replayed minutes after the open, where the backtest
#: fills at the open itself; so each fill lies within its session's traded range, give or take one price step
#: (BHP's step at 2019 prices: 0.01 AUD).
STEP = 0.01


def backtest_orders(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    monkeypatch.syspath_prepend(str(HERE))  # the plugin, as PYTHONPATH gives it to the runner process
    result = CliRunner().invoke(
        app, ["--env-file", "/nonexistent.env", "backtest", *STRATEGY, "--start", START.date().isoformat(),
              "--end", UNTIL], env=env, catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    orders = pq.read_table(run_dir / "orders.parquet").to_pandas()
    fills = pq.read_table(run_dir / "fills.parquet").to_pandas()
    bars = pq.read_table(run_dir / "bars.parquet").to_pandas()
    return orders, fills, bars


async def shadow_run(make_gateway: Any, catalog: Any, sqlite_url: str, tmp_path: Path) -> None:
    gw = await make_gateway(start=START, catalog_=catalog)  # paused until the runner is connected
    script = Path(sys.executable).with_name("trader")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from sdk.cli import main; main()"]
    command += ["run", "--exchange", "IB", *STRATEGY, "--shadow", "--until", UNTIL]
    log = tmp_path / "trader-run.log"
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            *command, stdout=sink, stderr=sink, env=runner_env(gw, sqlite_url), cwd=tmp_path
        )
    run = RunnerProcess(proc, log)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while not gw.state()["clients"]:
            assert proc.returncode is None and loop.time() < deadline, f"never connected:\n{run.output[-3000:]}"
            await asyncio.sleep(0.05)
        gw.clock.set_speed(20_000)
        assert await run.wait(timeout=240) == 0, run.output[-3000:]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert gw.state()["orders"] == [], "shadow mode sent an order to the gateway"


def session_day(ms: Any) -> str:
    return str(pd.Timestamp(ms).tz_convert(SYDNEY).date())


async def test_a_backtest_and_a_shadow_run_give_the_same_orders_and_fills(
    make_gateway: Any, backtest_data: Path, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sdk.data import load_catalog

    env = {"MARKET_DATA_DIR": str(backtest_data), "BACKTEST_DIR": str(tmp_path / "runs"), "LOG_LEVEL": "WARNING",
           "DATABASE_URL": f"sqlite:///{tmp_path}/bt-ledger/trader.db"}  # fmt: skip
    orders, fills, bars = await asyncio.to_thread(backtest_orders, env, monkeypatch)  # the command runs its own loop
    await shadow_run(make_gateway, load_catalog(backtest_data), sqlite_url, tmp_path)
    with open_ledger(sqlite_url) as ledger:
        shadow_orders = q.orders_by_client_prefix(ledger, "trd-")
        shadow_fills = q.trades_with_commissions(ledger, limit=None)

    backtest = [(session_day(o.time), o.symbol, o.side, float(o.amount), o.type) for o in orders.itertuples()]
    shadow = sorted(
        (session_day(pd.Timestamp(o["timestamp"], unit="ms", tz="UTC")), o["symbol"], o["side"], float(o["amount"]),
         o["type"]) for o in shadow_orders
    )  # fmt: skip
    assert len(backtest) >= 8, f"the window traded too little to prove anything: {backtest}"
    assert backtest == shadow, f"orders differ:\nbacktest {backtest}\nshadow   {shadow}"

    bt_prices = [(session_day(f.time), f.side, float(f.amount), float(f.price)) for f in fills.itertuples()]
    sh_prices = sorted(
        (session_day(pd.Timestamp(f["timestamp"], unit="ms", tz="UTC")), f["side"], float(f["amount"]),
         float(f["price"])) for f in shadow_fills
    )  # fmt: skip
    assert [p[:3] for p in bt_prices] == [p[:3] for p in sh_prices], f"fills differ:\n{bt_prices}\n{sh_prices}"
    ranges = {session_day(b.time): (float(b.low), float(b.high)) for b in bars.itertuples()}
    outside = [
        (day, price)
        for day, _, _, price in [*bt_prices, *sh_prices]
        if not ranges[day][0] - STEP - 1e-9 <= price <= ranges[day][1] + STEP + 1e-9
    ]
    assert not outside, f"fills outside their session's range (low, high) {ranges}: {outside}"
    opens = {session_day(b.time): float(b.open) for b in bars.itertuples()}
    assert all(abs(price - opens[day]) <= STEP + 1e-9 for day, _, _, price in bt_prices), (
        "the backtest fills at the open"
    )
