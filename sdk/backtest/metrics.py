"""Performance metrics of a backtest, in the base currency: what ``summary.json`` and the report show.

Inputs (validated by :func:`compute_metrics`):

* **equity**: a ``pd.Series`` of the account's equity in the base currency, one value per bar (the
  equity after the bar: cash plus positions marked at its close), indexed by timezone-aware bar
  timestamps, strictly increasing. Every value finite and > 0 (a ruined account has no returns).
* **trades**: closed trades (:mod:`sdk.backtest.trades`), ``pnl`` net of commission.
* **exposure**: a ``pd.DataFrame`` on the same index as ``equity``, one column per symbol, the signed
  market value in the base currency of the position held after each bar (0 = flat).

Definitions (``r_t = E_t / E_{t-1} - 1`` is the simple return of bar ``t``; ``n`` returns from ``n + 1``
bars; ``P`` the bars per year of :func:`periods_per_year`; ``rf`` the annual risk-free rate and
``rf_p = (1 + rf) ** (1 / P) - 1`` its per-bar equivalent):

* **total_return** ``E_last / E_first - 1``.
* **cagr** ``(E_last / E_first) ** (1 / years) - 1`` with ``years`` = calendar time from the first to the
  last bar / 365.25 days (the compound annual growth rate; backtesting.py's ``CAGR [%]`` uses the same
  span). None for a run that spans no time, or when the figure overflows a float (a run minutes long).
* **volatility** ``stdev(r) × sqrt(P)``, the sample standard deviation (``n - 1``), annualised with the
  square-root-of-time rule for independent returns (Lo 2002, "The Statistics of Sharpe Ratios",
  Financial Analysts Journal 58(4)). None with fewer than 2 returns.
* **sharpe** ``mean(r - rf_p) / stdev(r - rf_p) × sqrt(P)``: Sharpe's ex post ratio, the mean of the
  differential return over its standard deviation (W. F. Sharpe 1994, "The Sharpe Ratio", Journal of
  Portfolio Management 21(1):49-58), annualised as above (Lo 2002). None when the standard deviation is 0
  (flat equity: the ratio is undefined, not infinite) or with fewer than 2 returns.
* **sortino** ``mean(r - rf_p) / DD × sqrt(P)`` with the downside deviation
  ``DD = sqrt(mean(min(0, r - rf_p) ** 2))`` over ALL ``n`` returns, the risk-free rate as the minimum
  acceptable return (F. A. Sortino and L. N. Price 1994, "Performance Measurement in a Downside Risk
  Framework", Journal of Investing 3(3):59-64). None when no return falls below the target (DD = 0) or
  with fewer than 2 returns.
* **max_drawdown** the largest fall from a running peak, ``max(1 - E_t / max(E_0..E_t))``, a positive
  fraction (0.25 = 25 % below the peak); 0 when equity never fell. Its **peak** is the last bar at the
  peak before the trough, its **recovery** the first bar after the trough back at (or above) the peak;
  its **duration** runs from peak to recovery, or to the last bar when equity never recovered
  (``max_drawdown_recovered`` False; True when there was no drawdown, whose peak, trough and recovery
  are None and duration 0). ``longest_drawdown_seconds`` is the longest such span of any
  drawdown (backtesting.py's ``Max. Drawdown Duration``).
* **calmar** ``cagr / max_drawdown`` over the whole run (T. W. Young 1991, "Calmar Ratio: A Smoother
  Tool", Futures 20(1):40, which uses the last 36 months; a backtest uses its whole window). None when
  there is no drawdown or no CAGR.
* **hit_rate** winning trades (``pnl > 0``) / all trades; a trade at exactly 0 is not a win.
  **average_win** the mean ``pnl`` of winners, **average_loss** the mean ``pnl`` of losers (``< 0``,
  negative), **average_trade** the mean ``pnl``. **profit_factor** gross profit / gross loss (the sum of
  winners over minus the sum of losers); None without a losing trade. Each is None without trades (or
  without winners, for ``average_win``; without losers, for ``average_loss``).
* **exposure** the share of bars after which a position was held (any symbol's exposure != 0): time in
  the market, in bars, as backtesting.py's ``Exposure Time`` counts it.
* **turnover** the value traded, entries and exits both counted (``sum(entry_value + exit_value)``),
  over the mean equity: 2.0 = bought and sold the average equity once. Not annualised (the SEC's fund
  turnover, Form N-1A Item 13, counts the lesser of purchases and sales per year instead).
* **trades**, **total_commission**, **total_slippage** (the cost in the prices, already in the PnL),
  **net_pnl** (the sum of trade ``pnl``).

Per symbol (:class:`SymbolMetrics`): the trade statistics, exposure and turnover restricted to the symbol,
and ``return_contribution = net_pnl / E_first``. Return-based ratios (Sharpe, drawdown ...) are for the
account only: cash is shared, so a symbol has no equity curve of its own.

Every undefined value is None, never NaN: :meth:`PerformanceMetrics.to_dict` checks that. Its floats are
rounded to 12 significant digits (:func:`json_number`), so ``json.dumps(metrics.to_dict())`` gives the same
text for the same inputs; times are ISO 8601 strings in UTC.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from sdk.backtest.trades import ClosedTrade, trades_frame
from sdk.timeframes import timeframe_seconds

__all__ = [
    "NYSE_SESSION_SECONDS",
    "TRADING_DAYS_PER_YEAR",
    "PerformanceMetrics",
    "SymbolMetrics",
    "compute_metrics",
    "drawdown",
    "json_number",
    "monthly_returns",
    "periods_per_year",
]

#: Trading days in a year for equities: 365.25 days less 104.4 weekend days and the 9 or 10 exchange
#: holidays a year (NYSE holiday list; ``sdk.calendars``' XNYS gives 250-252 a year, XASX 252-254). The
#: convention of backtesting.py and empyrical (``APPROX_BDAYS_PER_YEAR = 252``). Use 365 for crypto.
TRADING_DAYS_PER_YEAR = 252
#: The NYSE's regular session, 09:30-16:00 New York (ASX 10:00-16:00 Sydney is 21,600; 24-hour markets 86,400).
NYSE_SESSION_SECONDS = 23_400
#: Bars a year for bars of a calendar week or month: every week and month has one, holidays or not.
_CALENDAR_PERIODS = {"1w": 52.0, "1M": 12.0}
_DAY = 86_400
_YEAR_SECONDS = 365.25 * _DAY
_SIGNIFICANT = 12


def periods_per_year(
    timeframe: str, *, trading_days_per_year: float = TRADING_DAYS_PER_YEAR, session_seconds: int = NYSE_SESSION_SECONDS
) -> float:
    """The annualisation factor ``P``: how many bars of ``timeframe`` a year holds.

    * ``1d``: ``trading_days_per_year`` (252 by default, see :data:`TRADING_DAYS_PER_YEAR`).
    * ``1w``, ``1M``: 52 and 12 (calendar weeks and months).
    * Intraday: ``trading_days_per_year × ceil(session_seconds / bar seconds)`` (a session's last bar may be
      short: 6.5 hours make 7 one-hour bars). 1-minute NYSE bars: 252 × 390 = 98,280.

    Bar lengths come from :data:`sdk.timeframes.TIMEFRAME_SECONDS`.

    Raises:
        sdk.errors.BadRequest: an unknown timeframe.
        ValueError: a non-positive day count, or a session not within (0, 86,400] seconds.
    """
    seconds = timeframe_seconds(timeframe)
    if trading_days_per_year <= 0:
        raise ValueError(
            f"trading_days_per_year must be > 0 (252 for equities, 365 for crypto), not {trading_days_per_year}"
        )
    if not 0 < session_seconds <= _DAY:
        raise ValueError(f"session_seconds must be within (0, 86400] (NYSE 23400), not {session_seconds}")
    if timeframe in _CALENDAR_PERIODS:
        return _CALENDAR_PERIODS[timeframe]
    if seconds >= _DAY:
        return float(trading_days_per_year) * _DAY / seconds
    return float(trading_days_per_year) * math.ceil(session_seconds / seconds)


def json_number(value: float | None) -> float | None:
    """``value`` rounded to 12 significant digits for JSON (None stays None; -0.0 becomes 0.0).

    Raises:
        ValueError: NaN or an infinity (an undefined metric must be None, explicitly).
    """
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"a metric is {number}; undefined metrics must be None")
    rounded = float(f"{number:.{_SIGNIFICANT}g}")
    return 0.0 if rounded == 0 else rounded


def _json_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").isoformat()
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, _Metrics):
        return value.to_dict()
    raise TypeError(f"no JSON form for {type(value).__name__}")


class _Metrics:
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values, field by field, in declaration order (floats via :func:`json_number`)."""
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class SymbolMetrics(_Metrics):
    """The trade statistics of one symbol (definitions in the module docstring; money in the base currency)."""

    symbol: str
    trades: int
    hit_rate: float | None
    average_win: float | None
    average_loss: float | None
    average_trade: float | None
    profit_factor: float | None
    net_pnl: float
    total_commission: float
    total_slippage: float
    exposure: float
    turnover: float
    return_contribution: float


@dataclass(frozen=True)
class PerformanceMetrics(_Metrics):
    """The metrics of one run (definitions in the module docstring).

    Fractions are fractions (0.12 = 12 %), money is in the base currency, durations in seconds and in
    bars, times ``pd.Timestamp`` in UTC. ``per_symbol`` is sorted by symbol.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    bars: int
    timeframe: str
    periods_per_year: float
    risk_free_rate: float
    initial_equity: float
    final_equity: float
    total_return: float
    cagr: float | None
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    max_drawdown_peak: pd.Timestamp | None
    max_drawdown_trough: pd.Timestamp | None
    max_drawdown_recovery: pd.Timestamp | None
    max_drawdown_recovered: bool
    max_drawdown_duration_seconds: int
    max_drawdown_duration_bars: int
    longest_drawdown_seconds: int
    calmar: float | None
    trades: int
    hit_rate: float | None
    average_win: float | None
    average_loss: float | None
    average_trade: float | None
    profit_factor: float | None
    exposure: float
    turnover: float
    total_commission: float
    total_slippage: float
    net_pnl: float
    per_symbol: tuple[SymbolMetrics, ...] = field(default=())


def _equity(equity: pd.Series) -> pd.Series:
    if not isinstance(equity, pd.Series):
        raise ValueError(f"equity must be a pandas Series indexed by bar time, not {type(equity).__name__}")
    if len(equity) == 0:
        raise ValueError("equity is empty: a run needs at least one bar")
    index = equity.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError("equity must be indexed by timezone-aware bar timestamps (a UTC DatetimeIndex)")
    if not index.is_monotonic_increasing or not index.is_unique:
        raise ValueError("equity's timestamps must be strictly increasing (sorted, no duplicates)")
    values = equity.to_numpy(dtype="float64")
    bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
    if len(bad):
        at = bad[0]
        raise ValueError(
            f"equity at {index[at]} is {values[at]}; every value must be finite and > 0 "
            "(a ruined account has no returns: stop the run before equity reaches 0)"
        )
    return pd.Series(values, index=index.tz_convert("UTC"), name="equity")


def drawdown(equity: pd.Series) -> pd.Series:
    """The drawdown after each bar, ``E_t / max(E_0..E_t) - 1``: 0 at a peak, negative below it (-0.2 = 20 %).

    Args:
        equity: as for :func:`compute_metrics`.

    Returns:
        A float Series on equity's index (UTC), named ``drawdown``.
    """
    values = _equity(equity)
    return (values / values.cummax() - 1.0).rename("drawdown")


def monthly_returns(equity: pd.Series, tz: str = "UTC") -> pd.DataFrame:
    """Returns per calendar month: the last equity of a month over the last of the month before.

    The first month is measured from the first bar's equity. Months are calendar months in ``tz`` (ASX
    daily bars open at 23:00 or 00:00 UTC: pass ``"Australia/Sydney"`` to put each session in its month).

    Returns:
        A frame indexed by year (int), columns 1..12 (months; NaN where the run has no bar that month:
        a table cell, not a metric) and ``"year"`` (the year's compounded return over its months).
    """
    values = _equity(equity)
    local = values.tz_convert(tz)
    period = local.index.tz_localize(None).to_period("M")
    month_end = local.groupby(period).last()
    previous = month_end.shift(1)
    previous.iloc[0] = local.iloc[0]
    returns = month_end / previous - 1.0
    table = pd.DataFrame({"year": returns.index.year, "month": returns.index.month, "ret": returns.to_numpy()}).pivot(
        index="year", columns="month", values="ret"
    )
    table = table.reindex(columns=range(1, 13))
    table["year"] = (1.0 + table[list(range(1, 13))]).prod(axis=1, skipna=True) - 1.0
    table.index.name = "year"
    table.columns.name = None
    return table


@dataclass(frozen=True)
class _Drawdowns:
    max_drawdown: float
    peak: pd.Timestamp | None
    trough: pd.Timestamp | None
    recovery: pd.Timestamp | None
    recovered: bool
    duration_seconds: int
    duration_bars: int
    longest_seconds: int


def _seconds(a: pd.Timestamp, b: pd.Timestamp) -> int:
    return int((b - a) // pd.Timedelta(seconds=1))


def _drawdowns(values: pd.Series) -> _Drawdowns:
    dd = (values / values.cummax() - 1.0).to_numpy()
    index = values.index
    last = len(dd) - 1
    at_peak = np.flatnonzero(dd == 0.0)  # the first bar is always at its peak
    ends = np.unique(np.r_[at_peak, last])
    gaps = np.flatnonzero(np.diff(ends) > 1)
    longest = max((_seconds(index[ends[g]], index[ends[g + 1]]) for g in gaps), default=0)
    trough = int(np.argmin(dd))
    if dd[trough] == 0.0:
        return _Drawdowns(0.0, None, None, None, True, 0, 0, longest)
    peak = int(at_peak[at_peak < trough][-1])
    later = at_peak[at_peak > trough]
    recovered = len(later) > 0
    end = int(later[0]) if recovered else last
    return _Drawdowns(
        max_drawdown=float(-dd[trough]),
        peak=index[peak],
        trough=index[trough],
        recovery=index[end] if recovered else None,
        recovered=recovered,
        duration_seconds=_seconds(index[peak], index[end]),
        duration_bars=end - peak,
        longest_seconds=longest,
    )


def _cagr(growth: float, seconds: float) -> float | None:
    if seconds <= 0:
        return None
    try:
        return math.exp(math.log(growth) * _YEAR_SECONDS / seconds) - 1.0
    except OverflowError:
        return None


def _trade_stats(trades: pd.DataFrame) -> dict[str, Any]:
    pnl = trades["pnl"].to_numpy()
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    n = len(pnl)
    return {
        "trades": n,
        "hit_rate": len(wins) / n if n else None,
        "average_win": float(wins.mean()) if len(wins) else None,
        "average_loss": float(losses.mean()) if len(losses) else None,
        "average_trade": float(pnl.mean()) if n else None,
        "profit_factor": float(wins.sum() / -losses.sum()) if len(losses) else None,
        "net_pnl": float(pnl.sum()),
        "total_commission": float(trades["commission"].sum()),
        "total_slippage": float(trades["slippage"].sum()),
    }


def _exposure(exposure: pd.DataFrame | None, index: pd.DatetimeIndex, trades: int) -> pd.DataFrame:
    if exposure is None:
        if trades:
            raise ValueError(
                f"exposure is None but there are {trades} trades; give the position value per bar and symbol"
            )
        return pd.DataFrame(index=index)
    if not isinstance(exposure, pd.DataFrame):
        raise ValueError(f"exposure must be a DataFrame (one column per symbol), not {type(exposure).__name__}")
    if not isinstance(exposure.index, pd.DatetimeIndex) or exposure.index.tz is None:
        raise ValueError("exposure must be indexed by timezone-aware bar timestamps, like equity")
    aligned = exposure.copy()
    aligned.index = exposure.index.tz_convert("UTC")
    if not aligned.index.equals(index):
        raise ValueError(
            f"exposure has {len(aligned)} rows that are not equity's {len(index)} bar times; "
            "give one row per equity bar, in the same order"
        )
    values = aligned.to_numpy(dtype="float64")
    if values.size and not np.isfinite(values).all():
        raise ValueError("exposure holds NaN or infinite values; a flat position is 0")
    return aligned.astype("float64")


def compute_metrics(
    equity: pd.Series,
    trades: pd.DataFrame | Iterable[ClosedTrade] | None,
    exposure: pd.DataFrame | None,
    *,
    timeframe: str,
    risk_free_rate: float = 0.0,
    trading_days_per_year: float = TRADING_DAYS_PER_YEAR,
    session_seconds: int = NYSE_SESSION_SECONDS,
) -> PerformanceMetrics:
    """The metrics of one run (definitions, sources and edge cases in the module docstring).

    Args:
        equity: equity in the base currency after each bar (index: timezone-aware bar times, increasing).
        trades: closed trades (:func:`sdk.backtest.trades.trades_frame` accepts), or None for none.
        exposure: signed position value in the base currency per bar and symbol, on equity's index;
            None only when there are no trades (no position was ever held).
        timeframe: the bars' ccxt timeframe (``"1d"``, ``"1m"``), for :func:`periods_per_year`.
        risk_free_rate: annual, as a fraction (0.04 = 4 %); Sharpe's and Sortino's target.
        trading_days_per_year, session_seconds: see :func:`periods_per_year`.

    Returns:
        :class:`PerformanceMetrics`; ``to_dict()`` for ``summary.json``.

    Raises:
        ValueError: malformed equity (empty, naive or unsorted index, a value not finite and > 0),
            exposure not on equity's index, not finite or None with trades, malformed trades (see ``trades_frame``), a
            risk-free rate not above -1.
        sdk.errors.BadRequest: an unknown timeframe.
    """
    values = _equity(equity)
    if not risk_free_rate > -1.0:
        raise ValueError(f"risk_free_rate is an annual fraction above -1 (0.04 = 4 %), not {risk_free_rate}")
    per_year = periods_per_year(timeframe, trading_days_per_year=trading_days_per_year, session_seconds=session_seconds)
    closed = trades_frame(trades)
    positions = _exposure(exposure, values.index, len(closed))
    index = values.index
    first, final = float(values.iloc[0]), float(values.iloc[-1])
    span = float((index[-1] - index[0]) / pd.Timedelta(seconds=1))

    returns = values.to_numpy()[1:] / values.to_numpy()[:-1] - 1.0
    rf_per_bar = (1.0 + risk_free_rate) ** (1.0 / per_year) - 1.0
    excess = returns - rf_per_bar
    volatility = sharpe = sortino = None
    if len(returns) >= 2:
        # Equal returns have a standard deviation of exactly 0; np.std may give 1e-18 from rounding in the mean.
        stdev = float(np.std(returns, ddof=1)) if np.ptp(returns) > 0 else 0.0
        volatility = stdev * math.sqrt(per_year)
        if stdev > 0:  # the excess return's deviation: rf_p is a constant
            sharpe = float(excess.mean()) / stdev * math.sqrt(per_year)
        downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
        if downside > 0:
            sortino = float(excess.mean()) / downside * math.sqrt(per_year)

    cagr = _cagr(final / first, span)
    dd = _drawdowns(values)
    in_market = (positions != 0.0).any(axis=1) if positions.shape[1] else pd.Series(False, index=index)
    mean_equity = float(values.mean())
    traded = closed["entry_value"] + closed["exit_value"]

    per_symbol = []
    for symbol in sorted(set(closed["symbol"]) | {str(c) for c in positions.columns}):
        mine = closed[closed["symbol"] == symbol]
        held = positions[symbol] != 0.0 if symbol in positions.columns else pd.Series(False, index=index)
        stats = _trade_stats(mine)
        per_symbol.append(
            SymbolMetrics(
                symbol=symbol,
                **stats,
                exposure=float(held.mean()),
                turnover=float(traded[mine.index].sum()) / mean_equity,
                return_contribution=stats["net_pnl"] / first,
            )
        )

    return PerformanceMetrics(
        start=index[0],
        end=index[-1],
        bars=len(values),
        timeframe=timeframe,
        periods_per_year=per_year,
        risk_free_rate=float(risk_free_rate),
        initial_equity=first,
        final_equity=final,
        total_return=final / first - 1.0,
        cagr=cagr,
        volatility=volatility,
        sharpe=sharpe,
        sortino=sortino,
        max_drawdown=dd.max_drawdown,
        max_drawdown_peak=dd.peak,
        max_drawdown_trough=dd.trough,
        max_drawdown_recovery=dd.recovery,
        max_drawdown_recovered=dd.recovered,
        max_drawdown_duration_seconds=dd.duration_seconds,
        max_drawdown_duration_bars=dd.duration_bars,
        longest_drawdown_seconds=dd.longest_seconds,
        calmar=cagr / dd.max_drawdown if cagr is not None and dd.max_drawdown > 0 else None,
        **_trade_stats(closed),
        exposure=float(in_market.mean()),
        turnover=float(traded.sum()) / mean_equity,
        per_symbol=tuple(per_symbol),
    )
