"""Flagged: the samples above the threshold, worst first, each beside its reconstruction."""

import math

import streamlit as st

from core import events, timeline_figures
from core.data import TIMESERIES
from ui import analysis, saving, state, timeline

PER_PAGE = 12
PER_ROW = 2
PAGE = "flagged_page"

state.require_result()
result = state.result()
data = result.data
threshold = state.threshold()
summary = analysis.summary(result)
flagged = summary.flagged(threshold.value)
EVENT = "flagged_event"


def download_csv(container, label: str, table, file_name: str) -> None:
    """A button that downloads `table` (a DataFrame) as CSV, built when clicked."""
    container.download_button(
        label,
        lambda: table.to_csv(index=False),
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )


def show_events() -> None:
    """Time series: the flagged events by peak score; the chosen one's worst window beside its reconstruction."""
    found = events.flagged_events(result.scores, threshold.value)
    st.title("Flagged events")
    st.caption(
        f"{len(found):,} runs of timestamps with a score above {threshold.value:.4g} "
        f"({len(flagged):,} of {len(result.scores):,} timestamps). {threshold.explanation}"
    )
    saving.save_controls()
    if not found:
        st.info("Nothing is flagged at this threshold. Lower it to see where the model rebuilds the series worst.")
        st.page_link(state.THRESHOLD_PAGE, label="Adjust the threshold", icon=":material/tune:")
        st.stop()
    table = timeline.event_table(result, found)
    st.dataframe(table, hide_index=True, height=240)
    rank = st.selectbox(
        "Event",
        table["rank"].tolist(),
        format_func=lambda r: (
            f"#{r} · {table['start'][r - 1]} → {table['end'][r - 1]} · peak {found[r - 1].peak_score:.4g}"
        ),
        key=EVENT,
    )
    event = found[rank - 1]
    start, reconstruction = result.detector.worst_window(data.x_score, event.peak)
    stop = start + len(reconstruction)
    st.markdown(
        f"**The window around the peak ({data.timestamps[event.peak]}) that the model rebuilds worst**, "
        "the event's flagged span shaded"
    )
    st.plotly_chart(
        timeline_figures.window_overlay(
            data.timestamps[start:stop],
            data.x_score[start:stop],
            reconstruction,
            (max(event.start, start) - start, min(event.stop, stop) - start),
            data.channels,
        ),
        key="event_window",
    )
    download_csv(st, "Download events (CSV)", table, "flagged_events.csv")
    st.page_link(state.THRESHOLD_PAGE, label="Adjust the threshold", icon=":material/tune:")
    st.stop()


if data.kind == TIMESERIES:
    show_events()

st.title("Flagged samples")
st.caption(
    f"{len(flagged):,} of {len(result.scores):,} samples have a reconstruction error above {threshold.value:.4g}. "
    f"{threshold.explanation}"
)
saving.save_controls()
if len(flagged) == 0:
    st.info("Nothing is flagged at this threshold. Lower it to see the samples the model rebuilds worst.")
    st.page_link(state.THRESHOLD_PAGE, label="Adjust the threshold", icon=":material/tune:")
    st.stop()

table = analysis.sample_table(result, flagged, threshold.value)
pages = math.ceil(len(flagged) / PER_PAGE)
if st.session_state.get(PAGE, 1) > pages:  # fewer flagged samples since, e.g. a new model
    st.session_state[PAGE] = 1
page_column, download_column, link_column = st.columns([1, 1, 2], vertical_alignment="bottom")
page = page_column.number_input(f"Page (of {pages})", 1, pages, key=PAGE)
download_csv(download_column, "Download flagged list (CSV)", table, "flagged.csv")
link_column.page_link(state.THRESHOLD_PAGE, label="Adjust the threshold", icon=":material/tune:")

on_page = flagged[(page - 1) * PER_PAGE : page * PER_PAGE]
analysis.sample_cards(result, on_page, table.iloc[(page - 1) * PER_PAGE : page * PER_PAGE], "flagged", PER_ROW)
