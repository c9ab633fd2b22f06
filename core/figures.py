"""Plotly figures for the dashboard: loss curves, error histograms, the confusion matrix; the shared colours and
layout. ROC and PR: core.curve_figures; samples beside their reconstructions: core.sample_figures; time series:
core.timeline_figures.

Plain Plotly, no Streamlit. Each figure is built in a single `go.Figure(data, layout)` call, which
validates once; chains of `add_*`/`update_*` calls cost several times more, and the Threshold page
redraws four figures on every slider move. Arrays are handled with numpy only, so a figure over
70,000 scores costs milliseconds: the histogram is binned once (`histogram_bins`) and drawn from counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

NORMAL_COLOR = "#3b6fb6"
ANOMALY_COLOR = "#d9534f"
NEUTRAL_COLOR = "#6c7a89"
VALIDATION_COLOR = "#e08a1e"
THRESHOLD_COLOR = "#222222"
MARK_COLOR = "#8e6cbf"  # a sample of your own on the error histogram
SERIES_PALETTE = [NORMAL_COLOR, ANOMALY_COLOR, "#5cb85c", VALIDATION_COLOR, "#8e6cbf", "#17a2b8", "#795548"]
MAX_LINE_POINTS = 2000


def base_layout(title: str, height: int, **settings) -> dict:
    """The common layout: the title top left, the legend on its own line under Plotly's toolbar (top right), so
    the toolbar never covers it."""
    return {
        "title": {
            "text": title,
            "x": 0,
            "xanchor": "left",
            "y": 1,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 10},
            "font": {"size": 15},
        },
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 64, "b": 10},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        "hovermode": "closest",
    } | settings


def downsample(x: np.ndarray, y: np.ndarray, max_points: int = MAX_LINE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Average runs of consecutive points so a line never sends more than `max_points` to the browser."""
    if x.size <= max_points:
        return x, y
    starts = np.linspace(0, x.size, max_points, endpoint=False).astype(np.int64)
    sizes = np.diff(np.r_[starts, x.size])
    return np.add.reduceat(x, starts) / sizes, np.add.reduceat(y, starts) / sizes


# ---------------------------------------------------------------- training


def loss_curve(history, log_y: bool = False) -> go.Figure:
    """Per-epoch train and validation loss, over a fainter line of per-batch losses; a dotted line marks each epoch
    after which a later training went on (`continued_after`).

    history: a `core.training.History` (or anything with loss, val_loss, batch_loss, batch_epoch).
    """
    traces = []
    if history.batch_loss:
        x, y = downsample(np.asarray(history.batch_epoch, float), np.asarray(history.batch_loss, float))
        traces.append(
            {
                "type": "scatter",
                "x": x,
                "y": y,
                "mode": "lines",
                "name": "batch loss (running mean)",
                "line": {"color": NORMAL_COLOR, "width": 1.5},
                "opacity": 0.45,
                "hoverinfo": "skip",
            }
        )
    epochs = np.arange(1, len(history.loss) + 1)
    for name, values, color in (
        ("train", history.loss, NORMAL_COLOR),
        ("validation", history.val_loss, VALIDATION_COLOR),
    ):
        if values:
            traces.append(
                {
                    "type": "scatter",
                    "x": epochs[: len(values)],
                    "y": values,
                    "mode": "lines+markers",
                    "name": name,
                    "line": {"color": color, "width": 2.5},
                    "marker": {"size": 6},
                }
            )
    figure = go.Figure(
        traces,
        base_layout(
            "Loss",
            360,
            xaxis={"title": {"text": "epoch"}, "rangemode": "tozero"},
            yaxis={"title": {"text": "loss"}, "type": "log" if log_y else "linear"},
        ),
    )
    for epoch in getattr(history, "continued_after", []):
        figure.add_vline(epoch, line={"dash": "dot", "color": "gray", "width": 1}, annotation_text="continued")
    return figure


# ---------------------------------------------------------------- errors and threshold


@dataclass(frozen=True)
class HistogramBins:
    """Bin edges shared by all groups and the counts of each group ("normal"/"anomaly" or "all")."""

    edges: np.ndarray
    counts: dict[str, np.ndarray]
    log_x: bool


def histogram_bins(
    scores: np.ndarray, labels: np.ndarray | None = None, n_bins: int = 80, log_x: bool = False
) -> HistogramBins:
    """Bin the errors once; normal and anomaly counted separately when labels are known.

    With log_x the bins are equal in log space; non-positive errors go to the first bin.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    low, high = float(scores.min()), float(scores.max())
    if log_x:
        positive = scores[scores > 0]
        low = float(positive.min()) if positive.size else 1e-12
        high = max(high, low * 1.0001)
        edges = np.geomspace(low, high, n_bins + 1)
        binned = np.clip(scores, low, high)
    else:
        high = high if high > low else low + 1e-12
        edges = np.linspace(low, high, n_bins + 1)
        binned = scores
    if labels is None:
        counts = {"all": np.histogram(binned, edges)[0]}
    else:
        labels = np.asarray(labels).ravel()
        counts = {
            "normal": np.histogram(binned[labels == 0], edges)[0],
            "anomaly": np.histogram(binned[labels == 1], edges)[0],
        }
    return HistogramBins(edges=edges, counts=counts, log_x=log_x)


_GROUP_COLORS = {"normal": NORMAL_COLOR, "anomaly": ANOMALY_COLOR, "all": NEUTRAL_COLOR}


def error_histogram(
    bins: HistogramBins, threshold: float | None = None, log_y: bool = False, marks: Sequence[tuple[str, float]] = ()
) -> go.Figure:
    """Reconstruction-error histogram from precomputed bins, with the threshold as a dashed vertical line.

    marks: (name, error) of samples to show where they fall, each as a solid vertical line labelled with its name.
    """
    edges = bins.edges
    centers = np.sqrt(edges[:-1] * edges[1:]) if bins.log_x else (edges[:-1] + edges[1:]) / 2
    ranges = np.c_[edges[:-1], edges[1:]]
    traces = [
        {
            "type": "bar",
            "x": centers,
            "y": counts,
            "width": np.diff(edges),
            "name": group,
            "marker": {"color": _GROUP_COLORS[group], "line": {"width": 0}},
            "opacity": 0.75 if len(bins.counts) > 1 else 0.9,
            "customdata": ranges,
            "hovertemplate": "%{customdata[0]:.4g} – %{customdata[1]:.4g}<br>%{y} samples<extra>" + group + "</extra>",
        }
        for group, counts in bins.counts.items()
    ]
    shapes, annotations = [], []
    if threshold is not None:
        shapes.append(
            {
                "type": "line",
                "x0": threshold,
                "x1": threshold,
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "line": {"color": THRESHOLD_COLOR, "width": 2, "dash": "dash"},
            }
        )
        # Annotations, unlike shapes, sit in log10 units on a log axis.
        label_x = np.log10(threshold) if bins.log_x and threshold > 0 else threshold
        annotations.append(
            {
                "x": label_x,
                "y": 1,
                "yref": "paper",
                "text": f"threshold {threshold:.4g}",
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
                "xshift": 4,
                "font": {"size": 12, "color": THRESHOLD_COLOR},
            }
        )
    for k, (name, error) in enumerate(marks):
        shapes.append(
            {
                "type": "line",
                "x0": error,
                "x1": error,
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "line": {"color": MARK_COLOR, "width": 2},
            }
        )
        annotations.append(
            {
                "x": np.log10(error) if bins.log_x and error > 0 else error,
                "y": 0.92 - 0.08 * (k % 8),
                "yref": "paper",
                "text": f"{name} {error:.4g}",
                "showarrow": False,
                "xanchor": "left",
                "xshift": 4,
                "font": {"size": 12, "color": MARK_COLOR},
            }
        )
    return go.Figure(
        traces,
        base_layout(
            "Reconstruction errors",
            380,
            barmode="overlay",
            bargap=0,
            dragmode="select",
            selectdirection="h",
            shapes=shapes,
            annotations=annotations,
            xaxis={"title": {"text": "reconstruction error"}, "type": "log" if bins.log_x else "linear"},
            yaxis={"title": {"text": "samples"}, "type": "log" if log_y else "linear"},
        ),
    )


def confusion_figure(matrix: Sequence[Sequence[int]]) -> go.Figure:
    """Confusion matrix [[TN, FP], [FN, TP]] as a heat map shaded by each row's share."""
    matrix = np.asarray(matrix, dtype=np.int64)
    names = [["true negatives", "false positives"], ["false negatives", "true positives"]]
    columns, rows = ["flagged normal", "flagged anomaly"], ["true normal", "true anomaly"]
    row_share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    heatmap = {
        "type": "heatmap",
        "z": row_share,
        "x": columns,
        "y": rows,
        "colorscale": "Blues",
        "zmin": 0,
        "zmax": 1,
        "showscale": False,
        "customdata": matrix,
        "hovertemplate": "%{y}, %{x}: %{customdata:,}<extra></extra>",
    }
    annotations = [
        {
            "x": columns[c],
            "y": rows[r],
            "showarrow": False,
            "text": f"<b>{matrix[r, c]:,}</b><br><span style='font-size:11px'>{names[r][c]}</span>",
            "font": {"size": 18, "color": "white" if row_share[r, c] > 0.55 else "#1f2933"},
        }
        for r in range(2)
        for c in range(2)
    ]
    return go.Figure(
        [heatmap], base_layout("Confusion matrix", 320, annotations=annotations, yaxis={"autorange": "reversed"})
    )
