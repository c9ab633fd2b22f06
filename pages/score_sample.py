"""Score a sample: draw or upload images, or upload or nudge series, and see how the model on screen scores them.

Every sample goes through core.own_samples, as `python -m core score` does: converted to the model's sample
shape (the conversion is shown), scored, marked on the error histogram beside the threshold, and rebuilt.
"""

import numpy as np
import pandas as pd
import streamlit as st

from core import figures, sample_figures
from core.data import IMAGE, TIMESERIES
from core.data.files import rows_to_samples
from core.errors import DataError
from core.own_samples import image_to_sample, nudge_series, score_own
from ui import analysis, state

CANVAS_SIZE = 280  # px, the longer side of the drawing canvas
MAX_SHOWN = 20  # samples shown one by one (all are scored)
IMAGE_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp"]
KEY = "score_sample:"

state.require_result()
result = state.result()
detector = result.detector
threshold = state.threshold()
summary = analysis.summary(result)
sample_shape = tuple(detector.sample_shape_)

st.title("Score a sample")
st.caption(
    f"{state.describe_result(result)} · samples of shape {sample_shape} · threshold {threshold.value:.4g} "
    f"({threshold.explanation})"
)

if result.data.kind == TIMESERIES:
    st.info(
        "A time-series model scores whole series, each timestamp by the windows around it, so a single window "
        "means little on its own. Score a series of yours by choosing its CSV file as the dataset on the Dataset "
        "page, or from the command line: save this run, then `python -m core score --run RUN_FOLDER series.csv`.",
        icon=":material/info:",
    )
    st.stop()


def show_scores(
    names: list[str], samples: np.ndarray, notes: list[str] | None = None, originals: list[bytes] | None = None
) -> None:
    """Score `samples` (n, *sample_shape): the error histogram with each one marked, then each sample's verdict,
    its note (how it was converted), the image it came from (`originals`), and its reconstruction and error map."""
    own = score_own(detector, samples, threshold.value)
    shown = min(len(names), MAX_SHOWN)
    marks = list(zip(names[:shown], own.scores[:shown].tolist(), strict=True))
    st.plotly_chart(figures.error_histogram(summary.bins(False), threshold.value, marks=marks), key=KEY + "histogram")
    if len(names) > shown:
        st.caption(f"All {len(names):,} samples are scored; the first {shown} are marked and shown below.")
        table = pd.DataFrame({"sample": names, "score": own.scores, "flagged": own.flagged})
        st.dataframe(table, hide_index=True, height=240, key=KEY + "table")
    for i in range(shown):
        score, flagged = float(own.scores[i]), bool(own.flagged[i])
        above = float(np.mean(result.scores < score))
        verdict = ":red-badge[:material/flag: Flagged]" if flagged else ":green-badge[:material/check: Not flagged]"
        with st.container(border=True):
            st.markdown(
                f"**{names[i]}** · score **{score:.4g}** · {verdict} · higher than {above:.0%} of the "
                f"{len(result.scores):,} scored samples"
            )
            if notes:
                st.caption(notes[i])
            if result.data.kind == IMAGE:
                figure = sample_figures.image_triplet(samples[i], own.reconstructions[i], own.error_maps[i])
            else:
                figure = sample_figures.series_overlay(samples[i], own.reconstructions[i])
            chart_column = st
            if originals:
                original_column, chart_column = st.columns([1, 5], vertical_alignment="center")
                original_column.image(originals[i], caption="as uploaded", width="stretch")
            chart_column.plotly_chart(figure, key=f"{KEY}sample_{i}", config={"displayModeBar": False})


def draw() -> None:
    from streamlit_drawable_canvas import st_canvas

    height, width = sample_shape[:2]
    default_stroke = int(np.clip(round(2.2 * CANVAS_SIZE / max(height, width)), 8, 80))
    stroke = st.slider("Stroke width", 4, 80, default_stroke, key=KEY + "stroke", help="In canvas pixels.", width=320)
    st.caption(
        "Draw in white on black (inverted for a model trained on dark-on-light images); the drawing is scored "
        "each time you lift the pen. The toolbar above the canvas undoes strokes or clears it."
    )
    canvas = st_canvas(
        stroke_width=stroke,
        stroke_color="#ffffff",
        background_color="#000000",
        height=CANVAS_SIZE if height >= width else round(CANVAS_SIZE * height / width),
        width=CANVAS_SIZE if width >= height else round(CANVAS_SIZE * width / height),
        return_image_data=True,
        key=KEY + "canvas",
    )
    drawn = canvas.json_data is not None and canvas.json_data.get("objects")
    if not drawn or canvas.image_data is None:
        st.info("Draw something on the canvas to score it.", icon=":material/draw:")
        return
    converted = image_to_sample(canvas.image_data, sample_shape, detector.background_, "your drawing", matte=0)
    show_scores(["your drawing"], converted.sample[np.newaxis], [converted.description])


def upload_images() -> None:
    files = st.file_uploader(
        "Images (any size or colour)", type=IMAGE_TYPES, accept_multiple_files=True, key=KEY + "images"
    )
    if not files:
        st.info("Upload one or more images to score them.", icon=":material/upload:")
        return
    names, samples, notes, originals = [], [], [], []
    for file in files:
        try:
            converted = image_to_sample(file.getvalue(), sample_shape, detector.background_, file.name)
        except DataError as exc:
            st.error(str(exc), icon=":material/error:")
            continue
        names.append(file.name)
        samples.append(converted.sample)
        notes.append(converted.description)
        originals.append(file.getvalue())
    if names:
        show_scores(names, np.stack(samples), notes, originals)


def upload_rows() -> None:
    length = int(np.prod(sample_shape))
    file = st.file_uploader(
        f"CSV file: one sample of {length} numbers per row (an optional header, and a 'label' column, ignored)",
        type=["csv"],
        key=KEY + "rows",
    )
    if file is None:
        st.info("Upload a CSV file of rows to score them.", icon=":material/upload:")
        return
    try:
        samples = rows_to_samples(file.getvalue(), sample_shape, file.name)
    except DataError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    show_scores([f"{file.name} row {row}" for row in range(len(samples))], samples)


def nudge() -> None:
    x_train = result.data.x_train
    low, high = float(detector.scaler_["min"]), float(detector.scaler_["max"])
    span = high - low or 1.0
    length = sample_shape[0]
    with st.form(KEY + "nudge"):
        index = st.number_input(f"Training sample (0 to {len(x_train) - 1:,})", 0, len(x_train) - 1, 0)
        spike_column, segment_column, noise_column = st.columns(3)
        spike_at = spike_column.slider("Spike at step", 0, length - 1, length // 2)
        spike_height = spike_column.slider("Spike height", -span, span, 0.0, help="In the series' units.")
        segment = segment_column.slider("Segment", 0, length, (0, 0), help="The steps whose values are scaled.")
        scale = segment_column.slider("Scale the segment by", 0.0, 3.0, 1.0, 0.05, help="Around the series' mean.")
        noise = noise_column.slider("Noise (standard deviation)", 0.0, span / 4, 0.0, help="In the series' units.")
        st.form_submit_button("Score the nudged sample", icon=":material/tune:")
    original = x_train[int(index)]
    nudged = nudge_series(original, spike_at, spike_height, segment, scale, noise, result.config.seed)
    show_scores(
        [f"training sample {index} nudged", f"training sample {index}"],
        np.stack([nudged, original]),
        ["With the changes above.", "As it was, for comparison."],
    )


if result.data.kind == IMAGE:
    if st.segmented_control("Sample", ["Draw", "Upload"], default="Draw", required=True, key=KEY + "how") == "Draw":
        draw()
    else:
        upload_images()
else:
    how = st.segmented_control(
        "Sample",
        ["Nudge", "Upload CSV"],
        default="Nudge",
        required=True,
        key=KEY + "how",
        help="Nudge a training sample",
    )
    if how == "Nudge":
        nudge()
    else:
        upload_rows()
