"""Time-series views of the Threshold page: event cards and the timeline."""

from __future__ import annotations

import streamlit as st

from core import events, timeline_figures


def event_cards(result) -> None:
    """Flagged events, labelled windows detected, false alarms and mean delay at the result's threshold."""
    found = events.event_cards(result.metrics["events"])
    for column, (title, value, meaning) in zip(st.columns(4), found, strict=False):
        column.metric(title, value, border=True, help=meaning)


def timeline_chart(result, threshold: float) -> None:
    st.plotly_chart(timeline_figures.result_timeline(result, threshold), key="timeline")
    st.caption("Drag the range slider under the chart, or drag over the chart, to zoom in time.")
