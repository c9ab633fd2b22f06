"""The autoencoder outlier detector: fit on normal-ish data, score by reconstruction error, flag above a threshold.

Saved as a folder: `model.keras` (loaded with safe_mode=True, never unpickled) and `detector.json`
(settings, sample shape, series scaler and the threshold inferred from data).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path
from typing import Optional

import keras
import numpy as np

from core.config import ModelConfig, ScoreConfig, ThresholdConfig, TrainConfig
from core.errors import ConfigError, DataError, RunError
from core.models import build_autoencoder
from core.scoring import reconstruct, reconstruction_errors
from core.thresholds import ThresholdChoice, choose_threshold
from core.training import History, TrainingListener, train_autoencoder

MODEL_FILE = "model.keras"
DETECTOR_FILE = "detector.json"
_LABEL_METHODS = ("fpr", "best_f1")


class AutoencoderDetector:
    """Autoencoder reconstruction-error detector, in the shape of a scikit-learn estimator.

    Parameters are the experiment config's sections; `scaler` ({"min", "max"}) records how series were
    scaled before `fit`, so that new raw samples can be scaled the same way at scoring time.
    Fitted attributes: `model_`, `history_`, `train_scores_` (n_train,), `threshold_` (ThresholdChoice).
    """

    def __init__(
        self,
        model: ModelConfig = ModelConfig(),
        train: TrainConfig = TrainConfig(),
        score: ScoreConfig = ScoreConfig(),
        threshold: ThresholdConfig = ThresholdConfig(),
        seed: int = 42,
        scaler: Optional[dict] = None,
    ):
        self.model = model
        self.train = train
        self.score = score
        self.threshold = threshold
        self.seed = seed
        self.scaler = scaler

    def fit(
        self, x: np.ndarray, listener: Optional[TrainingListener] = None, stop_event: Optional[threading.Event] = None
    ) -> "AutoencoderDetector":
        """Train on x of shape (n, *sample_shape), then infer the threshold from the training errors."""
        x = _check_samples(x)
        if "ssim" in (self.score.error, self.train.loss) and x.ndim != 4:
            raise ConfigError("the 'ssim' error compares images; use 'mse', 'mae' or 'bce' for series or tables")
        keras.utils.set_random_seed(self.seed)
        self.sample_shape_ = tuple(x.shape[1:])
        self.model_ = build_autoencoder(self.model, self.sample_shape_, self.seed)
        self.history_: History = train_autoencoder(self.model_, x, self.train, self.seed, listener, stop_event)
        self.train_scores_ = self.score_samples(x)
        if self.threshold.method not in _LABEL_METHODS:
            self.threshold_ = choose_threshold(self.threshold, self.train_scores_, self.train_scores_)
        return self

    def infer_threshold(self, scores: np.ndarray, labels: Optional[np.ndarray] = None) -> ThresholdChoice:
        """Choose the threshold from the scored samples' errors (and labels, for fpr / best_f1), and keep it."""
        self.threshold_ = choose_threshold(self.threshold, scores, self.train_scores_, labels)
        return self.threshold_

    def score_samples(self, x: np.ndarray) -> np.ndarray:
        """Reconstruction errors (n,) of samples (n, *sample_shape); higher = more anomalous."""
        x = self._check_fitted_shape(x)
        return reconstruction_errors(self.model_, x, self.score.error, self.score.batch_size)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """1 for samples whose error exceeds the threshold, else 0; shape (n,), int8."""
        return (self.score_samples(x) > self.threshold_.value).astype(np.int8)

    def reconstruct(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(reconstructions, per-feature error maps) of a few samples, both of x's shape."""
        return reconstruct(self.model_, self._check_fitted_shape(x), self.score.error, self.score.batch_size)

    def _check_fitted_shape(self, x: np.ndarray) -> np.ndarray:
        x = _check_samples(x)
        if tuple(x.shape[1:]) != self.sample_shape_:
            raise DataError(f"expected samples of shape {self.sample_shape_}, got {tuple(x.shape[1:])}")
        return x

    def save(self, folder: Path) -> None:
        """Write model.keras and detector.json into an existing folder."""
        folder = Path(folder)
        self.model_.save(folder / MODEL_FILE)
        state = {
            "model": dataclasses.asdict(self.model), "train": dataclasses.asdict(self.train),
            "score": dataclasses.asdict(self.score), "threshold": dataclasses.asdict(self.threshold),
            "seed": self.seed, "scaler": self.scaler, "sample_shape": list(self.sample_shape_),
            "threshold_choice": dataclasses.asdict(self.threshold_),
            "train_scores": [float(s) for s in self.train_scores_],
        }
        (folder / DETECTOR_FILE).write_text(json.dumps(state), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "AutoencoderDetector":
        folder = Path(folder)
        try:
            state = json.loads((folder / DETECTOR_FILE).read_text(encoding="utf-8"))
            detector = cls(
                ModelConfig(**state["model"]), TrainConfig(**state["train"]), ScoreConfig(**state["score"]),
                ThresholdConfig(**state["threshold"]), state["seed"], state["scaler"],
            )
            detector.sample_shape_ = tuple(state["sample_shape"])
            detector.threshold_ = ThresholdChoice(**state["threshold_choice"])
            detector.train_scores_ = np.asarray(state["train_scores"], dtype=np.float32)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunError(f"{folder} holds no readable detector ({DETECTOR_FILE}): {exc}") from None
        try:
            detector.model_ = keras.saving.load_model(folder / MODEL_FILE, compile=False, safe_mode=True)
        except Exception as exc:  # Keras raises many kinds for a damaged or foreign file
            raise RunError(f"{folder / MODEL_FILE} cannot be loaded as a Keras model: {str(exc).splitlines()[0]}") from None
        return detector


def _check_samples(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise DataError(f"expected a batch of samples of shape (n, ...), got an array of shape {x.shape}")
    if not np.isfinite(x).all():
        raise DataError(f"the samples hold {int((~np.isfinite(x)).sum())} NaN or infinite values")
    return x
