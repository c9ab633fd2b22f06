"""What one browser session holds, under a few named `st.session_state` keys, and the helpers every page shares.

- "config": the ExperimentConfig that the Dataset, Train and Threshold pages edit.
- "data_dir": the folder with local copies of the built-in datasets.
- "job": the TrainingJob running in the background, or None.
- "result": the trained (or opened) ExperimentResult that the Threshold and Flagged pages inspect.
- "threshold": the ThresholdChoice in use on the Threshold and Flagged pages.
- "training_error" / "saved_run": what became of the last Train and Save clicks.
- "score_summary": what the Threshold and Flagged pages derive from the result's scores (ui.analysis).

Everything lives in session state, so two browser sessions never see each other's training or threshold.
Nothing here imports TensorFlow: the home page must paint before it is loaded.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import streamlit as st

from core.config import ExperimentConfig
from core.data import dataset_label, resolve_data_dir
from core.errors import ConfigError

CONFIG = "config"
DATA_DIR = "data_dir"
JOB = "job"
RESULT = "result"
THRESHOLD = "threshold"
TRAINING_ERROR = "training_error"
SAVED_RUN = "saved_run"
# Widgets that edit a config field use keys with this prefix, so a new config can reset them all.
SETTING = "setting:"

HOME_PAGE = "pages/home.py"
DATASET_PAGE = "pages/dataset.py"
TRAIN_PAGE = "pages/train.py"
THRESHOLD_PAGE = "pages/threshold.py"
FLAGGED_PAGE = "pages/flagged.py"
RUNS_PAGE = "pages/runs.py"


def config() -> ExperimentConfig:
    if CONFIG not in st.session_state:
        st.session_state[CONFIG] = ExperimentConfig()
    return st.session_state[CONFIG]


def update_config(**sections: Any) -> bool:
    """Replace config sections; an invalid combination is shown with st.error and the old config kept."""
    try:
        st.session_state[CONFIG] = config().replace(**sections)
    except ConfigError as exc:
        st.error(str(exc))
        return False
    return True


def use_config(new_config: ExperimentConfig) -> None:
    """Start from a whole new config (a preset or an opened run): every settings widget re-reads it."""
    st.session_state[CONFIG] = new_config
    for key in [key for key in st.session_state if str(key).startswith(SETTING)]:
        del st.session_state[key]


def setting(name: str, value: Any) -> str:
    """The key of the widget editing config field `name`; the widget starts from `value` the first time it is drawn.

    Streamlit forgets a widget's value when its page is left, so coming back re-reads the config.
    """
    key = SETTING + name
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def data_dir() -> Optional[str]:
    if DATA_DIR not in st.session_state:
        st.session_state[DATA_DIR] = str(resolve_data_dir() or "")
    return st.session_state[DATA_DIR] or None


def job():
    return st.session_state.get(JOB)


def training_running() -> bool:
    return job() is not None and job().running


def result():
    return st.session_state.get(RESULT)


def threshold():
    return st.session_state.get(THRESHOLD)


def show_result(new_result, saved_to: Optional[str] = None) -> None:
    """Make `new_result` the one the Threshold and Flagged pages inspect, at its own threshold."""
    st.session_state[RESULT] = new_result
    st.session_state[THRESHOLD] = new_result.threshold
    st.session_state[SAVED_RUN] = saved_to
    st.session_state.pop(TRAINING_ERROR, None)
    for key in [key for key in st.session_state if str(key).startswith(SETTING + "threshold.")]:
        del st.session_state[key]


def open_saved_run(saved_result, folder: str) -> None:
    """Inspect a saved run, and take its settings too, so retraining starts from them."""
    use_config(saved_result.config)
    show_result(saved_result, saved_to=folder)


def collect_finished_job() -> None:
    """Once the background training has ended, keep its result (or its error) and drop the job."""
    finished = job()
    if finished is None or finished.running:
        return
    st.session_state[JOB] = None
    if finished.result is not None:
        show_result(finished.result)  # the settings stay as they are now: they may have been edited meanwhile
    elif finished.error:
        st.session_state[TRAINING_ERROR] = finished.error


def require_result() -> None:
    """Stop the page with a pointer to Train (or Runs) when nothing has been trained or opened yet."""
    if result() is not None:
        return
    if training_running():
        st.info("A model is training. Its results will show here as soon as it has finished.")
        st.page_link(TRAIN_PAGE, label="Watch the training", icon=":material/model_training:")
    else:
        st.info("Nothing trained yet. Train a model first, or open a saved run.")
        left, right = st.columns(2, width=420)
        left.page_link(TRAIN_PAGE, label="Train a model", icon=":material/model_training:")
        right.page_link(RUNS_PAGE, label="Open a saved run", icon=":material/folder_open:")
    st.stop()


def sidebar_summary() -> None:
    """The model this session inspects, and whether one is training, in the sidebar.

    Drawn before the page runs, so it shows what changes before that: a finished training, an opened run.
    """
    with st.sidebar:
        st.caption("This session")
        lines = []
        if training_running():
            lines.append(":material/model_training: **Training…**")
        current = result()
        if current is None:
            lines.append("No model trained yet")
        else:
            auroc = current.metrics.get("auroc")
            lines += [f"**Model** · {current.config.model.kind} autoencoder",
                      f"**Data** · {dataset_label(current.config.data.dataset)}",
                      f"**AUROC** · {auroc:.3f}" if auroc is not None else "**AUROC** · no labels"]
        st.markdown("  \n".join(lines))


# What each kind of data allows; the first entry is the default.
MODEL_KINDS = {"image": ["conv", "dense"], "series": ["conv1d", "dense"]}
ERRORS = {"image": ["mse", "mae", "bce", "ssim"], "series": ["mse", "mae", "bce"]}


def sections_for_kind(current: ExperimentConfig, kind: str) -> dict[str, Any]:
    """Model, train and score sections adjusted to what data of `kind` allows ("image" or "series")."""
    model, train, score = current.model, current.train, current.score
    if model.kind not in MODEL_KINDS[kind]:
        model = dataclasses.replace(model, kind=MODEL_KINDS[kind][0], filters=model.filters or [32, 64])
    if train.loss not in ERRORS[kind]:
        train = dataclasses.replace(train, loss="mse")
    if score.error not in ERRORS[kind]:
        score = dataclasses.replace(score, error="mse")
    return {"model": model, "train": train, "score": score}
