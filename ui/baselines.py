"""The classical baselines beside the autoencoder on the Threshold page: a table, their ROC curves, and
without labels how far the detectors agree. Built once per result and finished baselines (key
"baseline_view"); a threshold move only recounts the overlap of the top-flagged samples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from core import baselines
from core.metrics import roc_curve

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
    cached = st.session_state.get(VIEW)
    if cached is not None and cached.result is result:
        return cached
    labels = result.data.labels
    scored = {name: r for name, r in run.results.items() if r.scores is not None}
    built = BaselineView(
        result=result,
        results=run.results,
        roc={baselines.label(name): roc_curve(r.scores, labels) for name, r in scored.items()}
        if labels is not None
        else {},
        order={name: np.argsort(-r.scores, kind="stable") for name, r in scored.items()},
        correlation={name: baselines.rank_correlation(result.scores, r.scores) for name, r in scored.items()},
    )
    built.roc = {name: curve for name, curve in built.roc.items() if curve[0].size}
    st.session_state[VIEW] = built
    return built


def _number(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def table(result, shown: BaselineView, by_error: np.ndarray, n_flagged: int) -> pd.DataFrame:
    """One row for the autoencoder and one per baseline: AUROC, AP and seconds, or without labels the rank
    correlation with the autoencoder and the overlap of the `n_flagged` top-scored samples."""
    metrics = result.metrics
    labelled = metrics.get("auroc") is not None
    ae_seconds = (metrics.get("train_seconds") or 0) + (metrics.get("score_seconds") or 0)
    rows = [("autoencoder", metrics.get("auroc"), metrics.get("average_precision"), None, None, ae_seconds, "")]
    for name, r in shown.results.items():
        order = shown.order.get(name)
        overlap = None if order is None else baselines.top_overlap(by_error, order, n_flagged)
        rows.append((baselines.label(name), r.auroc, r.ap, shown.correlation.get(name), overlap, r.seconds, r.note))
    return pd.DataFrame(
        [
            {
                "detector": detector,
                **(
                    {"AUROC": _number(auroc), "AP": _number(ap)}
                    if labelled
                    else {
                        "rank correlation": _number(rho, 2),
                        f"top {n_flagged:,} overlap": "–" if overlap is None else f"{overlap:.0%}",
                    }
                ),
                "seconds": f"{seconds:.1f}",
                "note": note,
            }
            for detector, auroc, ap, rho, overlap, seconds, note in rows
        ]
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
