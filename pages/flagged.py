"""Flagged: the samples above the threshold, worst first, each beside its reconstruction.

With labels, the same view lists the false alarms (normal samples above the threshold) or the anomalies the
threshold misses; a class filter narrows any list. Error maps share one colour scale unless asked otherwise.
"""

import math

import numpy as np
import streamlit as st

from core import events, sample_figures, timeline_figures
from core.data import TIMESERIES
from core.timeformat import count, timestamp
from ui import analysis, saving, state

PER_PAGE = 12  # whole rows of 2, 3 or 4
PAGE = "flagged_page"
SHOW = "flagged_show"
CLASSES = "flagged_classes"
PER_ROW = "flagged_per_row"
PER_SAMPLE_SCALE = "flagged_per_sample_scale"
EVENT = "flagged_event"
LISTS = {
    "flagged": ("All flagged", "flagged.csv"),
    "false_alarms": ("False alarms", "false_alarms.csv"),
    "missed": ("Missed anomalies", "missed_anomalies.csv"),
}
EMPTY = {
    "flagged": "Nothing is flagged at this threshold. Lower it to see the samples the model rebuilds worst.",
    "false_alarms": "No normal sample is flagged at this threshold.",
    "missed": "Every anomaly is above the threshold: none is missed.",
}

state.require_result()
result = state.result()
data = result.data
threshold = state.threshold()
summary = analysis.summary(result)
flagged = summary.flagged(threshold.value)


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
        f"{count(len(found), 'run')} of timestamps with a score above {threshold.value:.4g} "
        f"({len(flagged):,} of {len(result.scores):,} timestamps). {threshold.explanation}"
    )
    saving.save_controls()
    if not found:
        st.info("Nothing is flagged at this threshold. Lower it to see where the model rebuilds the series worst.")
        st.page_link(state.THRESHOLD_PAGE, label="Adjust the threshold", icon=":material/tune:")
        st.stop()
    table = events.event_table(found, data.timestamps, data.labels)
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
        f"**The window around the peak ({timestamp(data.timestamps[event.peak])}) that the model rebuilds worst**, "
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
        config=analysis.CHART_CONFIG,
    )
    download_csv(st, "Download events (CSV)", table, "flagged_events.csv")
    st.page_link(state.THRESHOLD_PAGE, label="Adjust the threshold", icon=":material/tune:")
    st.stop()


def back_to_first_page() -> None:
    st.session_state[PAGE] = 1


if data.kind == TIMESERIES:
    show_events()

st.title("Flagged samples")
st.caption(
    f"{len(flagged):,} of {len(result.scores):,} samples have a reconstruction error above {threshold.value:.4g}. "
    f"{threshold.explanation}"
)
saving.save_controls()

show_column, class_column = st.columns([3, 2], vertical_alignment="bottom")
chosen_classes = []
if data.classes is not None:
    classes = summary.classes()
    chosen_classes = class_column.multiselect(
        "Classes",
        sorted(set(classes.tolist())),
        placeholder="All classes",
        key=CLASSES,
        on_change=back_to_first_page,
    )
lists = {"flagged": flagged}
if data.labels is not None:
    lists |= {"false_alarms": summary.false_alarms(threshold.value), "missed": summary.missed(threshold.value)}
if chosen_classes:
    lists = {name: listed[np.isin(classes[listed], chosen_classes)] for name, listed in lists.items()}
shown_list = show_column.segmented_control(
    "Show",
    list(lists),
    format_func=lambda name: f"{LISTS[name][0]} ({len(lists[name]):,})",
    default="flagged",
    required=True,
    key=SHOW,
    on_change=back_to_first_page,
)
shown = lists[shown_list]
if data.labels is None:
    st.caption("False alarms and missed anomalies need labels, and this data has none: all flagged samples are shown.")
elif shown_list == "missed":
    st.caption("Anomalies whose error is at or below the threshold, the nearest misses first.")
elif shown_list == "false_alarms":
    st.caption("Normal samples whose error is above the threshold, the worst first.")
if len(shown) == 0:
    st.info(EMPTY[shown_list] + (" (in the chosen classes)" if chosen_classes else ""))
    st.page_link(state.THRESHOLD_PAGE, label="Adjust the threshold", icon=":material/tune:")
    st.stop()

table = analysis.sample_table(result, shown, threshold.value)
pages = math.ceil(len(shown) / PER_PAGE)
if st.session_state.get(PAGE, 1) > pages:  # fewer samples listed since, e.g. a new model
    st.session_state[PAGE] = 1
page_column, row_column, scale_column, download_column, link_column = st.columns(
    [1, 1, 1.7, 1.5, 1.3], vertical_alignment="bottom"
)
page = page_column.number_input(f"Page (of {pages})", 1, pages, key=PAGE)
per_row = row_column.segmented_control("Per row", [2, 3, 4], default=3, required=True, key=PER_ROW)
per_sample_scale = data.kind == "image" and scale_column.toggle(
    "Per-sample colour scale",
    key=PER_SAMPLE_SCALE,
    help="Scale each error map to its own largest error, as bright as the worst sample's; "
    "off, every map shares one scale so that weak errors look weak.",
)
download_csv(download_column, "Download this list (CSV)", table, LISTS[shown_list][1])
link_column.page_link(state.THRESHOLD_PAGE, label="Adjust the threshold", icon=":material/tune:")
with st.expander("This sample as a table" if len(shown) == 1 else f"These {len(shown):,} samples as a table"):
    st.dataframe(table, hide_index=True)

error_max = None
if data.kind == "image" and not per_sample_scale:
    error_max = summary.error_max(shown)
    considered = min(len(shown), analysis.SCALE_SAMPLES)
    st.caption(
        f"Every error map below shares one colour scale, from 0 to {error_max:.3g}: the largest per-pixel error "
        f"among the {considered:,} {'first ' if considered < len(shown) else ''}samples of this list."
    )
    st.plotly_chart(sample_figures.error_scale(error_max), key="error_colour_bar", config=analysis.CHART_CONFIG)

on_page = shown[(page - 1) * PER_PAGE : page * PER_PAGE]
rows = table.iloc[(page - 1) * PER_PAGE : page * PER_PAGE]
analysis.sample_cards(result, on_page, rows, "flagged", per_row, error_max)
