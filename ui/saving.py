"""Save what the screen shows, from the Train, Threshold and Flagged pages: the model with the threshold chosen now,
and its report (one HTML file)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.errors import StudioError
from core.folders import safe_file_name
from core.run_titles import folder_title
from ui import state

SAVE_ERROR = "save_error"


def _save_new() -> None:
    from core.runs import save_run

    ws = state.workspace()
    result = ws.result  # the result at the threshold in use
    try:
        folder = str(save_run(result))
    except StudioError as exc:
        st.session_state[SAVE_ERROR] = str(exc)
    else:
        state.show_result(result, saved_to=folder)
        st.session_state.pop(SAVE_ERROR, None)


def _save_threshold() -> None:
    from core.runs import update_run_threshold

    ws = state.workspace()
    try:
        update_run_threshold(ws.saved_run, ws.result)
    except StudioError as exc:
        st.session_state[SAVE_ERROR] = str(exc)
    else:
        st.session_state.pop(SAVE_ERROR, None)


def _saved_threshold(folder: str):
    """The threshold saved in `folder` (its threshold file), or None when the run is gone or unreadable."""
    from core.runs import load_threshold

    try:
        return load_threshold(folder).choice
    except StudioError:
        return None


def _report_name(ws) -> str:
    """The saved run's name, else the experiment's name or its dataset's."""
    if ws.saved_run:
        return folder_title(ws.saved_run)
    return ws.result.config.name or Path(ws.result.config.data.dataset).stem


def report_button(container) -> None:
    """A button that downloads the report of the result at the threshold in use when it is clicked."""
    ws = state.workspace()
    name = _report_name(ws)

    def report() -> str:  # called on a thread of its own, without the session: it keeps `ws`
        from core.report import html_report

        return html_report(ws.result, name)

    container.download_button(
        "Download report (HTML)",
        report,
        file_name=safe_file_name(name) + "-report.html",
        mime="text/html",
        icon=":material/download:",
        on_click="ignore",
        width="stretch",
        help="One HTML file with the figures, metrics and top flagged samples at the threshold chosen now; "
        "it opens in any browser, without a network.",
    )


def save_controls() -> None:
    """A Save button for the session's result (a new run, or the saved run's threshold brought up to date) and
    the button that downloads its report."""
    ws = state.workspace()
    if ws.result is None:
        return
    saved = _saved_threshold(ws.saved_run) if ws.saved_run else None
    if ws.saved_run and saved is None:
        state.forget_run(ws.saved_run)  # deleted, perhaps from another tab
    threshold = ws.result.threshold
    button_column, report_column, status_column = st.columns([1, 1.4, 2.6], vertical_alignment="center")
    report_button(report_column)
    if not ws.saved_run:
        button_column.button(
            "Save run",
            icon=":material/save:",
            width="stretch",
            on_click=_save_new,
            help="Saves the model, its scores and the threshold chosen now.",
        )
        status_column.caption("Not saved yet.")
    elif threshold != saved:
        button_column.button(
            "Save threshold",
            icon=":material/save:",
            width="stretch",
            on_click=_save_threshold,
            help=f"Updates {folder_title(ws.saved_run)} to the threshold chosen now.",
        )
        status_column.caption(
            f"Saved in {ws.saved_run}, at another threshold ({saved.value:.4g}; now {threshold.value:.4g})."
        )
    else:
        button_column.button("Saved", icon=":material/check_circle:", width="stretch", disabled=True)
        status_column.caption(f"Saved in {ws.saved_run}, at threshold {threshold.value:.4g}.")
    if SAVE_ERROR in st.session_state:
        st.error(st.session_state[SAVE_ERROR])
