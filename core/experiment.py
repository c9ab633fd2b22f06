"""One experiment end to end: data → autoencoder → scores → threshold → metrics."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np

from core.baselines import BaselineRun, flatten
from core.config import ExperimentConfig
from core.data import ExperimentData, build_experiment_data
from core.detector import AutoencoderDetector
from core.errors import ConfigError
from core.models import bottleneck_warning
from core.result import ExperimentResult, RunFacts
from core.scoring import constant_scores_warning
from core.thresholds import ThresholdChoice
from core.training import TrainingListener

__all__ = ["ExperimentResult", "continue_experiment", "detector_for", "run_experiment"]


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
    before this returns, or with `baselines_in_background` in a thread of their own (`result.baselines.done`);
    `metrics["baselines"]` holds their AUROC, AP, seconds and note once they are done.

    stream: read a dataset that is a folder of images through tf.data, never as one array (core.data.stream);
    the classical baselines, which need every sample in memory, are then skipped with a warning.
    """
    if data is None:
        data = build_experiment_data(config.data, config.seed, data_dir, stream=stream)
    detector = detector_for(config, data).fit(data.x_train, listener, stop_event)
    scores, threshold, facts = _evaluate(config, data, detector)
    baselines = start_baselines(config, data, detector, baselines_in_background)
    return ExperimentResult(config, data, detector, scores, threshold, facts, baselines).with_threshold(threshold)


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
    scores, threshold, facts = _evaluate(config, result.data, detector)
    continued = ExperimentResult(config, result.data, detector, scores, threshold, facts, result.baselines)
    return continued.with_threshold(threshold)


def continued_config(result: ExperimentResult, epochs: int) -> ExperimentConfig:
    """`result.config` with `train.epochs` the epochs run in all after `epochs` more; ConfigError for epochs < 1
    or a total beyond the limits of train.epochs."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"the number of more epochs must be a whole number of at least 1 (got {epochs!r})")
    total = result.history.epochs_run + epochs
    return result.config.replace(train=dataclasses.replace(result.config.train, epochs=total))


def _evaluate(
    config: ExperimentConfig, data: ExperimentData, detector: AutoencoderDetector
) -> tuple[np.ndarray, ThresholdChoice, RunFacts]:
    """Score `data` with a trained detector and infer its threshold: (scores, threshold, facts)."""
    warnings = [w for w in (bottleneck_warning(config.model, data.sample_shape), detector.history_.warning) if w]
    if data.streamed and config.score.baselines:
        warnings.append(
            f"the classical baselines ({', '.join(config.score.baselines)}) need every sample in memory and were "
            f"skipped for the streamed folder {config.data.dataset}"
        )
    started = time.perf_counter()
    scores = detector.train_scores_ if data.transductive else detector.score_samples(data.x_score)
    score_seconds = time.perf_counter() - started
    warnings += [w for w in (constant_scores_warning(scores),) if w]
    threshold = detector.infer_threshold(scores, data.labels)
    return scores, threshold, RunFacts(int(len(data.x_train)), score_seconds, tuple(warnings))


def start_baselines(
    config: ExperimentConfig, data: ExperimentData, detector: AutoencoderDetector, background: bool
) -> BaselineRun:
    """The baselines of `config` on `data`'s rows as `detector` sees them; computed now, or started in a thread.
    None run on streamed data (a folder too large for memory)."""
    if data.streamed:
        return BaselineRun([], None, None, data.labels, config.seed).run()
    x_train = flatten(detector.transform(data.x_train))
    x_score = None if data.transductive else flatten(detector.transform(data.x_score))
    n_scored = len(data.x_score)
    run = BaselineRun(
        config.score.baselines, x_train, x_score, data.labels, config.seed, lambda s: detector.per_item(s, n_scored)
    )
    return run.start() if background else run.run()
