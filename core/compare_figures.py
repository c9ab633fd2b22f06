"""Saved runs overlaid (core.compare): loss curves, ROC and precision–recall curves, one colour per run.

Plain Plotly, no Streamlit, built in one `go.Figure(data, layout)` call like core.figures.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.curve_figures import DIAGONAL
from core.figures import SERIES_PALETTE, base_layout, downsample

LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0}  # run names are long


def run_colors(names) -> dict[str, str]:
    """One colour per run name, in order."""
    return {name: SERIES_PALETTE[k % len(SERIES_PALETTE)] for k, name in enumerate(names)}


def loss_overlay(histories: dict, colors: dict) -> go.Figure:
    """Per-epoch train (solid) and validation (dotted) loss of each run; histories: {run name: core.training.History},
    colors: run_colors."""
    traces = []
    for name, history in histories.items():
        for part, values, dash in (("train", history.loss, "solid"), ("validation", history.val_loss, "dot")):
            if values:
                traces.append(
                    {
                        "type": "scatter",
                        "x": np.arange(1, len(values) + 1),
                        "y": values,
                        "mode": "lines+markers",
                        "name": f"{name} · {part}",
                        "legendgroup": name,
                        "line": {"color": colors[name], "width": 2, "dash": dash},
                        "marker": {"size": 5},
                    }
                )
    return go.Figure(
        traces,
        base_layout(
            "Loss",
            460,
            legend=LEGEND_BELOW,
            xaxis={"title": {"text": "epoch"}, "rangemode": "tozero"},
            yaxis={"title": {"text": "loss"}},
        ),
    )


def _overlay(curves: dict, colors: dict, title: str, x_title: str, y_title: str, diagonal: bool) -> go.Figure:
    traces = []
    if diagonal:
        traces.append(DIAGONAL)
    for name, (x, y) in curves.items():
        x, y = downsample(np.asarray(x, float), np.asarray(y, float))
        traces.append(
            {
                "type": "scatter",
                "x": x,
                "y": y,
                "mode": "lines",
                "name": name,
                "line": {"color": colors[name], "width": 2},
                "hovertemplate": f"{x_title} %{{x:.3f}}<br>{y_title} %{{y:.3f}}<extra>{name}</extra>",
            }
        )
    return go.Figure(
        traces,
        base_layout(
            title,
            460,
            legend=LEGEND_BELOW,
            xaxis={"title": {"text": x_title}, "range": [-0.02, 1.02]},
            yaxis={"title": {"text": y_title}, "range": [-0.02, 1.02]},
        ),
    )


def roc_overlay(curves: dict, colors: dict) -> go.Figure:
    """ROC curves {run name: (false-positive rates, true-positive rates)} over the diagonal; colors: run_colors."""
    return _overlay(curves, colors, "ROC curves", "false-positive rate", "true-positive rate", diagonal=True)


def pr_overlay(curves: dict, colors: dict) -> go.Figure:
    """Precision–recall curves {run name: (recalls, precisions)}; colors: run_colors."""
    return _overlay(curves, colors, "Precision–recall curves", "recall", "precision", diagonal=False)
