"""The classical baselines beside the autoencoder on the Threshold page: a table, their ROC curves, and
without labels how far the detectors agree. Built once per result and finished baselines (key
"baseline_view"); a threshold move only recounts the overlap of the top-flagged samples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from core import baselines
from ui import caching

VIEW = "baseline_view"


@dataclass
class BaselineView:
    result: object
    results: dict  # name -> BaselineResult
    roc: dict  # label -> (fpr, tpr), labelled runs only
    order: dict  # name -> sample indices, highest score first
    correlation: dict  # name -> Spearman rank correlation with the autoencoder's scores


def view(result) -> BaselineView | None:
    """The finished baselines of `result`, with what the page draws from them; None while they compute."""
    run = result.baselines
    if run is None or not run.done:
        return None
    return caching.per_result(VIEW, result, lambda: _build(result, run))


def _build(result, run) -> BaselineView:
    order, correlation = baselines.rankings(result.scores, run.results)
    return BaselineView(
        result=result,
        results=run.results,
        roc=baselines.roc_curves(run.results, result.data.labels),
        order=order,
        correlation=correlation,
    )


def table(result, shown: BaselineView, by_error: np.ndarray, n_flagged: int) -> pd.DataFrame:
    """core.baselines.comparison_table of `result`, with the orders and correlations `shown` holds."""
    return baselines.comparison_table(
        result.metrics, by_error, shown.results, n_flagged, shown.order, shown.correlation
    )


WAIT_SECONDS = 4.0


@st.fragment(run_every=WAIT_SECONDS + 1)
def wait_for(result) -> None:
    """Shows that the baselines are computing; reruns the whole page once they are done.

    Each fragment run waits for them up to WAIT_SECONDS: every run's end costs a training running meanwhile
    about 0.2 s (Streamlit then clears Keras' session), so runs are few.
    """
    st.info(computing_note(result), icon=":material/hourglass_top:")
    if result.baselines.wait(WAIT_SECONDS) is not None:
        st.rerun()


def computing_note(result) -> str:
    names = ", ".join(baselines.label(name) for name in result.baselines.names)
    return f"Classical baselines ({names}): computing… They fit on the same samples in the background."
