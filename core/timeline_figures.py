"""Plotly figures of a long series: the timeline (series, score, threshold, flagged and labelled spans) and a
window beside its reconstruction."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from core import events
from core.figures import (
    ANOMALY_COLOR,
    NORMAL_COLOR,
    SERIES_PALETTE,
    THRESHOLD_COLOR,
    VALIDATION_COLOR,
    base_layout,
)
from core.timeformat import plot_times

LABELLED_COLOR, LABELLED_FILL = "rgb(60, 150, 60)", "rgba(92, 184, 92, 0.25)"
FLAGGED_COLOR, FLAGGED_FILL = "rgb(200, 60, 56)", "rgba(217, 83, 79, 0.3)"
MAX_SPANS = 300


def _spans(
    times: np.ndarray, runs: Sequence[tuple[int, int]], colors: tuple[str, str], name: str, yref: str = "y"
) -> list[dict]:
    """Shaded rectangles over the height of the panel on `yref` for [start, stop) index runs of `times` (plot_times
    strings; at most MAX_SPANS, longest first). The edge is drawn opaque, so a run of one timestamp still shows."""
    line, fill = colors
    runs = sorted(runs, key=lambda run: run[0] - run[1])[:MAX_SPANS]
    return [
        {
            "type": "rect",
            "xref": "x",
            "yref": f"{yref} domain",
            "x0": times[start],
            "x1": times[stop - 1],
            "y0": 0,
            "y1": 1,
            "fillcolor": fill,
            "line": {"width": 1, "color": line},
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
    (the series alone); labelled / flagged: [start, stop) index runs: labelled anomaly windows shaded green on the
    series panel, flagged events red on the score panel, so that where they overlap each keeps its colour; the
    threshold is a dashed line on the score panel.
    """
    times = plot_times(timestamps)
    values = np.asarray(values, dtype=np.float32).reshape(len(timestamps), -1)
    names = list(channels) or [f"value {c + 1}" for c in range(values.shape[1])]
    traces = [
        {
            "type": "scatter",
            "x": times,
            "y": values[:, c],
            "mode": "lines",
            "name": names[c] if c < len(names) else f"value {c + 1}",
            "line": {"color": SERIES_PALETTE[(c * 2) % len(SERIES_PALETTE)], "width": 1},
            "yaxis": "y",
        }
        for c in range(values.shape[1])
    ]
    shapes = _spans(times, labelled, (LABELLED_COLOR, LABELLED_FILL), "labelled window")
    layout = {
        "xaxis": {"type": "date", "rangeslider": {"visible": True, "thickness": 0.08}, "anchor": "y2"},
        "yaxis": {"domain": [0.45, 1.0] if scores is not None else [0.0, 1.0], "title": {"text": "value"}},
        "shapes": shapes,
    }
    if scores is not None:
        traces.append(
            {
                "type": "scatter",
                "x": times,
                "y": np.asarray(scores, dtype=np.float32),
                "mode": "lines",
                "name": "anomaly score",
                "line": {"color": ANOMALY_COLOR, "width": 1},
                "yaxis": "y2",
            }
        )
        layout["yaxis2"] = {"domain": [0.0, 0.38], "title": {"text": "score"}}
        shapes += _spans(times, flagged, (FLAGGED_COLOR, FLAGGED_FILL), "flagged", yref="y2")
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
    title = "Green: labelled anomaly windows" + (
        " (series) · red: flagged events (score)" if scores is not None else ""
    )
    return go.Figure(traces, base_layout(title, 520 if scores is not None else 380, **layout))


def result_timeline(result, threshold: float) -> go.Figure:
    """The timeline of a time-series result: its scored series, scores, `threshold`, labelled windows and the
    events flagged at `threshold` (an ExperimentResult, or anything with `data` and `scores`)."""
    data = result.data
    labelled = [] if data.labels is None else events.runs(data.labels == 1)
    flagged = events.runs(result.scores > threshold)
    return timeline(data.timestamps, data.x_score, result.scores, threshold, labelled, flagged, data.channels)


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
    times = plot_times(timestamps)
    original = np.asarray(original, dtype=np.float32).reshape(len(timestamps), -1)
    reconstruction = np.asarray(reconstruction, dtype=np.float32).reshape(len(timestamps), -1)
    traces = []
    for c in range(original.shape[1]):
        suffix = f" ({channels[c]})" if len(channels) > 1 else ""
        traces += [
            {
                "type": "scatter",
                "x": times,
                "y": original[:, c],
                "mode": "lines",
                "name": f"original{suffix}",
                "line": {"color": NORMAL_COLOR, "width": 2},
            },
            {
                "type": "scatter",
                "x": times,
                "y": reconstruction[:, c],
                "mode": "lines",
                "name": f"reconstruction{suffix}",
                "line": {"color": VALIDATION_COLOR, "width": 2},
                "fill": "tonexty",
                "fillcolor": "rgba(217, 83, 79, 0.25)",
            },
        ]
    shapes = [] if event is None else _spans(times, [event], (FLAGGED_COLOR, FLAGGED_FILL), "flagged")
    return go.Figure(traces, base_layout("", 320, xaxis={"type": "date"}, shapes=shapes))
