"""Dataset: where the samples come from, which classes are normal and which anomalous, and a preview."""

import numpy as np
import pandas as pd
import streamlit as st

from core import figures
from core.config import PROTOCOLS, DataConfig, InjectConfig
from core.data import BUILTIN_DATASETS, ROLE_NAMES, load_dataset
from core.errors import StudioError
from ui import analysis, state
from ui import data as data_cache

SOURCES = ["Built-in dataset", "File"]
SPLITS = {"train": "Training split", "test": "Test split", "all": "Both splits"}
UPLOAD = "dataset_upload"
UPLOAD_ERROR = "upload_error"
PREVIEW_PER_GROUP = 10
PREVIEW_GROUPS = 12
CLASS_FIELDS = ("data.normal_classes", "data.anomaly_classes", "data.inject.dataset", "data.inject.classes")


def store_upload() -> None:
    """Uploader callback: save the file once, under a content-hash name, and point the config at it."""
    uploaded = st.session_state[UPLOAD]
    if uploaded is None:
        return
    try:
        path = data_cache.save_upload(uploaded.name, uploaded.getvalue())
    except OSError as exc:
        st.session_state[UPLOAD_ERROR] = f"The upload could not be saved: {exc}"
        return
    st.session_state.pop(UPLOAD_ERROR, None)
    forget(*CLASS_FIELDS)
    st.session_state[state.SETTING + "data.path"] = str(path)


def forget(*fields: str) -> None:
    """Callback: a new dataset has other classes, so the class pickers start over."""
    for name in fields:
        st.session_state.pop(state.SETTING + name, None)


def class_formatter(class_names: dict):
    def format_class(label) -> str:
        name = class_names.get(label, str(label))
        return name if name == str(label) else f"{label} · {name}"
    return format_class


def preview_groups(experiment_data, inject) -> tuple[list[np.ndarray], list[str]]:
    """Up to PREVIEW_PER_GROUP scored samples per role and class, normal ones first."""
    everything = np.arange(len(experiment_data.roles))
    table = pd.DataFrame({
        "role": experiment_data.roles,
        "class": analysis.class_names(experiment_data, inject, everything) if experiment_data.classes is not None else "",
        "position": everything,
    })
    table["rank"] = np.where(table["role"] < 0, 3, table["role"])  # normal, anomaly, injected, then unlabeled
    picked = table.groupby(["rank", "class"], sort=True).head(PREVIEW_PER_GROUP)
    groups, labels = [], []
    for (_, class_name), rows in list(picked.groupby(["rank", "class"], sort=True))[:PREVIEW_GROUPS]:
        groups.append(experiment_data.x_score[rows["position"].to_numpy()])
        role = ROLE_NAMES[rows["role"].iloc[0]]
        labels.append(role if class_name in ("", role) else f"{role} · {class_name}")
    return groups, labels


st.title("Dataset")
config = state.config()
data = config.data

source_column, dataset_column, folder_column = st.columns([1, 1, 2], vertical_alignment="bottom")
source = source_column.segmented_control(
    "Source", SOURCES, required=True,
    key=state.setting("data.source", SOURCES[0] if data.dataset in BUILTIN_DATASETS else SOURCES[1]),
)
if source == SOURCES[0]:
    dataset_name = dataset_column.selectbox(
        "Dataset", BUILTIN_DATASETS, format_func=state.dataset_label, on_change=forget, args=CLASS_FIELDS,
        key=state.setting("data.dataset", data.dataset if data.dataset in BUILTIN_DATASETS else "digits"),
    )
    st.session_state[state.DATA_DIR] = folder_column.text_input(
        "Data folder (local copies of MNIST, Fashion-MNIST, ECG5000)", placeholder="download when missing",
        key=state.setting("data_dir", state.data_dir() or ""),
        help="A folder holding mnist/, fashion-mnist/ or ecg5000/ as downloaded. Defaults to $ANOMALY_STUDIO_DATA.",
    )
else:
    with dataset_column:
        st.file_uploader("Upload .npz, .csv or .zip of images", type=["npz", "csv", "zip"], key=UPLOAD,
                         on_change=store_upload)
    dataset_name = folder_column.text_input(
        "File or image folder on the server", placeholder="/path/to/data.npz",
        key=state.setting("data.path", "" if data.dataset in BUILTIN_DATASETS else data.dataset),
        on_change=forget, args=CLASS_FIELDS,
        help="Uploads are saved on the server and their path filled in here.",
    )
    if UPLOAD_ERROR in st.session_state:
        st.error(st.session_state[UPLOAD_ERROR])
    if not dataset_name:
        st.info("Upload a file, or type the path of a file or image folder on the server. A .npz holds x (and "
                "optionally y, x_test, y_test); a .csv has one sample per row and an optional label column; a .zip "
                "holds PNG or JPEG images, in one folder per class when labelled.")
        st.stop()

try:
    base = load_dataset(dataset_name, state.data_dir())
except StudioError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

st.subheader("Scenario")
classes = base.all_labels().tolist() if base.is_labeled else []
same_dataset = data.dataset == dataset_name
format_class = class_formatter(base.class_names)
normal_column, anomaly_column, contamination_column = st.columns(3)
normal_classes = normal_column.multiselect(
    "Normal classes", classes, format_func=format_class, placeholder="All classes not marked as anomalies",
    disabled=not classes, key=state.setting("data.normal_classes", (same_dataset and data.normal_classes) or []),
)
anomaly_classes = anomaly_column.multiselect(
    "Anomaly classes", [c for c in classes if c not in normal_classes], format_func=format_class,
    placeholder="None", disabled=not classes,
    key=state.setting("data.anomaly_classes", (same_dataset and data.anomaly_classes) or []),
)
with contamination_column:
    limit_anomalies = st.toggle("Set the share of anomalies", disabled=not anomaly_classes,
                                key=state.setting("data.limit_anomalies", data.contamination is not None),
                                help="Off: every sample of the anomaly classes is used.")
    contamination = st.slider(
        "Anomalies per normal sample", 0.0, 0.5, step=0.005, format="%.3f",
        disabled=not (limit_anomalies and anomaly_classes),
        key=state.setting("data.contamination", 0.01 if data.contamination is None else float(data.contamination)),
    )

inject_column, inject_dataset_column, inject_classes_column, inject_count_column = st.columns(4, vertical_alignment="bottom")
inject_on = inject_column.toggle("Inject another dataset", key=state.setting("data.inject", data.inject is not None),
                                 help="Mix samples of another dataset into the scored ones, as anomalies.")
inject = None
if inject_on:
    current_inject = data.inject or InjectConfig(dataset="fashion_mnist" if dataset_name != "fashion_mnist" else "mnist")
    others = [name for name in BUILTIN_DATASETS if name != dataset_name]
    inject_name = inject_dataset_column.selectbox(
        "From", others, format_func=state.dataset_label, on_change=forget, args=("data.inject.classes",),
        key=state.setting("data.inject.dataset", current_inject.dataset if current_inject.dataset in others else others[0]),
    )
    try:
        inject_source = load_dataset(inject_name, state.data_dir())
    except StudioError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    inject_classes = inject_classes_column.multiselect(
        "Classes to inject", inject_source.all_labels().tolist() if inject_source.is_labeled else [],
        format_func=class_formatter(inject_source.class_names), placeholder="Any class",
        key=state.setting("data.inject.classes", (current_inject.dataset == inject_name and current_inject.classes) or []),
    )
    inject_count = inject_count_column.number_input("How many", 1, 100_000,
                                                    key=state.setting("data.inject.count", current_inject.count))
    inject = InjectConfig(dataset=inject_name, classes=inject_classes or None, count=int(inject_count))

protocol_column, split_column, limit_column, test_fraction_column = st.columns(4)
protocol = protocol_column.selectbox(
    "Protocol", PROTOCOLS, format_func=str.capitalize, key=state.setting("data.protocol", data.protocol),
    help="Inductive: train on one part, score a held-out part. Transductive: train on and score the same samples.",
)
split = split_column.selectbox(
    "Split to use", list(SPLITS), format_func=SPLITS.get,
    disabled=protocol == "inductive" or not base.has_official_split, key=state.setting("data.split", data.split),
    help="Transductive runs on datasets with an official train/test split use this split.",
)
limit = limit_column.number_input("Sample limit (0 = all)", 0, 10_000_000, step=1000,
                                  key=state.setting("data.limit", data.limit or 0),
                                  help="At most this many samples per part, drawn keeping each class's share.")
test_fraction = test_fraction_column.slider(
    "Held-out fraction", 0.05, 0.5, step=0.05, disabled=protocol == "transductive" or base.has_official_split,
    key=state.setting("data.test_fraction", float(data.test_fraction)),
)

new_data = DataConfig(
    dataset=dataset_name,
    normal_classes=normal_classes or None,
    anomaly_classes=anomaly_classes or None,
    contamination=float(contamination) if limit_anomalies and anomaly_classes else None,
    inject=inject,
    protocol=protocol,
    split=split,
    limit=int(limit) if limit else None,
    test_fraction=float(test_fraction),
)
if new_data != data:
    if not state.update_config(data=new_data, **state.sections_for_kind(config, base.kind)):
        st.stop()
    config = state.config()

try:
    experiment_data = data_cache.experiment_data(config)
except StudioError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

st.subheader("What the model sees")
counts = pd.DataFrame(experiment_data.counts()).rename(columns={"role": "samples", "train": "train", "scored": "scored"})
counts_column, preview_column = st.columns([1, 3])
with counts_column:
    st.dataframe(counts, hide_index=True)
    anomalies = 0 if experiment_data.labels is None else int(experiment_data.labels.sum())
    st.caption(f"Samples of shape {tuple(experiment_data.sample_shape)}. {anomalies:,} of the "
               f"{len(experiment_data.x_score):,} scored samples are anomalies.")
    st.page_link(state.TRAIN_PAGE, label="Next: train", icon=":material/arrow_forward:")
with preview_column:
    groups, labels = preview_groups(experiment_data, config.data.inject)
    if experiment_data.kind == "image":
        st.plotly_chart(figures.image_grid(groups, labels), key="preview", config={"displayModeBar": False})
    else:
        st.plotly_chart(figures.series_preview(groups, labels), key="preview")
