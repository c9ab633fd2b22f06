"""The model side of tables: the per-column scaler, sizes from the input's width, the linear output, the typical
range the encoder clips to, the code density on by default, and a saved table detector loading safely."""

import numpy as np
import pytest

from core.config import ModelConfig, ScoreConfig, TrainConfig
from core.detector import AutoencoderDetector
from core.models import auto_sizes, bottleneck_warning
from core.tabular import TABLE_DENSITY_COMPONENTS, TYPICAL_SHARE, ColumnScaler, density_components


@pytest.mark.parametrize(
    "width, latent, hidden", [(6, 2, [12]), (12, 3, [24]), (21, 5, [42]), (36, 9, [72]), (784, 16, [256, 128])]
)
def test_auto_sizes_give_a_code_narrower_than_the_input(width, latent, hidden):
    sized = auto_sizes(ModelConfig(), (width,))
    assert (sized.latent_dim, sized.hidden) == (latent, hidden)
    assert bottleneck_warning(ModelConfig(), (width,)) is None
    assert auto_sizes(ModelConfig(latent_dim=7, hidden=[5]), (width,)) == ModelConfig(latent_dim=7, hidden=[5])


def test_density_components_auto_is_on_for_tables_only():
    assert density_components("auto", table=True) == TABLE_DENSITY_COMPONENTS
    assert density_components("auto", table=False) == 0 and density_components(2, table=False) == 2


def test_the_column_scaler_is_robust_to_an_outlier_and_bounds_the_typical_range():
    rng = np.random.default_rng(0)
    x = np.c_[rng.normal(0, 1, 1000), rng.normal(1000, 100, 1000), np.zeros(1000)]
    x[0] = [1e6, 1e6, 0]
    scaler = ColumnScaler().fit(x)
    np.testing.assert_allclose(scaler.scale_[:2], [1.35, 135], rtol=0.1)  # the quartiles of N(0, 1), N(1000, 100)
    assert scaler.scale_[2] == 1.0  # constant: spread 1, not 0
    inside = np.mean((scaler.transform(x) >= scaler.low_) & (scaler.transform(x) <= scaler.high_), axis=0)
    np.testing.assert_allclose(inside[:2], TYPICAL_SHARE, atol=0.005)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(x[1:])), x[1:], rtol=1e-5, atol=1e-3)
    assert ColumnScaler.from_dict(scaler.to_dict()).to_dict() == scaler.to_dict()


def correlated_rows(n: int, seed: int) -> np.ndarray:
    """Three columns of very different units, two of them tied to the first."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=n)
    return np.c_[base, 1000 + 200 * base, -5 * base + 0.1 * rng.normal(size=n)].astype(np.float32)


def test_a_table_detector_scores_an_out_of_range_value_high_and_loads_safely(tmp_path):
    x = correlated_rows(400, 0)
    detector = AutoencoderDetector(
        ModelConfig(), TrainConfig(epochs=3, batch_size=64), ScoreConfig(baselines=[]), seed=0, per_feature=True
    ).fit(x)
    assert detector.model_.layers[-1].get_layer(index=-2).activation.__name__ == "linear"
    assert detector.density_ is not None and len(detector.density_["weights"]) == TABLE_DENSITY_COMPONENTS
    extreme = x[:1].copy()
    extreme[0, 1] = 1000 + 200 * 50  # fifty spreads out, its partners kept
    assert detector.score_samples(extreme)[0] > detector.train_scores_.max()
    detector.save(tmp_path)
    loaded = AutoencoderDetector.load(tmp_path)
    np.testing.assert_allclose(loaded.score_samples(x[:20]), detector.score_samples(x[:20]), rtol=1e-4, atol=1e-5)
    blank = x[:2].copy()
    blank[0, 2] = np.nan
    assert np.isfinite(loaded.score_samples(blank)).all()
