"""Latent map: the scored samples placed by their autoencoder codes; select some to see them beside their
reconstructions."""

import numpy as np
import streamlit as st

from core import latent, latent_figures, timeline_figures, timeseries
from core.timeformat import timestamp
from ui import analysis, state
from ui import latent as latent_cache

SHOWN = 12
PER_ROW = 2
COLOURINGS = {"score": "Score", "outcome": "Flagged vs truth", "class": "Class"}

state.require_result()
result = state.result()
data = result.data
threshold = state.threshold()

st.title("Latent map")
if data.streamed:
    st.info(
        "This model was trained on a folder of images streamed from disk; the latent map needs every scored "
        "sample in memory and is not drawn for it."
    )
    st.stop()

codes = latent_cache.codes(result)
windows = codes.window_starts is not None
item = "window" if windows else "sample"
latent_dim = codes.codes.shape[1]
st.caption(
    f"Each point is one of the {len(codes):,} scored {item}s, placed by the {latent_dim}-number code the encoder "
    f"gives it. Drag a box over some points (or choose the lasso in the chart's toolbar) to see those {item}s "
    "beside their reconstructions."
)

method_column, colour_column = st.columns(2)
method = method_column.radio(
    "Projection",
    list(latent.METHODS),
    format_func=lambda m: latent.METHODS[m] + (f" (at most {latent.CAPS[m]:,} points)" if latent.CAPS[m] else ""),
    horizontal=True,
    disabled=latent_dim <= 2,
    help="PCA places every point at once. UMAP and t-SNE keep neighbours together but take seconds per thousand "
    "points, so they place a sample of the points drawn with the config's seed. The first UMAP map a server draws "
    "also compiles UMAP's code, which takes about half a minute more.",
)
colourings = [c for c in COLOURINGS if c != "class" or (data.classes is not None and not windows)]
colour_by = colour_column.radio(
    "Colour by", colourings, format_func=COLOURINGS.get, horizontal=True, help="Flagged follows the threshold in use."
)

projection = latent_cache.projection(result, method)
categories, order = None, None
if colour_by == "outcome":
    categories = latent.outcomes(codes.scores, codes.labels, threshold.value)
    order = latent.OUTCOMES if codes.labels is not None else latent.UNLABELED_OUTCOMES
elif colour_by == "class":
    categories = analysis.summary(result).classes()
st.caption(projection.description)
event = st.plotly_chart(
    latent_figures.latent_map(
        projection, codes.scores, categories, order, f"Coloured by {COLOURINGS[colour_by].lower()}"
    ),
    key="latent_map_chart",
    on_select="rerun",
    selection_mode=("box", "lasso"),
)

chosen = latent_cache.selected_points(event["selection"])
if len(chosen) == 0:
    st.info(f"Select points on the map to see their {item}s here.", icon=":material/select:")
    st.stop()
shown = chosen[np.argsort(-codes.scores[chosen], kind="stable")][:SHOWN]
st.subheader(f"{len(chosen):,} {item}{'s' if len(chosen) > 1 else ''} selected")
if len(chosen) > SHOWN:
    st.caption(f"The {SHOWN} with the highest scores are shown.")

if not windows:
    analysis.sample_cards(result, shown, analysis.sample_table(result, shown, threshold.value), "latent", PER_ROW)
    st.stop()

window = result.detector.window
starts = codes.window_starts[shown]
raw_windows = timeseries.as_samples(np.stack([data.x_score[start : start + window] for start in starts]))
reconstructions, _ = result.detector.reconstruct(raw_windows)
for start in range(0, len(shown), PER_ROW):
    for column, offset in zip(st.columns(PER_ROW), range(start, min(start + PER_ROW, len(shown))), strict=False):
        first = starts[offset]
        with column.container(border=True):
            st.markdown(
                f"**Window from {timestamp(data.timestamps[first])} · highest score {codes.scores[shown[offset]]:.4g}**"
            )
            figure = timeline_figures.window_overlay(
                data.timestamps[first : first + window],
                data.x_score[first : first + window],
                reconstructions[offset],
                channels=data.channels,
            )
            st.plotly_chart(figure, key=f"latent_window_{first}", config={"displayModeBar": False})
