"""Tables (CSV rows of named features) against series of steps, and the figures the Flagged page draws for
each kind: per-feature error bars, the typical-normal band behind a series, error maps on a shared scale."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from core import sample_figures
from core.config import DataConfig
from core.data import build_experiment_data, load_dataset


def write_csv(path, frame: pd.DataFrame) -> str:
    frame.to_csv(path, index=False)
    return str(path)


def test_a_csv_with_named_columns_is_a_table_and_keeps_its_names(tmp_path):
    cancer = load_breast_cancer(as_frame=True)
    path = write_csv(tmp_path / "cancer.csv", cancer.data.assign(label=cancer.target))
    assert load_dataset(path).feature_names == tuple(cancer.feature_names)
    data = build_experiment_data(DataConfig(dataset=path, normal_classes=[1], anomaly_classes=[0]), seed=0)
    assert data.is_table and data.feature_names == tuple(cancer.feature_names)
    assert data.sample_shape == (len(cancer.feature_names),)


def test_a_header_makes_a_table_whatever_its_names_and_the_layout_can_say_series(tmp_path):
    """f0, f1, ... or t0, t1, ... are names all the same: only the user (data.layout) or no header makes series."""
    rows = np.sin(np.linspace(0, 6, 20))[None, :] + np.linspace(0, 1, 30)[:, None]
    stepped = pd.DataFrame(rows, columns=[f"t{step}" for step in range(20)])
    (tmp_path / "stepped.csv").write_text(stepped.to_csv(index=False))
    (tmp_path / "bare.csv").write_text(stepped.to_csv(index=False, header=False))
    table = build_experiment_data(DataConfig(dataset=str(tmp_path / "stepped.csv")), seed=0)
    assert table.is_table and table.feature_names == tuple(stepped.columns)
    for name, layout in (("stepped.csv", "series"), ("bare.csv", "auto")):
        data = build_experiment_data(DataConfig(dataset=str(tmp_path / name), layout=layout), seed=0)
        assert data.kind == "series" and not data.is_table and data.feature_names == ()
    forced = build_experiment_data(DataConfig(dataset=str(tmp_path / "bare.csv"), layout="table"), seed=0)
    assert forced.is_table and len(forced.feature_names) == 20


def test_feature_errors_draws_a_bar_per_named_feature_relative_to_its_range():
    cancer = load_breast_cancer()
    sample, reconstruction = cancer.data[0], cancer.data[0] * 0.9
    spans = np.ptp(cancer.data, axis=0)
    [bars] = sample_figures.feature_errors(sample, reconstruction, cancer.feature_names, spans).data
    assert list(bars.y) == list(cancer.feature_names)
    np.testing.assert_allclose(bars.x, np.abs(sample - reconstruction) / spans)
    np.testing.assert_allclose(bars.customdata[:, :2], np.c_[sample, reconstruction])


def test_a_series_overlay_draws_the_band_behind_sample_and_reconstruction():
    rng = np.random.default_rng(0)
    normal = np.sin(np.linspace(0, 6, 50)) + 0.1 * rng.standard_normal((200, 50))
    low, high = sample_figures.percentile_band(normal)
    assert ((normal >= low) & (normal <= high)).mean() == pytest.approx(0.9, abs=0.01)
    figure = sample_figures.series_overlay(normal[0] + 1, normal[0], (low, high))
    assert [trace.name for trace in figure.data] == [None, "typical normal (5–95 %)", "original", "reconstruction"]
    assert figure.data[1].fill == "tonexty" and figure.data[3].fill == "tonexty"  # the error still fills to the sample
    assert [trace.name for trace in sample_figures.series_overlay(normal[0], normal[0]).data] == [
        "original",
        "reconstruction",
    ]


def test_image_triplet_takes_a_shared_error_scale():
    image = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8, 1)
    error_map = (image * 0.1) ** 2
    own = sample_figures.image_triplet(image, image, error_map).data[2]
    shared = sample_figures.image_triplet(image, image, error_map, error_max=0.5).data[2]
    assert own.zmax == pytest.approx(0.01) and shared.zmax == 0.5 and shared.zmin == 0
    assert sample_figures.error_scale(0.5).data[0].zmax == 0.5


@pytest.mark.slow
def test_a_tables_columns_are_scaled_each_by_its_own_spread(tmp_path):
    """Wine's proline is ~1,000 and its hue ~1: with one min-max for the whole table the model sees proline alone
    (AUROC 0.35 for cultivar 2 against 0 and 1, measured); scaled per column it finds cultivar 2."""
    from sklearn.datasets import load_wine

    from core.config import ExperimentConfig
    from core.experiment import run_experiment

    wine = load_wine(as_frame=True)
    path = write_csv(tmp_path / "wine.csv", wine.data.assign(label=wine.target))
    config = ExperimentConfig.from_dict(
        {
            "data": {"dataset": path, "normal_classes": [0, 1], "anomaly_classes": [2]},
            "model": {"kind": "dense", "hidden": [32], "latent_dim": 4},
            "train": {"epochs": 100, "batch_size": 16},
            "score": {"baselines": []},
            "seed": 0,
        }
    )
    result = run_experiment(config)
    scaler = result.detector.scaler_
    train = result.data.x_train
    assert scaler["center"] == pytest.approx(np.median(train, axis=0).tolist())
    low_quartile, high_quartile = np.percentile(train, [25, 75], axis=0)
    assert scaler["scale"] == pytest.approx((high_quartile - low_quartile).tolist(), rel=1e-4)
    assert result.metrics["auroc"] > 0.9
