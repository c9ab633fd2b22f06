"""Plotly figures for the dashboard: loss curves, error histograms, ROC/PR, confusion matrix, samples.

Plain Plotly, no Streamlit. Every function is vectorised numpy so a figure over 70,000 scores
costs milliseconds: the histogram is binned once (`histogram_bins`) and then drawn from counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

NORMAL_COLOR = "#3b6fb6"
ANOMALY_COLOR = "#d9534f"
NEUTRAL_COLOR = "#6c7a89"
TRAIN_COLOR = "#3b6fb6"
VALIDATION_COLOR = "#e08a1e"
THRESHOLD_COLOR = "#222222"
MAX_LINE_POINTS = 2000

_MARGIN = dict(l=10, r=10, t=40, b=10)


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=15)),
        height=height,
        margin=_MARGIN,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
        hovermode="closest",
    )
    return fig


def _downsample(x: np.ndarray, y: np.ndarray, max_points: int = MAX_LINE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Average runs of consecutive points so a line never sends more than `max_points` to the browser."""
    if x.size <= max_points:
        return x, y
    starts = np.linspace(0, x.size, max_points, endpoint=False).astype(np.int64)
    sizes = np.diff(np.r_[starts, x.size])
    return np.add.reduceat(x, starts) / sizes, np.add.reduceat(y, starts) / sizes


# ---------------------------------------------------------------- training


def loss_curve(history, log_y: bool = False) -> go.Figure:
    """Per-epoch train and validation loss, over a faint line of per-batch losses.

    history: a `core.training.History` (or anything with loss, val_loss, batch_loss, batch_epoch).
    """
    fig = go.Figure()
    if history.batch_loss:
        x, y = _downsample(np.asarray(history.batch_epoch, float), np.asarray(history.batch_loss, float))
        fig.add_scatter(
            x=x, y=y, mode="lines", name="batch loss (running mean)",
            line=dict(color=TRAIN_COLOR, width=1.5), opacity=0.45, hoverinfo="skip",
        )
    epochs = np.arange(1, len(history.loss) + 1)
    if len(history.loss):
        fig.add_scatter(
            x=epochs, y=history.loss, mode="lines+markers", name="train",
            line=dict(color=TRAIN_COLOR, width=2.5), marker=dict(size=6),
        )
    val_loss = [v for v in (history.val_loss or []) if v is not None]
    if val_loss:
        fig.add_scatter(
            x=epochs[: len(val_loss)], y=val_loss, mode="lines+markers", name="validation",
            line=dict(color=VALIDATION_COLOR, width=2.5), marker=dict(size=6),
        )
    fig.update_xaxes(title="epoch", rangemode="tozero")
    fig.update_yaxes(title="loss", type="log" if log_y else "linear")
    return _layout(fig, "Loss", 360)


# ---------------------------------------------------------------- errors and threshold


@dataclass(frozen=True)
class HistogramBins:
    """Bin edges shared by all groups and the counts of each group ("normal"/"anomaly" or "all")."""

    edges: np.ndarray
    counts: dict[str, np.ndarray]
    log_x: bool

    def samples_between(self, scores: np.ndarray, low: float, high: float) -> np.ndarray:
        """Indices of `scores` within [low, high], highest error first."""
        inside = np.flatnonzero((scores >= low) & (scores <= high))
        return inside[np.argsort(-scores[inside], kind="stable")]


def histogram_bins(scores: np.ndarray, labels: Optional[np.ndarray] = None, n_bins: int = 80, log_x: bool = False) -> HistogramBins:
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


def error_histogram(bins: HistogramBins, threshold: Optional[float] = None, log_y: bool = False) -> go.Figure:
    """Reconstruction-error histogram from precomputed bins, with the threshold as a vertical line."""
    edges = bins.edges
    centers = np.sqrt(edges[:-1] * edges[1:]) if bins.log_x else (edges[:-1] + edges[1:]) / 2
    widths = np.diff(edges)
    fig = go.Figure()
    for group, counts in bins.counts.items():
        fig.add_bar(
            x=centers, y=counts, width=widths, name=group, marker_color=_GROUP_COLORS[group],
            marker_line_width=0, opacity=0.75 if len(bins.counts) > 1 else 0.9,
            customdata=np.c_[edges[:-1], edges[1:]],
            hovertemplate="%{customdata[0]:.4g} – %{customdata[1]:.4g}<br>%{y} samples<extra>" + group + "</extra>",
        )
    if threshold is not None:
        fig.add_shape(
            type="line", x0=threshold, x1=threshold, y0=0, y1=1, yref="paper",
            line=dict(color=THRESHOLD_COLOR, width=2, dash="dash"),
        )
        fig.add_annotation(
            x=threshold, y=1, yref="paper", text=f"threshold {threshold:.4g}", showarrow=False,
            xanchor="left", yanchor="top", xshift=4, font=dict(size=12, color=THRESHOLD_COLOR),
        )
    fig.update_layout(barmode="overlay", bargap=0, dragmode="select", selectdirection="h")
    fig.update_xaxes(title="reconstruction error", type="log" if bins.log_x else "linear")
    fig.update_yaxes(title="samples", type="log" if log_y else "linear")
    return _layout(fig, "Reconstruction errors", 380)


def roc_figure(fpr: np.ndarray, tpr: np.ndarray, point: Optional[tuple[float, float]] = None, auroc: Optional[float] = None) -> go.Figure:
    """ROC curve with the diagonal and the current operating point (fpr, tpr)."""
    fpr, tpr = _downsample(np.asarray(fpr, float), np.asarray(tpr, float))
    title = "ROC curve" if auroc is None else f"ROC curve · AUROC {auroc:.3f}"
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#bbbbbb", dash="dot"), hoverinfo="skip", showlegend=False)
    fig.add_scatter(x=fpr, y=tpr, mode="lines", name="ROC", line=dict(color=NORMAL_COLOR, width=2), showlegend=False)
    _add_point(fig, point, "FPR %{x:.3f}<br>TPR %{y:.3f}")
    fig.update_xaxes(title="false-positive rate", range=[-0.02, 1.02])
    fig.update_yaxes(title="true-positive rate", range=[-0.02, 1.02])
    return _layout(fig, title, 320)


def pr_figure(precision: np.ndarray, recall: np.ndarray, point: Optional[tuple[float, float]] = None, average_precision: Optional[float] = None) -> go.Figure:
    """Precision-recall curve with the current operating point (recall, precision)."""
    recall, precision = _downsample(np.asarray(recall, float), np.asarray(precision, float))
    title = "Precision–recall" if average_precision is None else f"Precision–recall · AP {average_precision:.3f}"
    fig = go.Figure()
    fig.add_scatter(x=recall, y=precision, mode="lines", name="PR", line=dict(color=NORMAL_COLOR, width=2), showlegend=False)
    _add_point(fig, point, "recall %{x:.3f}<br>precision %{y:.3f}")
    fig.update_xaxes(title="recall", range=[-0.02, 1.02])
    fig.update_yaxes(title="precision", range=[-0.02, 1.02])
    return _layout(fig, title, 320)


def _add_point(fig: go.Figure, point: Optional[tuple[float, float]], hovertemplate: str) -> None:
    if point is None or None in point:
        return
    fig.add_scatter(
        x=[point[0]], y=[point[1]], mode="markers", name="threshold",
        marker=dict(color=ANOMALY_COLOR, size=12, line=dict(color="white", width=2)),
        hovertemplate=hovertemplate + "<extra>threshold</extra>", showlegend=False,
    )


def confusion_figure(matrix: Sequence[Sequence[int]]) -> go.Figure:
    """Confusion matrix [[TN, FP], [FN, TP]] as a heat map shaded by each row's share."""
    matrix = np.asarray(matrix, dtype=np.int64)
    names = [["true negatives", "false positives"], ["false negatives", "true positives"]]
    columns, rows = ["flagged normal", "flagged anomaly"], ["true normal", "true anomaly"]
    row_share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig = go.Figure(go.Heatmap(
        z=row_share, x=columns, y=rows, colorscale="Blues", zmin=0, zmax=1, showscale=False,
        customdata=matrix, hovertemplate="%{y}, %{x}: %{customdata:,}<extra></extra>",
    ))
    for r in range(2):
        for c in range(2):
            fig.add_annotation(
                x=columns[c], y=rows[r], showarrow=False,
                text=f"<b>{matrix[r, c]:,}</b><br><span style='font-size:11px'>{names[r][c]}</span>",
                font=dict(size=18, color="white" if row_share[r, c] > 0.55 else "#1f2933"),
            )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Confusion matrix", 320)


# ---------------------------------------------------------------- samples


def _as_2d(image: np.ndarray) -> np.ndarray:
    """(h, w), (h, w, 1) or (h, w, 3) -> (h, w) or (h, w, 3)."""
    image = np.asarray(image, dtype=np.float32)
    return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image


def _image_trace(image: np.ndarray, colorscale: str = "gray", zmax: Optional[float] = None, name: str = ""):
    image = _as_2d(image)
    if image.ndim == 3:
        rgb = np.clip(image * 255 if image.max() <= 1.0 else image, 0, 255).astype(np.uint8)
        return go.Image(z=rgb, name=name, hoverinfo="skip")
    return go.Heatmap(
        z=image, colorscale=colorscale, zmin=0 if zmax is not None else None, zmax=zmax,
        showscale=False, name=name, hovertemplate="%{z:.3f}<extra>" + name + "</extra>",
    )


def _image_axes(fig: go.Figure) -> None:
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed", scaleanchor="x")


def image_grid(rows: Sequence[np.ndarray], row_labels: Sequence[str], columns: int = 10) -> go.Figure:
    """One row of up to `columns` images per group (e.g. per class), tiled into a single heat map.

    rows: per group an array (k, h, w[, c]); row_labels: the group names shown left of each row.
    """
    shape = _as_2d(rows[0][0]).shape
    height, width = shape[0], shape[1]
    gap = max(1, height // 8)
    channels = shape[2:] if len(shape) == 3 else ()
    mosaic = np.full((len(rows) * (height + gap), columns * (width + gap)) + channels, np.nan, dtype=np.float32)
    for r, images in enumerate(rows):
        for c, image in enumerate(images[:columns]):
            top, left = r * (height + gap), c * (width + gap)
            mosaic[top:top + height, left:left + width] = _as_2d(image)
    if channels:
        mosaic = np.nan_to_num(mosaic, nan=1.0)
    fig = go.Figure(_image_trace(mosaic, colorscale="gray"))
    _image_axes(fig)
    fig.update_yaxes(
        showticklabels=True, tickmode="array", ticks="",
        tickvals=[r * (height + gap) + height / 2 for r in range(len(rows))], ticktext=list(row_labels),
    )
    fig.update_layout(
        height=max(160, 70 * len(rows) + 40), margin=dict(l=10, r=10, t=10, b=10),
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return fig


def series_preview(series_by_group: Sequence[np.ndarray], group_labels: Sequence[str]) -> go.Figure:
    """Overlaid lines: a few series per group (e.g. per class), one colour per group."""
    palette = [NORMAL_COLOR, ANOMALY_COLOR, "#5cb85c", "#e08a1e", "#8e6cbf", "#17a2b8", "#795548"]
    fig = go.Figure()
    for g, (series, label) in enumerate(zip(series_by_group, group_labels)):
        series = np.asarray(series, dtype=np.float32).reshape(len(series), -1)
        # One trace per group: series separated by None gaps keep the figure small.
        x = np.tile(np.r_[np.arange(series.shape[1], dtype=float), np.nan], len(series))
        y = np.c_[series, np.full(len(series), np.nan)].ravel()
        fig.add_scatter(
            x=x, y=y, mode="lines", name=label, line=dict(color=palette[g % len(palette)], width=1),
            opacity=0.6, connectgaps=False, hoverinfo="skip",
        )
    fig.update_xaxes(title="time step")
    fig.update_yaxes(title="value")
    return _layout(fig, "", 340)


def image_triplet(original: np.ndarray, reconstruction: np.ndarray, error_map: np.ndarray, title: str = "") -> go.Figure:
    """Original | reconstruction | per-pixel error heat map, side by side."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=("original", "reconstruction", "error"), horizontal_spacing=0.03)
    error_2d = _as_2d(error_map)
    if error_2d.ndim == 3:
        error_2d = error_2d.mean(axis=-1)
    value_max = float(max(np.nanmax(_as_2d(original)), 1.0))
    fig.add_trace(_image_trace(original, zmax=value_max, name="original"), row=1, col=1)
    fig.add_trace(_image_trace(reconstruction, zmax=value_max, name="reconstruction"), row=1, col=2)
    fig.add_trace(_image_trace(error_2d, colorscale="Reds", zmax=float(max(np.nanmax(error_2d), 1e-12)), name="error"), row=1, col=3)
    _image_axes(fig)
    for column in (2, 3):
        fig.update_yaxes(scaleanchor=f"x{column}", row=1, col=column)
    fig.update_annotations(font_size=12)
    fig.update_layout(
        title=dict(text=title, x=0, font=dict(size=13)), height=210,
        margin=dict(l=0, r=0, t=48 if title else 24, b=0), plot_bgcolor="rgba(0,0,0,0)",
    )
    return fig


def series_overlay(original: np.ndarray, reconstruction: np.ndarray, title: str = "") -> go.Figure:
    """Original and reconstruction overlaid, the area between them filled as the error."""
    original = np.asarray(original, dtype=np.float32).ravel()
    reconstruction = np.asarray(reconstruction, dtype=np.float32).ravel()
    steps = np.arange(original.size)
    fig = go.Figure()
    fig.add_scatter(x=steps, y=original, mode="lines", name="original", line=dict(color=NORMAL_COLOR, width=2))
    fig.add_scatter(
        x=steps, y=reconstruction, mode="lines", name="reconstruction", line=dict(color=VALIDATION_COLOR, width=2),
        fill="tonexty", fillcolor="rgba(217, 83, 79, 0.25)",
    )
    fig.update_xaxes(title="time step")
    return _layout(fig, title, 240)
