"""Plotly figures of samples: image grids, series previews, and a sample beside its reconstruction."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.figures import (
    ANOMALY_COLOR,
    NORMAL_COLOR,
    SERIES_PALETTE,
    VALIDATION_COLOR,
    base_layout,
)

ERROR_COLORSCALE = "Reds"


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
    bare = {"showticklabels": False, "showgrid": False, "zeroline": False, "ticks": "", "showline": False}
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
        traces, base_layout("", 340, xaxis={"title": {"text": "time step"}}, yaxis={"title": {"text": "value"}})
    )


def image_triplet(
    original: np.ndarray,
    reconstruction: np.ndarray,
    error_map: np.ndarray,
    error_max: float | None = None,
    height: int = 180,
) -> go.Figure:
    """Original | reconstruction | per-pixel error heat map, side by side, `height` pixels high.

    error_max: the error that shows darkest red, so that several samples share one colour scale (see
    `error_scale`); None scales the map to its own maximum.
    """
    error_2d = _as_2d(error_map)
    if error_2d.ndim == 3:
        error_2d = error_2d.mean(axis=-1)
    value_max = float(max(np.nanmax(_as_2d(original)), 1.0))
    panels = [
        ("original", original, "gray", value_max),
        ("reconstruction", reconstruction, "gray", value_max),
        ("error", error_2d, ERROR_COLORSCALE, error_max or float(max(np.nanmax(error_2d), 1e-12))),
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
            "height": height,
            "annotations": annotations,
            "margin": {"l": 0, "r": 0, "t": 24, "b": 0},
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    )


def error_scale(error_max: float) -> go.Figure:
    """A thin colour bar from 0 to `error_max`: the scale that the error maps of `image_triplet` share."""
    steps = np.linspace(0, error_max, 256)
    return go.Figure(
        [
            {
                "type": "heatmap",
                "x": steps,
                "z": [steps],
                "colorscale": ERROR_COLORSCALE,
                "zmin": 0,
                "zmax": error_max,
                "showscale": False,
                "hovertemplate": "error %{x:.3g}<extra></extra>",
            }
        ],
        {
            "height": 78,
            "margin": {"l": 10, "r": 10, "t": 4, "b": 50},
            "xaxis": {"title": {"text": "per-pixel error", "standoff": 6}, "ticks": "outside", "showgrid": False},
            "yaxis": {"visible": False},
        },
    )


def series_overlay(
    original: np.ndarray,
    reconstruction: np.ndarray,
    band: tuple[np.ndarray, np.ndarray] | None = None,
    band_name: str = "typical normal (5–95 %)",
) -> go.Figure:
    """Original and reconstruction overlaid, the area between them filled as the error.

    band: (low, high), each of the series' length, drawn as a grey band behind them, e.g. the 5th and 95th
    percentiles per step of the normal training samples (see `percentile_band`).
    """
    original = np.asarray(original, dtype=np.float32).ravel()
    reconstruction = np.asarray(reconstruction, dtype=np.float32).ravel()
    steps = np.arange(original.size)
    traces = []
    if band is not None:
        low, high = (np.asarray(edge, dtype=np.float32).ravel() for edge in band)
        traces += [
            {
                "type": "scatter",
                "x": steps,
                "y": low,
                "mode": "lines",
                "line": {"width": 0},
                "showlegend": False,
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "x": steps,
                "y": high,
                "mode": "lines",
                "name": band_name,
                "line": {"width": 0},
                "fill": "tonexty",
                "fillcolor": "rgba(108, 122, 137, 0.22)",
                "hoverinfo": "skip",
            },
        ]
    traces += [
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
    ]
    return go.Figure(
        traces,
        base_layout(
            "",
            290,
            margin={"l": 10, "r": 10, "t": 10, "b": 10},
            xaxis={"title": {"text": "time step"}},
            # Below the plot, where it wraps in a narrow card without squeezing the lines.
            legend={
                "orientation": "h",
                "yanchor": "top",
                "y": -0.3,
                "x": 0,
                "traceorder": "normal",
                "font": {"size": 11},
            },
        ),
    )


def percentile_band(samples: np.ndarray, low: float = 5, high: float = 95) -> tuple[np.ndarray, np.ndarray]:
    """The `low`th and `high`th percentiles of (n, length) samples at each step: two (length,) arrays."""
    samples = np.asarray(samples, dtype=np.float32).reshape(len(samples), -1)
    return np.percentile(samples, low, axis=0), np.percentile(samples, high, axis=0)


def feature_errors(
    original: np.ndarray,
    reconstruction: np.ndarray,
    names: Sequence[str],
    spans: np.ndarray | None = None,
    columns: Sequence[str] = (),
    span_name: str = "training range",
) -> go.Figure:
    """A table row's error per feature: horizontal bars of |original − reconstruction|, one per named column.

    original, reconstruction: (n_features,) raw values; spans: (n_features,) each feature's spread in the
    training samples (`span_name` says which: range, standard deviation): the bars are then
    |original − reconstruction| / span, so that features of different units compare. columns: the user's
    column each feature came from; features sharing one (a one-hot encoded text column) are one bar, the sum
    of theirs, showing the value and reconstruction of the category the sample has. Hovering a bar shows the
    sample's value and its reconstruction.
    """
    original = np.asarray(original, dtype=np.float64).ravel()
    reconstruction = np.asarray(reconstruction, dtype=np.float64).ravel()
    difference = np.abs(original - reconstruction)
    relative = spans is not None
    lengths = difference / np.where(np.asarray(spans) > 0, spans, 1.0) if relative else difference
    axis_title = f"error ÷ {span_name}" if relative else "error"
    if columns and len(set(columns)) < len(columns):
        groups = pd.Series(range(len(columns))).groupby(list(columns), sort=False)
        names = list(groups.groups)
        # Each group's shown member: the category the sample has (its largest value), or its only feature.
        shown = [int(members.to_numpy()[np.argmax(original[members.to_numpy()])]) for _, members in groups]
        lengths = np.array([lengths[members.to_numpy()].sum() for _, members in groups])
        difference = np.array([difference[members.to_numpy()].sum() for _, members in groups])
        original, reconstruction = original[shown], reconstruction[shown]
    return go.Figure(
        [
            {
                "type": "bar",
                "orientation": "h",
                "x": lengths,
                "y": list(names),
                "marker": {"color": ANOMALY_COLOR},
                "customdata": np.c_[original, reconstruction, difference],
                "hovertemplate": (
                    "<b>%{y}</b><br>sample %{customdata[0]:.4g}<br>reconstruction %{customdata[1]:.4g}"
                    "<br>difference %{customdata[2]:.4g}<extra></extra>"
                ),
            }
        ],
        base_layout(
            "",
            max(220, 18 * len(original) + 70),
            margin={"l": 10, "r": 10, "t": 10, "b": 10},
            xaxis={"title": {"text": axis_title, "font": {"size": 12}}, "rangemode": "tozero"},
            yaxis={"autorange": "reversed", "automargin": True, "tickfont": {"size": 11}},
            bargap=0.25,
        ),
    )
