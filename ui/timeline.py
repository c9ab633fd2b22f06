"""Time-series views of the Threshold page: event cards and the timeline."""

from __future__ import annotations

import streamlit as st

from core import events, timeline_figures
from core.timeformat import duration


def event_cards(result, threshold: float) -> None:
    """Flagged events, labelled windows detected, false alarms and mean delay at `threshold`."""
    counts = events.event_metrics(result.scores, result.data.labels, threshold, result.data.timestamps)
    cards = st.columns(4)
    cards[0].metric("Flagged events", f"{counts['flagged']:,}", border=True, help="Runs of flagged timestamps.")
    if counts["total"] is None:
        return
    cards[1].metric(
        "Windows detected",
        f"{counts['detected']} of {counts['total']}",
        border=True,
        help="Labelled anomaly windows with at least one flagged timestamp.",
    )
    cards[2].metric(
        "False alarms", f"{counts['false_alarms']:,}", border=True, help="Flagged events touching no labelled window."
    )
    delay = counts["mean_delay_s"]
    cards[3].metric(
        "Mean delay",
        "–" if delay is None else duration(delay),
        border=True,
        help="From a detected window's start to its first flagged timestamp.",
    )


def timeline_chart(result, threshold: float) -> None:
    st.plotly_chart(timeline_figures.result_timeline(result, threshold), key="timeline")
    st.caption("Drag the range slider under the chart, or drag over the chart, to zoom in time.")
