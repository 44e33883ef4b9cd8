"""The backtest report: one self-contained HTML file (Plotly charts, Jinja2 template) that opens offline.

It shows the equity curve with its drawdown, a price chart per symbol with the trades' entries and exits,
the monthly returns, the metrics (account and per symbol), the trade list and the run's configuration.

* **Self-contained**: plotly.js is inlined from the installed ``plotly`` package
  (:func:`plotly.offline.get_plotlyjs`); the file loads nothing from the network (no CDN, no MathJax, no
  fonts), so it opens from disk on a machine without a connection.
* **Deterministic**: the same inputs give the same bytes. Chart divs have fixed ids (``chart-equity``,
  ``chart-price-0`` ... in symbol order) where ``plotly.io.to_html`` would draw a ``uuid4``; figures are
  serialised with the standard-library JSON engine (``orjson``, when installed, formats floats its own
  way); nothing records when or where it was rendered.
* **Chart data**: the figures are one JSON object in ``<script type="application/json" id="figures">``
  (``{div id: {"data": [...], "layout": {...}}}``, Plotly's figure schema; numeric arrays in Plotly's
  typed-array form ``{"dtype": "f8", "bdata": base64}``), drawn by a few lines of script after plotly.js.
* **Times** are shown in ``tz`` (default UTC; the axis titles and tables say which), monthly returns
  use calendar months in ``tz`` (:func:`sdk.backtest.metrics.monthly_returns`).

The template is package data: ``sdk/backtest/templates/report.html.j2``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from sdk.backtest.metrics import PerformanceMetrics, drawdown, monthly_returns
from sdk.backtest.trades import ClosedTrade, trades_frame

__all__ = ["CANDLESTICK_LIMIT", "render_report", "write_report"]

#: Above this many bars a symbol's price is drawn as a close line rather than candlesticks (a browser draws
#: 90,000 candles slowly and they cannot be told apart at report width).
CANDLESTICK_LIMIT = 5_000
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 40, "b": 40}, "hovermode": "x unified"}
_ENTRY = {"long": ("triangle-up", "#1a9850"), "short": ("triangle-down", "#d73027")}

#: The account metrics the report shows: (field of PerformanceMetrics, label, format).
_METRIC_ROWS: tuple[tuple[str, str, str], ...] = (
    ("start", "Start", "time"),
    ("end", "End", "time"),
    ("bars", "Bars", "count"),
    ("initial_equity", "Initial equity", "money"),
    ("final_equity", "Final equity", "money"),
    ("net_pnl", "Net PnL of trades", "money"),
    ("total_return", "Total return", "pct"),
    ("cagr", "CAGR", "pct"),
    ("volatility", "Volatility (annualised)", "pct"),
    ("sharpe", "Sharpe ratio", "ratio"),
    ("sortino", "Sortino ratio", "ratio"),
    ("max_drawdown", "Max drawdown", "pct"),
    ("max_drawdown_peak", "Max drawdown: peak", "time"),
    ("max_drawdown_trough", "Max drawdown: trough", "time"),
    ("max_drawdown_recovery", "Max drawdown: recovery", "time"),
    ("max_drawdown_duration_seconds", "Max drawdown: duration", "duration"),
    ("longest_drawdown_seconds", "Longest drawdown", "duration"),
    ("calmar", "Calmar ratio", "ratio"),
    ("trades", "Trades", "count"),
    ("hit_rate", "Hit rate", "pct"),
    ("average_win", "Average win", "money"),
    ("average_loss", "Average loss", "money"),
    ("average_trade", "Average trade", "money"),
    ("profit_factor", "Profit factor", "ratio"),
    ("exposure", "Exposure (time in market)", "pct"),
    ("turnover", "Turnover (× mean equity)", "ratio"),
    ("total_commission", "Commissions", "money"),
    ("total_slippage", "Slippage (in the prices)", "money"),
    ("risk_free_rate", "Risk-free rate (annual)", "pct"),
    ("periods_per_year", "Bars per year (annualisation)", "number"),
)
_SYMBOL_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("trades", "Trades", "count"),
    ("net_pnl", "Net PnL", "money"),
    ("return_contribution", "Contribution", "pct"),
    ("hit_rate", "Hit rate", "pct"),
    ("average_win", "Avg win", "money"),
    ("average_loss", "Avg loss", "money"),
    ("profit_factor", "Profit factor", "ratio"),
    ("exposure", "Exposure", "pct"),
    ("turnover", "Turnover", "ratio"),
    ("total_commission", "Commissions", "money"),
    ("total_slippage", "Slippage", "money"),
)


@functools.cache
def _environment() -> Environment:
    """The Jinja2 environment over the package's templates (built on first use, never at import)."""
    return Environment(
        loader=PackageLoader("sdk.backtest", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _format(value: Any, kind: str, currency: str, tz: str) -> str:
    if value is None:
        return "n/a"
    if kind == "pct":
        return f"{value * 100:,.2f} %"
    if kind == "ratio":
        return f"{value:,.2f}"
    if kind == "money":
        return f"{value:,.2f} {currency}"
    if kind == "count":
        return f"{value:,d}"
    if kind == "number":
        return f"{value:,.6g}"
    if kind == "time":
        return pd.Timestamp(value).tz_convert(tz).strftime("%Y-%m-%d %H:%M:%S %Z")
    if kind == "duration":
        return _duration(int(value))
    raise ValueError(f"unknown format {kind!r}")


def _duration(seconds: int) -> str:
    if seconds >= 86_400:
        return f"{seconds / 86_400:,.1f} days"
    if seconds >= 3_600:
        return f"{seconds / 3_600:,.1f} hours"
    return f"{seconds / 60:,.0f} minutes"


def _x(index: pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    """Wall-clock times in ``tz`` without an offset: plotly.js has no time zones and would misread one."""
    return index.tz_convert(tz).tz_localize(None)


def _equity_figure(equity: pd.Series, tz: str, currency: str) -> go.Figure:
    values = equity.astype("float64")
    x = _x(pd.DatetimeIndex(values.index), tz)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04)
    fig.add_trace(go.Scatter(x=x, y=values.to_numpy(), name="equity", mode="lines", line={"color": "#2c7bb6"}), 1, 1)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=drawdown(values).to_numpy() * 100,
            name="drawdown",
            mode="lines",
            fill="tozeroy",
            line={"color": "#d7191c"},
        ),
        2,
        1,
    )
    fig.update_layout(**_LAYOUT, height=520, showlegend=False, title="Equity and drawdown")
    fig.update_yaxes(title_text=f"equity ({currency})", row=1, col=1)
    fig.update_yaxes(title_text="drawdown (%)", row=2, col=1)
    fig.update_xaxes(title_text=f"time ({tz})", row=2, col=1)
    return fig


def _price_figure(symbol: str, bars: pd.DataFrame, trades: pd.DataFrame, tz: str) -> go.Figure:
    if "close" not in bars.columns:
        raise ValueError(f"bars for {symbol} need a 'close' column (and open/high/low for candlesticks)")
    if not isinstance(bars.index, pd.DatetimeIndex) or bars.index.tz is None:
        raise ValueError(f"bars for {symbol} must be indexed by timezone-aware bar times")
    x = _x(bars.index, tz)
    fig = go.Figure()
    if len(bars) <= CANDLESTICK_LIMIT and {"open", "high", "low"} <= set(bars.columns):
        fig.add_trace(
            go.Candlestick(
                x=x,
                open=bars["open"].to_numpy(dtype="float64"),
                high=bars["high"].to_numpy(dtype="float64"),
                low=bars["low"].to_numpy(dtype="float64"),
                close=bars["close"].to_numpy(dtype="float64"),
                name=symbol,
            )
        )
    else:
        fig.add_trace(go.Scatter(x=x, y=bars["close"].to_numpy(dtype="float64"), name=symbol, mode="lines"))
    mine = trades[trades["symbol"] == symbol]
    for side, (marker, colour) in _ENTRY.items():
        entries = mine[mine["side"] == side]
        if len(entries):
            fig.add_trace(
                go.Scatter(
                    x=_x(pd.DatetimeIndex(entries["entry_time"]), tz),
                    y=entries["entry_price"].to_numpy(),
                    mode="markers",
                    name=f"{side} entry",
                    marker={"symbol": marker, "color": colour, "size": 11, "line": {"width": 1, "color": "#222"}},
                    text=[
                        f"{side} {a:g} @ {p:,.4f}"
                        for a, p in zip(entries["amount"], entries["entry_price"], strict=True)
                    ],
                )
            )
    if len(mine):
        fig.add_trace(
            go.Scatter(
                x=_x(pd.DatetimeIndex(mine["exit_time"]), tz),
                y=mine["exit_price"].to_numpy(),
                mode="markers",
                name="exit",
                marker={"symbol": "x", "color": "#222", "size": 9},
                text=[
                    f"exit {a:g} @ {p:,.4f}, PnL {v:,.2f}"
                    for a, p, v in zip(mine["amount"], mine["exit_price"], mine["pnl"], strict=True)
                ],
            )
        )
    fig.update_layout(
        **_LAYOUT, height=420, title=f"{symbol}: price, entries and exits", xaxis_rangeslider_visible=False
    )
    fig.update_xaxes(title_text=f"time ({tz})")
    fig.update_yaxes(title_text="price (quote currency)")
    return fig


def _figure_json(figures: Mapping[str, go.Figure]) -> Markup:
    """The figures as one JSON object, safe inside a ``<script>`` element (``<``, ``>``, ``&`` escaped)."""
    parts = []
    for div_id, fig in figures.items():
        text = pio.to_json(fig, validate=True, pretty=False, engine="json")
        parts.append(f"{json.dumps(div_id)}:{text}")
    body = "{" + ",".join(parts) + "}"
    return Markup(body.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))  # noqa: S704


def _monthly_rows(equity: pd.Series, tz: str) -> list[dict[str, Any]]:
    table = monthly_returns(equity, tz)
    rows = []
    for year, row in table.iterrows():
        cells = []
        for column in [*range(1, 13), "year"]:
            value = row[column]
            if isinstance(value, float) and math.isnan(value):
                cells.append({"text": "", "sign": ""})
            else:
                cells.append(
                    {"text": f"{value * 100:,.2f}", "sign": "pos" if value > 0 else "neg" if value < 0 else ""}
                )
        rows.append({"year": int(year), "cells": cells})
    return rows


def _trade_rows(trades: pd.DataFrame, tz: str, currency: str) -> list[list[str]]:
    rows = []
    for n, t in enumerate(trades.itertuples(index=False), start=1):
        ret = t.pnl / t.entry_value if t.entry_value else None
        rows.append(
            [
                str(n),
                t.symbol,
                t.side,
                f"{t.amount:,.10g}",
                _format(t.entry_time, "time", currency, tz),
                f"{t.entry_price:,.4f}",
                _format(t.exit_time, "time", currency, tz),
                f"{t.exit_price:,.4f}",
                _format(t.pnl, "money", currency, tz),
                _format(ret, "pct", currency, tz),
                _format(t.commission, "money", currency, tz),
                _format(t.slippage, "money", currency, tz),
            ]
        )
    return rows


def _config_rows(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key in sorted(config, key=str):
        value = config[key]
        rows.append((str(key), value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)))
    return rows


def render_report(
    *,
    equity: pd.Series,
    trades: pd.DataFrame | list[ClosedTrade] | None,
    metrics: PerformanceMetrics,
    bars: Mapping[str, pd.DataFrame] | None = None,
    config: Mapping[str, Any] | None = None,
    title: str = "Backtest report",
    currency: str = "AUD",
    tz: str = "UTC",
) -> str:
    """The report as one HTML document (str; write it as UTF-8).

    Args:
        equity: the run's equity in the base currency per bar (as for :func:`compute_metrics`).
        trades: the closed trades (as for :func:`sdk.backtest.trades.trades_frame`).
        metrics: :func:`compute_metrics` of the same run (shown as given, not recomputed).
        bars: per symbol, its bars (index: timezone-aware bar times; ``close``, and ``open``/``high``/``low``
            for candlesticks) in the quote currency; one price chart each, in symbol order.
        config: the run's configuration, shown as a table sorted by key (values not str as JSON).
        title: the page's title and heading.
        currency: the base currency's code, for the money labels.
        tz: the IANA time zone times are shown in (``"Australia/Sydney"``).

    Returns:
        The HTML text; the same arguments give the same text.

    Raises:
        ValueError: malformed equity or trades (see :func:`compute_metrics`), bars without a ``close``
            column or with naive times, an unknown time zone.
    """
    closed = trades_frame(trades)
    try:
        pd.Timestamp("2000-01-01", tz=tz)
    except Exception as exc:  # pytz/zoneinfo raise different errors for an unknown name
        raise ValueError(f"unknown time zone {tz!r}; give an IANA name such as 'Australia/Sydney' or 'UTC'") from exc
    figures: dict[str, go.Figure] = {"chart-equity": _equity_figure(equity, tz, currency)}
    symbols = sorted(bars or {})
    for n, symbol in enumerate(symbols):
        figures[f"chart-price-{n}"] = _price_figure(symbol, (bars or {})[symbol], closed, tz)
    context = {
        "title": title,
        "tz": tz,
        "currency": currency,
        "plotly_js": Markup(get_plotlyjs()),  # noqa: S704 - plotly's own bundle, inlined as plotly.io.to_html does
        "figures_json": _figure_json(figures),
        "price_charts": [{"id": f"chart-price-{n}", "symbol": s} for n, s in enumerate(symbols)],
        "metrics": [(label, _format(getattr(metrics, name), kind, currency, tz)) for name, label, kind in _METRIC_ROWS],
        "symbol_columns": [label for _, label, _ in _SYMBOL_COLUMNS],
        "symbols": [
            {
                "symbol": m.symbol,
                "cells": [_format(getattr(m, name), kind, currency, tz) for name, _, kind in _SYMBOL_COLUMNS],
            }
            for m in metrics.per_symbol
        ],
        "months": _MONTHS,
        "monthly": _monthly_rows(equity, tz),
        "trades": _trade_rows(closed, tz, currency),
        "config": _config_rows(config or {}),
    }
    return _environment().get_template("report.html.j2").render(**context)


def write_report(path: Path | str, **kwargs: Any) -> Path:
    """:func:`render_report` written to ``path`` as UTF-8 (parent folders created); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_report(**kwargs), encoding="utf-8", newline="\n")
    return target
