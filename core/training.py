"""Training with a live listener, a stop flag, early stopping and divergence detection."""

from __future__ import annotations

import bisect
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from core import distribute, losses
from core.config import TrainConfig
from core.errors import TrainingError


@dataclass
class Progress:
    """Where a training stands. Times in seconds; `loss` is the running mean of the current epoch."""

    epoch: int
    epochs: int
    batch: int
    batches_per_epoch: int
    loss: float
    val_loss: float | None
    elapsed_s: float
    eta_s: float | None

    @property
    def fraction_done(self) -> float:
        return min(1.0, ((self.epoch - 1) + self.batch / max(1, self.batches_per_epoch)) / self.epochs)


@dataclass
class History:
    """Losses per epoch, and per batch against fractional epochs (1.5 = half-way through epoch 2)."""

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    batch_epoch: list[float] = field(default_factory=list)
    stopped: str = "completed"  # or "early_stopping", "stopped", "diverged"
    best_epoch: int | None = None
    seconds: float = 0.0
    warning: str | None = None  # what went wrong without ending training: a divergence survived, a collapse
    continued_after: list[int] = field(default_factory=list)  # epochs after which a later call trained on

    @property
    def epochs_run(self) -> int:
        return len(self.loss)

    def to_dict(self) -> dict:
        return {
            "loss": self.loss,
            "val_loss": self.val_loss,
            "batch_loss": self.batch_loss,
            "batch_epoch": self.batch_epoch,
            "stopped": self.stopped,
            "best_epoch": self.best_epoch,
            "seconds": self.seconds,
            "warning": self.warning,
            "continued_after": self.continued_after,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> History:
        return cls(**{key: raw[key] for key in cls.__dataclass_fields__ if key in raw})

    def continued(self) -> History:
        """A new history holding this one's epochs, for a training that goes on from them; this one is unchanged."""
        return History(
            loss=list(self.loss),
            val_loss=list(self.val_loss),
            batch_loss=list(self.batch_loss),
            batch_epoch=list(self.batch_epoch),
            seconds=self.seconds,
            continued_after=[*self.continued_after, self.epochs_run],
        )


class TrainingListener(Protocol):
    def on_batch(self, progress: Progress, history: History) -> None: ...

    def on_epoch(self, progress: Progress, history: History) -> None: ...


def split_validation(x, fraction: float, seed: int):
    """A seeded random hold-out: (training part, validation part or None when too small), of an array or of
    core.data.stream.ImageFiles."""
    n_validation = int(round(len(x) * fraction))
    if n_validation < 1 or len(x) - n_validation < 1:
        return x, None
    order = np.random.default_rng(seed).permutation(len(x))
    return x[np.sort(order[n_validation:])], x[np.sort(order[:n_validation])]


def _is_streamed(x) -> bool:
    return hasattr(x, "dataset")  # core.data.stream.ImageFiles


def _uses_mixed_precision(model: keras.Model) -> bool:
    return any(layer.dtype_policy.name == "mixed_float16" for layer in model._flatten_layers())


def training_model(model: keras.Model, config: TrainConfig, seed: int) -> keras.Model:
    """What training fits, compiled with a new Adam optimizer at `config.learning_rate`: `model`, or its denoising
    wrapper (see `denoising`), in the tf.distribute strategy `model` was built in (core.distribute), with XLA as
    `config.jit_compile` says and loss scaling for a mixed-precision model. Keep it to train on later with the
    optimizer's state (train_autoencoder's `trainee`)."""
    strategy = model.distribute_strategy
    with strategy.scope():
        trainee = denoising(model, config.noise, seed)
        optimizer = keras.optimizers.Adam(config.learning_rate)
        if _uses_mixed_precision(model):
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        jit_compile = config.jit_compile and distribute.jit_compile_allowed(strategy)
        trainee.compile(optimizer=optimizer, loss=losses.per_sample(config.loss), jit_compile=jit_compile)
    return trainee


def copied_for_training(
    model: keras.Model, trainee: keras.Model | None, config: TrainConfig, seed: int
) -> tuple[keras.Model, keras.Model]:
    """A copy of `model` (its weights included) and the model training fits around it (`training_model`), with
    the state of `trainee`'s optimizer when there is one: training the copy goes on as `trainee` would have,
    and leaves `model` as it is."""
    with model.distribute_strategy.scope():
        copy = model.__class__.from_config(model.get_config())  # clone_model would compile it with model's loss
        copy.set_weights(model.get_weights())
    copied_trainee = training_model(copy, config, seed)
    if trainee is not None and trainee.optimizer.built:
        optimizer = copied_trainee.optimizer
        optimizer.build(copied_trainee.trainable_variables)
        for target, source in zip(optimizer.variables, trainee.optimizer.variables, strict=True):
            target.assign(source)
    return copy, copied_trainee


def train_autoencoder(
    model: keras.Model,
    x_train,
    config: TrainConfig,
    seed: int,
    listener: TrainingListener | None = None,
    stop_event: threading.Event | None = None,
    trainee: keras.Model | None = None,
    earlier: History | None = None,
    log_dir: str | None = None,
) -> History:
    """Fit `model` to reconstruct `x_train` (n, *sample_shape); returns the history.

    x_train: an array, or core.data.stream.ImageFiles, streamed through tf.data (shuffled file order, decoded
    in parallel, prefetched), never held whole. `trainee`: the compiled model to fit (`training_model`; a new
    one by default), whose optimizer state carries on from earlier calls. The batch size is the global one.

    `earlier`: the history of epochs this model was trained already; training then goes on from them, as
    Keras' fit(initial_epoch=...) does, up to `config.epochs` in all, and the returned history holds them
    followed by the new ones (numbered on). `earlier` itself is left unchanged. The validation split is the same.
    `log_dir`: a folder for TensorBoard logs (epoch numbers continue there too), or None for none.

    Setting `stop_event` ends training after the current batch and keeps the weights trained so far
    (the best ones when early stopping is on). When the loss becomes NaN or infinite, training ends with
    the weights of the last epoch whose loss was finite (those it started from, when it goes on from `earlier`)
    and `history.warning` says so; TrainingError when that happens in the first epoch of a new model.
    A model that rebuilds every sample alike gets a warning too.
    """
    initial_epoch = earlier.epochs_run if earlier is not None else 0
    keras.utils.set_random_seed(seed + initial_epoch)  # so that going on does not replay the first epochs' shuffles
    streamed = _is_streamed(x_train)
    x_train = x_train if streamed else np.asarray(x_train, dtype=np.float32)
    x_fit, x_validation = split_validation(x_train, config.validation_fraction, seed)
    if not streamed:
        x_fit = repeated_to_steps(x_fit, config.batch_size)
    if trainee is None:
        trainee = training_model(model, config, seed)
    history = earlier.continued() if earlier is not None else History()
    watcher = _Watcher(config, len(x_fit), history, listener, stop_event)
    if earlier is not None:
        watcher.good_weights = trainee.get_weights()
    callbacks: list[keras.callbacks.Callback] = [watcher]
    early_stopping = None
    if config.early_stopping_patience is not None and x_validation is not None:
        early_stopping = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True
        )
        callbacks.append(early_stopping)
    if log_dir:
        callbacks.append(_TensorBoardLog(log_dir))
    with model.distribute_strategy.scope():
        _fit(trainee, x_fit, x_validation, streamed, config, seed + initial_epoch, callbacks, initial_epoch)
    history.seconds += time.perf_counter() - watcher.started
    advice = f"Lower the learning rate (now {config.learning_rate:g}) or check the data for extreme values."
    if history.stopped == "diverged":
        if watcher.good_weights is None:
            raise TrainingError(
                f"Training diverged: the loss became {watcher.bad_loss} in epoch {watcher.epoch}. {advice}"
            )
        model.set_weights(watcher.good_weights)
        history.warning = (
            f"Training diverged: the loss became {watcher.bad_loss} in epoch {watcher.epoch}, so the model of epoch "
            f"{history.epochs_run}, the last with a finite loss, is kept. {advice}"
        )
    else:
        history.warning = collapse_warning(model, x_fit[:512].load() if streamed else x_fit, advice)
    if early_stopping is not None:
        if early_stopping.stopped_epoch > 0 and history.stopped == "completed":
            history.stopped = "early_stopping"
        if early_stopping.best_epoch is not None and history.val_loss:
            history.best_epoch = int(early_stopping.best_epoch) + 1
    if history.best_epoch is None and history.loss:
        curve = history.val_loss if len(history.val_loss) == len(history.loss) else history.loss
        history.best_epoch = int(np.argmin(curve)) + 1
    return history


MIN_STEPS_PER_EPOCH = 16  # a 750-row span in batches of 128 gave 5 steps: too few for early stopping to judge


def repeated_to_steps(x: np.ndarray, batch_size: int, min_steps: int = MIN_STEPS_PER_EPOCH) -> np.ndarray:
    """x (n, ...) repeated whole, enough times that an epoch has at least `min_steps` batches of `batch_size`
    (x itself when it has them already): on a short training span an epoch is then a real step of training,
    and early stopping does not keep the weights of an epoch-1 model that rebuilds every sample alike."""
    repeats = math.ceil(min_steps * batch_size / max(len(x), 1))
    return x if repeats <= 1 else np.concatenate([x] * repeats)


def denoising(model: keras.Model, noise: float, seed: int) -> keras.Model:
    """What training fits: `model` itself, or with noise > 0 `model` behind a GaussianNoise layer (active in training
    only, so validation losses are on clean samples). Both hold the same weights: fitting one fits `model`."""
    if noise <= 0:
        return model
    inputs = keras.Input(model.input_shape[1:], name="clean_sample")
    noisy = keras.layers.GaussianNoise(noise, seed=seed, name="input_noise")(inputs)
    return keras.Model(inputs, model(noisy), name=f"denoising_{model.name}")


def _fit(
    model, x_fit, x_validation, streamed: bool, config: TrainConfig, seed: int, callbacks, initial_epoch: int
) -> None:
    if streamed:
        model.fit(
            x_fit.dataset(config.batch_size, shuffle_seed=seed, pairs=True),
            validation_data=None if x_validation is None else x_validation.dataset(config.batch_size, pairs=True),
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            shuffle=False,  # the dataset shuffles its files itself, anew every epoch
            verbose=0,
            callbacks=callbacks,
        )
    else:
        model.fit(
            x_fit,
            x_fit,
            validation_data=None if x_validation is None else (x_validation, x_validation),
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            batch_size=config.batch_size,
            shuffle=True,
            verbose=0,
            callbacks=callbacks,
        )


def collapse_warning(model: keras.Model, x: np.ndarray, advice: str, sample_size: int = 512) -> str | None:
    """A warning when the model rebuilds every sample (nearly) the same way: its errors then measure only the
    distance to one average sample. x: (n, *sample_shape) training samples; the first `sample_size` are checked."""
    sample = x[:sample_size]
    if len(sample) < 2:
        return None
    spread_in = float(np.std(sample, axis=0).mean())
    spread_out = float(np.std(np.asarray(model(sample, training=False)), axis=0).mean())
    if spread_in == 0 or spread_out >= 0.02 * spread_in:
        return None
    return (
        f"Training collapsed: the model rebuilds every sample alike (its output varies {spread_out / spread_in:.1%} "
        f"as much as its input), so its scores say little. {advice}"
    )


class _TensorBoardLog(keras.callbacks.Callback):
    """Each epoch's loss (and validation loss) as TensorBoard scalars, in `log_dir`/train and `log_dir`/validation
    under "epoch_loss" at step = epoch index, as Keras' TensorBoard callback writes them.

    Written with TensorFlow's own summary writer: Keras' callback needs the `tensorboard` package to write
    anything, which only opening the logs should need.
    """

    _SCALAR = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
        data_class=summary_pb2.DATA_CLASS_SCALAR,
    )

    def __init__(self, log_dir: str):
        super().__init__()
        self.log_dir = Path(log_dir)
        self.writers: dict[str, tf.summary.SummaryWriter] = {}

    def on_train_begin(self, logs=None):
        self.writers = {
            part: tf.summary.create_file_writer(str(self.log_dir / part)) for part in ("train", "validation")
        }

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for part, key in (("train", "loss"), ("validation", "val_loss")):
            if key in logs and math.isfinite(float(logs[key])):
                with self.writers[part].as_default():
                    tf.summary.write("epoch_loss", float(logs[key]), step=epoch, metadata=self._SCALAR)

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()


class _Watcher(keras.callbacks.Callback):
    """Records losses, reports progress and obeys the stop flag.

    `async_safe` lets Keras run the batch hook off the training loop, so reading the loss
    (a device sync) does not stall training; hooks may then finish out of order, hence the lock.
    """

    async_safe = True

    def __init__(self, config, n_samples, history, listener, stop_event):
        super().__init__()
        self.epochs = config.epochs
        self.batches_per_epoch = max(1, math.ceil(n_samples / config.batch_size))
        self.history = history
        self.listener = listener
        self.stop_event = stop_event
        self.lock = threading.Lock()
        self.started = time.perf_counter()
        self.epoch = 1
        self.bad_loss: float | None = None
        self.good_weights: list[np.ndarray] | None = None  # of the last epoch whose loss was finite
        self.first_step: tuple[int, float] | None = None  # (step, time) of the first report

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def _progress(self, batch: int, loss: float) -> Progress:
        now = time.perf_counter()
        step = (self.epoch - 1) * self.batches_per_epoch + batch
        if self.first_step is None:  # the first step includes tracing the training graph: time the ETA after it
            self.first_step = (step, now)
        done_since, seconds_since = step - self.first_step[0], now - self.first_step[1]
        remaining = self.epochs * self.batches_per_epoch - step
        eta = seconds_since / done_since * remaining if done_since > 0 else None
        val_loss = self.history.val_loss[-1] if self.history.val_loss else None
        return Progress(self.epoch, self.epochs, batch, self.batches_per_epoch, loss, val_loss, now - self.started, eta)

    def _check(self, loss: float) -> bool:
        if not math.isfinite(loss):
            self.bad_loss = loss
            self.history.stopped = "diverged"
            self.model.stop_training = True
            return False
        if self.stop_event is not None and self.stop_event.is_set():
            self.history.stopped = "stopped"
            self.model.stop_training = True
        return True

    def on_train_batch_end(self, batch, logs=None):
        loss = float(logs["loss"])
        if not self._check(loss):
            return
        x = (self.epoch - 1) + (batch + 1) / self.batches_per_epoch
        with self.lock:
            at = bisect.bisect(self.history.batch_epoch, x)
            self.history.batch_epoch.insert(at, x)
            self.history.batch_loss.insert(at, loss)
        if self.listener is not None:
            self.listener.on_batch(self._progress(batch + 1, loss), self.history)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss = float(logs.get("loss", math.nan))
        if not self._check(loss):
            return
        self.history.loss.append(loss)
        self.good_weights = self.model.get_weights()
        if "val_loss" in logs:
            self.history.val_loss.append(float(logs["val_loss"]))
        if self.listener is not None:
            self.listener.on_epoch(self._progress(self.batches_per_epoch, loss), self.history)
