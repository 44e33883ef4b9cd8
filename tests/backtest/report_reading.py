"""Reading a rendered report back: its figures' JSON and Plotly's typed arrays."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

FIGURES_OPEN = '<script type="application/json" id="figures">'


def figures(html: str) -> dict[str, Any]:
    """The report's ``{div id: {"data": [...], "layout": {...}}}`` object."""
    start = html.index(FIGURES_OPEN) + len(FIGURES_OPEN)
    return dict(json.loads(html[start : html.index("</script>", start)]))


def array(value: Any) -> np.ndarray:
    """A trace's array: Plotly's typed-array form ``{"dtype", "bdata"}`` decoded, or a plain list."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)
