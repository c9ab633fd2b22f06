"""Home: what Anomaly Studio does, its four steps, and one-click demos from presets/*.json."""

from pathlib import Path

import streamlit as st

from core.config import ExperimentConfig
from core.data import TIMESERIES, availability, builtin_kind, builtin_spec
from core.errors import ConfigError
from ui import state

PRESETS = Path(__file__).resolve().parent.parent / "presets"
# Card titles for the presets that ship with the app, best first; other presets follow, titled by their name.
TITLES = {
    "digits_quick": "Quick offline demo: digits 0–4 vs 5–9",
    "shoe_among_digits": "Find the shoe among 10,000 digits",
    "mnist_ones_threes": "MNIST 1s with 1% 3s",
    "fashion_vs_mnist_ssim": "Fashion-MNIST vs MNIST, with SSIM",
    "fashion_one_class": "Fashion-MNIST one-class: T-shirts vs the rest",
    "ecg5000": "ECG5000 heartbeats",
    "nab_art_daily": "Time series: find the jump (NAB art_daily)",
    "nab_nyc_taxi": "Time series: NYC taxi demand events",
}

MORE = [
    (state.LATENT_PAGE, ":material/scatter_plot:", "Latent map of the codes"),
    (state.SCORE_SAMPLE_PAGE, ":material/draw:", "Score a sample of yours"),
    (state.COMPARE_PAGE, ":material/compare_arrows:", "Compare saved runs"),
]
STEPS = [
    (
        state.DATASET_PAGE,
        ":material/dataset:",
        "Choose data",
        "Pick a dataset, say which classes are normal, and mix in anomalies.",
    ),
    (
        state.TRAIN_PAGE,
        ":material/model_training:",
        "Train",
        "Fit an autoencoder to the normal data and watch its loss fall.",
    ),
    (
        state.THRESHOLD_PAGE,
        ":material/tune:",
        "Pick a threshold",
        "Move the threshold over the error histogram and see every metric follow.",
    ),
    (
        state.FLAGGED_PAGE,
        ":material/flag:",
        "Inspect flagged",
        "Look at the flagged samples beside their reconstructions.",
    ),
]


def classes_text(dataset: str, classes, others_of=()) -> str:
    """The classes by the names the pages use (ECG5000's 0 is "abnormal"); "every other class" rather than a
    list of more than five, when `classes` are all the dataset's classes but `others_of`."""
    spec = builtin_spec(dataset)
    names = dict(spec.class_names) if spec is not None else {}
    if len(classes) > 5 and others_of and set(classes) == set(names) - set(others_of):
        return "every other class"
    return ", ".join(str(names.get(c, c)) for c in classes)


def describe(config: ExperimentConfig) -> str:
    """One line saying what a preset sets up: data, anomalies, model."""
    data = config.data
    if builtin_kind(data.dataset) == TIMESERIES:
        trained = "itself" if data.train_dataset is None else state.dataset_label(data.train_dataset)
        return (
            f"{state.dataset_label(data.dataset)} · trained on {trained} · windows of {data.window} steps · "
            f"{config.model.kind} autoencoder, {config.train.epochs} epochs · timeline of flagged events"
        )
    parts = [state.dataset_label(data.dataset)]
    normal = classes_text(data.dataset, data.normal_classes) if data.normal_classes else "all classes"
    parts.append(f"normal: {normal}")
    if data.anomaly_classes:
        share = f" at {data.contamination:.0%}" if data.contamination else ""
        parts.append(f"anomalies: {classes_text(data.dataset, data.anomaly_classes, data.normal_classes)}{share}")
    if data.inject is not None:
        classes = f" class {classes_text(data.inject.dataset, data.inject.classes)}" if data.inject.classes else ""
        parts.append(f"+ {data.inject.count:,} {state.dataset_label(data.inject.dataset)}{classes} injected")
    parts.append(f"{config.model.kind} autoencoder, {config.train.loss.upper()} loss, {config.train.epochs} epochs")
    return " · ".join(parts)


def data_note(config: ExperimentConfig) -> str:
    """Whether the preset's data is here, will be downloaded, or needs a data folder (every dataset it reads)."""
    names = [config.data.dataset, config.data.train_dataset, config.data.inject and config.data.inject.dataset]
    found = {availability(name, state.data_dir()) for name in names if name}
    folder = "the **Data folder** on the Dataset page"
    if "folder" in found:
        return f":material/folder_off: Needs its data in a data folder: set {folder}."
    if "download" in found:
        return (
            ":material/cloud_download: Downloads its data on first use (needs a network); offline, put a copy "
            f"in {folder}."
        )
    return ":material/check_circle: Its data is here: opens without a network."


def preset_order(path: Path) -> tuple[int, str]:
    """The presets named in TITLES first, in that order; any others after them, by name."""
    return (list(TITLES).index(path.stem) if path.stem in TITLES else len(TITLES), path.stem)


def open_preset(path: Path) -> None:
    try:
        preset = ExperimentConfig.load(path)
    except ConfigError as exc:
        st.error(f"The preset {path.name} cannot be used: {exc}")
        return
    state.use_config(preset)
    st.switch_page(state.TRAIN_PAGE)


st.title("Anomaly Studio")
st.markdown(
    "Anomaly Studio finds the odd ones out in a dataset with an **autoencoder**: a neural network trained to "
    "compress and rebuild normal samples. What it rebuilds badly is unusual, so each sample's "
    "**reconstruction error** becomes its anomaly score, and every sample above a threshold is flagged. "
    "Work through the four steps below, or start from a ready-made demo."
)

for column, (page, icon, title, text) in zip(st.columns(4), STEPS, strict=True):
    with column.container(border=True, height="stretch"):
        st.page_link(page, label=f"**{title}**", icon=icon)
        st.caption(text)
st.caption("Then look closer, and hand a result on with **Download report (HTML)** beside Save run:")
for column, (page, icon, label) in zip(st.columns(3, width=720), MORE, strict=True):
    column.page_link(page, label=label, icon=icon)

st.subheader("Demos")
st.caption("One click fills in every setting from a preset and takes you to Train.")
if state.unsaved_model():
    st.info(state.UNSAVED_NOTE, icon=":material/info:")

presets = sorted(PRESETS.glob("*.json"), key=preset_order)
if not presets:
    st.info(f"No presets found in {PRESETS}. Set things up by hand, starting with the Dataset page.")
for row_start in range(0, len(presets), 3):
    for column, path in zip(st.columns(3), presets[row_start : row_start + 3], strict=False):
        with column.container(border=True, height="stretch"):
            try:
                preset = ExperimentConfig.load(path)
            except ConfigError as exc:
                st.warning(f"{path.name}: {exc}")
                continue
            title = TITLES.get(path.stem) or (preset.name or path.stem).replace("-", " ").replace("_", " ").capitalize()
            st.markdown(f"**{title}**")
            st.caption(describe(preset))
            st.caption(data_note(preset))
            if st.button("Open demo", key=f"preset:{path.stem}", icon=":material/play_arrow:"):
                open_preset(path)
