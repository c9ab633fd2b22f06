"""Models, training and scoring on scikit-learn's digits (real data, bundled, offline)."""

import json
import threading

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

from core.config import ModelConfig, ScoreConfig, ThresholdConfig, TrainConfig
from core.detector import AutoencoderDetector
from core.errors import ConfigError, DataError, NotFittedError, RunError, StudioError, TrainingError
from core.models import bottleneck_warning, build_autoencoder
from core.scoring import reconstruction_errors
from core.training import train_autoencoder


@pytest.fixture(scope="module")
def digits():
    bunch = load_digits()
    return (bunch.images / 16.0).astype(np.float32)[..., None], bunch.target


@pytest.mark.parametrize(
    "kind, shape",
    [
        ("dense", (28, 28, 1)),
        ("conv", (28, 28, 1)),
        ("conv", (8, 8, 1)),
        ("conv", (30, 27, 3)),
        ("conv1d", (140,)),
        ("conv1d", (37,)),
    ],
)
def test_autoencoders_reconstruct_their_input_shape(kind, shape):
    model = build_autoencoder(ModelConfig(kind=kind, latent_dim=5, filters=[8, 16], hidden=[32]), shape)
    assert model.output_shape == (None,) + shape
    assert model.get_layer("encoder").output_shape == (None, 5)
    assert model.get_layer("decoder").input_shape == (None, 5)
    out = model(np.random.default_rng(0).random((3,) + shape, dtype=np.float32)).numpy()
    assert out.min() >= 0 and out.max() <= 1


def test_conv_encoder_follows_the_conv_leakyrelu_batchnorm_design():
    model = build_autoencoder(ModelConfig(kind="conv", latent_dim=16, filters=[32, 64]), (28, 28, 1))
    kinds = [type(layer).__name__ for layer in model.get_layer("encoder").layers]
    assert kinds[1:7] == ["Conv2D", "LeakyReLU", "BatchNormalization"] * 2
    assert model.get_layer("encoder").get_layer("feature_map").output.shape[1:] == (7, 7, 64)
    assert "Conv2DTranspose" in [type(layer).__name__ for layer in model.get_layer("decoder").layers]


def test_shape_mismatches_are_config_errors():
    with pytest.raises(ConfigError, match="conv1d"):
        build_autoencoder(ModelConfig(kind="conv"), (140,))
    with pytest.raises(ConfigError, match="conv"):
        build_autoencoder(ModelConfig(kind="conv1d"), (28, 28, 1))


def test_bottleneck_warning_only_when_the_code_is_not_smaller():
    assert bottleneck_warning(ModelConfig(latent_dim=16), (28, 28, 1)) is None
    assert "not smaller" in bottleneck_warning(ModelConfig(latent_dim=784), (28, 28, 1))


def test_training_lowers_the_loss_and_reports_batches_and_epochs(digits):
    x, _ = digits
    seen = {"batches": 0, "epochs": []}

    class Listener:
        def on_batch(self, progress, history):
            seen["batches"] += 1
            assert progress.eta_s is None or progress.eta_s >= 0

        def on_epoch(self, progress, history):
            seen["epochs"].append(progress.epoch)

    model = build_autoencoder(ModelConfig(kind="dense", latent_dim=16, hidden=[64]), x.shape[1:])
    history = train_autoencoder(model, x, TrainConfig(epochs=4, batch_size=64, validation_fraction=0.2), 0, Listener())
    batches_per_epoch = int(np.ceil(len(x) * 0.8 / 64))
    assert seen["epochs"] == [1, 2, 3, 4]
    assert seen["batches"] == 4 * batches_per_epoch == len(history.batch_loss)
    assert history.batch_epoch == sorted(history.batch_epoch)
    assert history.loss[-1] < history.loss[0] and history.val_loss[-1] < history.val_loss[0]
    assert history.stopped == "completed" and history.epochs_run == 4


def test_stop_flag_ends_training_and_keeps_the_model(digits):
    x, _ = digits
    stop = threading.Event()

    class StopAfterFiveBatches:
        def on_batch(self, progress, history):
            if len(history.batch_loss) >= 5:
                stop.set()

        def on_epoch(self, progress, history):
            pass

    model = build_autoencoder(ModelConfig(kind="dense", latent_dim=8, hidden=[]), x.shape[1:])
    history = train_autoencoder(model, x, TrainConfig(epochs=50, batch_size=16), 0, StopAfterFiveBatches(), stop)
    assert history.stopped == "stopped"
    assert history.epochs_run <= 1 and len(history.batch_loss) < 50
    assert np.isfinite(reconstruction_errors(model, x[:10], "mse")).all()


def test_early_stopping_restores_the_best_weights(digits):
    x, _ = digits
    model = build_autoencoder(ModelConfig(kind="dense", latent_dim=8, hidden=[]), x.shape[1:])
    # A learning rate this high makes the validation loss bounce, so patience runs out early.
    history = train_autoencoder(
        model, x, TrainConfig(epochs=40, batch_size=32, learning_rate=0.3, early_stopping_patience=2), 0
    )
    assert history.stopped == "early_stopping" and history.epochs_run < 40
    best = min(history.val_loss)
    assert history.val_loss[history.best_epoch - 1] == best


def test_nan_loss_stops_with_a_clear_message(digits):
    x, _ = digits
    model = build_autoencoder(ModelConfig(kind="dense", latent_dim=8, hidden=[]), x.shape[1:])
    with pytest.raises(TrainingError, match="diverged.*learning rate"):
        train_autoencoder(model, x * 1e30, TrainConfig(epochs=3, learning_rate=5.0), 0)


def test_a_later_divergence_keeps_the_last_good_model(digits, monkeypatch):
    """The loss turns NaN in epoch 2: training ends with epoch 1's weights and says so."""
    import tensorflow as tf

    from core import losses, training

    steps = tf.Variable(0)
    healthy = losses.per_sample

    def poisoned(name):
        error = healthy(name)

        def loss(x, x_hat):
            steps.assign_add(1)
            return error(x, x_hat) + tf.where(steps > 60, float("nan"), 0.0)

        return loss

    monkeypatch.setattr(training.losses, "per_sample", poisoned)
    x, _ = digits
    model = build_autoencoder(ModelConfig(kind="dense", latent_dim=8, hidden=[]), x.shape[1:], 0)
    history = train_autoencoder(model, x, TrainConfig(epochs=5, batch_size=32, validation_fraction=0.0), 0)
    assert history.stopped == "diverged" and history.epochs_run == 1
    assert "epoch 2" in history.warning and "model of epoch 1" in history.warning
    assert np.isfinite(np.asarray(model(x[:50]))).all(), "the kept weights must be the last finite ones"


def test_a_collapsed_training_is_named(digits):
    """A learning rate far too high makes the model rebuild every digit alike; a healthy one does not."""
    x, _ = digits
    for learning_rate, collapsed in ((1.0, True), (0.002, False)):
        model = build_autoencoder(ModelConfig(kind="dense", latent_dim=8, hidden=[64]), x.shape[1:], 0)
        history = train_autoencoder(model, x, TrainConfig(epochs=3, batch_size=32, learning_rate=learning_rate), 0)
        assert (history.warning is not None and "collapsed" in history.warning) == collapsed, learning_rate


def test_training_is_reproducible_with_the_seed(digits):
    x, _ = digits
    runs = []
    for seed in (7, 7, 8):
        keras.utils.set_random_seed(seed)
        model = build_autoencoder(ModelConfig(kind="conv", latent_dim=8, filters=[8]), x.shape[1:])
        history = train_autoencoder(model, x[:400], TrainConfig(epochs=2, batch_size=32), seed)
        runs.append(history.loss)
    assert runs[0] == pytest.approx(runs[1], rel=1e-5)
    assert runs[0] != pytest.approx(runs[2], rel=1e-5)


@pytest.mark.parametrize("error", ["mse", "mae", "bce", "ssim"])
def test_scores_match_a_plain_numpy_computation(digits, error):
    x, _ = digits
    model = build_autoencoder(ModelConfig(kind="conv", latent_dim=8, filters=[8]), x.shape[1:])
    scores = reconstruction_errors(model, x[:300], error, batch_size=128)
    assert scores.shape == (300,) and scores.dtype == np.float32
    x_hat = model.predict(x[:300], verbose=0)
    if error == "mse":
        np.testing.assert_allclose(scores, ((x[:300] - x_hat) ** 2).mean(axis=(1, 2, 3)), rtol=1e-4, atol=1e-6)
    elif error == "mae":
        np.testing.assert_allclose(scores, np.abs(x[:300] - x_hat).mean(axis=(1, 2, 3)), rtol=1e-4, atol=1e-6)
    elif error == "bce":
        p = np.clip(x_hat, 1e-7, 1 - 1e-7)
        expected = -(x[:300] * np.log(p) + (1 - x[:300]) * np.log(1 - p)).mean(axis=(1, 2, 3))
        np.testing.assert_allclose(scores, expected, rtol=1e-4)
    else:
        assert ((scores >= 0) & (scores <= 2)).all()
        assert reconstruction_errors(model, x[:1], "ssim")[0] == pytest.approx(scores[0], rel=1e-4)


def test_ssim_is_refused_for_series():
    series = np.random.default_rng(0).random((50, 140), dtype=np.float32)
    detector = AutoencoderDetector(
        ModelConfig(kind="dense"), TrainConfig(loss="ssim", epochs=1), ScoreConfig(error="ssim")
    )
    with pytest.raises(ConfigError, match="ssim"):
        detector.fit(series)


def test_detector_flags_digits_unlike_its_training_class_and_round_trips(digits, tmp_path):
    x, y = digits
    detector = AutoencoderDetector(
        ModelConfig(kind="conv", latent_dim=8, filters=[16, 32]),
        TrainConfig(epochs=15, batch_size=16),
        ScoreConfig(error="mse"),
        ThresholdConfig(method="quantile", q=0.95),
        seed=1,
    ).fit(x[y == 0])
    assert detector.kind_ == "image" and detector.scaler_ is None
    detector.infer_threshold()
    assert detector.threshold_.value == pytest.approx(np.quantile(detector.train_scores_, 0.95))
    zeros, others = detector.score_samples(x[y == 0]), detector.score_samples(x[y != 0])
    assert others.mean() > 1.5 * zeros.mean()
    assert detector.predict(x[y != 0]).mean() > detector.predict(x[y == 0]).mean()
    detector.save(tmp_path)
    loaded = AutoencoderDetector.load(tmp_path)
    np.testing.assert_allclose(loaded.score_samples(x[:50]), detector.score_samples(x[:50]), rtol=1e-5)
    assert loaded.threshold_ == detector.threshold_
    with pytest.raises(DataError, match="expected samples of shape"):
        loaded.score_samples(np.zeros((3, 28, 28, 1), np.float32))
    # Single-channel images also come as (n, h, w), and as flat rows of h·w values.
    np.testing.assert_array_equal(loaded.score_samples(x[:5, :, :, 0]), loaded.score_samples(x[:5]))
    np.testing.assert_array_equal(loaded.score_samples(x[:5].reshape(5, 64)), loaded.score_samples(x[:5]))
    reconstructions, error_maps = loaded.reconstruct(x[:3, :, :, 0])
    assert reconstructions.shape == error_maps.shape == (3, 8, 8, 1)
    (tmp_path / "model.keras").write_bytes(b"not a zip file")
    with pytest.raises(RunError, match="model.keras is damaged: it is not a Keras model archive"):
        AutoencoderDetector.load(tmp_path)


def test_unfitted_detector_says_so_in_one_sentence(tmp_path):
    detector = AutoencoderDetector(ModelConfig(kind="dense", hidden=[8], latent_dim=2), TrainConfig(epochs=1))
    x = np.random.default_rng(0).random((20, 6), dtype=np.float32)
    for call in (
        lambda: detector.score_samples(x),
        lambda: detector.predict(x),
        lambda: detector.reconstruct(x),
        lambda: detector.save(tmp_path),
        lambda: detector.infer_threshold(),
    ):
        with pytest.raises(NotFittedError, match="not fitted yet") as caught:
            call()
        assert isinstance(caught.value, StudioError) and "\n" not in str(caught.value)
    detector.fit(x)
    with pytest.raises(NotFittedError, match="no threshold yet"):
        detector.predict(x)  # fit trains and scores; only infer_threshold sets the threshold
    detector.infer_threshold(detector.score_samples(x))
    assert detector.predict(x).shape == (20,)


def test_series_detector_scales_raw_samples_itself_and_round_trips(tmp_path):
    rng = np.random.default_rng(3)
    steps = np.linspace(0, 2 * np.pi, 40, dtype=np.float32)
    raw = (50 + 20 * np.sin(steps + rng.uniform(0, 6, (120, 1))) + rng.normal(0, 1, (120, 40))).astype(np.float32)
    detector = AutoencoderDetector(
        ModelConfig(kind="dense", hidden=[16], latent_dim=4),
        TrainConfig(epochs=3),
        ScoreConfig(),
        ThresholdConfig(method="max"),
        seed=2,
        kind="series",
    ).fit(raw[:100])
    low, high = float(raw[:100].min()), float(raw[:100].max())
    assert detector.scaler_ == {"min": low, "max": high}
    scaled = (raw - np.float32(low)) / np.float32(high - low)
    scores = detector.score_samples(raw)
    # The same numbers as scoring samples scaled beforehand with the training minimum and maximum.
    np.testing.assert_array_equal(scores, reconstruction_errors(detector.model_, scaled, "mse", 1024))
    np.testing.assert_array_equal(detector.train_scores_, scores[:100])
    reconstructions, error_maps = detector.reconstruct(raw[:4])
    assert reconstructions.shape == (4, 40) and low - 1 <= reconstructions.min() and reconstructions.max() <= high + 1
    np.testing.assert_allclose(error_maps.mean(axis=1), scores[:4] * (high - low) ** 2, rtol=1e-3)
    detector.infer_threshold()
    detector.save(tmp_path)
    loaded = AutoencoderDetector.load(tmp_path)
    assert loaded.kind_ == "series" and loaded.scaler_ == detector.scaler_
    np.testing.assert_allclose(loaded.score_samples(raw), scores, rtol=1e-5)
    np.testing.assert_array_equal(loaded.predict(raw), detector.predict(raw))


def test_detector_json_without_kind_still_loads(tmp_path, digits):
    x, _ = digits
    detector = AutoencoderDetector(ModelConfig(kind="dense", hidden=[8], latent_dim=4), TrainConfig(epochs=1)).fit(
        x[:60]
    )
    detector.infer_threshold()
    detector.save(tmp_path)
    state = json.loads((tmp_path / "detector.json").read_text())
    del state["kind"]  # written before the detector stored its kind; "scaler" was null for images
    (tmp_path / "detector.json").write_text(json.dumps(state))
    loaded = AutoencoderDetector.load(tmp_path)
    assert loaded.kind_ == "image" and loaded.scaler_ is None
    np.testing.assert_allclose(loaded.score_samples(x[:10]), detector.score_samples(x[:10]), rtol=1e-5)


def test_the_eta_leaves_out_the_first_steps_tracing(monkeypatch):
    """A first step of 10 s (tracing the graph) then 1 s a step: the ETA counts 1 s for each step left."""
    from core import training

    clock = iter([0.0, 0.0, 10.0, 11.0, 12.0])  # created, training begins, then three steps
    monkeypatch.setattr(training.time, "perf_counter", lambda: next(clock))
    watcher = training._Watcher(TrainConfig(epochs=2, batch_size=10), 100, training.History(), None, None)
    watcher.on_train_begin()
    first, second, third = (watcher._progress(step, 0.1) for step in (1, 2, 3))
    assert first.eta_s is None and first.elapsed_s == 10.0
    assert second.eta_s == pytest.approx(18.0) and third.eta_s == pytest.approx(17.0)
