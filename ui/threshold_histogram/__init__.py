"""The Threshold page's histogram with its draggable threshold line and live metric cards.

A Streamlit custom component (components v2: inline HTML, CSS and JavaScript from this folder, no build step,
no iframe). The browser gets the errors once per result, sorted (core.threshold_view.browser_arrays), and
computes the cards itself at every move of the line; Python hears of a move only when it is released
("released": {value, seq}), and of a shift-drag over the chart as "range": [low, high].
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from core import figures, threshold_view

_FOLDER = Path(__file__).parent
_COMPONENT = st.components.v2.component(
    "anomaly_studio_threshold_histogram",
    html=(_FOLDER / "histogram.html").read_text(encoding="utf-8"),
    css=(_FOLDER / "histogram.css").read_text(encoding="utf-8"),
    js=(_FOLDER / "histogram.js").read_text(encoding="utf-8"),
)
COLORS = {"normal": figures.NORMAL_COLOR, "anomaly": figures.ANOMALY_COLOR, "all": figures.NEUTRAL_COLOR}


def released(key: str) -> dict | None:
    """In an `on_release` callback: the {"value": threshold, "seq": number} the browser sent."""
    return st.session_state[key]["released"]


def selected_range(key: str) -> tuple[float, float] | None:
    """In an `on_range` callback, or after the call: the (low, high) errors of the last shift-drag."""
    chosen = st.session_state[key]["range"] if key in st.session_state else None
    return None if chosen is None else (float(chosen[0]), float(chosen[1]))


def threshold_histogram(
    payload: dict, threshold: float, seq: int, *, unit: str, key: str, on_release: Callable, on_range: Callable
):
    """Draw the histogram at `threshold`. `payload`: `browser_payload` of the result (built once); `seq`: the
    sequence number of the last move Python took, so the browser can tell an answer to an older move."""
    return _COMPONENT(
        key=key,
        data=payload | {"value": float(threshold), "seq": seq, "unit": unit},
        on_released_change=on_release,
        on_range_change=on_range,
    )


def browser_payload(curve, scores, labels, token: str) -> dict:
    """Everything the component needs about one result: sorted errors (an Arrow table), both histograms, the
    readable default scale and the keyboard step. `token` names the result, so the browser re-reads only a new one."""
    linear, log = threshold_view.both_bins(scores, labels)
    scale = threshold_view.readable_scale(linear, log)
    return {
        "token": token,
        "arrays": pd.DataFrame(threshold_view.browser_arrays(curve)),
        "labelled": curve.n_anomalies is not None,
        "bins": {"linear": threshold_view.bins_payload(linear), "log": log and threshold_view.bins_payload(log)},
        "log_x": scale.log_x,
        "log_y": scale.log_y,
        "step": threshold_view.step_for(float(linear.edges[0]), float(linear.edges[-1])),
        "colors": COLORS,
    }
