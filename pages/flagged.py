"""Flagged: the samples above the threshold, worst first, each beside its reconstruction."""

import math

import streamlit as st

from core import figures
from ui import analysis, saving, state

PER_PAGE = 12
PER_ROW = 2
PAGE = "flagged_page"

state.require_result()
result = state.result()
data = result.data
threshold = state.threshold()
summary = analysis.summary(result)
flagged = summary.flagged(threshold.value)

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
download_column.download_button(
    "Download flagged list (CSV)",
    lambda: table.to_csv(index=False),
    file_name="flagged.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
)
link_column.page_link(state.THRESHOLD_PAGE, label="Adjust the threshold", icon=":material/tune:")

on_page = flagged[(page - 1) * PER_PAGE : page * PER_PAGE]
reconstructions, error_maps = result.detector.reconstruct(data.x_score[on_page])
rows = table.iloc[(page - 1) * PER_PAGE : page * PER_PAGE]
for start in range(0, len(on_page), PER_ROW):
    for column, offset in zip(st.columns(PER_ROW), range(start, min(start + PER_ROW, len(on_page))), strict=False):
        row = rows.iloc[offset]
        known_class = f", class {row['class']}" if "class" in row else ""
        title = f"#{row['rank']} · sample {row['sample']} · error {row['error']:.4g} · {row['truth']}{known_class}"
        sample = data.x_score[on_page[offset]]
        if data.kind == "image":
            figure = figures.image_triplet(sample, reconstructions[offset], error_maps[offset])
        else:
            figure = figures.series_overlay(sample, reconstructions[offset])
        with column.container(border=True):
            st.markdown(f"**{title}**")
            st.plotly_chart(figure, key=f"flagged_{on_page[offset]}", config={"displayModeBar": False})
