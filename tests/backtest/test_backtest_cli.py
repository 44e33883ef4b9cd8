"""``trader backtest`` end to end on real daily bars (BHP/AUD on the ASX, SPY/USD on NYSE valued in AUD), through the
command line in this process: the artifacts, what they say, byte-identical reruns, market-on-close, and bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from backtest_runs import DETERMINISTIC, digests, invoke, parquet, summary

pytestmark = pytest.mark.shared_data

BHP = ("--strategy", "ma_crossover", "--symbols", "BHP/AUD", "--timeframe", "1d", "--start", "2019-01-01",
       "--end", "2020-06-30")  # fmt: skip
SPY = ("--strategy", "momentum", "--symbols", "SPY/USD", "--start", "2023-01-01", "--end", "2023-12-31",
       "--order-value", "20000")  # fmt: skip


@pytest.fixture
def env(backtest_data: Path, tmp_path: Path) -> dict[str, str]:
    """Settings of the runs: the test's data and output directories, a trading ledger that must stay untouched."""
    return {
        "MARKET_DATA_DIR": str(backtest_data), "BACKTEST_DIR": str(tmp_path / "runs"), "LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"sqlite:///{tmp_path}/trading/trader.db", "KILL_SWITCH_FILE": str(tmp_path / "KILL_SWITCH"),
    }  # fmt: skip


def run_dir_of(result: Any) -> Path:
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    path = Path(lines[-1])
    assert path.is_dir(), "the run directory is printed last"
    return path


def test_ma_crossover_on_bhp_writes_every_artifact_and_a_rerun_is_byte_identical(
    env: dict[str, str], tmp_path: Path
) -> None:
    first, second = run_dir_of(invoke(*BHP, env=env)), run_dir_of(invoke(*BHP, env=env))
    assert first != second and first.parent == second.parent == tmp_path / "runs"
    assert digests(first) == digests(second), "same configuration, same data: the same bytes"
    one = summary(first)
    manifests = [p / "manifest.json" for p in (first, second)]
    assert manifests[0].read_text() != manifests[1].read_text(), "the manifest says which run it was"
    assert not (tmp_path / "trading").exists(), "a backtest neither reads nor writes the trading ledger"
    assert one["engine_run_id"] == "bt-" + one["configuration_hash"][:16]
    config = one["configuration"]
    assert (config["strategy"], config["symbols"], config["timeframe"]) == ("ma_crossover", ["BHP/AUD"], "1d")
    assert (config["start"], config["end"], config["fill"], one["price_mode"]) == (
        "2019-01-01", "2020-06-30", "next-open", "raw",
    )  # fmt: skip
    assert one["data"]["symbols"]["BHP/AUD"]["files"] == ["asx_daily_long/BHP.AX.csv"]
    assert one["data"]["symbols"]["BHP/AUD"]["warmup_bars"] >= 36, "warm-up bars before --start (slow SMA 30)"
    for name in DETERMINISTIC:
        assert (first / name).stat().st_size > 0, name

    orders, fills, equity, bars = (parquet(first, n) for n in ("orders", "fills", "equity", "bars"))
    assert len(orders) >= 4 and len(fills) >= 4, "the crossover traded"
    assert set(orders["client_order_id"].str[:4]) == {"trd-"} and set(orders["currency"]) == {"AUD"}
    for name in ("bars", "orders", "fills", "equity"):
        schema = pq.read_schema(first / f"{name}.parquet")
        assert str(schema.field("time").type) == "timestamp[ms, tz=UTC]", name
        assert schema.metadata is None or b"pandas" not in schema.metadata, "no pandas metadata"
    # next-open: each decision (at a session's close) fills at the open of a later session's bar, never before
    opens = set(bars["time"])
    placed = orders.set_index("order_id")["time"]
    assert set(fills["time"]) <= opens
    assert all(fill.time >= placed[fill.order_id] for fill in fills.itertuples())
    first_day = datetime(2019, 1, 1, tzinfo=UTC)
    assert (orders["time"] >= first_day).all() and bars["warmup"].sum() == one["data"]["symbols"]["BHP/AUD"][
        "warmup_bars"
    ]
    # the metrics agree with the tables: equity moves by the trades' net PnL (all closed; AUD, no FX)
    metrics = one["metrics"]
    assert metrics["initial_equity"] == 1_000_000 and metrics["trades"] == len(fills) // 2
    assert metrics["final_equity"] == pytest.approx(float(equity["equity"].iloc[-1]))
    assert metrics["final_equity"] - metrics["initial_equity"] == pytest.approx(metrics["net_pnl"], abs=1e-6)
    assert metrics["total_commission"] == pytest.approx(float(fills["fee_value"].sum()))
    assert 0 < metrics["exposure"] < 1 and metrics["max_drawdown"] >= 0
    assert one["run"]["counters"]["step_errors"] == 0 and one["run"]["ended"] == "until reached"
    out = invoke(*BHP, env=env).stdout
    assert "total return" in out and "max drawdown" in out


def test_momentum_on_spy_is_valued_in_aud_at_the_days_rate_with_slippage(env: dict[str, str]) -> None:
    run = run_dir_of(invoke(*SPY, "--slippage-bps", "5", env=env))
    found = summary(run)
    assert found["data"]["fx_pairs"] == ["AUD/USD"]
    fills, equity = parquet(run, "fills"), parquet(run, "equity")
    assert len(fills) >= 2 and set(fills["currency"]) == {"USD"} and set(fills["base_currency"]) == {"AUD"}
    assert fills["fx_rate"].between(1.3, 1.7).all(), "AUD per USD in 2023"
    assert (fills["value"] - fills["amount"] * fills["price"] * fills["fx_rate"]).abs().max() < 1e-6
    # a taker fill pays the spread and 5 bps: a buy above the open, a sell below it
    buys, sells = fills[fills["side"] == "buy"], fills[fills["side"] == "sell"]
    assert (buys["price"] > buys["reference_price"]).all() and (sells["price"] < sells["reference_price"]).all()
    assert found["metrics"]["total_slippage"] > 0
    assert set(equity["currency"]) == {"AUD"} and "exposure:SPY/USD" in equity.columns
    assert buys["value"].between(19_000, 20_500).all(), "sized to 20,000 AUD at the decision's close"


def test_at_close_fills_in_the_closing_auction_of_the_bar_decided_on(env: dict[str, str]) -> None:
    run = run_dir_of(invoke(*SPY, "--fill", "at-close", env=env))
    orders, fills, bars = parquet(run, "orders"), parquet(run, "fills"), parquet(run, "bars")
    assert len(fills) >= 2
    closes = bars.set_index("end")["close"]
    placed = orders.set_index("order_id")["time"]
    for fill in fills.itertuples():
        assert placed[fill.order_id] == fill.time, "placed and filled at the same moment: the close"
        assert fill.price == pytest.approx(closes[fill.time]), "at the close of the bar that ended then"
    assert summary(run)["configuration"]["fill"] == "at-close"


@pytest.mark.parametrize(
    ("args", "problem", "fix"),
    [
        (("--strategy", "nope"), "no strategy 'nope'", "ma_crossover"),
        (("--param", "speed=3"), "no parameter(s) ['speed']", "fast=10"),
        (("--param", "fast"), "write NAME=NUMBER", "--param fast=5"),
        (("--plugin", "no_such_strategies"), "cannot be imported", "PYTHONPATH"),
        (("--start", "2010-01-01"), "outside the data", "give --start and --end within it"),
        (("--symbols", "BHP.AX"), "no market data for 'BHP.AX'", "BHP/AUD"),
        (("--timeframe", "5m"), "finer than the data", "--timeframe of 1d"),
        (("--start", "2021-06-01", "--end", "2024-06-30"), "mix price bases", "--price-mode"),
        (("--start", "2024-03-01", "--end", "2024-06-30"), "total-return", "--price-mode"),
        (("--symbols", "AUD/USD", "--fill", "at-close"), "which has none", "--fill next-open"),
        (("--start", "2020-02-01", "--end", "2020-01-01"), "after --end", "--start on or before --end"),
        (("--run-id", "taken"), "exists", "another --run-id"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(
    env: dict[str, str], tmp_path: Path, args: tuple[str, ...], problem: str, fix: str
) -> None:
    (tmp_path / "runs" / "taken").mkdir(parents=True)
    options = dict(zip(BHP[::2], BHP[1::2], strict=True))
    options.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = invoke(*[item for pair in options.items() for item in pair], env=env)
    assert result.exit_code == 2, result.output
    assert problem in result.stderr and fix in result.stderr, result.stderr
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["taken"], "nothing was written"
    assert list((tmp_path / "runs" / "taken").iterdir()) == [], "a previous run's directory is never written into"
