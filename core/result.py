"""A result is facts plus one threshold: what training established, and the threshold in force.

Facts never change after training: the config it trained with, the data, the fitted detector and its loss
history, the scores, the classical baselines and `RunFacts` (n_train, scoring time, warnings). The threshold
(`ThresholdChoice`: value, method, explanation; the method's parameters in `config.threshold`) is the one
thing a user changes afterwards, and `with_threshold` is the only way to change it. Every metric, event
metrics included, is derived from scores, labels and the threshold by `result_metrics`: in memory and when a
saved run is read back (core.runs), so the screen, a reopened run and the report always agree.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from core.events import event_metrics
from core.metrics import evaluate
from core.thresholds import ThresholdChoice, config_of

if TYPE_CHECKING:
    from core.baselines import BaselineRun
    from core.config import ExperimentConfig, ThresholdConfig
    from core.data import ExperimentData
    from core.detector import AutoencoderDetector
    from core.training import History


STOP_REASONS = {  # History.stopped -> how the dashboard and the report say it
    "completed": "completed every epoch",
    "early_stopping": "stopped early (validation loss stopped improving)",
    "stopped": "stopped by you",
    "diverged": "diverged",
}


@dataclass(frozen=True)
class RunFacts:
    """How a run went, beyond its history: training samples, seconds spent scoring, warnings."""

    n_train: int
    score_seconds: float = 0.0
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"n_train": self.n_train, "score_seconds": self.score_seconds, "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, raw: dict) -> RunFacts:
        return cls(int(raw.get("n_train", 0)), float(raw.get("score_seconds") or 0.0), tuple(raw.get("warnings", ())))


def result_metrics(
    scores: np.ndarray,
    labels: np.ndarray | None,
    timestamps: np.ndarray | None,
    threshold: ThresholdChoice,
    history: History,
    facts: RunFacts,
    baselines: dict | None = None,
) -> dict:
    """Every metric of a result, derived from its scores (n,), labels (n,) 0/1 or None, timestamps (n,) datetime64
    (a time series; else None) and threshold, plus how the run went (history, facts) and the baselines' summary.

    The one place metrics are computed: a result in memory, a reopened run, the report and metrics.json (a copy
    written for other tools, never read back) all come from here. Keys: core.metrics.evaluate's, "events"
    (time series: core.events.event_metrics), threshold_method, threshold_explanation, n_train, epochs_run,
    stopped, train_seconds, score_seconds, warnings and, when given, baselines.
    """
    metrics = evaluate(scores, labels, threshold.value)
    if timestamps is not None:
        metrics["events"] = event_metrics(scores, labels, threshold.value, timestamps)
    metrics |= {
        "threshold_method": threshold.method,
        "threshold_explanation": threshold.explanation,
        "n_train": facts.n_train,
        "epochs_run": history.epochs_run,
        "stopped": history.stopped,
        "train_seconds": round(history.seconds, 3),
        "score_seconds": round(facts.score_seconds, 3),
        "warnings": list(facts.warnings),
    }
    if baselines is not None:
        metrics["baselines"] = baselines
    return metrics


@dataclass(frozen=True)
class ExperimentResult:
    """A trained, scored experiment at one threshold. `config.threshold` holds the method's parameters (q, k,
    rate) and `threshold`'s method (core.thresholds.config_of); `with_threshold` keeps them so."""

    config: ExperimentConfig
    data: ExperimentData
    detector: AutoencoderDetector
    scores: np.ndarray
    threshold: ThresholdChoice
    facts: RunFacts
    baselines: BaselineRun | None = None  # the classical detectors on the same samples; None: not run

    @property
    def model(self):
        return self.detector.model_

    @property
    def history(self) -> History:
        return self.detector.history_

    @property
    def train_scores(self) -> np.ndarray:
        return self.detector.train_scores_

    @property
    def warnings(self) -> list[str]:
        return list(self.facts.warnings)

    @cached_property
    def _at_threshold(self) -> dict:
        return result_metrics(
            self.scores, self.data.labels, self.data.timestamps, self.threshold, self.history, self.facts
        )

    @property
    def metrics(self) -> dict:
        """result_metrics at this result's threshold; "baselines" once they have finished."""
        if self.baselines is not None and self.baselines.done:
            return self._at_threshold | {"baselines": self.baselines.summary()}
        return dict(self._at_threshold)

    def with_threshold(
        self, choice: ThresholdChoice, threshold_config: ThresholdConfig | None = None
    ) -> ExperimentResult:
        """This result flagging above `choice`: the only way a result's threshold changes.

        `config.threshold` becomes `threshold_config` (default: the current one; its q, k and rate are kept) with
        `choice`'s method (core.thresholds.config_of); the detector is copied shallowly (model, history and training
        errors shared) with `threshold_` = `choice`, so its `predict` agrees. Scores, data and baselines are
        shared: the copy costs no scoring, and its metrics are derived when first read. Raises ConfigError for a
        value that is not a finite number.
        """
        base = threshold_config if threshold_config is not None else self.config.threshold
        config = self.config.replace(threshold=config_of(choice, base))
        detector = copy.copy(self.detector)
        detector.threshold = config.threshold
        detector.threshold_ = choice
        return dataclasses.replace(self, config=config, detector=detector, threshold=choice)
