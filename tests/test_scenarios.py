"""The brief's four scenarios on slices of the real datasets in ../shared/datasets (small models, few epochs)."""

import numpy as np
import pytest

from core.config import (
    DataConfig,
    ExperimentConfig,
    InjectConfig,
    ModelConfig,
    ScoreConfig,
    ThresholdConfig,
    TrainConfig,
)
from core.data import INJECTED
from core.experiment import run_experiment

pytestmark = pytest.mark.slow  # every scenario trains on a slice of the real datasets (5-15 s each)


def test_shoe_among_mnist_digits_gets_the_top_error(shared_data_dir):
    config = ExperimentConfig(
        seed=3,
        data=DataConfig(
            dataset="mnist",
            protocol="inductive",
            limit=4000,
            inject=InjectConfig(dataset="fashion_mnist", classes=[9], count=1),
        ),
        model=ModelConfig(kind="dense", latent_dim=64, hidden=[]),
        train=TrainConfig(loss="bce", epochs=5, batch_size=64),
        score=ScoreConfig(error="bce"),
        threshold=ThresholdConfig(method="contamination", rate=0.0005),
    )
    result = run_experiment(config, shared_data_dir)
    shoe = np.flatnonzero(result.data.roles == INJECTED)
    assert shoe.size == 1 and result.data.labels.sum() == 1
    assert int(np.argmax(result.scores)) == shoe[0]
    assert result.metrics["true_positives"] == 1 and result.metrics["auroc"] == 1.0


def test_mnist_ones_with_one_percent_threes_flags_threes(shared_data_dir):
    config = ExperimentConfig(
        seed=1,
        data=DataConfig(
            dataset="mnist",
            normal_classes=[1],
            anomaly_classes=[3],
            contamination=0.01,
            protocol="transductive",
            split="test",
        ),
        model=ModelConfig(kind="conv", latent_dim=16, filters=[32, 64]),
        train=TrainConfig(loss="mse", epochs=4, batch_size=32),
        threshold=ThresholdConfig(method="quantile", q=0.99),
    )
    result = run_experiment(config, shared_data_dir)
    assert result.data.x_score is result.data.x_train
    assert result.metrics["n_anomalies"] == round(0.01 * 1135)
    assert result.metrics["auroc"] > 0.95
    assert result.metrics["n_flagged"] == int(np.ceil(0.01 * len(result.scores)))
    assert result.metrics["precision"] >= 0.5


def test_ecg_dense_mae_trained_on_normal_beats(shared_data_dir):
    config = ExperimentConfig.load("presets/ecg5000.json")
    config = config.replace(
        train=TrainConfig(loss="mae", epochs=15, batch_size=64, validation_fraction=0.1, early_stopping_patience=3)
    )
    result = run_experiment(config, shared_data_dir)
    assert (result.data.train_roles == 0).all()
    assert result.threshold.method == "mean_std"
    assert result.threshold.value == pytest.approx(result.train_scores.mean() + 2 * result.train_scores.std(), rel=1e-5)
    assert result.metrics["auroc"] > 0.9
    assert result.metrics["accuracy_normal"] > 0.85 and result.metrics["accuracy_anomaly"] > 0.85


def test_fashion_conv_ssim_scores_mnist_digits_as_anomalies(shared_data_dir):
    config = ExperimentConfig(
        seed=5,
        data=DataConfig(
            dataset="fashion_mnist", protocol="inductive", limit=5000, inject=InjectConfig(dataset="mnist", count=300)
        ),
        model=ModelConfig(kind="conv", latent_dim=16, filters=[32, 64]),
        train=TrainConfig(loss="ssim", epochs=3, batch_size=64),
        score=ScoreConfig(error="ssim"),
        threshold=ThresholdConfig(method="fpr", rate=0.05),
    )
    result = run_experiment(config, shared_data_dir)
    assert (result.data.roles == INJECTED).sum() == 300
    assert result.metrics["auroc"] > 0.8
    assert result.metrics["accuracy_normal"] == pytest.approx(0.95, abs=0.01)
