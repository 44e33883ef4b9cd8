"""Plotly figures of the Equity & PnL page: the equity curve and its drawdown, one line per account."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.logic.equity import with_drawdown

__all__ = ["drawdown_figure", "equity_figure"]


def _currency(frame: pd.DataFrame) -> str:
    currencies = sorted(set(frame["currency"])) if not frame.empty else []
    return currencies[0] if len(currencies) == 1 else "base currency"


def equity_figure(frame: pd.DataFrame, tz: str) -> go.Figure:
    """Equity (net liquidation, base currency) over time, one line per venue and account.

    Args:
        frame: :func:`dashboard.logic.equity.equity_frame`.
        tz: the time zone of the time axis.
    """
    figure = go.Figure()
    for series, part in frame.groupby("series", sort=True):
        figure.add_trace(go.Scatter(x=part["time"].dt.tz_convert(tz), y=part["equity"], mode="lines", name=str(series)))
    figure.update_layout(
        title=f"Equity ({_currency(frame)})",
        yaxis_title=_currency(frame),
        xaxis_title=f"time ({tz})",
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        hovermode="x unified",
    )
    return figure


def drawdown_figure(frame: pd.DataFrame, tz: str) -> go.Figure:
    """Drawdown from the running peak, in percent, one filled line per venue and account."""
    figure = go.Figure()
    for series, part in with_drawdown(frame).groupby("series", sort=True):
        figure.add_trace(
            go.Scatter(
                x=part["time"].dt.tz_convert(tz),
                y=part["drawdown_pct"] * 100.0,
                mode="lines",
                fill="tozeroy",
                name=str(series),
            )
        )
    figure.update_layout(
        title="Drawdown from the running peak (%)",
        yaxis_title="%",
        xaxis_title=f"time ({tz})",
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        hovermode="x unified",
    )
    return figure
