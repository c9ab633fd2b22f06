"""One experiment end to end: data → autoencoder → scores → threshold → metrics."""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from core.baselines import BaselineRun, flatten
from core.config import ExperimentConfig
from core.data import ExperimentData, build_experiment_data
from core.detector import AutoencoderDetector
from core.errors import ConfigError
from core.events import event_metrics
from core.metrics import evaluate
from core.models import bottleneck_warning
from core.scoring import constant_scores_warning
from core.thresholds import ThresholdChoice
from core.training import History, TrainingListener

if TYPE_CHECKING:
    from core.config import ThresholdConfig


@dataclass
class ExperimentResult:
    config: ExperimentConfig
    data: ExperimentData
    detector: AutoencoderDetector
    scores: np.ndarray
    threshold: ThresholdChoice
    metrics: dict
    warnings: list[str] = field(default_factory=list)
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

    def with_threshold(
        self, choice: ThresholdChoice, threshold_config: ThresholdConfig | None = None
    ) -> ExperimentResult:
        """A copy of this result flagging above `choice`, with config, detector and metrics agreeing on it.

        `config.threshold` becomes `threshold_config` (default: the current one; its q, k and rate are kept)
        with `method` and `value` taken from `choice`; `detector.threshold_` is `choice`; `metrics` are
        evaluated again at `choice.value`, keeping how the run went (n_train, epochs, seconds, ...).
        The detector is copied shallowly (the Keras model, history and training errors are shared), so
        this result keeps its own threshold; the baselines are shared as they are. Raises ConfigError for a value that is not a finite number.
        """
        base = threshold_config if threshold_config is not None else self.config.threshold
        config = self.config.replace(
            threshold=dataclasses.replace(base, method=choice.method, value=float(choice.value))
        )
        detector = copy.copy(self.detector)
        detector.threshold = config.threshold
        detector.threshold_ = choice
        metrics = {
            **self.metrics,
            **evaluate(self.scores, self.data.labels, choice.value),
            **timeline_metrics(self.scores, self.data, choice.value),
            "threshold_method": choice.method,
            "threshold_explanation": choice.explanation,
        }
        return dataclasses.replace(
            self, config=config, detector=detector, threshold=choice, metrics=metrics, warnings=list(self.warnings)
        )


def detector_for(config: ExperimentConfig, data: ExperimentData) -> AutoencoderDetector:
    """An unfitted detector for `config`, preprocessing samples of `data.kind` (windows of time series; tables,
    whose columns have units of their own, min-max scaled per column)."""
    return AutoencoderDetector(
        config.model,
        config.train,
        config.score,
        config.threshold,
        config.seed,
        data.kind,
        data.window,
        data.stride,
        per_feature=data.is_table,
        scaling=config.data.scaling,
    )


def run_experiment(
    config: ExperimentConfig,
    data_dir: str | None = None,
    listener: TrainingListener | None = None,
    stop_event: threading.Event | None = None,
    data: ExperimentData | None = None,
    baselines_in_background: bool = False,
    stream: bool = False,
) -> ExperimentResult:
    """Build the data (unless given), train, score, threshold and evaluate, as `config` says; then the baselines.

    The detector takes the raw samples and scales series itself; the threshold is inferred from the scored
    samples' errors (and labels, for "fpr" and "best_f1"). The classical baselines (`config.score.baselines`)
    are fitted on the same training samples, scaled as the model sees them, and score the same samples:
    before this returns (and `metrics["baselines"]` holds their AUROC, AP, seconds and note), or with
    `baselines_in_background` in a thread of their own (`result.baselines.done`; save_run adds them to metrics).

    stream: read a dataset that is a folder of images through tf.data, never as one array (core.data.stream);
    the classical baselines, which need every sample in memory, are then skipped with a warning.
    """
    if data is None:
        data = build_experiment_data(config.data, config.seed, data_dir, stream=stream)
    detector = detector_for(config, data).fit(data.x_train, listener, stop_event)
    scores, threshold, metrics, warnings = _evaluate(config, data, detector)
    baselines = start_baselines(config, data, detector, baselines_in_background)
    if not baselines_in_background:
        metrics["baselines"] = baselines.summary()  # in the background: added by save_run
    return ExperimentResult(config, data, detector, scores, threshold, metrics, warnings, baselines)


def continue_experiment(
    result: ExperimentResult,
    epochs: int,
    listener: TrainingListener | None = None,
    stop_event: threading.Event | None = None,
) -> ExperimentResult:
    """A new result: `result`'s model trained `epochs` more epochs on its training samples (detector.fit_more),
    then scored, thresholded (as its config says) and evaluated again, as run_experiment does.

    Its config's `train.epochs` is the epochs run in all, and its history holds every epoch, the earlier ones
    first (`history.continued_after` tells where each continuation began). The model trained on is a copy
    (`detector.copy_for_training`, optimizer state included): `result` is left as it is. The classical baselines do not
    depend on the autoencoder: `result.baselines` is reused as it is. Raises ConfigError when the total is
    beyond the limits of train.epochs.
    """
    config = continued_config(result, epochs)
    detector = result.detector.copy_for_training().fit_more(result.data.x_train, epochs, listener, stop_event)
    scores, threshold, metrics, warnings = _evaluate(config, result.data, detector)
    if result.baselines is not None and result.baselines.done:
        metrics["baselines"] = result.baselines.summary()  # still computing: added by save_run
    return ExperimentResult(config, result.data, detector, scores, threshold, metrics, warnings, result.baselines)


def continued_config(result: ExperimentResult, epochs: int) -> ExperimentConfig:
    """`result.config` with `train.epochs` the epochs run in all after `epochs` more; ConfigError for epochs < 1
    or a total beyond the limits of train.epochs."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"the number of more epochs must be a whole number of at least 1 (got {epochs!r})")
    total = result.history.epochs_run + epochs
    return result.config.replace(train=dataclasses.replace(result.config.train, epochs=total))


def _evaluate(
    config: ExperimentConfig, data: ExperimentData, detector: AutoencoderDetector
) -> tuple[np.ndarray, ThresholdChoice, dict, list[str]]:
    """Score `data` with a trained detector, infer its threshold and evaluate: (scores, threshold, metrics, warnings)."""
    warnings = [w for w in (bottleneck_warning(config.model, data.sample_shape), detector.history_.warning) if w]
    if data.streamed and config.score.baselines:
        warnings.append(
            f"the classical baselines ({', '.join(config.score.baselines)}) need every sample in memory and were "
            f"skipped for the streamed folder {config.data.dataset}"
        )
    started = time.perf_counter()
    scores = detector.train_scores_ if data.x_score is data.x_train else detector.score_samples(data.x_score)
    score_seconds = time.perf_counter() - started
    warnings += [w for w in (constant_scores_warning(scores),) if w]
    threshold = detector.infer_threshold(scores, data.labels)
    return scores, threshold, summarize(scores, data, threshold, detector.history_, score_seconds, warnings), warnings


def start_baselines(
    config: ExperimentConfig, data: ExperimentData, detector: AutoencoderDetector, background: bool
) -> BaselineRun:
    """The baselines of `config` on `data`'s rows as `detector` sees them; computed now, or started in a thread.
    None run on streamed data (a folder too large for memory)."""
    if data.streamed:
        return BaselineRun([], None, None, data.labels, config.seed).run()
    x_train = flatten(detector.transform(data.x_train))
    x_score = None if data.x_score is data.x_train else flatten(detector.transform(data.x_score))
    n_scored = len(data.x_score)
    run = BaselineRun(
        config.score.baselines, x_train, x_score, data.labels, config.seed, lambda s: detector.per_item(s, n_scored)
    )
    return run.start() if background else run.run()


def summarize(
    scores: np.ndarray,
    data: ExperimentData,
    threshold: ThresholdChoice,
    history: History,
    score_seconds: float,
    warnings: list[str],
) -> dict:
    """metrics.json's content: the evaluation at the threshold plus how the run went, warnings included."""
    return (
        evaluate(scores, data.labels, threshold.value)
        | timeline_metrics(scores, data, threshold.value)
        | {
            "threshold_method": threshold.method,
            "threshold_explanation": threshold.explanation,
            "n_train": int(len(data.x_train)),
            "epochs_run": history.epochs_run,
            "stopped": history.stopped,
            "train_seconds": round(history.seconds, 3),
            "score_seconds": round(score_seconds, 3),
            "warnings": warnings,
        }
    )


def timeline_metrics(scores: np.ndarray, data: ExperimentData, threshold: float) -> dict:
    """{"events": core.events.event_metrics(...)} for a time series (scores per timestamp), else {}."""
    if data.timestamps is None:
        return {}
    return {"events": event_metrics(scores, data.labels, threshold, data.timestamps)}
