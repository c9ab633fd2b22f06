"""Time-series transformers (robust scaler, causal windows, anomaly likelihood), the streaming score, the
re-sort notice, constant-score warnings and enough training steps on short spans."""

import math
from pathlib import Path

import numpy as np
import pytest

from core.config import ModelConfig, ScoreConfig, TrainConfig
from core.data.timeseries_csv import read_timeseries_csv
from core.detector import AutoencoderDetector
from core.errors import NotFittedError
from core.scoring import constant_scores_warning
from core.series_transforms import AnomalyLikelihood, CausalWindows
from core.tabular import ColumnScaler
from core.training import MIN_STEPS_PER_EPOCH, repeated_to_steps

EVEN_CHANCE = math.log(2) / (1 + math.log(2))  # the likelihood's value for a tail probability of 0.5


def daily_series(n: int = 600, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (10 + 5 * np.sin(2 * np.pi * t / 48) + rng.normal(0, 0.3, n)).astype(np.float32)[:, None]


def test_robust_scaler_centres_on_the_median_and_stays_linear_outside_the_training_range():
    x = daily_series()
    scaler = ColumnScaler().fit(x)
    scaled = scaler.transform(x)
    assert abs(float(np.median(scaled))) < 1e-5
    assert np.percentile(scaled, 75) - np.percentile(scaled, 25) == pytest.approx(1.0, abs=1e-4)
    far = np.array([[100.0], [1000.0]], dtype=np.float32)  # 10× and 100× beyond the training values
    far_scaled = scaler.transform(far)[:, 0]
    assert far_scaled[1] - far_scaled[0] == pytest.approx(900.0 / scaler.scale_[0], rel=1e-5)  # no squashing
    assert np.allclose(scaler.inverse_transform(scaler.transform(x)), x, atol=1e-4)


def test_robust_scaler_maps_a_flat_line_to_zero_without_dividing_by_zero():
    scaler = ColumnScaler().fit(np.full((50, 1), 3.0))
    assert scaler.scale_[0] == 1.0 and np.all(scaler.transform(np.full((5, 1), 3.0)) == 0)
    with pytest.raises(NotFittedError):
        ColumnScaler().transform(np.zeros((2, 1)))


def test_causal_windows_end_at_their_timestamp_and_leave_the_first_unscored():
    x = np.arange(10.0)[:, None]
    windows = CausalWindows(4).fit(x).transform(x)
    assert windows.shape == (7, 4, 1) and windows[0, :, 0].tolist() == [0, 1, 2, 3] and windows[-1, -1, 0] == 9
    placed = CausalWindows(4).per_timestamp(np.arange(7.0), 10)
    assert np.isnan(placed[:3]).all() and placed[3:].tolist() == list(range(7))


def test_anomaly_likelihood_is_high_at_a_burst_of_errors_and_uses_only_the_past():
    rng = np.random.default_rng(0)
    errors = rng.gamma(2.0, 0.05, 3000)
    errors[2000:2005] += 2.0  # a burst of large errors
    likelihood = AnomalyLikelihood(min_history=100).fit(errors[:500])
    scores = likelihood.transform(errors)
    assert scores.min() >= 0 and scores.max() <= 1
    assert np.all(scores[:100] == EVEN_CHANCE)  # too little history to judge
    assert scores[2004] > 0.99 and np.median(scores[500:2000]) < 0.6
    changed = errors.copy()
    changed[2100:] = 50.0  # a different future leaves every earlier value as it was
    assert np.array_equal(likelihood.transform(changed)[:2100], scores[:2100])


def tiny_detector(causal: bool, likelihood: bool = False) -> AutoencoderDetector:
    return AutoencoderDetector(
        ModelConfig(kind="dense", latent_dim=2, hidden=[8]),
        TrainConfig(epochs=1, batch_size=32, validation_fraction=0.0),
        ScoreConfig(causal=causal, likelihood=likelihood, baselines=[]),
        kind="timeseries",
        window=16,
        stride=2,
    )


@pytest.mark.parametrize("likelihood", [False, True])
def test_a_streaming_score_at_t_does_not_change_when_data_after_t_changes(likelihood):
    series = daily_series()
    detector = tiny_detector(causal=True, likelihood=likelihood).fit(series[:200])
    scores = detector.score_samples(series)
    assert scores.shape == (600,) and np.all(scores[:15] == (EVEN_CHANCE if likelihood else 0))
    changed = series.copy()
    changed[400:] += 50.0  # a level shift after t = 399
    changed_scores = detector.score_samples(changed)
    assert np.array_equal(changed_scores[:400], scores[:400])
    assert changed_scores[400:].max() > scores[400:].max()
    if likelihood:
        assert changed_scores.min() >= 0 and changed_scores.max() <= 1


def test_the_default_score_looks_ahead_and_the_streaming_one_does_not():
    series = daily_series()
    changed = series.copy()
    changed[400:] += 50.0
    looking_ahead = tiny_detector(causal=False).fit(series[:200])
    assert not np.array_equal(looking_ahead.score_samples(changed)[:400], looking_ahead.score_samples(series)[:400])


def test_a_saved_likelihood_detector_scores_the_same_after_loading(tmp_path):
    series = daily_series()
    detector = tiny_detector(causal=True, likelihood=True).fit(series[:200])
    detector.save(tmp_path)
    loaded = AutoencoderDetector.load(tmp_path)
    assert np.allclose(loaded.score_samples(series), detector.score_samples(series), atol=1e-6)


def test_a_short_span_is_repeated_to_enough_steps_per_epoch():
    x = np.zeros((100, 8), np.float32)
    repeated = repeated_to_steps(x, batch_size=32)
    assert len(repeated) >= MIN_STEPS_PER_EPOCH * 32 and len(repeated) % 100 == 0
    big = np.zeros((MIN_STEPS_PER_EPOCH * 32, 8), np.float32)
    assert repeated_to_steps(big, batch_size=32) is big


def test_constant_scores_get_a_warning_and_varied_ones_none():
    assert "Every one of the 3 scores is 0.25" in constant_scores_warning(np.array([0.25, 0.25, 0.25]))
    assert constant_scores_warning(np.array([0.25, 0.26, 0.25])) is None


def test_rows_out_of_time_order_are_counted_in_the_notice(tmp_path):
    rows = [f"2024-01-01 {h:02d}:00:00,{h}" for h in range(20)]
    rows[7], rows[8] = rows[8], rows[7]
    path = tmp_path / "series.csv"
    path.write_text("timestamp,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    notices = " ".join(read_timeseries_csv(Path(path)).notices)
    assert "1 step(s) back in time (the first at row 8, 2024-01-01 07:00:00); 2 rows were re-sorted" in notices


def test_machine_temperatures_step_back_is_said_with_its_row(shared_data_dir):
    dataset = read_timeseries_csv(shared_data_dir / "nab" / "machine_temperature_system_failure.csv")
    assert "1 step(s) back in time (the first at row 10,149" in " ".join(dataset.notices)
