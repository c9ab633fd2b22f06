"""Dataset: where the samples come from, which classes are normal and which anomalous, and a preview."""

import dataclasses

import numpy as np
import pandas as pd
import streamlit as st

from core import events, sample_figures, timeline_figures
from core.config import DataConfig, InjectConfig, fitted_to_kind, validate, with_dataset
from core.data import (
    BUILTIN_DATASETS,
    OFFERED_DATASETS,
    ROLE_NAMES,
    TIMESERIES,
    builtin_spec,
    load_dataset,
    name_classes,
)
from core.data.tables import describe
from core.errors import ConfigError, StudioError
from core.fields import FIELDS
from core.timeformat import timestamp
from ui import data as data_cache
from ui import state, widgets

SOURCES = ["Built-in dataset", "File"]
UPLOAD = "dataset_upload"
UPLOAD_ERROR = "upload_error"
PREVIEW_PER_GROUP = 10
PREVIEW_GROUPS = 12
NO_INJECTION = ""


def store_upload() -> None:
    """Uploader callback: save the file once, under a content-hash name, check it, and point the config at it.

    A file that cannot be used is removed again, and its message names the file as the user knows it.
    """
    uploaded = st.session_state[UPLOAD]
    if uploaded is None:
        return
    try:
        path = data_cache.save_upload(uploaded.name, uploaded.getvalue())
    except OSError as exc:
        st.session_state[UPLOAD_ERROR] = f"{uploaded.name} could not be saved on the server: {exc.strerror or exc}"
        return
    try:
        load_dataset(str(path))
    except StudioError as exc:
        path.unlink(missing_ok=True)
        st.session_state[UPLOAD_ERROR] = str(exc).replace(str(path), uploaded.name)
        return
    st.session_state.pop(UPLOAD_ERROR, None)
    choose_dataset(str(path))


def choose_dataset(dataset: str) -> None:
    """A new dataset has other classes: the scenario starts over, on the protocol and limits chosen so far."""
    state.use_config(with_dataset(state.config(), dataset))


def timeseries_scenario(data, base) -> None:
    """The windows and training span of a time series, applied together."""
    with st.form(state.form_key("scenario")):
        st.markdown("**Windows and training span**")
        protocol_column, window_column, stride_column, span_column, train_column = st.columns(5)
        protocol = widgets.choice("data.protocol", data.protocol, container=protocol_column)
        window = widgets.number("data.window", data.window, window_column)
        stride = widgets.number("data.stride", data.stride, stride_column)
        train_span = widgets.number("data.train_span", data.train_span, span_column)
        spec = FIELDS["data.train_dataset"]
        train_dataset = train_column.text_input(
            spec.label, data.train_dataset or "", placeholder=spec.null_means, help=spec.help
        )
        applied = st.form_submit_button("Apply", type="primary", icon=":material/check:")
    if applied:
        new_data = dataclasses.replace(
            data,
            protocol=protocol,
            window=window,
            stride=stride,
            train_span=train_span,
            train_dataset=train_dataset.strip() or None,
        )
        if state.update_config(data=new_data):
            st.rerun()


def timeseries_preview(experiment_data) -> None:
    train_end = experiment_data.train_timestamps[-1]
    trained = (
        "all of it"
        if experiment_data.transductive
        else f"{len(experiment_data.x_train):,} timestamps up to {timestamp(train_end)}"
    )
    source = "" if config.data.train_dataset is None else f" of {state.dataset_label(config.data.train_dataset)}"
    st.caption(
        f"{len(experiment_data.x_score):,} timestamps, {experiment_data.x_score.shape[1]} value column(s); "
        f"windows of {experiment_data.window} steps every {experiment_data.stride}; trains on {trained}{source}."
    )
    labelled = [] if experiment_data.labels is None else events.runs(experiment_data.labels == 1)
    figure = timeline_figures.timeline(
        experiment_data.timestamps, experiment_data.x_score, labelled=labelled, channels=experiment_data.channels
    )
    st.plotly_chart(figure, key="preview")
    st.page_link(state.TRAIN_PAGE, label="Next: train", icon=":material/arrow_forward:")


def class_formatter(class_names: dict):
    def format_class(label) -> str:
        name = class_names.get(label, str(label))
        return name if name == str(label) else f"{label} · {name}"

    return format_class


def preview_groups(experiment_data, inject) -> tuple[list[np.ndarray], list[str]]:
    """Up to PREVIEW_PER_GROUP scored samples per role and class, normal ones first."""
    everything = np.arange(len(experiment_data.roles))
    table = pd.DataFrame(
        {
            "role": experiment_data.roles,
            "class": name_classes(experiment_data, inject, everything) if experiment_data.classes is not None else "",
            "position": everything,
        }
    )
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
builtin = builtin_spec(data.dataset) is not None

source_column, choice_column = st.columns([1, 3], vertical_alignment="bottom")
source = source_column.segmented_control(
    "Source", SOURCES, required=True, key=state.form_key("data_source"), default=SOURCES[0] if builtin else SOURCES[1]
)
if source == SOURCES[0]:
    dataset_column, folder_column = choice_column.columns([1, 2], vertical_alignment="bottom")
    names = list(OFFERED_DATASETS) + ([data.dataset] if builtin and data.dataset not in OFFERED_DATASETS else [])
    dataset_name = dataset_column.selectbox(
        "Dataset",
        names,
        index=names.index(data.dataset) if builtin else 0,
        format_func=state.dataset_label,
        help=FIELDS["data.dataset"].help,
    )
    folder = folder_column.text_input(
        "Data folder (local copies of MNIST, Fashion-MNIST, ECG5000, NAB)",
        state.data_dir() or "",
        placeholder="download when missing",
        help="A folder holding mnist/, fashion-mnist/, ecg5000/ or nab/ as downloaded. "
        "Defaults to $ANOMALY_STUDIO_DATA.",
    )
    state.set_data_dir(folder)
else:
    dataset_name = choice_column.text_input(
        "File or image folder on the server",
        "" if builtin else data.dataset,
        placeholder="/path/to/data.npz",
        help="Uploads are saved on the server and their path filled in here.",
    )
    st.file_uploader(
        "Or upload a .npz, .csv or .zip of images", type=["npz", "csv", "zip"], key=UPLOAD, on_change=store_upload
    )
    if UPLOAD_ERROR in st.session_state:
        st.error(st.session_state[UPLOAD_ERROR])
    if not dataset_name:
        st.info(
            "Upload a file, or type the path of a file or image folder on the server. A .npz holds x (and "
            "optionally y, x_test, y_test); a .csv has one sample per row and an optional label column, or is a "
            "time series with a timestamp column, value columns and an optional 0/1 label column; a .zip "
            "holds PNG or JPEG images, in one folder per class when labelled."
        )
        st.stop()
if dataset_name != data.dataset:
    try:
        choose_dataset(dataset_name)
    except ConfigError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    st.rerun()

try:
    base = load_dataset(dataset_name, state.data_dir(), data.layout)
except StudioError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
if dataset_name.lower().endswith(".csv"):
    reading_column, layout_column = st.columns([3, 1], vertical_alignment="center")
    reading_column.info(
        describe(base) + " Change it under " + FIELDS["data.layout"].label + ".", icon=":material/table_view:"
    )
    layout = widgets.choice("data.layout", data.layout, container=layout_column)
    if layout != data.layout:
        state.update_config(data=dataclasses.replace(data, layout=layout))
        st.rerun()
    if base.kind != TIMESERIES and base.notices:
        st.markdown("\n".join(f"- {notice}" for notice in base.notices))
fitted = fitted_to_kind(config, base.kind)  # e.g. a series file after image settings: conv1d instead of conv
if fitted is not config:
    state.set_config(fitted)
    st.rerun()
if base.kind == TIMESERIES:
    for notice in base.notices:
        st.warning(notice, icon=":material/warning:")
    timeseries_scenario(data, base)
    try:
        validate(state.config(), base.kind)
        experiment_data = data_cache.experiment_data(state.config())
    except StudioError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    st.subheader("What the model sees")
    config = state.config()
    timeseries_preview(experiment_data)
    st.stop()

classes = base.all_labels().tolist() if base.is_labeled else []
format_class = class_formatter(base.class_names)
others = [name for name in BUILTIN_DATASETS if name != dataset_name]
inject_column, _ = st.columns([1, 3])
inject_name = inject_column.selectbox(
    "Inject samples of another dataset",
    [NO_INJECTION, *others],
    help="Mixed into the scored samples, as anomalies.",
    index=[NO_INJECTION, *others].index(data.inject.dataset) if data.inject and data.inject.dataset in others else 0,
    format_func=lambda name: "None" if name == NO_INJECTION else state.dataset_label(name),
)
if inject_name != (data.inject.dataset if data.inject else NO_INJECTION):
    state.update_config(
        data=dataclasses.replace(
            data, inject=InjectConfig(dataset=inject_name) if inject_name != NO_INJECTION else None
        )
    )
    st.rerun()
inject_source = None
if data.inject is not None:
    try:
        inject_source = load_dataset(data.inject.dataset, state.data_dir())
    except StudioError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()

with st.form(state.form_key("scenario")):
    st.markdown("**Scenario**")
    normal_column, anomaly_column, contamination_column = st.columns(3)
    normal_classes = normal_column.multiselect(
        FIELDS["data.normal_classes"].label,
        classes,
        default=[c for c in data.normal_classes or [] if c in classes],
        format_func=format_class,
        placeholder="All classes not marked as anomalies",
        disabled=not classes,
        help=FIELDS["data.normal_classes"].help,
    )
    anomaly_classes = anomaly_column.multiselect(
        FIELDS["data.anomaly_classes"].label,
        classes,
        default=[c for c in data.anomaly_classes or [] if c in classes],
        format_func=format_class,
        placeholder="None",
        disabled=not classes,
        help=FIELDS["data.anomaly_classes"].help,
    )
    contamination = widgets.number("data.contamination", data.contamination, contamination_column)
    inject = None
    if inject_source is not None:
        inject_classes_column, inject_count_column, _ = st.columns(3)
        inject_classes = inject_classes_column.multiselect(
            FIELDS["data.inject.classes"].label,
            inject_source.all_labels().tolist() if inject_source.is_labeled else [],
            default=data.inject.classes or [],
            format_func=class_formatter(inject_source.class_names),
            placeholder="Any class",
            help=FIELDS["data.inject.classes"].help,
        )
        inject_count = widgets.number("data.inject.count", data.inject.count, inject_count_column)
        inject = InjectConfig(dataset=data.inject.dataset, classes=inject_classes or None, count=inject_count)
    protocol_column, split_column, limit_column, test_fraction_column = st.columns(4)
    protocol = widgets.choice("data.protocol", data.protocol, container=protocol_column)
    split = widgets.choice("data.split", data.split, container=split_column)
    limit = widgets.number("data.limit", data.limit, limit_column)
    test_fraction = widgets.number("data.test_fraction", data.test_fraction, test_fraction_column)
    applied = st.form_submit_button("Apply", type="primary", icon=":material/check:")
if applied:
    new_data = DataConfig(
        dataset=dataset_name,
        normal_classes=normal_classes or None,
        anomaly_classes=anomaly_classes or None,
        contamination=contamination,
        inject=inject,
        protocol=protocol,
        split=split,
        limit=limit,
        test_fraction=test_fraction,
    )
    if state.update_config(data=new_data):
        st.rerun()
config = state.config()

try:
    validate(config, base.kind)
    experiment_data = data_cache.experiment_data(config)
except StudioError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

st.subheader("What the model sees")
counts = pd.DataFrame(experiment_data.counts()).rename(columns={"role": "samples"})
counts_column, preview_column = st.columns([1, 3])
with counts_column:
    st.dataframe(
        counts,
        hide_index=True,
        column_config={
            column: st.column_config.NumberColumn(column, format="localized") for column in ("train", "scored")
        },
    )
    anomalies = 0 if experiment_data.labels is None else int(experiment_data.labels.sum())
    st.caption(
        f"Samples of shape {tuple(experiment_data.sample_shape)}. {anomalies:,} of the "
        f"{len(experiment_data.x_score):,} scored samples are anomalies."
    )
    st.page_link(state.TRAIN_PAGE, label="Next: train", icon=":material/arrow_forward:")
with preview_column:
    groups, labels = preview_groups(experiment_data, config.data.inject)
    if experiment_data.kind == "image":
        st.plotly_chart(sample_figures.image_grid(groups, labels), key="preview", config={"displayModeBar": False})
    elif experiment_data.is_table:  # named columns of their own units: rows, not curves
        rows = pd.DataFrame(np.concatenate(groups), columns=list(experiment_data.feature_names))
        rows.insert(0, "samples", np.repeat(labels, [len(group) for group in groups]))
        st.dataframe(rows, hide_index=True, key="preview")
    else:
        st.plotly_chart(sample_figures.series_preview(groups, labels), key="preview")
