"""Pure parts of the runner: bar-close schedules on the real calendars, the strategies and their registry,
the configuration, the history guardrails, the live gate's checklist and the latency figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest

from runner.config import RunnerConfig, parse_until
from runner.strategies import BarContext, PlanProposal, Signal, Strategy, create_strategy, register_strategy
from runner.telemetry import Latency
from sdk.errors import BadRequest
from sdk.services.data import DataFetchCoordinator
from sdk.services.schedule import BarSchedule
from sdk.settings import load_settings
from sdk.venues.ib.trader import IBTrader

SYDNEY = ZoneInfo("Australia/Sydney")
NEW_YORK = ZoneInfo("America/New_York")


def at(tz: tzinfo, *parts: int) -> float:
    year, month, day, *rest = parts
    return datetime(year, month, day, *rest, tzinfo=tz).timestamp()


# --- schedules -------------------------------------------------------------------------------------
def test_asx_daily_bars_close_at_the_session_close_including_early_closes_and_holidays() -> None:
    daily = BarSchedule("ASX", "1d")
    assert daily.next_close(at(SYDNEY, 2025, 12, 23, 11, 0)) == at(SYDNEY, 2025, 12, 23, 16, 0)
    # Christmas Eve closes at 14:10; Christmas and Boxing Day are holidays; the next close is Monday 29th
    assert daily.next_close(at(SYDNEY, 2025, 12, 24, 9, 0)) == at(SYDNEY, 2025, 12, 24, 14, 10)
    assert daily.next_close(at(SYDNEY, 2025, 12, 24, 14, 10)) == at(SYDNEY, 2025, 12, 29, 16, 0)
    bar_24 = int(datetime(2025, 12, 24, tzinfo=UTC).timestamp() * 1000)  # IB stamps daily bars 00:00 UTC
    assert not daily.is_complete(bar_24, at(SYDNEY, 2025, 12, 24, 14, 9))
    assert daily.is_complete(bar_24, at(SYDNEY, 2025, 12, 24, 14, 10))
    assert daily.bar_close(bar_24) == at(SYDNEY, 2025, 12, 24, 14, 10)
    assert not daily.is_open(at(SYDNEY, 2025, 12, 25, 12, 0))
    assert daily.next_open(at(SYDNEY, 2025, 12, 25, 12, 0)) == at(SYDNEY, 2025, 12, 29, 10, 0)


def test_intraday_bars_close_on_the_grid_inside_sessions_only() -> None:
    five = BarSchedule("NYSE", "5m")
    assert five.next_close(at(NEW_YORK, 2025, 3, 4, 9, 31)) == at(NEW_YORK, 2025, 3, 4, 9, 35)
    assert five.next_close(at(NEW_YORK, 2025, 3, 4, 15, 57)) == at(NEW_YORK, 2025, 3, 4, 16, 0)
    assert five.next_close(at(NEW_YORK, 2025, 3, 4, 16, 0)) == at(NEW_YORK, 2025, 3, 5, 9, 35), "none overnight"
    assert five.next_close(at(NEW_YORK, 2025, 3, 7, 16, 30)) == at(NEW_YORK, 2025, 3, 10, 9, 35), "none at weekends"
    bar = int(at(NEW_YORK, 2025, 3, 4, 9, 30) * 1000)
    assert not five.is_complete(bar, at(NEW_YORK, 2025, 3, 4, 9, 34, 59))
    assert five.is_complete(bar, at(NEW_YORK, 2025, 3, 4, 9, 35))


def test_fx_daily_bars_close_at_five_in_new_york_and_crypto_runs_around_the_clock() -> None:
    fx = BarSchedule("FX", "1d")
    assert fx.next_close(at(NEW_YORK, 2025, 3, 4, 12, 0)) == at(NEW_YORK, 2025, 3, 4, 17, 0)
    assert fx.next_close(at(NEW_YORK, 2025, 3, 7, 17, 0)) == at(NEW_YORK, 2025, 3, 10, 17, 0)
    crypto = BarSchedule(None, "1h")
    assert crypto.next_close(at(UTC, 2025, 3, 8, 10, 15)) == at(UTC, 2025, 3, 8, 11, 0)
    assert crypto.is_open(at(UTC, 2025, 3, 8, 10, 15)) and crypto.session_close(0) is None


def test_an_unknown_timeframe_is_refused_with_the_supported_ones() -> None:
    with pytest.raises(BadRequest, match="timeframe '7m' is not supported; use one of 1s, 5s"):
        BarSchedule("ASX", "7m")


# --- strategies ----------------------------------------------------------------------------------
def context(closes: list[float], position: Decimal = Decimal(0), plans: tuple[Any, ...] = ()) -> BarContext:
    from sdk.instruments import InstrumentSpec
    from sdk.symbols import InstrumentType
    from sdk.ticks import ASX_EQUITY

    start = datetime(2025, 1, 1, tzinfo=UTC)
    bars = [[int((start + timedelta(days=i)).timestamp() * 1000), c, c * 1.01, c * 0.99, c, 1000.0]
            for i, c in enumerate(closes)]  # fmt: skip
    spec = InstrumentSpec("BHP/AUD", InstrumentType.STOCK, "BHP", "AUD", ASX_EQUITY, Decimal(1), Decimal(1), "ASX",
                          False, "IB")  # fmt: skip
    return BarContext("BHP/AUD", "1d", bars, position, spec, start, plans)


def test_ma_crossover_proposes_a_plan_on_the_cross_up_and_exits_on_the_cross_down() -> None:
    strategy = create_strategy("ma_crossover", fast=3, slow=6, atr=3)
    falling_then_up = [10.0, 9.8, 9.6, 9.4, 9.2, 9.0, 8.8, 8.6, 9.5, 10.4]
    (plan,) = strategy.on_bar(context(falling_then_up))
    assert isinstance(plan, PlanProposal) and plan.side == "buy" and plan.entry is None
    assert plan.stop < Decimal("10.4") < plan.target and "crossed up" in plan.reason
    assert strategy.on_bar(context(falling_then_up, position=Decimal(100))) == [], "already long: no second entry"
    assert strategy.on_bar(context(falling_then_up[:-1])) == [], "the bar before the cross: nothing"

    rising_then_down = [8.0, 8.2, 8.4, 8.6, 8.8, 9.0, 9.2, 9.4, 8.5, 7.6]
    (exit_,) = strategy.on_bar(context(rising_then_down, position=Decimal(100)))
    assert isinstance(exit_, Signal) and (exit_.side, exit_.amount, exit_.is_exit) == ("sell", Decimal(100), True)
    assert strategy.on_bar(context(rising_then_down)) == [], "long-only: no short on the cross down"
    assert strategy.warmup == 7


def test_momentum_buys_strength_and_sells_when_it_fades() -> None:
    strategy = create_strategy("momentum", lookback=3, entry_pct=5, exit_pct=0)
    (buy,) = strategy.on_bar(context([10.0, 10.0, 10.0, 10.2, 10.8]))
    assert isinstance(buy, Signal) and buy.side == "buy" and buy.amount is None and "+8.00%" in buy.reason
    (sell,) = strategy.on_bar(context([10.8, 10.8, 10.8, 10.9, 10.7], position=Decimal(50)))
    assert (sell.side, sell.amount, sell.is_exit) == ("sell", Decimal(50), True)


def test_the_registry_names_what_it_has_and_refuses_bad_parameters() -> None:
    with pytest.raises(ValueError, match=r"no strategy 'nope'; available: .*ma_crossover, momentum"):
        create_strategy("nope")
    with pytest.raises(ValueError, match=r"has no parameter\(s\) \['fats'\]; known: fast=10, slow=30"):
        create_strategy("ma_crossover", fats=5)
    with pytest.raises(ValueError, match="1 <= fast < slow"):
        create_strategy("ma_crossover", fast=30, slow=10)

    @register_strategy("unit_buy_once")
    class BuyOnce(Strategy):
        defaults: ClassVar[dict[str, float]] = {}

        @property
        def warmup(self) -> int:
            return 1

        def on_bar(self, ctx: BarContext) -> list[Signal]:
            return [Signal("buy")]

    assert create_strategy("unit_buy_once").name == "unit_buy_once"
    with pytest.raises(ValueError, match="already registered"):
        register_strategy("unit_buy_once")(type("Other", (BuyOnce,), {}))


# --- configuration ----------------------------------------------------------------------------------
def test_until_and_the_configuration_say_what_is_wrong() -> None:
    assert parse_until("2025-12-31") == datetime(2025, 12, 31, tzinfo=UTC).timestamp()
    assert parse_until("2025-12-31T16:10:00+11:00") == datetime(2025, 12, 31, 5, 10, tzinfo=UTC).timestamp()
    with pytest.raises(ValueError, match=r"not ISO 8601; e\.g\. 2025-12-31"):
        parse_until("tomorrow")
    with pytest.raises(Exception, match=r"'BHP\.AX' is not a canonical symbol; did you mean 'BHP/AUD'"):
        RunnerConfig(symbols=("BHP.AX",))
    with pytest.raises(ValueError, match="listed twice"):
        RunnerConfig(symbols=("BHP/AUD", "BHP/AUD"))
    with pytest.raises(ValueError, match="order value must be positive"):
        RunnerConfig(symbols=("BHP/AUD",), order_value=Decimal(-1))


def test_history_guardrail_refuses_requests_ib_would_pace_for_an_hour() -> None:
    coordinator = DataFetchCoordinator(IBTrader(load_settings()), clock=lambda: 0.0)
    coordinator.check_history("1d", 500)
    coordinator.check_history("1m", 2000)
    with pytest.raises(BadRequest, match=r"100000 1m bars from IB need about \d+ history requests.*at most \d+ bars"):
        coordinator.check_history("1m", 100_000)
    with pytest.raises(BadRequest, match="positive number of bars"):
        coordinator.check_history("1d", 0)


def test_latency_percentiles() -> None:
    latency = Latency()
    for ms in range(1, 101):
        latency.add(float(ms))
    latency.add(float("nan"))
    assert latency.summary() == {"count": 100, "p50": 50.0, "p95": 95.0, "max": 100.0}
    assert Latency().summary() == {"count": 0, "p50": None, "p95": None, "max": None}


def test_the_benchmark_counts_skipped_and_duplicated_bars_apart() -> None:
    """``expected - decided`` hid a skipped bar behind a bar decided twice; the tally counts both."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_runner.py"
    found = importlib.util.spec_from_file_location("bench_runner_under_test", path)
    assert found is not None and found.loader is not None
    bench = importlib.util.module_from_spec(found)
    found.loader.exec_module(bench)
    expected = {("BHP/AUD", 1), ("BHP/AUD", 2), ("CBA/AUD", 1)}
    assert bench.bar_tally(expected, [("BHP/AUD", 1), ("BHP/AUD", 1), ("CBA/AUD", 1)]) == (1, 1)
    assert bench.bar_tally(expected, sorted(expected)) == (0, 0)
