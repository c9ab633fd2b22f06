"""ROC and precision–recall curves, with the classical baselines' ROC curves beside the autoencoder's.

Plain Plotly, no Streamlit, built in one `go.Figure(data, layout)` call like core.figures.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.figures import ANOMALY_COLOR, NORMAL_COLOR, base_layout, downsample

BASELINE_PALETTE = ["#5cb85c", "#e08a1e", "#8e6cbf", "#17a2b8", "#795548"]

# The chance line of a ROC chart, dotted grey.
DIAGONAL = {
    "type": "scatter",
    "x": [0, 1],
    "y": [0, 1],
    "mode": "lines",
    "hoverinfo": "skip",
    "showlegend": False,
    "line": {"color": "#bbbbbb", "dash": "dot"},
}


def _curve_figure(
    x, y, point, title: str, x_title: str, y_title: str, hover: str, diagonal: bool, others=None
) -> go.Figure:
    x, y = downsample(np.asarray(x, float), np.asarray(y, float))
    traces = []
    others = others or {}
    if diagonal:
        traces.append(DIAGONAL)
    traces.append(
        {
            "type": "scatter",
            "x": x,
            "y": y,
            "mode": "lines",
            "name": "autoencoder",
            "line": {"color": NORMAL_COLOR, "width": 2.5},
            "hovertemplate": hover + "<extra>autoencoder</extra>",
        }
    )
    for k, (name, (other_x, other_y)) in enumerate(others.items()):
        other_x, other_y = downsample(np.asarray(other_x, float), np.asarray(other_y, float))
        traces.append(
            {
                "type": "scatter",
                "x": other_x,
                "y": other_y,
                "mode": "lines",
                "name": name,
                "line": {"color": BASELINE_PALETTE[k % len(BASELINE_PALETTE)], "width": 1.5, "dash": "dash"},
                "hovertemplate": hover + f"<extra>{name}</extra>",
            }
        )
    if point is not None and None not in point:
        traces.append(
            {
                "type": "scatter",
                "x": [point[0]],
                "y": [point[1]],
                "mode": "markers",
                "marker": {"color": ANOMALY_COLOR, "size": 12, "line": {"color": "white", "width": 2}},
                "name": "threshold",
                "showlegend": False,
                "hovertemplate": hover + "<extra>threshold</extra>",
            }
        )
    return go.Figure(
        traces,
        base_layout(
            title,
            320 if not others else 400,
            showlegend=bool(others),
            # The curves rise to the top left: the bottom right of the plot is free for the detectors' legend.
            legend={
                "orientation": "v",
                "yanchor": "bottom",
                "y": 0.02,
                "xanchor": "right",
                "x": 0.98,
                "bgcolor": "rgba(255,255,255,0.8)",
            },
            xaxis={"title": {"text": x_title}, "range": [-0.02, 1.02]},
            yaxis={"title": {"text": y_title}, "range": [-0.02, 1.02]},
        ),
    )


def roc_figure(
    fpr: np.ndarray,
    tpr: np.ndarray,
    point: tuple[float, float] | None = None,
    auroc: float | None = None,
    baselines: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> go.Figure:
    """ROC curve with the diagonal and the current operating point (fpr, tpr).

    baselines: {legend name: (fpr, tpr)} of other detectors, drawn dashed with a legend whose entries
    toggle them.
    """
    title = "ROC curve" if auroc is None else f"ROC curve · AUROC {auroc:.3f}"
    return _curve_figure(
        fpr,
        tpr,
        point,
        title,
        "false-positive rate",
        "true-positive rate",
        "FPR %{x:.3f}<br>TPR %{y:.3f}",
        diagonal=True,
        others=baselines,
    )


def pr_figure(
    precision: np.ndarray,
    recall: np.ndarray,
    point: tuple[float, float] | None = None,
    average_precision: float | None = None,
) -> go.Figure:
    """Precision-recall curve with the current operating point (recall, precision)."""
    title = "Precision–recall" if average_precision is None else f"Precision–recall · AP {average_precision:.3f}"
    return _curve_figure(
        recall, precision, point, title, "recall", "precision", "recall %{x:.3f}<br>precision %{y:.3f}", diagonal=False
    )
