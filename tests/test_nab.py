"""NAB scoring (core.nab) against NAB's published windowedGaussian scores, its rules, and the nab bench."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import nab
from core.config import ExperimentConfig
from core.data import build_experiment_data

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = {"standard": 39.65, "reward_low_FP_rate": 20.87, "reward_low_FN_rate": 47.41}  # windowedGaussian


@pytest.fixture(scope="module")
def nab_dir(shared_data_dir) -> Path:
    return shared_data_dir / "nab"


def test_probationary_period_is_fifteen_percent_capped_at_750_rows():
    assert [nab.probationary_length(n) for n in (50, 1000, 4032, 4999, 5000, 22695)] == [7, 150, 604, 749, 750, 750]


def test_scaled_sigmoid_rewards_a_window_start_and_costs_far_false_positives():
    start, middle, end, far = nab.scaled_sigmoid([-1.0, -0.5, 0.0, 3.0])
    assert start == pytest.approx(0.98661, abs=1e-5) and middle == pytest.approx(0.84828, abs=1e-5)
    assert end == 0.0 and far == -1.0


def synthetic(n: int = 1000, window=(400, 449)) -> tuple[np.ndarray, dict, nab.Profile]:
    times = pd.date_range("2024-01-01", periods=n, freq="5min").to_numpy()
    windows = {"demo/series.csv": [(times[window[0]], times[window[1]])]}
    return times, windows, nab.Profile(tp=1.0, fp=0.11, fn=1.0)


def test_a_perfect_detector_scores_100_and_one_that_never_fires_0():
    times, windows, profile = synthetic()
    perfect = np.zeros(len(times))
    perfect[400] = 1.0
    assert nab.score_corpus({"demo/series.csv": (times, perfect)}, windows, profile).normalized == pytest.approx(100)
    silent = np.full(len(times), 0.5)
    assert nab.score_corpus({"demo/series.csv": (times, silent)}, windows, profile).normalized == pytest.approx(0)


def test_a_late_detection_earns_less_and_false_alarms_cost():
    times, windows, profile = synthetic()
    early, late = np.zeros(len(times)), np.zeros(len(times))
    early[400], late[440] = 1.0, 1.0
    key = "demo/series.csv"
    score_early = nab.score_corpus({key: (times, early)}, windows, profile).normalized
    score_late = nab.score_corpus({key: (times, late)}, windows, profile).normalized
    assert score_late < score_early
    noisy = early.copy()
    noisy[[200, 700]] = 1.0  # a false alarm before the window (full cost), one long after it
    noisy_score = nab.score_corpus({key: (times, noisy)}, windows, profile)
    assert noisy_score.raw == pytest.approx(1.0 - 2 * 0.11, abs=1e-3)
    noisy[100] = 1.0  # inside the probationary period (150 rows): not scored
    assert nab.score_corpus({key: (times, noisy)}, windows, profile).raw == pytest.approx(noisy_score.raw)


def test_core_nab_reproduces_windowed_gaussians_published_scores(nab_dir):
    windows = nab.load_windows(nab_dir / "combined_windows.json")
    profiles = nab.load_profiles(nab_dir / "profiles.json")
    scores = nab.score_folder(nab_dir / "reference-results", "windowedGaussian", windows, profiles, flat=True)
    assert {name: round(score.normalized, 2) for name, score in scores.items()} == PUBLISHED
    assert len(scores["standard"].per_file) == 58


def test_result_files_round_trip_in_nabs_layout(tmp_path):
    times = pd.date_range("2024-01-01", periods=20, freq="h").to_numpy()
    path = nab.result_path(tmp_path, "demo", "realKnownCause/nyc_taxi.csv")
    assert path == tmp_path / "demo" / "realKnownCause" / "demo_nyc_taxi.csv"
    scores = np.linspace(0, 1, 20)
    nab.write_result(path, times, np.arange(20.0), scores, np.zeros(20))
    assert pd.read_csv(path).columns.tolist() == list(nab.RESULT_COLUMNS)
    read_times, read_scores = nab.read_result(path)
    assert np.array_equal(read_times, times) and np.allclose(read_scores, scores)


@pytest.mark.parametrize(("stem", "rows", "trained"), [("nyc_taxi", 10_320, 750), ("art_daily_jumpsup", 4032, 604)])
def test_the_inductive_protocol_trains_on_nabs_probationary_period(shared_data_dir, stem, rows, trained):
    config = ExperimentConfig.load(REPO / "presets" / "nab_corpus.json")
    data = build_experiment_data(
        config.data.__class__(**{**config.data.__dict__, "dataset": f"nab/{stem}"}), 0, shared_data_dir
    )
    assert len(data.x_score) == rows and len(data.x_train) == trained


@pytest.mark.slow
def test_the_quick_nab_bench_checks_the_scorer_and_writes_nab_result_files(shared_data_dir, tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "nab", "--quick", "--data-dir", str(shared_data_dir)]
        + ["--out", str(tmp_path / "out"), "--nab-results", str(tmp_path / "results")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "| standard | 39.65 | 39.65 |" in completed.stdout
    result = tmp_path / "results" / "anomalyStudio" / "artificialWithAnomaly" / "anomalyStudio_art_daily_jumpsup.csv"
    table = pd.read_csv(result)
    assert table.columns.tolist() == list(nab.RESULT_COLUMNS) and len(table) == 4032
    assert table["anomaly_score"].between(0, 1).all() and table["label"].sum() > 0
    assert "Every one of the 4,032 scores is" in completed.stdout  # art_flatline's constant scores are said
