"""The options that make the autoencoders score better: the SSIM × MSE error, denoising training and the
code density (a Gaussian mixture over the codes) added to the reconstruction error."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import load_digits
from sklearn.mixture import GaussianMixture

from core import losses
from core.config import ExperimentConfig, ModelConfig, ScoreConfig, TrainConfig
from core.detector import AutoencoderDetector, code_log_likelihood, fit_code_density
from core.errors import ConfigError
from core.models import build_autoencoder
from core.scoring import reconstruction_errors
from core.training import train_autoencoder


@pytest.fixture(scope="module")
def digits():
    return (load_digits().images / 16.0).astype(np.float32)[..., None]


def test_ssim_mse_is_the_geometric_mean_of_one_minus_ssim_and_mse(digits):
    x = digits[:64]
    x_hat = np.clip(x + np.random.default_rng(0).normal(0, 0.1, x.shape), 0, 1).astype(np.float32)
    combined = losses.per_sample("ssim_mse")(tf.constant(x), tf.constant(x_hat)).numpy()
    ssim = losses.per_sample("ssim")(tf.constant(x), tf.constant(x_hat)).numpy()
    mse = ((x - x_hat) ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(combined, np.sqrt(ssim * mse), rtol=1e-4, atol=1e-6)
    assert losses.per_sample("ssim_mse")(tf.constant(x), tf.constant(x)).numpy() == pytest.approx(0, abs=1e-5)


def test_ssim_mse_trains_scores_and_is_refused_for_series(digits):
    model = build_autoencoder(ModelConfig(kind="dense", latent_dim=8, hidden=[32]), digits.shape[1:], seed=0)
    history = train_autoencoder(model, digits[:300], TrainConfig(loss="ssim_mse", epochs=2, batch_size=64), seed=0)
    assert history.loss[1] < history.loss[0]
    scores = reconstruction_errors(model, digits[:100], "ssim_mse")
    assert scores.shape == (100,) and (scores >= 0).all()
    series = np.random.default_rng(0).random((50, 140), dtype=np.float32)
    detector = AutoencoderDetector(ModelConfig(kind="dense"), TrainConfig(epochs=1), ScoreConfig(error="ssim_mse"))
    with pytest.raises(ConfigError, match="ssim_mse"):
        detector.fit(series)
    with pytest.raises(ConfigError, match="train.loss"):
        ExperimentConfig.from_dict(
            {"data": {"dataset": "ecg5000"}, "model": {"kind": "dense"}, "train": {"loss": "ssim_mse"}}
        )


def test_noise_is_validated_and_off_by_default():
    assert ExperimentConfig().train.noise == 0
    assert ExperimentConfig.from_dict({"train": {"noise": 0.2}}).train.noise == 0.2
    for bad in (-0.1, 1.5, "a"):
        with pytest.raises(ConfigError, match="train.noise"):
            ExperimentConfig.from_dict({"train": {"noise": bad}})


def test_denoising_training_feeds_noisy_inputs_and_keeps_the_plain_model(digits):
    """With noise the training loss (noisy inputs) sits above the clean validation loss, and is seeded;
    the trained model itself has no noise layer, so it saves and scores as any other."""
    x = digits[:400]
    runs = []
    for noise in (0.0, 0.3, 0.3):
        model = build_autoencoder(ModelConfig(kind="dense", latent_dim=16, hidden=[64]), x.shape[1:], seed=1)
        history = train_autoencoder(model, x, TrainConfig(epochs=3, batch_size=32, noise=noise), seed=1)
        runs.append(history)
        assert not any("noise" in layer.name for layer in model.layers)
    clean, noisy, again = runs
    assert noisy.loss == pytest.approx(again.loss, rel=1e-5)
    assert noisy.loss[-1] > clean.loss[-1]
    assert noisy.loss[-1] > noisy.val_loss[-1]


def test_code_density_is_validated_and_refused_for_time_series():
    assert ExperimentConfig().score.density_components == "auto"  # 0 for images and series, on for tables
    assert ExperimentConfig.from_dict({"score": {"density_components": 8}}).score.density_components == 8
    for bad in (-1, 65, 2.5):
        with pytest.raises(ConfigError, match="score.density_components"):
            ExperimentConfig.from_dict({"score": {"density_components": bad}})
    with pytest.raises(ConfigError, match="score.density_components"):
        ExperimentConfig.from_dict(
            {
                "data": {"dataset": "nab/nyc_taxi", "window": 48},
                "model": {"kind": "conv1d"},
                "score": {"density_components": 1},
            }
        )


def test_code_log_likelihood_matches_scikit_learns_mixture():
    codes = np.random.default_rng(0).normal(size=(300, 4)) * [1, 2, 0.5, 3] + [0, 1, 2, 3]
    density = fit_code_density(codes, np.ones(300), components=3, seed=0)
    mixture = GaussianMixture(3, covariance_type="full", reg_covar=1e-3, random_state=0).fit(codes)
    np.testing.assert_allclose(code_log_likelihood(density, codes[:50]), mixture.score_samples(codes[:50]), rtol=1e-8)


def test_code_density_scores_add_the_codes_surprise_and_round_trip(digits, tmp_path):
    labels = load_digits().target
    normal, other = digits[labels == 0], digits[labels != 0][:300]
    detector = AutoencoderDetector(
        ModelConfig(kind="dense", latent_dim=8, hidden=[32]),
        TrainConfig(epochs=3, batch_size=32),
        ScoreConfig(error="mse", density_components=2),
        seed=3,
    ).fit(normal)
    density = detector.density_
    assert len(density["weights"]) == 2 and np.asarray(density["precision_cholesky"]).shape == (2, 8, 8)
    # Training scores are sums of two z-scores over the training samples: mean 0.
    assert detector.train_scores_.mean() == pytest.approx(0, abs=1e-3)
    scores = detector.score_samples(other)
    errors = reconstruction_errors(detector.model_, other, "mse")
    codes = np.asarray(detector.model_.get_layer("encoder")(other, training=False), dtype=np.float64)
    surprise = -code_log_likelihood(density, codes)
    expected = (np.log(errors + 1e-12) - density["error_log"][0]) / density["error_log"][1] + (
        surprise - density["code_nll"][0]
    ) / density["code_nll"][1]
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)
    detector.infer_threshold()
    detector.save(tmp_path)
    np.testing.assert_allclose(AutoencoderDetector.load(tmp_path).score_samples(other), scores, rtol=1e-5, atol=1e-5)
    plain = AutoencoderDetector(
        ModelConfig(kind="dense", latent_dim=8, hidden=[32]), TrainConfig(epochs=3, batch_size=32), seed=3
    ).fit(normal)
    assert plain.density_ is None
    np.testing.assert_allclose(plain.score_samples(other), reconstruction_errors(plain.model_, other, "mse"), rtol=1e-5)
