"""Everything derived from a result's scores that a threshold move must not recompute.

Built once per result and kept in the session (key "score_summary"): the sorted-score curve that
answers metrics in O(log n), the histogram bins, the ROC and PR curves and the samples by error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import figures, sample_figures
from core.data import INJECTED, ROLE_NAMES, load_dataset
from core.metrics import OperatingCurve, pr_curve, roc_curve
from ui import state

SUMMARY = "score_summary"


@dataclass
class ScoreSummary:
    result: Any
    curve: OperatingCurve
    by_error: np.ndarray  # indices of the scored samples, highest error first
    rank: np.ndarray  # rank[i]: 1 for the highest error
    roc: tuple[np.ndarray, np.ndarray]
    pr: tuple[np.ndarray, np.ndarray]
    _bins: dict[bool, figures.HistogramBins] = field(default_factory=dict)

    def bins(self, log_x: bool) -> figures.HistogramBins:
        if log_x not in self._bins:
            self._bins[log_x] = figures.histogram_bins(self.result.scores, self.result.data.labels, log_x=log_x)
        return self._bins[log_x]

    def between(self, low: float, high: float) -> np.ndarray:
        """Indices of the samples whose error is within [low, high], highest error first."""
        scores = self.result.scores
        inside = np.flatnonzero((scores >= low) & (scores <= high))
        return inside[np.argsort(-scores[inside], kind="stable")]

    def flagged(self, threshold: float) -> np.ndarray:
        """Indices of the samples whose error is above `threshold`, highest error first."""
        return self.by_error[: self.curve.flagged_count(threshold)]


def summary(result) -> ScoreSummary:
    cached = st.session_state.get(SUMMARY)
    if cached is not None and cached.result is result:
        return cached
    scores, labels = result.scores, result.data.labels
    by_error = np.argsort(-np.asarray(scores), kind="stable")
    rank = np.empty(len(scores), dtype=np.int64)
    rank[by_error] = np.arange(1, len(scores) + 1)
    built = ScoreSummary(
        result=result,
        curve=OperatingCurve(scores, labels),
        by_error=by_error,
        rank=rank,
        roc=roc_curve(scores, labels),  # empty without both normal samples and anomalies
        pr=pr_curve(scores, labels),
    )
    st.session_state[SUMMARY] = built
    return built


def class_names(data, inject, indices: np.ndarray) -> np.ndarray:
    """The class of each scored sample in `indices` by name; injected ones also name their dataset.

    data: the ExperimentData; inject: the InjectConfig its samples were injected with, or None.
    """
    classes = pd.Series(data.classes[indices])
    names = classes.map(data.class_names).fillna(classes.astype(str))
    if inject is not None:
        injected_names = load_dataset(inject.dataset, state.data_dir()).class_names
        injected = classes.map(injected_names).fillna(classes.astype(str)) + f" ({state.dataset_label(inject.dataset)})"
        names = names.where(data.roles[indices] != INJECTED, injected)
    return names.to_numpy()


def sample_table(result, indices: np.ndarray, threshold: float) -> pd.DataFrame:
    """One row per scored sample in `indices`: rank by error, index in its dataset (and time, for a time series),
    error, flagged, truth, class."""
    data = result.data
    errors = result.scores[indices]
    table = pd.DataFrame(
        {
            "rank": summary(result).rank[indices],
            "sample": data.indices[indices],
            "error": errors,
            "flagged": errors > threshold,
            "truth": pd.Series(data.roles[indices]).map(ROLE_NAMES).to_numpy(),
        }
    )
    if data.timestamps is not None:
        table.insert(2, "time", data.timestamps[indices])
    if data.classes is not None:
        table["class"] = class_names(data, result.config.data.inject, indices)
    return table


def sample_cards(result, indices: np.ndarray, rows: pd.DataFrame, key: str, per_row: int = 2) -> None:
    """Each scored sample in `indices` beside its reconstruction (and its error map, for images), `per_row` to a
    row, titled from its row of `rows` (sample_table of the same indices); `key` prefixes the charts' keys."""
    data = result.data
    reconstructions, error_maps = result.detector.reconstruct(data.x_score[indices])
    for start in range(0, len(indices), per_row):
        for column, offset in zip(st.columns(per_row), range(start, min(start + per_row, len(indices))), strict=False):
            row = rows.iloc[offset]
            known_class = f", class {row['class']}" if "class" in row else ""
            title = f"#{row['rank']} · sample {row['sample']} · error {row['error']:.4g} · {row['truth']}{known_class}"
            sample = data.x_score[indices[offset]]
            if data.kind == "image":
                figure = sample_figures.image_triplet(sample, reconstructions[offset], error_maps[offset])
            else:
                figure = sample_figures.series_overlay(sample, reconstructions[offset])
            with column.container(border=True):
                st.markdown(f"**{title}**")
                st.plotly_chart(figure, key=f"{key}_{indices[offset]}", config={"displayModeBar": False})
