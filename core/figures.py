"""Plotly figures for the dashboard: loss curves, error histograms, confusion matrix, samples (ROC and PR:
core.curve_figures).

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
SERIES_PALETTE = [NORMAL_COLOR, ANOMALY_COLOR, "#5cb85c", VALIDATION_COLOR, "#8e6cbf", "#17a2b8", "#795548"]
MAX_LINE_POINTS = 2000


def _layout(title: str, height: int, **settings) -> dict:
    return {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        "hovermode": "closest",
    } | settings


def _downsample(x: np.ndarray, y: np.ndarray, max_points: int = MAX_LINE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Average runs of consecutive points so a line never sends more than `max_points` to the browser."""
    if x.size <= max_points:
        return x, y
    starts = np.linspace(0, x.size, max_points, endpoint=False).astype(np.int64)
    sizes = np.diff(np.r_[starts, x.size])
    return np.add.reduceat(x, starts) / sizes, np.add.reduceat(y, starts) / sizes


# ---------------------------------------------------------------- training


def loss_curve(history, log_y: bool = False) -> go.Figure:
    """Per-epoch train and validation loss, over a fainter line of per-batch losses.

    history: a `core.training.History` (or anything with loss, val_loss, batch_loss, batch_epoch).
    """
    traces = []
    if history.batch_loss:
        x, y = _downsample(np.asarray(history.batch_epoch, float), np.asarray(history.batch_loss, float))
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
    return go.Figure(
        traces,
        _layout(
            "Loss",
            360,
            xaxis={"title": {"text": "epoch"}, "rangemode": "tozero"},
            yaxis={"title": {"text": "loss"}, "type": "log" if log_y else "linear"},
        ),
    )


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


def error_histogram(bins: HistogramBins, threshold: float | None = None, log_y: bool = False) -> go.Figure:
    """Reconstruction-error histogram from precomputed bins, with the threshold as a dashed vertical line."""
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
    return go.Figure(
        traces,
        _layout(
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
        [heatmap], _layout("Confusion matrix", 320, annotations=annotations, yaxis={"autorange": "reversed"})
    )


# ---------------------------------------------------------------- samples


def _as_2d(image: np.ndarray) -> np.ndarray:
    """(h, w), (h, w, 1) or (h, w, 3) -> (h, w) or (h, w, 3)."""
    image = np.asarray(image, dtype=np.float32)
    return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image


def _image_trace(
    image: np.ndarray, colorscale: str = "gray", zmax: float | None = None, name: str = "", axis: str = ""
) -> dict:
    """A heat map of a gray image, or an RGB image trace; `axis` "2" places it on xaxis2/yaxis2."""
    image = _as_2d(image)
    placement = {"xaxis": f"x{axis}", "yaxis": f"y{axis}"}
    if image.ndim == 3:
        rgb = np.clip(image * 255 if image.max() <= 1.0 else image, 0, 255).astype(np.uint8)
        return {"type": "image", "z": rgb, "name": name, "hoverinfo": "skip"} | placement
    return {
        "type": "heatmap",
        "z": image,
        "colorscale": colorscale,
        "zmin": 0 if zmax is not None else None,
        "zmax": zmax,
        "showscale": False,
        "name": name,
        "hovertemplate": "%{z:.3f}<extra>" + name + "</extra>",
    } | placement


def _image_axis(domain: list[float] | None = None, anchor: str = "x") -> tuple[dict, dict]:
    bare = {"showticklabels": False, "showgrid": False, "zeroline": False}
    x_axis = bare | ({"domain": domain} if domain else {})
    return x_axis, bare | {"autorange": "reversed", "scaleanchor": anchor}


def image_grid(rows: Sequence[np.ndarray], row_labels: Sequence[str], columns: int = 10) -> go.Figure:
    """One row of up to `columns` images per group (e.g. per class), tiled into a single heat map.

    rows: per group an array (k, h, w[, c]); row_labels: the group names shown left of each row.
    """
    shape = _as_2d(rows[0][0]).shape
    height, width = shape[0], shape[1]
    gap = max(1, height // 8)
    channels = shape[2:]
    mosaic = np.full((len(rows) * (height + gap), columns * (width + gap)) + channels, np.nan, dtype=np.float32)
    for r, images in enumerate(rows):
        for c, image in enumerate(images[:columns]):
            top, left = r * (height + gap), c * (width + gap)
            mosaic[top : top + height, left : left + width] = _as_2d(image)
    if channels:
        mosaic = np.nan_to_num(mosaic, nan=1.0)
    x_axis, y_axis = _image_axis()
    y_axis |= {
        "showticklabels": True,
        "tickmode": "array",
        "ticks": "",
        "ticktext": list(row_labels),
        "tickvals": [r * (height + gap) + height / 2 for r in range(len(rows))],
    }
    return go.Figure(
        [_image_trace(mosaic)],
        {
            "height": max(160, 70 * len(rows) + 40),
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "plot_bgcolor": "rgba(0,0,0,0)",
            "xaxis": x_axis,
            "yaxis": y_axis,
        },
    )


def series_preview(series_by_group: Sequence[np.ndarray], group_labels: Sequence[str]) -> go.Figure:
    """Overlaid lines: a few series per group (e.g. per class), one colour per group."""
    traces = []
    for g, (series, label) in enumerate(zip(series_by_group, group_labels, strict=True)):
        series = np.asarray(series, dtype=np.float32).reshape(len(series), -1)
        # One trace per group, its series separated by NaN gaps, keeps the figure small.
        x = np.tile(np.r_[np.arange(series.shape[1], dtype=float), np.nan], len(series))
        y = np.c_[series, np.full(len(series), np.nan)].ravel()
        traces.append(
            {
                "type": "scatter",
                "x": x,
                "y": y,
                "mode": "lines",
                "name": label,
                "opacity": 0.6,
                "line": {"color": SERIES_PALETTE[g % len(SERIES_PALETTE)], "width": 1},
                "hoverinfo": "skip",
            }
        )
    return go.Figure(
        traces, _layout("", 340, xaxis={"title": {"text": "time step"}}, yaxis={"title": {"text": "value"}})
    )


def image_triplet(original: np.ndarray, reconstruction: np.ndarray, error_map: np.ndarray) -> go.Figure:
    """Original | reconstruction | per-pixel error heat map, side by side."""
    error_2d = _as_2d(error_map)
    if error_2d.ndim == 3:
        error_2d = error_2d.mean(axis=-1)
    value_max = float(max(np.nanmax(_as_2d(original)), 1.0))
    panels = [
        ("original", original, "gray", value_max),
        ("reconstruction", reconstruction, "gray", value_max),
        ("error", error_2d, "Reds", float(max(np.nanmax(error_2d), 1e-12))),
    ]
    traces, layout, annotations = [], {}, []
    for k, (name, image, colorscale, zmax) in enumerate(panels):
        axis = "" if k == 0 else str(k + 1)
        domain = [k * 0.345, k * 0.345 + 0.31]
        traces.append(_image_trace(image, colorscale, zmax, name, axis))
        layout[f"xaxis{axis}"], layout[f"yaxis{axis}"] = _image_axis(domain, anchor=f"x{axis}")
        annotations.append(
            {
                "text": name,
                "x": sum(domain) / 2,
                "y": 1.0,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 12},
            }
        )
    return go.Figure(
        traces,
        layout
        | {
            "height": 180,
            "annotations": annotations,
            "margin": {"l": 0, "r": 0, "t": 24, "b": 0},
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    )


def series_overlay(original: np.ndarray, reconstruction: np.ndarray) -> go.Figure:
    """Original and reconstruction overlaid, the area between them filled as the error."""
    original = np.asarray(original, dtype=np.float32).ravel()
    reconstruction = np.asarray(reconstruction, dtype=np.float32).ravel()
    steps = np.arange(original.size)
    return go.Figure(
        [
            {
                "type": "scatter",
                "x": steps,
                "y": original,
                "mode": "lines",
                "name": "original",
                "line": {"color": NORMAL_COLOR, "width": 2},
            },
            {
                "type": "scatter",
                "x": steps,
                "y": reconstruction,
                "mode": "lines",
                "name": "reconstruction",
                "line": {"color": VALIDATION_COLOR, "width": 2},
                "fill": "tonexty",
                "fillcolor": "rgba(217, 83, 79, 0.25)",
            },
        ],
        _layout("", 220, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis={"title": {"text": "time step"}}),
    )


# ---------------------------------------------------------------- time series

LABELLED_FILL = "rgba(92, 184, 92, 0.22)"
FLAGGED_FILL = "rgba(217, 83, 79, 0.28)"
MAX_SPANS = 300


def _spans(timestamps: np.ndarray, runs: Sequence[tuple[int, int]], fill: str, name: str) -> list[dict]:
    """Shaded rectangles over the whole height for [start, stop) index runs (at most MAX_SPANS, longest first)."""
    runs = sorted(runs, key=lambda run: run[0] - run[1])[:MAX_SPANS]
    return [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": timestamps[start],
            "x1": timestamps[stop - 1],
            "y0": 0,
            "y1": 1,
            "fillcolor": fill,
            "line": {"width": 0},
            "layer": "below",
            "name": name,
        }
        for start, stop in runs
    ]


def timeline(
    timestamps: np.ndarray,
    values: np.ndarray,
    scores: np.ndarray | None = None,
    threshold: float | None = None,
    labelled: Sequence[tuple[int, int]] = (),
    flagged: Sequence[tuple[int, int]] = (),
    channels: Sequence[str] = (),
) -> go.Figure:
    """The series on top and its anomaly score below, on one time axis with a range slider to zoom.

    timestamps: (n,) datetime64; values: (n, channels) raw values; scores: (n,) per-timestamp scores or None
    (the series alone); labelled / flagged: [start, stop) index runs shaded green (labelled anomaly windows)
    and red (flagged events); the threshold is a dashed line on the score panel.
    """
    values = np.asarray(values, dtype=np.float32).reshape(len(timestamps), -1)
    names = list(channels) or [f"value {c + 1}" for c in range(values.shape[1])]
    traces = [
        {
            "type": "scatter",
            "x": timestamps,
            "y": values[:, c],
            "mode": "lines",
            "name": names[c] if c < len(names) else f"value {c + 1}",
            "line": {"color": SERIES_PALETTE[(c * 2) % len(SERIES_PALETTE)], "width": 1},
            "yaxis": "y",
        }
        for c in range(values.shape[1])
    ]
    shapes = _spans(timestamps, labelled, LABELLED_FILL, "labelled window") + _spans(
        timestamps, flagged, FLAGGED_FILL, "flagged"
    )
    layout = {
        "xaxis": {"type": "date", "rangeslider": {"visible": True, "thickness": 0.08}, "anchor": "y2"},
        "yaxis": {"domain": [0.45, 1.0] if scores is not None else [0.0, 1.0], "title": {"text": "value"}},
        "shapes": shapes,
    }
    if scores is not None:
        traces.append(
            {
                "type": "scatter",
                "x": timestamps,
                "y": np.asarray(scores, dtype=np.float32),
                "mode": "lines",
                "name": "anomaly score",
                "line": {"color": ANOMALY_COLOR, "width": 1},
                "yaxis": "y2",
            }
        )
        layout["yaxis2"] = {"domain": [0.0, 0.38], "title": {"text": "score"}}
        if threshold is not None:
            shapes.append(
                {
                    "type": "line",
                    "xref": "paper",
                    "yref": "y2",
                    "x0": 0,
                    "x1": 1,
                    "y0": threshold,
                    "y1": threshold,
                    "line": {"color": THRESHOLD_COLOR, "width": 1.5, "dash": "dash"},
                    "name": "threshold",
                }
            )
    else:
        layout["xaxis"]["anchor"] = "y"
    title = "Green: labelled anomaly windows" + (" · red: flagged events" if scores is not None else "")
    return go.Figure(traces, _layout(title, 520 if scores is not None else 380, **layout))


def window_overlay(
    timestamps: np.ndarray,
    original: np.ndarray,
    reconstruction: np.ndarray,
    event: tuple[int, int] | None = None,
    channels: Sequence[str] = (),
) -> go.Figure:
    """One window of a series, its reconstruction over it, the event's span ([start, stop) positions) shaded.

    timestamps: (window,) datetime64; original / reconstruction: (window,) or (window, channels) raw values.
    """
    original = np.asarray(original, dtype=np.float32).reshape(len(timestamps), -1)
    reconstruction = np.asarray(reconstruction, dtype=np.float32).reshape(len(timestamps), -1)
    traces = []
    for c in range(original.shape[1]):
        suffix = f" ({channels[c]})" if len(channels) > 1 else ""
        traces += [
            {
                "type": "scatter",
                "x": timestamps,
                "y": original[:, c],
                "mode": "lines",
                "name": f"original{suffix}",
                "line": {"color": NORMAL_COLOR, "width": 2},
            },
            {
                "type": "scatter",
                "x": timestamps,
                "y": reconstruction[:, c],
                "mode": "lines",
                "name": f"reconstruction{suffix}",
                "line": {"color": VALIDATION_COLOR, "width": 2},
                "fill": "tonexty",
                "fillcolor": "rgba(217, 83, 79, 0.25)",
            },
        ]
    shapes = [] if event is None else _spans(timestamps, [event], FLAGGED_FILL, "flagged")
    return go.Figure(traces, _layout("", 320, xaxis={"type": "date"}, shapes=shapes))
