"""Reading what an AppTest run rendered: all of its text, its tables by position, its metrics by label."""

from __future__ import annotations

from typing import Any

import pandas as pd


def _walk(node: Any, parts: list[str]) -> None:
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            _walk(child, parts)
        return
    value: Any = None
    try:
        value = node.value
    except Exception:  # elements without a value (UnknownElement): their proto holds the text
        value = None
    if isinstance(value, pd.DataFrame):
        parts.append(value.to_string())
    parts.append(str(getattr(node, "proto", "")))


def page_text(app: Any) -> str:
    """Everything the run rendered in the main area and the sidebar, as one string (tables included)."""
    parts: list[str] = []
    _walk(app.main, parts)
    _walk(app.sidebar, parts)
    return "\n".join(parts)


def metrics(app: Any) -> dict[str, tuple[str, str]]:
    """``{label: (value, delta)}`` of every ``st.metric``."""
    return {m.label: (m.value, m.proto.delta) for m in app.metric}


def tables(app: Any) -> list[pd.DataFrame]:
    """The frames of every ``st.dataframe`` and ``st.table``, in page order."""
    frames: list[pd.DataFrame] = []

    def walk(node: Any) -> None:
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)
        elif getattr(node, "type", "") in ("dataframe", "table"):
            frames.append(node.value)

    walk(app.main)
    return frames


def row(frame: pd.DataFrame, column: str, value: Any) -> dict[str, Any]:
    """The one row of ``frame`` whose ``column`` equals ``value``, as a dict."""
    found = frame[frame[column] == value]
    assert len(found) == 1, f"{len(found)} rows with {column} == {value!r} in\n{frame.to_string()}"
    return found.iloc[0].to_dict()


def chart_traces(app: Any) -> list[list[dict[str, Any]]]:
    """The traces of every ``st.plotly_chart`` (Plotly's JSON; ``x``/``y`` typed arrays decoded to lists)."""
    import base64
    import json

    import numpy as np

    def decode(values: Any) -> Any:
        if isinstance(values, dict) and "bdata" in values:
            return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
        return values

    charts = []
    for chart in app.get("plotly_chart"):
        traces = json.loads(chart.proto.spec)["data"]
        charts.append([{**t, "x": decode(t.get("x")), "y": decode(t.get("y"))} for t in traces])
    return charts
