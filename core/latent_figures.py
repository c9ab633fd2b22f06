"""The latent map: the scored samples' codes placed in 2-D (core.latent), coloured by score or by a category.

Plain Plotly, no Streamlit, built in one `go.Figure(data, layout)` call like core.figures. Dragging selects
(dragmode "select"; the toolbar offers the lasso too); each point carries its position in the LatentCodes as
customdata, which a selection reports back.
Hovering shows a point's position (and its score when coloured by score).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from core.figures import ANOMALY_COLOR, NORMAL_COLOR, SERIES_PALETTE, VALIDATION_COLOR, base_layout
from core.latent import Projection

OUTCOME_COLORS = {
    "true alarm": ANOMALY_COLOR,
    "false alarm": VALIDATION_COLOR,
    "missed anomaly": "#8e6cbf",
    "normal": NORMAL_COLOR,
    "flagged": ANOMALY_COLOR,
    "not flagged": NORMAL_COLOR,
}
WEBGL_FROM = 5000  # points; more are drawn with WebGL, which keeps panning and selecting smooth


def latent_map(
    projection: Projection,
    scores: np.ndarray,
    categories: np.ndarray | None = None,
    order: Sequence[str] | None = None,
    title: str = "Latent map",
) -> go.Figure:
    """The projected points, coloured by `scores` (n,) on a continuous scale, or by `categories` (n,) str with one
    trace and legend entry per category (in `order`, default sorted; outcomes get their fixed colours).

    scores and categories hold every point of the LatentCodes; the figure shows those at `projection.indices`.
    """
    indices = projection.indices
    x, y = projection.points[:, 0], projection.points[:, 1]
    shown_scores = np.asarray(scores)[indices]
    kind = "scattergl" if len(indices) >= WEBGL_FROM else "scatter"

    def trace(where: np.ndarray, name: str, marker: dict, hover: str) -> dict:
        return {
            "type": kind,
            "x": x[where],
            "y": y[where],
            "mode": "markers",
            "name": name,
            "marker": {"size": 6, "opacity": 0.8} | marker,
            # One number per point: a selection reports a row of a 2-D array as an object, not a list.
            "customdata": indices[where],
            "hovertemplate": "point %{customdata}" + hover + f"<extra>{name}</extra>",
        }

    everything = np.arange(len(indices))
    if categories is None:
        colour_bar = {"title": {"text": "score"}, "thickness": 14}
        marker = {"color": shown_scores, "colorscale": "Viridis", "colorbar": colour_bar}
        traces = [trace(everything, "score", marker, "<br>score %{marker.color:.4g}")]
    else:
        shown = np.asarray(categories)[indices].astype(str)
        names = list(order) if order is not None else sorted(set(shown))
        traces = [
            trace(
                np.flatnonzero(shown == name),
                name,
                {"color": OUTCOME_COLORS.get(name, SERIES_PALETTE[k % len(SERIES_PALETTE)])},
                "",
            )
            for k, name in enumerate(names)
            if (shown == name).any()
        ]
    return go.Figure(
        traces,
        base_layout(
            title,
            560,
            dragmode="select",
            showlegend=categories is not None,
            xaxis={"title": {"text": projection.axes[0]}, "zeroline": False},
            yaxis={"title": {"text": projection.axes[1]}, "zeroline": False},
        ),
    )
