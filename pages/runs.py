"""Runs: saved runs; open one to inspect it on every page without retraining, rename or delete it."""

import pandas as pd
import streamlit as st

from core.errors import StudioError
from core.run_titles import rename_run, titles
from ui import engine, saving, state

with st.spinner("Loading TensorFlow…"):
    engine.load()
    from core.runs import delete_run, list_runs, load_run, runs_root

CONFIRM_DELETE = "confirm_delete"
RUN = "runs_chosen"
NEW_TITLE = "runs_new_title"
RENAME_ERROR = "runs_rename_error"


@st.cache_resource(max_entries=4, show_spinner="Opening the run…")
def open_run(path: str, version: tuple, data_dir):
    """A saved run's model, scores and rebuilt data; `version` (created, revision) tells a re-saved or
    updated folder from the one cached."""
    return load_run(path, data_dir)


st.title("Runs")
st.caption(f"Saved runs in {runs_root().resolve()}")

runs = list_runs()
if not runs:
    st.info("No saved runs yet. Train a model and press **Save run** on the Train page.")
    st.page_link(state.TRAIN_PAGE, label="Train a model", icon=":material/model_training:")
    st.stop()

names = titles(runs)  # {folder path: title}


def rename(folder: str) -> None:
    """Callback: give the run in `folder` the typed name (blank: its default name back); it stays chosen."""
    try:
        rename_run(folder, st.session_state.get(NEW_TITLE) or "")
    except StudioError as exc:
        st.session_state[RENAME_ERROR] = str(exc)
    else:
        st.session_state.pop(RENAME_ERROR, None)
        st.session_state[NEW_TITLE] = ""
        st.session_state[RUN] = titles(list_runs())[folder]


table = pd.DataFrame(
    {
        "name": [names[str(summary.path)] for summary in runs],
        "dataset": [state.dataset_label(summary.dataset) if summary.dataset else None for summary in runs],
        "model": [summary.model_kind for summary in runs],
        "created": pd.to_datetime([summary.created for summary in runs], utc=True, errors="coerce"),
        "AUROC": [summary.auroc for summary in runs],
        "flagged": [summary.n_flagged for summary in runs],
        "threshold": [summary.threshold for summary in runs],
        "status": [f"damaged: {summary.damaged}" if summary.damaged else "ok" for summary in runs],
        "id": [summary.name for summary in runs],
    }
)
st.dataframe(
    table,
    hide_index=True,
    column_config={
        "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
        "AUROC": st.column_config.NumberColumn("AUROC", format="%.3f"),
        "threshold": st.column_config.NumberColumn("threshold", format="%.4g"),
    },
)
runs_by_name = {names[str(summary.path)]: summary for summary in runs}
if st.session_state.get(RUN) not in runs_by_name:
    st.session_state.pop(RUN, None)  # deleted meanwhile
chosen = st.selectbox(
    "Run", list(runs_by_name), index=None, placeholder="Choose a run to open, rename or delete", key=RUN
)
run = runs_by_name.get(chosen)
if run is not None and run.damaged:
    st.warning(f"**{chosen}** cannot be opened: {run.damaged}. You can delete it.", icon=":material/warning:")
if state.unsaved_model():
    st.info(state.UNSAVED_NOTE, icon=":material/info:")

open_column, delete_column, _ = st.columns([1, 1, 4])
if open_column.button(
    "Open",
    type="primary",
    icon=":material/open_in_new:",
    width="stretch",
    disabled=run is None or run.damaged is not None,
):
    try:
        state.open_saved_run(open_run(str(run.path), (run.created, run.revision), state.data_dir()), str(run.path))
    except StudioError as exc:
        st.error(str(exc))
    else:
        st.rerun()  # so the sidebar shows the opened run too
if delete_column.button("Delete", icon=":material/delete:", width="stretch", disabled=run is None):
    st.session_state[CONFIRM_DELETE] = str(run.path)
if run is not None and not run.damaged:
    with st.form("rename_run", border=False):
        title_column, rename_column = st.columns([4, 1], vertical_alignment="bottom")
        title_column.text_input(
            "New name",
            placeholder=chosen,
            max_chars=80,
            key=NEW_TITLE,
            help=f"Shown in every table, legend and report; blank gives the default name back. "
            f"The folder keeps its name, {run.name}.",
        )
        rename_column.form_submit_button(
            "Rename", icon=":material/edit:", on_click=rename, args=(str(run.path),), width="stretch"
        )
    if RENAME_ERROR in st.session_state:
        st.error(st.session_state[RENAME_ERROR])

if run is not None and st.session_state.get(CONFIRM_DELETE) == str(run.path):
    with st.container(border=True):
        st.warning(f"Delete **{chosen}** and its model for good?", icon=":material/warning:")
        yes_column, no_column, _ = st.columns([1, 1, 4])
        if yes_column.button("Yes, delete it", type="primary", width="stretch"):
            del st.session_state[CONFIRM_DELETE]
            try:
                delete_run(run.path)
            except StudioError as exc:
                st.error(str(exc))
            else:
                state.forget_run(str(run.path))
                st.rerun()
        if no_column.button("Cancel", width="stretch"):
            del st.session_state[CONFIRM_DELETE]
            st.rerun()

open_now = next((summary for summary in runs if str(summary.path) == state.workspace().saved_run), None)
if open_now is not None and state.result() is not None:
    st.success(f"**{names[str(open_now.path)]}** is open: every page works from it.", icon=":material/check_circle:")
    left, middle, right = st.columns(3, width=720, vertical_alignment="center")
    left.page_link(state.THRESHOLD_PAGE, label="Pick a threshold", icon=":material/tune:")
    middle.page_link(state.FLAGGED_PAGE, label="Inspect flagged samples", icon=":material/flag:")
    saving.report_button(right)
    if (open_now.path / "tensorboard").is_dir():
        st.caption("Its TensorBoard logs:")
        st.code(f'tensorboard --logdir "{open_now.path / "tensorboard"}"', language="bash")
