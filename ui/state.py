"""What one user's session holds, kept on the server so that a reload or a new tab finds it again.

A `Workspace` (the config the pages edit, the running training, the inspected result, the chosen
threshold and where it was saved) lives in a server-wide registry under a random id. The URL carries
that id as `?session=ID`, so reloading the page, or opening the URL in another tab, attaches to the
same workspace, running training included. The config is also written to
`<runs root>/.sessions/ID.json`, so even a restarted server opens the session on its settings.

`st.session_state` holds only the workspace id and the Threshold page's live widgets, which follow the
threshold of the workspace's result: `result.threshold` is the one threshold in use (core.result), changed
only by `set_threshold`. Every change to a workspace's fields takes its lock: the training thread's end, a
second tab and the page itself may write at once.
Nothing here imports TensorFlow: the home page must paint before it is loaded.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from core.config import ExperimentConfig
from core.data import dataset_label, resolve_data_dir
from core.errors import ConfigError
from core.folders import runs_root
from core.run_titles import folder_title

WORKSPACE = "workspace"
QUERY_KEY = "session"
IDLE_SECONDS = 6 * 3600  # a workspace untouched this long, with nothing training, is dropped from memory
# Every open page touches its workspace this often (the sidebar's summary). Rarely: each script run ends with
# Streamlit clearing Keras' session, which costs a running training about 0.2 s.
HEARTBEAT_SECONDS = 30
ORPHAN_SECONDS = 150  # a training whose workspace no page has touched this long is stopped: nobody watches it

HOME_PAGE = "pages/home.py"
DATASET_PAGE = "pages/dataset.py"
TRAIN_PAGE = "pages/train.py"
THRESHOLD_PAGE = "pages/threshold.py"
FLAGGED_PAGE = "pages/flagged.py"
SCORE_SAMPLE_PAGE = "pages/score_sample.py"
RUNS_PAGE = "pages/runs.py"
LATENT_PAGE = "pages/latent.py"
COMPARE_PAGE = "pages/compare.py"
UNSAVED_NOTE = (
    "The model trained in this session is not saved. Opening a run, or training another model, sets it aside in "
    "the sidebar, where **Bring it back** returns it (the last one set aside)."
)


@dataclass
class Workspace:
    """One user's work: `result` (core.result.ExperimentResult) at the threshold in use; `saved_run` the folder it
    was saved to, whose threshold file says which threshold is saved. `set_aside` is the last unsaved result
    (at its threshold) another one replaced (an opened run, a new training), kept so that it can be brought back
    (`bring_back`) or saved.
    """

    id: str
    config: ExperimentConfig = field(default_factory=ExperimentConfig)
    data_dir: str = field(default_factory=lambda: str(resolve_data_dir() or ""))
    job: Any = None
    result: Any = None
    saved_run: str | None = None
    set_aside: Any = None
    training_error: str | None = None
    revision: int = 0  # bumped whenever the config is replaced from outside the settings forms
    touched: float = field(default_factory=time.monotonic)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @property
    def training(self) -> bool:
        return self.job is not None and self.job.running

    def persist(self) -> None:
        """Write the config (and the saved run it came from) where a restarted server finds them."""
        folder = _sessions_folder()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".{self.id}.json.partial"
            partial.write_text(
                json.dumps({"config": self.config.to_dict(), "data_dir": self.data_dir}), encoding="utf-8"
            )
            partial.replace(folder / f"{self.id}.json")
        except OSError:
            pass  # the in-memory workspace still works; only a server restart would forget the settings


@st.cache_resource
def _registry() -> tuple[dict[str, Workspace], threading.Lock]:
    return {}, threading.Lock()


def _sessions_folder() -> Path:
    return runs_root() / ".sessions"


def _restore(workspace_id: str) -> Workspace:
    """A workspace for `workspace_id`: its config from disk when a previous server wrote it, else the defaults."""
    workspace = Workspace(workspace_id)
    try:
        saved = json.loads((_sessions_folder() / f"{workspace_id}.json").read_text(encoding="utf-8"))
        workspace.config = ExperimentConfig.from_dict(saved["config"])
        workspace.data_dir = saved.get("data_dir", workspace.data_dir)
    except (OSError, ValueError, KeyError, TypeError, ConfigError):
        pass
    return workspace


def _valid_id(text: Any) -> bool:
    return isinstance(text, str) and 8 <= len(text) <= 64 and all(c.isalnum() or c in "-_" for c in text)


def workspace() -> Workspace:
    """This browser session's workspace, found by the URL's ?session= id, or a new one (whose id the URL then gets)."""
    workspaces, lock = _registry()
    workspace_id = st.session_state.get(WORKSPACE)
    if workspace_id is None:
        asked = st.query_params.get(QUERY_KEY)
        workspace_id = asked if _valid_id(asked) else secrets.token_urlsafe(12)
        st.session_state[WORKSPACE] = workspace_id
    with lock:
        found = workspaces.get(workspace_id)
        if found is None:
            _drop_idle(workspaces)
            found = workspaces[workspace_id] = _restore(workspace_id)
        found.touched = time.monotonic()
        _stop_orphans(workspaces)
    if st.query_params.get(QUERY_KEY) != workspace_id:
        st.query_params[QUERY_KEY] = workspace_id
    return found


def _stop_orphans(workspaces: dict[str, Workspace]) -> None:
    """Stop trainings no open page has asked about for ORPHAN_SECONDS (the tab was closed): each keeps the model
    trained so far, which the session finds if it comes back."""
    now = time.monotonic()
    for ws in workspaces.values():
        if ws.training and now - ws.touched > ORPHAN_SECONDS:
            ws.job.stop()


def _drop_idle(workspaces: dict[str, Workspace]) -> None:
    now = time.monotonic()
    for key in [key for key, ws in workspaces.items() if now - ws.touched > IDLE_SECONDS and not ws.training]:
        del workspaces[key]


# ------------------------------------------------------------------------------------------ the config


def config() -> ExperimentConfig:
    return workspace().config


def set_config(new_config: ExperimentConfig) -> None:
    """Make `new_config` (already validated) the session's config."""
    ws = workspace()
    with ws.lock:
        ws.config = new_config
        ws.persist()


def use_config(new_config: ExperimentConfig) -> None:
    """Start from a whole new config (a preset or an opened run): every settings form re-reads it."""
    ws = workspace()
    with ws.lock:
        ws.revision += 1
        set_config(new_config)


def update_config(**sections: Any) -> bool:
    """Replace config sections; an invalid combination is shown with st.error and the old config kept."""
    try:
        set_config(config().replace(**sections))
    except ConfigError as exc:
        st.error(str(exc))
        return False
    return True


def data_dir() -> str | None:
    return workspace().data_dir or None


def set_data_dir(folder: str) -> None:
    ws = workspace()
    with ws.lock:
        if ws.data_dir != folder:
            ws.data_dir = folder
            ws.persist()


def form_key(name: str) -> str:
    """A settings form's key; it changes when the config is replaced, so the form's widgets re-read it."""
    return f"{name}@{workspace().revision}"


# ------------------------------------------------------------------------------------------ training and results


def job():
    return workspace().job


def training_running() -> bool:
    return workspace().training


def start_job(make_job: Callable[[], Any]) -> None:
    """Start the training make_job() returns (a core.jobs.TrainingJob), unless one is running already: two tabs of
    one session never start two. What make_job raises is raised, with nothing started."""
    ws = workspace()
    with ws.lock:
        if ws.training:
            return
        job = make_job()
        ws.training_error = None
        ws.job = job.start()


def set_training_error(message: str | None) -> None:
    ws = workspace()
    with ws.lock:
        ws.training_error = message


def result():
    return workspace().result


def threshold():
    """The ThresholdChoice in use: the result's."""
    return workspace().result.threshold


def set_threshold(choice, threshold_config) -> None:
    """Flag the session's result above `choice` (a ThresholdChoice; `threshold_config` holds the method's
    parameters): every page, Save and the report read it from the result."""
    ws = workspace()
    with ws.lock:
        ws.result = ws.result.with_threshold(choice, threshold_config)


def show_result(new_result, saved_to: str | None = None) -> None:
    """Make `new_result` the one the Threshold and Flagged pages inspect, at its own threshold."""
    ws = workspace()
    with ws.lock:
        if ws.result is not None and not ws.saved_run and ws.result is not new_result:
            ws.set_aside = ws.result  # never dropped without a word: the sidebar offers it back
        ws.result = new_result
        ws.saved_run = saved_to
        ws.training_error = None


def open_saved_run(saved_result, folder: str) -> None:
    """Inspect a saved run, and take its settings too, so retraining starts from them."""
    use_config(saved_result.config)
    show_result(saved_result, saved_to=folder)


def bring_back() -> None:
    """Callback: make the set-aside model the one inspected again, with its settings and threshold; the model it
    replaces is set aside in turn when it is unsaved."""
    ws = workspace()
    with ws.lock:
        if ws.set_aside is None:
            return
        result, ws.set_aside = ws.set_aside, None
    use_config(result.config)
    show_result(result)


def unsaved_model() -> bool:
    """Whether the model inspected now exists only in memory."""
    ws = workspace()
    return ws.result is not None and not ws.saved_run


def collect_finished_job() -> None:
    """Once the background training has ended, keep its result (or its error) and drop the job."""
    ws = workspace()
    with ws.lock:
        finished = ws.job
        if finished is None or finished.running:
            return
        ws.job = None
        if finished.result is not None:
            if finished.continued is not None and finished.continued is ws.result:
                ws.result = None  # trained on, by request: the longer-trained model takes its place, not set aside
            show_result(finished.result)  # the settings stay as they are now: they may have been edited meanwhile
        elif finished.error:
            ws.training_error = finished.error


def forget_run(folder: str) -> None:
    """The run at `folder` was deleted: the model in memory is no longer saved anywhere."""
    ws = workspace()
    with ws.lock:
        if ws.saved_run == folder:
            ws.saved_run = None


def require_result() -> None:
    """Stop the page with a pointer to Train (or Runs) when nothing has been trained or opened yet."""
    if result() is not None:
        if training_running():
            st.info(
                "A new model is training. This page still shows the previous model "
                f"({describe_result(result())}) until it has finished.",
                icon=":material/model_training:",
            )
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


def describe_result(current) -> str:
    return f"{current.config.model.kind} autoencoder on {dataset_label(current.config.data.dataset)}"


def sidebar_summary() -> None:
    """The model this session inspects, and whether one is training, in the sidebar.

    Drawn before the page runs, so it shows what changes before that: a finished training, an opened run.
    Redrawn every HEARTBEAT_SECONDS on its own, which tells the server that this session is still open.
    """
    with st.sidebar:
        _session_summary()
        set_aside = workspace().set_aside
        if set_aside is not None:
            st.caption(
                f"**Set aside, not saved** · {describe_result(set_aside)}, replaced by the model above. "
                "Bring it back to inspect or save it."
            )
            st.button("Bring it back", icon=":material/undo:", on_click=bring_back, key="bring_back")


@st.fragment(run_every=HEARTBEAT_SECONDS)
def _session_summary() -> None:
    ws = workspace()
    st.caption("This session")
    lines = []
    if ws.training:
        lines.append(":material/model_training: **Training…**")
    current = ws.result
    if current is None:
        lines.append("No model trained yet")
    else:
        auroc = current.metrics.get("auroc")
        lines += [
            f"**Model** · {current.config.model.kind} autoencoder",
            f"**Data** · {dataset_label(current.config.data.dataset)}",
            f"**AUROC** · {auroc:.3f}" if auroc is not None else "**AUROC** · no labels",
        ]
        if ws.saved_run:
            lines.append(f"**Saved** · {folder_title(ws.saved_run)}")
    st.markdown("  \n".join(lines))
