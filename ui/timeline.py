"""Time-series views shared by the Threshold and Flagged pages: event cards, the timeline and the events table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import events, timeline_figures


def labelled_runs(data) -> list[tuple[int, int]]:
    return [] if data.labels is None else events.runs(data.labels == 1)


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
        "–" if delay is None else str(pd.Timedelta(seconds=round(delay))),
        border=True,
        help="From a detected window's start to its first flagged timestamp.",
    )


def timeline_chart(result, threshold: float) -> None:
    data = result.data
    flagged = events.runs(result.scores > threshold)
    figure = timeline_figures.timeline(
        data.timestamps,
        data.x_score,
        result.scores,
        threshold,
        labelled_runs(data),
        flagged,
        data.channels,
    )
    st.plotly_chart(figure, key="timeline")
    st.caption("Drag the range slider under the chart, or drag over the chart, to zoom in time.")


def event_table(result, found: list[events.Event]) -> pd.DataFrame:
    """One row per flagged event, highest peak first: rank, start, end, duration, peak score, labelled or not."""
    timestamps, labels = result.data.timestamps, result.data.labels
    table = pd.DataFrame(
        {
            "rank": range(1, len(found) + 1),
            "start": [pd.Timestamp(timestamps[e.start]) for e in found],
            "end": [pd.Timestamp(timestamps[e.stop - 1]) for e in found],
            "duration": [pd.Timedelta(timestamps[e.stop - 1] - timestamps[e.start]) for e in found],
            "timestamps": [e.length for e in found],
            "peak score": [e.peak_score for e in found],
        }
    )
    if labels is not None:
        table["in a labelled window"] = [bool(labels[e.start : e.stop].any()) for e in found]
    return table
