"""Everything derived from a result's scores that a threshold move must not recompute.

Built once per trained result and kept in the session (key "score_summary", ui.caching): the sorted-score curve that
answers metrics in O(log n), the histogram bins, the ROC and PR curves and the samples by error; and, when
the Flagged page first asks, the class names, the typical normal series and the error maps' peaks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import figures, sample_figures
from core.data import ANOMALY, INJECTED, NORMAL, ROLE_NAMES, name_classes
from core.metrics import OperatingCurve, pr_curve, roc_curve
from core.tabular import table_spans
from ui import caching, threshold_histogram

SUMMARY = "score_summary"
SCALE_SAMPLES = 1000  # a shared colour scale spans the error maps of at most this many samples, the first listed
BAND_SAMPLES = 10_000  # the typical-normal band is taken over at most this many training samples
RECONSTRUCT_BATCH = 256
TRIPLET_HEIGHTS = {2: 210, 3: 160, 4: 125}  # px: about the images' width in a wide layout, so no blank band
CHART_CONFIG = {"displayModeBar": False}  # the toolbar would cover the legends of these small figures


@dataclass
class ScoreSummary:
    result: Any  # the result it was built from: its scores, data and model, never its threshold
    curve: OperatingCurve
    by_error: np.ndarray  # indices of the scored samples, highest error first
    rank: np.ndarray  # rank[i]: 1 for the highest error
    roc: tuple[np.ndarray, np.ndarray]
    pr: tuple[np.ndarray, np.ndarray]
    _bins: dict[bool, figures.HistogramBins] = field(default_factory=dict)
    _error_peaks: dict[int, float] = field(default_factory=dict)
    _classes: np.ndarray | None = None
    _band: tuple | None = None
    _browser: dict | None = None

    def bins(self, log_x: bool) -> figures.HistogramBins:
        if log_x not in self._bins:
            self._bins[log_x] = figures.histogram_bins(self.result.scores, self.result.data.labels, log_x=log_x)
        return self._bins[log_x]

    def browser_payload(self) -> dict:
        """What the threshold histogram component needs about this result, built once (ui.threshold_histogram)."""
        if self._browser is None:
            scores, labels = self.result.scores, self.result.data.labels
            self._browser = threshold_histogram.browser_payload(self.curve, scores, labels, token=f"{id(self):x}")
        return self._browser

    def between(self, low: float, high: float) -> np.ndarray:
        """Indices of the samples whose error is within [low, high], highest error first."""
        scores = self.result.scores
        inside = np.flatnonzero((scores >= low) & (scores <= high))
        return inside[np.argsort(-scores[inside], kind="stable")]

    def flagged(self, threshold: float) -> np.ndarray:
        """Indices of the samples whose error is above `threshold`, highest error first."""
        return self.by_error[: self.curve.flagged_count(threshold)]

    def false_alarms(self, threshold: float) -> np.ndarray:
        """Indices of the normal samples whose error is above `threshold`, highest error first (labeled data)."""
        flagged = self.flagged(threshold)
        return flagged[self.result.data.labels[flagged] == 0]

    def missed(self, threshold: float) -> np.ndarray:
        """Indices of the anomalies whose error is at most `threshold`, the nearest miss first (labeled data)."""
        passed = self.by_error[self.curve.flagged_count(threshold) :]
        return passed[self.result.data.labels[passed] == 1]

    def classes(self) -> np.ndarray:
        """The class name of every scored sample (datasets with classes only)."""
        if self._classes is None:
            data = self.result.data
            self._classes = name_classes(data, self.result.config.data.inject, np.arange(len(data.classes)))
        return self._classes

    def normal_band(self) -> tuple[tuple[np.ndarray, np.ndarray], str]:
        """((low, high), its name): the 5th and 95th percentiles per step of the normal training series (of all
        training series when unlabeled), over at most BAND_SAMPLES of them."""
        if self._band is None:
            data = self.result.data
            normal = data.train_roles == NORMAL
            typical = data.x_train[normal] if normal.any() else data.x_train
            name = "typical normal (5–95 %)" if normal.any() else "typical training sample (5–95 %)"
            self._band = (sample_figures.percentile_band(typical[:BAND_SAMPLES]), name)
        return self._band

    def error_max(self, indices: np.ndarray) -> float:
        """The largest per-pixel error among the error maps of the samples `indices` (their first SCALE_SAMPLES):
        the top of a colour scale they share. Maps not seen before are rebuilt in batches, and their peaks kept."""
        indices = np.asarray(indices[:SCALE_SAMPLES])
        missing = np.array([i for i in indices.tolist() if i not in self._error_peaks], dtype=np.int64)
        for start in range(0, len(missing), RECONSTRUCT_BATCH):
            batch = missing[start : start + RECONSTRUCT_BATCH]
            _, error_maps = self.result.detector.reconstruct(samples(self.result.data, batch))
            peaks = error_maps.mean(axis=-1).reshape(len(batch), -1).max(axis=1)  # channels averaged, as drawn
            self._error_peaks.update(zip(batch.tolist(), peaks.tolist(), strict=True))
        return max(self._error_peaks[i] for i in indices.tolist())


def summary(result) -> ScoreSummary:
    return caching.per_result(SUMMARY, result, lambda: _summarize(result))


def _summarize(result) -> ScoreSummary:
    scores, labels = result.scores, result.data.labels
    by_error = np.argsort(-np.asarray(scores), kind="stable")
    rank = np.empty(len(scores), dtype=np.int64)
    rank[by_error] = np.arange(1, len(scores) + 1)
    return ScoreSummary(
        result=result,
        curve=OperatingCurve(scores, labels),
        by_error=by_error,
        rank=rank,
        roc=roc_curve(scores, labels),  # empty without both normal samples and anomalies
        pr=pr_curve(scores, labels),
    )


def samples(data, indices: np.ndarray) -> np.ndarray:
    """The scored samples at `indices` as an array, decoding them when the data is a streamed image folder."""
    chosen = data.x_score[indices]
    return chosen.load() if data.streamed else chosen


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
        table["class"] = summary(result).classes()[indices]
    return table


def card_title(row) -> str:
    """Rank, sample and error, then what the sample is in plain words ("false alarm", "missed anomaly", ...) as a
    coloured badge, and its class. `row`: a row of `sample_table`."""
    truth = "injected anomaly" if row["truth"] == ROLE_NAMES[INJECTED] else row["truth"]
    colour = "red" if row["truth"] in (ROLE_NAMES[ANOMALY], ROLE_NAMES[INJECTED]) else "gray"
    if row["truth"] == ROLE_NAMES[NORMAL] and row["flagged"]:
        truth, colour = "false alarm", "orange"
    elif colour == "red" and not row["flagged"]:
        truth, colour = f"missed {truth}", "violet"
    known_class = f" · class {row['class']}" if "class" in row else ""
    return f"**#{row['rank']} · sample {row['sample']}** · error {row['error']:.4g}  \n:{colour}-badge[{truth}]{known_class}"


def sample_cards(
    result, indices: np.ndarray, rows: pd.DataFrame, key: str, per_row: int = 2, error_max: float | None = None
) -> None:
    """Each scored sample in `indices` in a card, `per_row` (2, 3 or 4) to a row, titled from its row of `rows`
    (sample_table of the same indices): images beside their reconstruction and error map (on a shared colour
    scale up to `error_max`, or each on its own when None), tables as per-feature error bars, series over the
    band of typical normal training series. `key` prefixes the charts' keys."""
    data = result.data
    shown = samples(data, indices)
    reconstructions, error_maps = result.detector.reconstruct(shown)
    spans, span_name = table_spans(result.detector.scaler_, data.x_train) if data.is_table else (None, "")
    for start in range(0, len(indices), per_row):
        for column, offset in zip(st.columns(per_row), range(start, min(start + per_row, len(indices))), strict=False):
            sample, reconstruction = shown[offset], reconstructions[offset]
            if data.kind == "image":
                height = TRIPLET_HEIGHTS[per_row]
                figure = sample_figures.image_triplet(sample, reconstruction, error_maps[offset], error_max, height)
            elif data.is_table:
                figure = sample_figures.feature_errors(
                    sample, reconstruction, data.feature_names, spans, data.feature_columns, span_name
                )
            else:
                band, band_name = summary(result).normal_band()
                figure = sample_figures.series_overlay(sample, reconstruction, band, band_name)
            with column.container(border=True):
                st.markdown(card_title(rows.iloc[offset]))
                st.plotly_chart(figure, key=f"{key}_{indices[offset]}", config=CHART_CONFIG)
