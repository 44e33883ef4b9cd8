"""Metrics on small series checked by hand: every figure of a six-bar run with three trades, the edge cases
(no trades, flat equity, one bar, a drawdown never recovered) and the inputs refused."""

from __future__ import annotations

import json
import math
import statistics

import pandas as pd
import pytest
from backtest_cases import small_run

from sdk.backtest import (
    ClosedTrade,
    compute_metrics,
    drawdown,
    json_number,
    monthly_returns,
    periods_per_year,
    trades_frame,
)
from sdk.errors import BadRequest

DAY = 86_400
SMALL_RETURNS = [110 / 100 - 1, 99 / 110 - 1, 105 / 99 - 1, 121 / 105 - 1, 115 / 121 - 1]


def _series(values: list[float], start: str = "2024-01-01", freq: str = "D") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq=freq, tz="UTC"), dtype="float64")


def test_small_run_account_figures() -> None:
    run = small_run()
    m = compute_metrics(run.equity, run.trades, run.exposure, timeframe="1d")

    assert m.bars == 6 and m.periods_per_year == 252
    assert m.initial_equity == 100 and m.final_equity == 115
    assert m.total_return == pytest.approx(0.15)
    # 5 calendar days: (1.15) ** (365.25 / 5) - 1
    assert m.cagr == pytest.approx(1.15 ** (365.25 / 5) - 1)
    # statistics.stdev is the sample deviation (n - 1), computed apart from numpy
    stdev = statistics.stdev(SMALL_RETURNS)
    assert m.volatility == pytest.approx(stdev * math.sqrt(252))
    assert m.sharpe == pytest.approx(statistics.mean(SMALL_RETURNS) / stdev * math.sqrt(252))
    # downside deviation over all five returns: sqrt((0.1² + (6/121)²) / 5)
    downside = math.sqrt((0.1**2 + (6 / 121) ** 2) / 5)
    assert m.sortino == pytest.approx(statistics.mean(SMALL_RETURNS) / downside * math.sqrt(252))
    # peak 110 on 1 Feb, trough 99 on 2 Feb (-10 %), back at 121 on 4 Feb
    assert m.max_drawdown == pytest.approx(0.1)
    assert m.max_drawdown_peak == pd.Timestamp("2024-02-01", tz="UTC")
    assert m.max_drawdown_trough == pd.Timestamp("2024-02-02", tz="UTC")
    assert m.max_drawdown_recovery == pd.Timestamp("2024-02-04", tz="UTC")
    assert m.max_drawdown_recovered is True
    assert (m.max_drawdown_duration_seconds, m.max_drawdown_duration_bars) == (3 * DAY, 3)
    assert m.longest_drawdown_seconds == 3 * DAY  # the later fall (121 -> 115) lasts 1 day to the end
    assert m.calmar == pytest.approx(m.cagr / 0.1)


def test_small_run_trade_figures() -> None:
    run = small_run()
    m = compute_metrics(run.equity, run.trades, run.exposure, timeframe="1d")

    assert m.trades == 3
    assert m.hit_rate == pytest.approx(1 / 3)  # the trade at exactly 0 is not a win
    assert (m.average_win, m.average_loss) == (pytest.approx(4.5), pytest.approx(-6.2))
    assert m.average_trade == pytest.approx((4.5 - 6.2 + 0) / 3)
    assert m.profit_factor == pytest.approx(4.5 / 6.2)
    assert m.exposure == pytest.approx(4 / 6)  # SPY after 1 and 2 Feb, BHP after 4 and 5 Feb
    # traded (50 + 55) + (60 + 66) + (55 + 55) = 341 over the mean equity 650 / 6
    assert m.turnover == pytest.approx(341 / (650 / 6))
    assert (m.total_commission, m.total_slippage, m.net_pnl) == (
        pytest.approx(0.7),
        pytest.approx(0.1),
        pytest.approx(-1.7),
    )

    bhp, spy = m.per_symbol
    assert (bhp.symbol, spy.symbol) == ("BHP/AUD", "SPY/USD")
    assert (spy.trades, spy.hit_rate, spy.average_win, spy.average_loss, spy.profit_factor) == (2, 0.5, 4.5, None, None)
    assert spy.exposure == pytest.approx(2 / 6) and spy.turnover == pytest.approx(215 / (650 / 6))
    assert spy.return_contribution == pytest.approx(0.045)
    assert (spy.total_commission, spy.total_slippage) == (pytest.approx(0.5), pytest.approx(0.1))
    assert (bhp.trades, bhp.hit_rate, bhp.average_win, bhp.average_loss, bhp.profit_factor) == (1, 0.0, None, -6.2, 0.0)
    assert bhp.exposure == pytest.approx(2 / 6) and bhp.return_contribution == pytest.approx(-0.062)


def test_risk_free_rate_is_the_per_bar_target() -> None:
    run = small_run()
    rf = 0.05
    m = compute_metrics(run.equity, run.trades, run.exposure, timeframe="1d", risk_free_rate=rf)
    per_bar = 1.05 ** (1 / 252) - 1
    excess = [r - per_bar for r in SMALL_RETURNS]
    assert m.sharpe == pytest.approx(statistics.mean(excess) / statistics.stdev(excess) * math.sqrt(252))
    downside = math.sqrt(sum(min(0.0, x) ** 2 for x in excess) / 5)
    assert m.sortino == pytest.approx(statistics.mean(excess) / downside * math.sqrt(252))
    assert m.risk_free_rate == rf


def test_cagr_is_calendar_time() -> None:
    # doubling over two years of 365.25 days: sqrt(2) - 1 a year, whatever the number of bars
    index = pd.DatetimeIndex(["2020-01-01", "2020-06-01", "2021-12-31T12:00"], tz="UTC")
    m = compute_metrics(pd.Series([100.0, 90.0, 200.0], index=index), None, None, timeframe="1d")
    assert m.cagr == pytest.approx(math.sqrt(2) - 1)


def test_no_trades() -> None:
    equity = _series([100.0, 101.0, 100.5, 102.0])
    m = compute_metrics(equity, None, None, timeframe="1d")
    assert (m.trades, m.hit_rate, m.average_win, m.average_loss, m.average_trade, m.profit_factor) == (
        0, None, None, None, None, None
    )  # fmt: skip
    assert (m.exposure, m.turnover, m.total_commission, m.net_pnl, m.per_symbol) == (0.0, 0.0, 0.0, 0.0, ())
    assert m.sharpe is not None  # the account still has returns
    json.dumps(m.to_dict(), allow_nan=False)


def test_flat_equity_has_no_sharpe() -> None:
    m = compute_metrics(_series([1_000.0] * 30), None, None, timeframe="1d")
    assert m.total_return == 0.0 and m.cagr == 0.0 and m.volatility == 0.0
    assert (m.sharpe, m.sortino, m.calmar) == (None, None, None)  # 0 / 0: undefined, not infinite
    assert (m.max_drawdown, m.max_drawdown_peak, m.max_drawdown_duration_seconds) == (0.0, None, 0)
    json.dumps(m.to_dict(), allow_nan=False)


def test_only_gains_have_no_sortino_and_no_calmar() -> None:
    m = compute_metrics(_series([100.0, 101.0, 103.0, 104.0]), None, None, timeframe="1d")
    assert m.sharpe is not None and m.sortino is None and m.max_drawdown == 0.0 and m.calmar is None


def test_single_bar() -> None:
    m = compute_metrics(_series([250_000.0]), None, None, timeframe="1d")
    assert (m.bars, m.total_return, m.max_drawdown) == (1, 0.0, 0.0)
    assert (m.cagr, m.volatility, m.sharpe, m.sortino, m.calmar) == (None, None, None, None, None)
    assert m.to_dict()["start"] == m.to_dict()["end"] == "2024-01-01T00:00:00+00:00"


def test_two_bars_have_a_return_but_no_deviation() -> None:
    m = compute_metrics(_series([100.0, 110.0]), None, None, timeframe="1d")
    assert m.total_return == pytest.approx(0.1) and (m.volatility, m.sharpe, m.sortino) == (None, None, None)


def test_drawdown_never_recovered_lasts_to_the_end() -> None:
    equity = _series([100.0, 120.0, 90.0, 100.0, 110.0, 95.0])
    m = compute_metrics(equity, None, None, timeframe="1d")
    assert m.max_drawdown == pytest.approx(0.25)  # 120 -> 90
    assert m.max_drawdown_peak == equity.index[1] and m.max_drawdown_trough == equity.index[2]
    assert m.max_drawdown_recovered is False and m.max_drawdown_recovery is None
    assert (m.max_drawdown_duration_seconds, m.max_drawdown_duration_bars) == (4 * DAY, 4)
    assert m.longest_drawdown_seconds == 4 * DAY
    assert drawdown(equity).tolist() == pytest.approx([0, 0, -0.25, -1 / 6, -1 / 12, -25 / 120])


def test_a_plateau_peak_starts_the_drawdown_at_its_last_bar_and_the_first_return_ends_it() -> None:
    equity = _series([100.0, 100.0, 100.0, 80.0, 100.0, 105.0, 106.0])
    m = compute_metrics(equity, None, None, timeframe="1d")
    assert m.max_drawdown_peak == equity.index[2] and m.max_drawdown_recovery == equity.index[4]
    assert m.max_drawdown_duration_bars == 2


def test_equal_returns_have_no_deviation() -> None:
    # +70 % a bar three times: np.std of three equal 0.7s is 1.4e-16 (rounding in the mean), not 0
    m = compute_metrics(_series([1_000.0, 1_700.0, 2_890.0, 4_913.0]), None, None, timeframe="1d")
    assert m.volatility == 0.0 and m.sharpe is None


@pytest.mark.parametrize(
    ("timeframe", "kwargs", "expected"),
    [
        ("1d", {}, 252),
        ("1d", {"trading_days_per_year": 365}, 365),  # crypto
        ("1m", {}, 252 * 390),  # NYSE 09:30-16:00
        ("5m", {}, 252 * 78),
        ("1h", {}, 252 * 7),  # 6.5 hours: the last bar is half an hour
        ("1m", {"session_seconds": 21_600}, 252 * 360),  # ASX 10:00-16:00
        ("1h", {"trading_days_per_year": 365, "session_seconds": 86_400}, 8_760),
        ("1w", {}, 52),
        ("1M", {}, 12),
    ],
)
def test_periods_per_year(timeframe: str, kwargs: dict[str, int], expected: float) -> None:
    assert periods_per_year(timeframe, **kwargs) == expected


def test_periods_per_year_refuses_nonsense() -> None:
    with pytest.raises(BadRequest, match="not supported"):
        periods_per_year("7d")
    with pytest.raises(ValueError, match="trading_days_per_year"):
        periods_per_year("1d", trading_days_per_year=0)
    with pytest.raises(ValueError, match="session_seconds"):
        periods_per_year("1m", session_seconds=90_000)


def test_intraday_annualisation_scales_sharpe() -> None:
    equity = _series([100.0, 100.2, 99.9, 100.4, 100.1], freq="min")
    daily = compute_metrics(equity, None, None, timeframe="1d")
    minute = compute_metrics(equity, None, None, timeframe="1m")
    assert daily.sharpe is not None and minute.sharpe is not None
    assert minute.sharpe / daily.sharpe == pytest.approx(math.sqrt(390))


def test_to_dict_is_json_safe_and_stable() -> None:
    run = small_run()
    first = json.dumps(compute_metrics(run.equity, run.trades, run.exposure, timeframe="1d").to_dict(), allow_nan=False)
    shuffled = list(reversed(run.trades))  # the engine may list trades in any order
    second = json.dumps(compute_metrics(run.equity, shuffled, run.exposure, timeframe="1d").to_dict(), allow_nan=False)
    assert first == second
    data = json.loads(first)
    assert data["max_drawdown_peak"] == "2024-02-01T00:00:00+00:00"
    assert data["turnover"] == 3.14769230769  # 341 / 108.333..., 12 significant digits
    assert [s["symbol"] for s in data["per_symbol"]] == ["BHP/AUD", "SPY/USD"]


def test_json_number() -> None:
    assert json_number(1 / 3) == 0.333333333333
    assert json_number(123_456.789_012_345_6) == 123_456.789_012
    assert json_number(-0.0) == 0.0 and str(json_number(-1e-30)) == "-1e-30"
    assert json_number(None) is None
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="must be None"):
            json_number(bad)


def test_monthly_returns() -> None:
    index = pd.DatetimeIndex(["2023-12-28", "2023-12-29", "2024-01-31", "2024-02-01", "2024-03-28"], tz="UTC")
    table = monthly_returns(pd.Series([100.0, 110.0, 99.0, 104.0, 117.0], index=index))
    assert list(table.index) == [2023, 2024]
    assert table.loc[2023, 12] == pytest.approx(0.10)  # from the first bar
    assert table.loc[2024, 1] == pytest.approx(-0.10)
    assert table.loc[2024, 2] == pytest.approx(104 / 99 - 1)
    assert table.loc[2024, 3] == pytest.approx(117 / 104 - 1)
    assert math.isnan(table.loc[2024, 4])
    assert table.loc[2024, "year"] == pytest.approx(117 / 110 - 1)


def test_monthly_returns_in_the_market_time_zone() -> None:
    # an ASX session opening 10:00 Sydney on 1 Feb is 23:00 UTC on 31 Jan
    index = pd.DatetimeIndex(["2024-01-29T23:00", "2024-01-30T23:00", "2024-01-31T23:00"], tz="UTC")
    equity = pd.Series([100.0, 105.0, 110.0], index=index)
    assert list(monthly_returns(equity).columns[:2]) == [1, 2]
    utc = monthly_returns(equity)
    sydney = monthly_returns(equity, "Australia/Sydney")
    assert utc.loc[2024, 1] == pytest.approx(0.10) and math.isnan(utc.loc[2024, 2])
    assert sydney.loc[2024, 1] == pytest.approx(0.05) and sydney.loc[2024, 2] == pytest.approx(110 / 105 - 1)


def test_trades_frame_accepts_a_frame_and_sorts() -> None:
    run = small_run()
    frame = trades_frame(run.trades)
    again = trades_frame(frame.iloc[::-1].assign(extra=1))
    pd.testing.assert_frame_equal(frame, again)
    assert list(frame["exit_time"]) == sorted(frame["exit_time"])
    assert str(frame["entry_time"].dtype) == "datetime64[ns, UTC]"


def _trade(**changes: object) -> ClosedTrade:
    base = {
        "symbol": "SPY/USD", "side": "long", "amount": 1.0, "entry_time": pd.Timestamp("2024-01-02", tz="UTC"),
        "exit_time": pd.Timestamp("2024-01-03", tz="UTC"), "entry_price": 10.0, "exit_price": 11.0,
        "entry_value": 10.0, "exit_value": 11.0, "pnl": 1.0, "commission": 0.0, "slippage": 0.0,
    }  # fmt: skip
    base.update(changes)
    return ClosedTrade(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"side": "buy"}, "side 'buy'"),
        ({"amount": 0.0}, "amount 0.0 must be > 0"),
        ({"exit_time": pd.Timestamp("2024-01-01", tz="UTC")}, "before entry_time"),
        ({"entry_time": pd.Timestamp("2024-01-02")}, "timezone-aware"),
        ({"pnl": math.nan}, "pnl is nan"),
        ({"commission": -1.0}, "commission -1.0 must be >= 0"),
    ],
)
def test_bad_trades_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        trades_frame([_trade(), _trade(**changes)])


def test_trade_frame_without_a_column_is_refused() -> None:
    with pytest.raises(ValueError, match=r"lacks columns \['slippage'\]"):
        trades_frame(trades_frame([_trade()]).drop(columns="slippage"))


@pytest.mark.parametrize(
    ("equity", "message"),
    [
        (pd.Series([], dtype="float64", index=pd.DatetimeIndex([], tz="UTC")), "empty"),
        (pd.Series([1.0, 2.0], index=pd.date_range("2024-01-01", periods=2)), "timezone-aware"),
        (pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2024-01-02", "2024-01-01"], tz="UTC")), "strictly increasing"),
        (_series([100.0, 0.0, 50.0]), "finite and > 0"),
        (_series([100.0, math.nan]), "finite and > 0"),
    ],
)
def test_bad_equity_is_refused(equity: pd.Series, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_metrics(equity, None, None, timeframe="1d")


def test_exposure_must_match_the_equity_bars() -> None:
    run = small_run()
    with pytest.raises(ValueError, match="not equity's 6 bar times"):
        compute_metrics(run.equity, run.trades, run.exposure.iloc[1:], timeframe="1d")
    with pytest.raises(ValueError, match="exposure is None but there are 3 trades"):
        compute_metrics(run.equity, run.trades, None, timeframe="1d")
    with pytest.raises(ValueError, match="NaN"):
        compute_metrics(run.equity, run.trades, run.exposure.replace(50.0, math.nan), timeframe="1d")
    with pytest.raises(ValueError, match="risk_free_rate"):
        compute_metrics(run.equity, run.trades, run.exposure, timeframe="1d", risk_free_rate=-1.0)
