"""Anomaly thresholds inferred from reconstruction errors.

A sample is flagged when its error is strictly greater than the threshold.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from core import fields
from core.config import ThresholdConfig
from core.errors import ConfigError

METHOD_PARAMETER = {
    "quantile": "q",
    "mean_std": "k",
    "contamination": "rate",
    "fpr": "rate",
}  # -> ThresholdConfig field


@dataclass(frozen=True)
class ThresholdChoice:
    value: float
    method: str
    explanation: str


def config_of(choice: ThresholdChoice, parameters: ThresholdConfig) -> ThresholdConfig:
    """The ThresholdConfig that yields `choice`: its method, the method's parameters (q, k, rate) from
    `parameters`, and `value` set only for the manual method "value" (other methods compute it: None)."""
    value = float(choice.value) if choice.method == "value" else None
    return dataclasses.replace(parameters, method=choice.method, value=value)


def choose_threshold(
    config: ThresholdConfig,
    scores: np.ndarray,
    train_scores: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> ThresholdChoice:
    """Pick the threshold that `config.method` describes.

    scores: (n_scored,) errors of the samples being judged.
    train_scores: (n_train,) errors of the training samples (`mean_std`, `max`); defaults to `scores`.
    labels: (n_scored,) 1 = anomaly, 0 = normal; needed by `fpr` and `best_f1`.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        raise ConfigError("threshold: there are no scores to choose a threshold from")
    reference = scores if train_scores is None else np.asarray(train_scores, dtype=np.float64)
    method = config.method
    if method == "value":
        if config.value is None:
            raise ConfigError(f"{fields.name('threshold.value')} must be set when the method is manual ('value')")
        value = float(config.value)
        return ThresholdChoice(value, method, f"Set by hand to {value:.4g}.")
    if method == "quantile":
        value = float(np.quantile(scores, config.q))
        return ThresholdChoice(
            value, method, f"The {config.q:g} quantile of the {scores.size} scored errors: {value:.4g}."
        )
    if method == "mean_std":
        mean, std = float(reference.mean()), float(reference.std())
        value = mean + config.k * std
        return ThresholdChoice(
            value,
            method,
            f"Mean + {config.k:g}·std of the {reference.size:,} training errors: "
            f"{mean:.4g} + {config.k:g} × {std:.4g} = {value:.4g}.",
        )
    if method == "max":
        value = float(reference.max())
        return ThresholdChoice(value, method, f"The largest of the {reference.size:,} training errors: {value:.4g}.")
    if method == "contamination":
        value = float(np.quantile(scores, 1.0 - config.rate))
        return ThresholdChoice(
            value, method, f"Flags the top {config.rate:.2%} of the {scores.size} scored errors: above {value:.4g}."
        )
    labels = _require_labels(labels, scores, method)
    if method == "fpr":
        normal = scores[labels == 0]
        if normal.size == 0:
            raise ConfigError(f"{fields.name('threshold.method')} 'fpr' needs normal samples among the scored ones")
        value = float(np.quantile(normal, 1.0 - config.rate))
        return ThresholdChoice(
            value,
            method,
            f"Lets about {config.rate:.2%} of the {normal.size} normal samples through as false positives: "
            f"{value:.4g}.",
        )
    if method == "best_f1":
        value, f1 = _best_f1_threshold(scores, labels)
        return ThresholdChoice(
            value, method, f"The threshold with the best F1 ({f1:.3f}) on the labelled scores: {value:.4g}."
        )
    raise ConfigError(f"{fields.name('threshold.method')} {method!r} is unknown")


def _require_labels(labels: np.ndarray | None, scores: np.ndarray, method: str) -> np.ndarray:
    if labels is None:
        raise ConfigError(
            f"{fields.name('threshold.method')} '{method}' needs labels, and these scores have none; "
            "use quantile, mean_std, max or contamination"
        )
    labels = np.asarray(labels)
    if labels.shape != scores.shape:
        raise ConfigError(f"threshold: labels shape {labels.shape} does not match scores shape {scores.shape}")
    return labels


def _best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    positives = int((labels == 1).sum())
    if positives == 0:
        raise ConfigError(
            f"{fields.name('threshold.method')} 'best_f1' needs at least one anomaly among the scored samples"
        )
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    true_positives = np.cumsum(labels[order] == 1)
    flagged = np.arange(1, scores.size + 1)
    # Only cut where the score changes: tied scores are flagged together.
    last_of_tie = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    f1 = 2 * true_positives / (flagged + positives)
    f1 = np.where(last_of_tie, f1, -1.0)
    best = int(np.argmax(f1))
    if best + 1 < scores.size:
        value = float((sorted_scores[best] + sorted_scores[best + 1]) / 2)
    else:
        value = float(np.nextafter(sorted_scores[best], -np.inf))
    return value, float(f1[best])
