"""Detection metrics at a threshold, and threshold-free curves.

Labels: 1 = anomaly (positive), 0 = normal. A sample is flagged when its score > threshold.
Without labels only counts are reported; every label-based figure is None, never made up.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def _ratio(numerator: int, denominator: int) -> float | None:
    return float(numerator / denominator) if denominator else None


class OperatingCurve:
    """Counts and metrics at any threshold in O(log n), for a slider over many scores.

    scores: (n,) reconstruction errors; labels: (n,) 0/1 or None. Built once in O(n log n).
    """

    def __init__(self, scores: np.ndarray, labels: np.ndarray | None = None):
        scores = np.asarray(scores, dtype=np.float64).ravel()
        order = np.argsort(scores, kind="stable")
        self.sorted_scores = scores[order]
        self.n = int(scores.size)
        self.labels = None if labels is None else np.asarray(labels).ravel()
        self.n_anomalies: int | None = None
        if self.labels is not None:
            if self.labels.shape != scores.shape:
                raise ValueError(f"labels shape {self.labels.shape} does not match scores shape {scores.shape}")
            # positives_at_or_below[i] = anomalies among the i lowest scores
            self.positives_at_or_below = np.r_[0, np.cumsum(self.labels[order] == 1)]
            self.n_anomalies = int(self.positives_at_or_below[-1])

    def flagged_count(self, threshold: float) -> int:
        return self.n - int(np.searchsorted(self.sorted_scores, threshold, side="right"))

    def at(self, threshold: float) -> dict:
        not_flagged = int(np.searchsorted(self.sorted_scores, threshold, side="right"))
        flagged = self.n - not_flagged
        result = {
            "threshold": float(threshold),
            "n_scored": self.n,
            "n_flagged": flagged,
            "n_anomalies": self.n_anomalies,
        }
        if self.n_anomalies is None:  # no labels
            return result | dict.fromkeys(
                (
                    "true_positives",
                    "false_positives",
                    "true_negatives",
                    "false_negatives",
                    "precision",
                    "recall",
                    "f1",
                    "accuracy",
                    "accuracy_normal",
                    "accuracy_anomaly",
                )
            )
        positives = self.n_anomalies
        negatives = self.n - positives
        false_negatives = int(self.positives_at_or_below[not_flagged])
        true_positives = positives - false_negatives
        false_positives = flagged - true_positives
        true_negatives = negatives - false_positives
        precision = _ratio(true_positives, flagged)
        recall = _ratio(true_positives, positives)
        f1 = _ratio(2 * true_positives, flagged + positives)
        return result | {
            "true_positives": true_positives,
            "false_positives": false_positives,
            "true_negatives": true_negatives,
            "false_negatives": false_negatives,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "accuracy": _ratio(true_positives + true_negatives, self.n),
            "accuracy_normal": _ratio(true_negatives, negatives),
            "accuracy_anomaly": _ratio(true_positives, positives),
        }


def _has_both_classes(labels: np.ndarray | None) -> bool:
    return labels is not None and len(np.unique(labels)) == 2


def evaluate(scores: np.ndarray, labels: np.ndarray | None, threshold: float) -> dict:
    """All metrics at `threshold`: counts, precision/recall/F1/accuracies, AUROC, AP and the confusion matrix.

    The confusion matrix is [[TN, FP], [FN, TP]] (rows: true normal, true anomaly).
    """
    point = OperatingCurve(scores, labels).at(threshold)
    both = _has_both_classes(labels)
    point["auroc"] = float(skm.roc_auc_score(labels, scores)) if both else None
    point["average_precision"] = float(skm.average_precision_score(labels, scores)) if both else None
    point["confusion_matrix"] = confusion_matrix(point)
    return point


def confusion_matrix(point: dict) -> list[list[int]] | None:
    """[[TN, FP], [FN, TP]] (rows: true normal, true anomaly) of an `OperatingCurve.at` point; None without labels."""
    if point["true_negatives"] is None:
        return None
    return [[point["true_negatives"], point["false_positives"]], [point["false_negatives"], point["true_positives"]]]


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive rates, true-positive rates); empty arrays when labels lack a class."""
    if not _has_both_classes(labels):
        return np.array([]), np.array([])
    fpr, tpr, _ = skm.roc_curve(labels, scores, drop_intermediate=True)
    return fpr, tpr


def pr_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(precisions, recalls); empty arrays when labels lack a class."""
    if not _has_both_classes(labels):
        return np.array([]), np.array([])
    precision, recall, _ = skm.precision_recall_curve(labels, scores, drop_intermediate=True)
    return precision, recall
