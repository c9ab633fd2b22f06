"""The autoencoder outlier detector: fit on normal-ish data, score by reconstruction error, flag above a threshold.

The detector owns its preprocessing: it takes raw samples everywhere (`fit`, `score_samples`, `predict`,
`reconstruct`), min-max scales series with statistics fitted on the training samples, and maps
reconstructions back to raw units. For a time series it also cuts the series into sliding windows and
spreads the window errors back onto the timestamps (core.timeseries), so its scores are per timestamp.
Saved as a folder: `model.keras` (loaded with safe_mode=True, never
unpickled), `detector.json` (settings, kind, sample shape, series scaler and the threshold inferred from data)
and, when `train.tensorboard` is on, the TensorBoard logs of its training in `tensorboard/`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path

import keras
import numpy as np
from sklearn.mixture import GaussianMixture

from core import distribute, timeseries
from core.config import ModelConfig, ScoreConfig, ThresholdConfig, TrainConfig
from core.data import IMAGE, SERIES, TIMESERIES
from core.data.images import image_background
from core.data.stream import ImageFiles
from core.errors import ConfigError, DataError, NotFittedError, RunError
from core.models import auto_sizes, build_autoencoder
from core.scoring import reconstruct, reconstruction_errors
from core.series_transforms import AnomalyLikelihood, CausalWindows
from core.tabular import ColumnScaler, density_components
from core.thresholds import ThresholdChoice, choose_threshold
from core.training import History, TrainingListener, copied_for_training, train_autoencoder, training_model

MODEL_FILE = "model.keras"
DETECTOR_FILE = "detector.json"
TENSORBOARD_DIR = "tensorboard"


class AutoencoderDetector:
    """Autoencoder reconstruction-error detector, in the shape of a scikit-learn estimator.

    Parameters are the experiment config's sections, and `kind`: "image" (samples (h, w, c) in [0, 1], used
    as they are), "series" (samples (length,) of raw values, min-max scaled with the minimum and maximum of
    the training samples; with `per_feature`, for tables whose columns have units of their own, each column
    scaled on its own and blank cells (NaN) filled by core.tabular.ColumnScaler, decoded by a linear output
    layer) or "timeseries"; None infers it at `fit` from the sample rank (3: image, else series).

    A "timeseries" detector takes whole series (n_timestamps, channels) of raw values in `fit` and
    `score_samples`: with `scaling` "robust" each channel is robust-scaled (core.tabular.ColumnScaler per channel: median
    and interquartile range of the training series; the decoder's output is linear, so values beyond the training
    range keep their distance instead of being squashed), with "minmax" min-max scaled into a sigmoid output; cut into windows of `window` steps every `stride` steps, and each
    timestamp scored by the `score.aggregate` ("mean" or "max") of the errors of the windows covering it, or
    with `score.causal` by the error of the window ending at it (series_transforms.CausalWindows). With
    `score.likelihood` those errors become anomaly likelihoods in [0, 1] (series_transforms.AnomalyLikelihood,
    fitted on the training errors: `likelihood_`). Runs saved before robust scaling keep their min-max scaler.
    `reconstruct` takes windows (n, window) or (n, window, channels).

    Fitted attributes: `model_`, `history_`, `kind_`, `sample_shape_`, `scaler_` ({"min", "max"} for series,
    per-channel lists for time series; ColumnScaler.to_dict() with `per_feature`; else None), `train_scores_` (n_train,)
    per sample or per training timestamp, `background_` (images: the median brightness of the training images'
    borders in [0, 1], which tells whether they are light drawn on dark or dark on light; None for other kinds
    and for runs saved before it existed), `log_dir_` (the folder of its TensorBoard logs, or None) and, until
    saved and loaded again, `trainee_` (the compiled model whose optimizer state `fit_more` carries on).
    `infer_threshold` sets `threshold_` (ThresholdChoice).
    """

    def __init__(
        self,
        model: ModelConfig = ModelConfig(),
        train: TrainConfig = TrainConfig(),
        score: ScoreConfig = ScoreConfig(),
        threshold: ThresholdConfig = ThresholdConfig(),
        seed: int = 42,
        kind: str | None = None,
        window: int | None = None,
        stride: int = 1,
        per_feature: bool = False,
        scaling: str = "robust",
    ):
        self.model = model
        self.train = train
        self.score = score
        self.threshold = threshold
        self.seed = seed
        self.kind = kind
        self.window = window
        self.stride = stride
        self.per_feature = per_feature
        self.scaling = scaling

    def fit(
        self, x: np.ndarray, listener: TrainingListener | None = None, stop_event: threading.Event | None = None
    ) -> AutoencoderDetector:
        """Fit the scaler (series), train on raw samples x of shape (n, *sample_shape), score the training samples.

        x may also be core.data.stream.ImageFiles (a folder of images too large for memory), streamed through
        tf.data for training and scoring. The model is built in the tf.distribute strategy of `train.strategy`
        (core.distribute), in mixed precision when `train.mixed_precision` is on and a GPU is visible.
        Sets `train_scores_`; the threshold is chosen afterwards by `infer_threshold`.
        """
        streamed = isinstance(x, ImageFiles)
        if not streamed:
            x = _check_samples(x, blanks=self.per_feature)
        if {"ssim", "ssim_mse"} & {self.score.error, self.train.loss} and x.ndim != 4:
            raise ConfigError(
                "the 'ssim' and 'ssim_mse' errors compare images; use 'mse', 'mae' or 'bce' for series or tables"
            )
        keras.utils.set_random_seed(self.seed)
        self.kind_ = self.kind or (IMAGE if x.ndim == 4 else SERIES)
        self.__dict__.pop("threshold_", None)  # a threshold of an earlier fit does not apply to this model
        output = "sigmoid"
        if self.kind_ == TIMESERIES:
            self.sample_shape_ = (self.window,) if x.shape[1] == 1 else (self.window, x.shape[1])
            if self.scaling == "minmax":
                self.scaler_ = {"min": x.min(axis=0).tolist(), "max": x.max(axis=0).tolist()}
            else:
                robust = ColumnScaler().fit(x)
                self.scaler_, output = {"center": robust.center_.tolist(), "scale": robust.scale_.tolist()}, "linear"
            samples = self._windows(x)
        else:
            self.sample_shape_ = tuple(x.shape[1:])
            if self.kind_ != SERIES:
                self.scaler_ = None
            elif self.per_feature:
                self.scaler_ = ColumnScaler().fit(x).to_dict()
            else:
                self.scaler_ = {"min": float(x.min()), "max": float(x.max())}
            samples = x if streamed else self._scale(x)
        self.background_ = image_background(x) if self.kind_ == IMAGE else None
        mixed = distribute.use_mixed_precision(self.train.mixed_precision)
        with distribute.strategy_for(self.train.strategy).scope():
            columns = self._column_scaler()
            bounds = None if columns is None else (columns.low_, columns.high_)
            output = "linear" if columns is not None else output
            self.model_ = build_autoencoder(self.model, self.sample_shape_, self.seed, mixed, output, bounds)
        self.trainee_ = training_model(self.model_, self.train, self.seed)
        self.log_dir_ = self._new_log_dir()
        self.history_: History = self._train(samples, listener, stop_event)
        self._score_training(x, samples)
        return self

    def fit_more(
        self,
        x: np.ndarray,
        epochs: int,
        listener: TrainingListener | None = None,
        stop_event: threading.Event | None = None,
    ) -> AutoencoderDetector:
        """Train the fitted model `epochs` more epochs on x, the raw samples it was fitted on, and score them again.

        Like scikit-learn's warm_start, the model itself trains on: as Keras' fit(initial_epoch=...) on the same
        compiled model, its optimizer state carries on (a detector loaded from a saved run has none kept: a new
        Adam optimizer at `train.learning_rate` goes on). `history_` becomes a new History with the earlier epochs
        followed by the new ones, numbered on; `train.epochs` becomes the epochs run in all. The scaler stays;
        early stopping and the divergence guard act as in `fit` (a NaN loss keeps the last good weights, at worst
        those it started from). TensorBoard logs go on in a new folder holding a copy of the earlier ones.
        The threshold is unset: infer it again.
        """
        self._check_is_fitted("fit_more")
        if self.kind_ == TIMESERIES:
            samples = self._windows(_check_samples(x))
        elif isinstance(x, ImageFiles):
            samples = x
        else:
            samples = self._prepare(x, "fit_more")
        self.train = dataclasses.replace(self.train, epochs=self.history_.epochs_run + epochs)
        self.__dict__.pop("threshold_", None)
        if not self.keeps_optimizer_state:
            self.trainee_ = training_model(self.model_, self.train, self.seed)
        self.log_dir_ = self._new_log_dir(earlier=getattr(self, "log_dir_", None))
        self.history_ = self._train(samples, listener, stop_event, earlier=self.history_)
        self._score_training(x, samples)
        return self

    def _train(self, samples, listener, stop_event, earlier: History | None = None) -> History:
        """Train `trainee_` on prepared samples (a table's clipped, `_learned`), going on from `earlier`'s epochs."""
        return train_autoencoder(
            self.model_,
            self._learned(samples),
            self.train,
            self.seed,
            listener,
            stop_event,
            self.trainee_,
            earlier=earlier,
            log_dir=self.log_dir_,
        )

    def copy_for_training(self) -> AutoencoderDetector:
        """A copy of this fitted detector whose model, weights and optimizer state included, is its own: `fit_more`
        on it leaves this one, and the results it scored, as they are."""
        self._check_is_fitted("copy_for_training")
        twin = copy.copy(self)
        twin.model_, twin.trainee_ = copied_for_training(
            self.model_, getattr(self, "trainee_", None), self.train, self.seed
        )
        return twin

    @property
    def keeps_optimizer_state(self) -> bool:
        """Whether `fit_more` goes on with the optimizer state of the last training (not after a save and load)."""
        return getattr(self, "trainee_", None) is not None

    def _score_training(self, x, samples) -> None:
        """Set `train_scores_` (and the code density) from the trained model: x raw, `samples` as the model takes them."""
        errors = self._errors(samples)
        self.density_ = None
        components = density_components(self.score.density_components, self._column_scaler() is not None)
        if components and self.kind_ != TIMESERIES:
            self.density_ = fit_code_density(self._codes(samples), errors, components, self.seed)
        if self.kind_ != TIMESERIES:
            self.train_scores_ = self._combine(samples, errors)
            return
        if self.score.causal and self.stride != 1:
            errors = self._errors(self._windows(x, stride=1))
        raw = self._raw_per_timestamp(errors, len(x))
        self.likelihood_ = AnomalyLikelihood().fit(raw[np.isfinite(raw)]) if self.score.likelihood else None
        self.train_scores_ = self._timestamp_scores(raw)

    def _new_log_dir(self, earlier: str | None = None) -> str | None:
        """Where training writes TensorBoard logs: `train.tensorboard_dir`, else with `train.tensorboard` on a new
        temporary folder (holding a copy of the `earlier` logs) that `save` copies into the run; else None."""
        if self.train.tensorboard_dir:
            return self.train.tensorboard_dir
        if not self.train.tensorboard:
            return None
        folder = tempfile.mkdtemp(prefix="anomaly-studio-tensorboard-")
        if earlier is not None and Path(earlier).is_dir():
            shutil.copytree(earlier, folder, dirs_exist_ok=True)
        return folder

    def infer_threshold(self, scores: np.ndarray | None = None, labels: np.ndarray | None = None) -> ThresholdChoice:
        """Choose the threshold as `self.threshold` says, keep it as `threshold_` and return it.

        scores: (n,) errors of the scored samples (default: the training errors `train_scores_`);
        labels: (n,) 1 = anomaly, 0 = normal, needed by the "fpr" and "best_f1" methods.
        The only place the threshold is set.
        """
        self._check_is_fitted("infer_threshold")
        scores = self.train_scores_ if scores is None else scores
        self.threshold_ = choose_threshold(self.threshold, scores, self.train_scores_, labels)
        return self.threshold_

    def score_samples(self, x: np.ndarray) -> np.ndarray:
        """Reconstruction errors (n,) of raw samples; higher = more anomalous.

        x: (n, *sample_shape); also (n, h, w) for single-channel images and flat (n, prod(sample_shape)) rows.
        A time-series detector takes a series (n_timestamps, channels) and scores each timestamp: (n_timestamps,).
        """
        if getattr(self, "kind_", None) == TIMESERIES:
            self._check_is_fitted("score_samples")
            x = _check_samples(x)
            stride = 1 if self.score.causal else self.stride
            return self._timestamp_scores(self._raw_per_timestamp(self._errors(self._windows(x, stride)), len(x)))
        if isinstance(x, ImageFiles):
            self._check_is_fitted("score_samples")
            if x.sample_shape != self.sample_shape_:
                raise DataError(f"expected samples of shape {self.sample_shape_}, got {x.sample_shape}")
            return self._combine(x, self._errors(x))
        x = self._prepare(x, "score_samples")
        return self._combine(x, self._errors(x))

    def _errors(self, samples) -> np.ndarray:
        """Reconstruction errors of samples as the model takes them (an array, or ImageFiles streamed)."""
        return reconstruction_errors(self.model_, samples, self.score.error, self.score.batch_size)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Raw samples as the model sees them: float32 (n, *sample_shape), series min-max scaled; for a time
        series (n_timestamps, channels), its scaled windows (n_windows, *sample_shape).

        x: as `score_samples` takes it. What the classical baselines are fitted on, so they see the same samples.
        """
        if getattr(self, "kind_", None) == TIMESERIES:
            self._check_is_fitted("transform")
            return self._windows(_check_samples(x))
        return self._prepare(x, "transform")

    def encode(self, x: np.ndarray) -> np.ndarray:
        """The encoder's codes (n, latent_dim) of raw samples, prepared as `score_samples` prepares them (scaled).

        x: as `score_samples` takes it. A time-series detector takes a series (n_timestamps, channels) and
        gives one code per window, as `transform` cuts them: (n_windows, latent_dim).
        """
        return self._codes(self.transform(x))

    def per_item(self, window_scores: np.ndarray, n: int) -> np.ndarray:
        """Scores of what `transform` gave, as `score_samples` reports them: for a time series of `n` timestamps,
        each timestamp gets the `score.aggregate` of its windows' scores; other samples' scores as they are."""
        if getattr(self, "kind_", None) == TIMESERIES:
            starts = timeseries.window_starts(n, self.window, self.stride)
            return timeseries.per_timestamp(np.asarray(window_scores), starts, self.window, n, self.score.aggregate)
        return np.asarray(window_scores)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """1 for raw samples whose error exceeds the threshold, else 0; shape (n,), int8."""
        self._check_is_fitted("predict")
        if not hasattr(self, "threshold_"):
            raise NotFittedError("this detector has no threshold yet; call infer_threshold(scores) before predict")
        return (self.score_samples(x) > self.threshold_.value).astype(np.int8)

    def reconstruct(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(reconstructions, per-feature error maps) of a few raw samples, both (n, *sample_shape), in raw units.

        Series reconstructions are mapped back to the raw values; their mse and mae error maps are the squared
        and absolute differences in raw units (bce maps stay on the scaled values, where they are defined).
        """
        x = self._prepare(x, "reconstruct")
        x_hat, error_maps = reconstruct(self.model_, x, self.score.error, self.score.batch_size)
        columns = self._column_scaler()
        if columns is not None:
            x_hat = columns.inverse_transform(x_hat)
            if self.score.error in ("mse", "mae"):
                error_maps = error_maps * (columns.scale_**2 if self.score.error == "mse" else columns.scale_)
        elif self.scaler_ is not None:
            span, offset = self._span_and_offset()
            x_hat = x_hat * span + offset
            if self.score.error in ("mse", "mae"):
                error_maps = error_maps * (span**2 if self.score.error == "mse" else span)
        return x_hat, error_maps

    def worst_window(self, series: np.ndarray, index: int) -> tuple[int, np.ndarray]:
        """Of the windows of a raw series (n_timestamps, channels) that cover timestamp `index`, the one rebuilt
        worst: its start and its reconstruction (window, channels) in raw units (time-series detectors only)."""
        self._check_is_fitted("worst_window")
        series = _check_samples(series)
        starts = timeseries.window_starts(len(series), self.window, self.stride)
        starts = starts[timeseries.covering(index, starts, self.window)]
        windows = timeseries.as_samples(np.stack([series[start : start + self.window] for start in starts]))
        x_hat, error_maps = self.reconstruct(windows)
        worst = int(np.argmax(error_maps.reshape(len(starts), -1).mean(axis=1)))
        return int(starts[worst]), x_hat[worst].reshape(self.window, -1)

    def save(self, folder: Path) -> None:
        """Write model.keras and detector.json into an existing folder."""
        self._check_is_fitted("save")
        folder = Path(folder)
        self.model_.save(folder / MODEL_FILE)
        threshold = getattr(self, "threshold_", None)
        likelihood: AnomalyLikelihood | None = getattr(self, "likelihood_", None)
        state = {
            "model": dataclasses.asdict(self.model),
            "train": dataclasses.asdict(self.train),
            "score": dataclasses.asdict(self.score),
            "threshold": dataclasses.asdict(self.threshold),
            "seed": self.seed,
            "kind": self.kind_,
            "window": self.window,
            "stride": self.stride,
            "per_feature": self.per_feature,
            "scaling": self.scaling,
            "scaler": self.scaler_,
            "sample_shape": list(self.sample_shape_),
            "threshold_choice": None if threshold is None else dataclasses.asdict(threshold),
            "train_scores": [float(s) for s in self.train_scores_],
            "density": getattr(self, "density_", None),
            "likelihood_min_std": None if likelihood is None else likelihood.min_std_,
            "background": getattr(self, "background_", None),
        }
        (folder / DETECTOR_FILE).write_text(json.dumps(state), encoding="utf-8")
        log_dir = getattr(self, "log_dir_", None)
        if self.train.tensorboard and log_dir is not None and Path(log_dir).is_dir():
            shutil.copytree(log_dir, folder / TENSORBOARD_DIR)

    @classmethod
    def load(cls, folder: Path) -> AutoencoderDetector:
        """The detector saved in `folder`, ready to score raw samples; raises RunError when it cannot be read."""
        folder = Path(folder)
        try:
            state = json.loads((folder / DETECTOR_FILE).read_text(encoding="utf-8"))
            scaler = state["scaler"]
            # Files written before "kind" was stored: only series had a scaler.
            kind = state.get("kind") or (SERIES if scaler is not None else IMAGE)
            detector = cls(
                ModelConfig(**state["model"]),
                TrainConfig(**state["train"]),
                ScoreConfig(**state["score"]),
                ThresholdConfig(**state["threshold"]),
                state["seed"],
                kind,
                state.get("window"),
                state.get("stride", 1),
                state.get("per_feature", False),
                state.get("scaling", "minmax"),  # runs saved before robust scaling scaled min-max
            )
            detector.kind_ = kind
            detector.scaler_ = None if scaler is None else {key: scaler[key] for key in _SCALER_KEYS & scaler.keys()}
            detector.likelihood_ = None
            if state.get("likelihood_min_std") is not None:
                detector.likelihood_ = AnomalyLikelihood()
                detector.likelihood_.min_std_ = float(state["likelihood_min_std"])
            detector.sample_shape_ = tuple(state["sample_shape"])
            if state["threshold_choice"] is not None:
                detector.threshold_ = ThresholdChoice(**state["threshold_choice"])
            detector.train_scores_ = np.asarray(state["train_scores"], dtype=np.float32)
            detector.density_ = state.get("density")
            detector.log_dir_ = str(folder / TENSORBOARD_DIR) if (folder / TENSORBOARD_DIR).is_dir() else None
            detector.background_ = state.get("background")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunError(f"{folder} holds no readable detector ({DETECTOR_FILE}): {exc}") from None
        if not (folder / MODEL_FILE).is_file():
            raise RunError(f"{folder} has no {MODEL_FILE}; the run is incomplete")
        if not zipfile.is_zipfile(folder / MODEL_FILE):  # Keras would then look for a SavedModel: "File not found"
            raise RunError(f"{folder / MODEL_FILE} is damaged: it is not a Keras model archive")
        try:
            detector.model_ = keras.saving.load_model(folder / MODEL_FILE, compile=False, safe_mode=True)
        except Exception as exc:  # Keras raises many kinds for a damaged or foreign file
            raise RunError(
                f"{folder / MODEL_FILE} cannot be loaded as a Keras model: {str(exc).splitlines()[0]}"
            ) from None
        return detector

    # ------------------------------------------------------------------------------------- code density

    def _codes(self, x: np.ndarray) -> np.ndarray:
        """The encoder's codes (n, latent_dim) of prepared samples, in batches."""
        encoder = self.model_.get_layer("encoder")
        size = self.score.batch_size
        batches = [
            np.asarray(encoder(_loaded(x[start : start + size]), training=False)) for start in range(0, len(x), size)
        ]
        if not batches:
            return np.empty((0, int(auto_sizes(self.model, self.sample_shape_).latent_dim)))
        return np.concatenate(batches).reshape(len(x), -1)

    def _combine(self, x: np.ndarray, errors: np.ndarray) -> np.ndarray:
        """The scores of prepared samples x: their errors, or with a code density the sum of both z-scores."""
        density = getattr(self, "density_", None)
        if density is None:
            return errors
        return density_scores(density, self._codes(x), errors)

    # ------------------------------------------------------------------------------------- preprocessing

    def _check_is_fitted(self, method: str) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"this detector is not fitted yet; call fit(x) or load a saved one before {method}")

    def _prepare(self, x: np.ndarray, method: str) -> np.ndarray:
        """Raw samples → float32 (n, *sample_shape) as the model takes them: reshaped, and scaled for series."""
        self._check_is_fitted(method)
        x = _check_samples(x, blanks=self._column_scaler() is not None)
        shape = self.sample_shape_
        if x.shape[1:] != shape:
            if len(shape) == 3 and shape[-1] == 1 and x.shape[1:] == shape[:2]:
                x = x[..., np.newaxis]  # (n, h, w) single-channel images
            elif x.ndim == 2 and len(shape) > 1 and x.shape[1] == math.prod(shape):
                x = x.reshape((len(x),) + shape)  # flat rows
            else:
                raise DataError(f"expected samples of shape {shape}, got {tuple(x.shape[1:])}")
        return self._scale(x)

    def _scale(self, x: np.ndarray) -> np.ndarray:
        """Series min-max scaled with the fitted scaler (per channel, last axis, for time series), as a new float32
        array; other samples as they are."""
        if self.scaler_ is None:
            return x
        columns = self._column_scaler()
        if columns is not None:
            return columns.transform(x)
        span, offset = self._span_and_offset()
        scaled = np.array(x, dtype=np.float32)
        scaled -= offset
        scaled /= span
        return scaled

    def _learned(self, samples):
        """What the model trains on: a table's rows clipped to each column's typical range (ColumnScaler.clip)."""
        columns = self._column_scaler()
        return samples if columns is None else columns.clip(samples)

    def _column_scaler(self) -> ColumnScaler | None:
        """The per-column scaler of a table (runs saved before it were min-max scaled per column), else None."""
        scaler = getattr(self, "scaler_", None)
        return ColumnScaler.from_dict(scaler) if self.per_feature and scaler is not None and "low" in scaler else None

    def _span_and_offset(self) -> tuple[np.ndarray, np.ndarray]:
        """(span, offset) of the scaler, scaled = (raw − offset) / span: float32 scalars, or (channels,) for time
        series. Min-max: max − min (1 where that is 0) and min; robust: ColumnScaler's scale and center."""
        if "center" in self.scaler_:
            return np.asarray(self.scaler_["scale"], np.float32), np.asarray(self.scaler_["center"], np.float32)
        span = np.asarray(self.scaler_["max"], np.float32) - np.asarray(self.scaler_["min"], np.float32)
        return np.where(span > 0, span, np.float32(1)).astype(np.float32), np.asarray(self.scaler_["min"], np.float32)

    def _windows(self, series: np.ndarray, stride: int | None = None) -> np.ndarray:
        """The scaled windows (n_windows, *sample_shape) of a raw series (n_timestamps, channels), every `stride`
        (default: the detector's) steps."""
        channels = 1 if len(self.sample_shape_) == 1 else self.sample_shape_[-1]
        if series.ndim != 2 or series.shape[1] != channels:
            raise DataError(f"expected a series of shape (n_timestamps, {channels}), got {series.shape}")
        windows = timeseries.sliding_windows(self._scale(series), self.window, stride or self.stride)
        return np.ascontiguousarray(timeseries.as_samples(windows))

    def _raw_per_timestamp(self, errors: np.ndarray, n: int) -> np.ndarray:
        """Window errors (n_windows,) onto the n timestamps: with `score.causal` those of the stride-1 windows
        ending at each (NaN before the first), else aggregated over the windows covering each."""
        if self.score.causal:
            return CausalWindows(self.window).per_timestamp(errors, n)
        starts = timeseries.window_starts(n, self.window, self.stride)
        return timeseries.per_timestamp(errors, starts, self.window, n, self.score.aggregate)

    def _timestamp_scores(self, raw: np.ndarray) -> np.ndarray:
        """The per-timestamp scores (n,) of raw per-timestamp errors: the likelihoods (float64, whose digits near 1
        still rank), or the errors (float32); timestamps not scored yet (NaN) score 0."""
        likelihood = getattr(self, "likelihood_", None)
        if likelihood is not None:
            return likelihood.transform(raw)
        return np.nan_to_num(raw, nan=0.0).astype(np.float32)


_TINY = 1e-12
_SCALER_KEYS = {
    "min",
    "max",
    "center",
    "scale",
    "low",
    "high",
}  # min-max, robust (time series) or ColumnScaler (tables)


def code_log_likelihood(density: dict, codes: np.ndarray) -> np.ndarray:
    """log p(code) (n,) under the Gaussian mixture in `density` (weights, means, precision Cholesky factors)."""
    codes = np.asarray(codes, dtype=np.float64)
    per_component = []
    for weight, mean, cholesky in zip(density["weights"], density["means"], density["precision_cholesky"], strict=True):
        cholesky = np.asarray(cholesky)
        projected = (codes - np.asarray(mean)) @ cholesky
        log_det = np.sum(np.log(np.diag(cholesky)))
        per_component.append(
            np.log(weight) + log_det - 0.5 * (codes.shape[1] * np.log(2 * np.pi) + np.sum(projected**2, axis=1))
        )
    stacked = np.stack(per_component, axis=1)
    top = stacked.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(stacked - top).sum(axis=1, keepdims=True)))[:, 0]


def fit_code_density(codes: np.ndarray, errors: np.ndarray, components: int, seed: int) -> dict:
    """A mixture of `components` full-covariance Gaussians over the training codes (n, d), and the training
    means and stds that turn code log-likelihoods and log errors (n,) into z-scores. JSON-able lists and floats.

    The covariances get a ridge (1e-3 on the diagonal), so that dead (constant) code units do not make them singular.
    """
    codes = np.asarray(codes, dtype=np.float64)
    components = max(1, min(components, len(codes)))
    mixture = GaussianMixture(components, covariance_type="full", reg_covar=1e-3, random_state=seed).fit(codes)
    density = {
        "weights": mixture.weights_.tolist(),
        "means": mixture.means_.tolist(),
        "precision_cholesky": mixture.precisions_cholesky_.tolist(),
    }
    surprise = -code_log_likelihood(density, codes)
    log_error = np.log(np.asarray(errors, dtype=np.float64) + _TINY)
    density["code_nll"] = [float(surprise.mean()), float(surprise.std()) or 1.0]
    density["error_log"] = [float(log_error.mean()), float(log_error.std()) or 1.0]
    return density


def density_scores(density: dict, codes: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """(log error − its training mean) / its training std + the same for the code's negative log-likelihood: (n,)."""
    surprise = -code_log_likelihood(density, codes)
    log_error = np.log(np.asarray(errors, dtype=np.float64) + _TINY)
    (code_mean, code_std), (error_mean, error_std) = density["code_nll"], density["error_log"]
    return ((log_error - error_mean) / error_std + (surprise - code_mean) / code_std).astype(np.float32)


def _loaded(batch):
    """A batch of prepared samples as an array: streamed image files (core.data.stream.ImageFiles) are decoded."""
    return batch.load() if isinstance(batch, ImageFiles) else batch


def _check_samples(x: np.ndarray, blanks: bool = False) -> np.ndarray:
    """x as float32 (n, ...); DataError for NaN or infinite values (NaN allowed with `blanks`: a table's blank cells)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise DataError(f"expected a batch of samples of shape (n, ...), got an array of shape {x.shape}")
    if not (np.isfinite(x) | (blanks & np.isnan(x))).all():
        raise DataError(f"the samples hold {int((~np.isfinite(x)).sum())} NaN or infinite values")
    return x
