"""The classical baselines (core.baselines): each on digits, seeds, kNN's reference set, ECOD's blocks, and how
they travel with a result: metrics.json, baselines.npz, a reopened run, a threshold update, the CLI summary."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from core import baselines, runs
from core.baselines.ecod import ECODDetector
from core.baselines.knn import KNNDistance
from core.config import ExperimentConfig
from core.data import build_experiment_data
from core.errors import ConfigError
from core.experiment import run_experiment
from core.thresholds import ThresholdChoice

REPO = Path(__file__).resolve().parents[1]
PRESET = REPO / "presets" / "digits_quick.json"


@pytest.fixture(scope="module")
def digits():
    """Digits 0-4 for training; held-out digits 0-9 scored, 5-9 anomalous."""
    config = ExperimentConfig.load(PRESET)
    data = build_experiment_data(config.data, config.seed)
    return baselines.flatten(data.x_train), baselines.flatten(data.x_score), data.labels


@pytest.mark.parametrize("name", ["pca", "iforest", "knn"])
def test_classical_baselines_tell_unseen_digits_apart(digits, name):
    x_train, x_score, labels = digits
    [result] = baselines.score_baselines([name], x_train, x_score, labels, seed=42).values()
    assert result.scores.shape == (len(x_score),) and np.isfinite(result.scores).all()
    assert result.auroc > 0.7, result
    assert 0 < result.ap <= 1 and result.seconds >= 0 and result.note


def test_ecod_runs_on_digits_and_says_how(digits):
    """ECOD judges each pixel on its own, which barely separates digit shapes (about 0.5 here): it runs, honestly."""
    x_train, x_score, labels = digits
    [result] = baselines.score_baselines(["ecod"], x_train, x_score, labels, seed=42).values()
    assert np.isfinite(result.scores).all() and result.auroc is not None and "pooled" in result.note


def test_ecod_in_blocks_gives_pyods_numbers():
    from pyod.models.ecod import ECOD

    rng = np.random.default_rng(0)
    x_train, x_score = rng.normal(size=(200, 150)), rng.normal(size=(40, 150))
    np.testing.assert_allclose(
        ECODDetector().fit(x_train).score_samples(x_score), ECOD().fit(x_train).decision_function(x_score)
    )
    np.testing.assert_allclose(ECODDetector().fit_score_samples(x_train), ECOD().fit(x_train).decision_scores_)


def test_seeded_baselines_are_reproducible(digits):
    x_train, x_score, labels = digits
    first = baselines.score_baselines(["iforest", "pca", "knn"], x_train, x_score, labels, seed=7)
    again = baselines.score_baselines(["iforest", "pca", "knn"], x_train, x_score, labels, seed=7)
    other = baselines.score_baselines(["iforest"], x_train, x_score, labels, seed=8)
    for name in first:
        np.testing.assert_array_equal(first[name].scores, again[name].scores)
    assert not np.array_equal(first["iforest"].scores, other["iforest"].scores)


def test_knn_subsamples_a_large_reference_set_with_the_seed_and_says_so():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 8))
    knn = KNNDistance(max_reference=100, seed=3).fit(x)
    assert len(knn.reference_) == 100 and "100 of 300" in knn.note_ and "seed 3" in knn.note_
    np.testing.assert_array_equal(KNNDistance(max_reference=100, seed=3).fit(x).reference_, knn.reference_)
    own = KNNDistance(max_reference=100, seed=3).fit_score_samples(x)
    assert (own > 0).all(), "a reference sample must not count itself as its nearest neighbour"
    distances = np.linalg.norm(x[:, None] - x[knn.reference_][None], axis=-1)
    outside = np.setdiff1d(np.arange(300), knn.reference_)
    np.testing.assert_allclose(own[outside], np.sort(distances[outside], axis=1)[:, :5].mean(axis=1), rtol=1e-6)
    assert "all 300" in KNNDistance().fit(x).note_


def test_a_failing_baseline_is_named_and_the_others_still_run(digits):
    x_train, x_score, labels = digits
    results = baselines.score_baselines(["pca", "knn"], x_train[:, :0], x_score[:, :0], labels, seed=1)
    assert all(r.scores is None and r.note.startswith("failed:") for r in results.values())


def test_unlabelled_agreement():
    scores = np.array([0.1, 0.9, 0.5, 0.7])
    order = np.argsort(-scores)
    assert baselines.top_overlap(order, order, 2) == 1.0
    assert baselines.top_overlap(order, order[::-1], 2) == 0.0
    assert baselines.top_overlap(order, order, 0) is None
    assert baselines.rank_correlation(scores, 2 * scores) == pytest.approx(1.0)


def test_the_baselines_field_is_validated_by_name():
    assert ExperimentConfig().score.baselines == ["pca", "iforest", "knn", "ecod"]
    assert ExperimentConfig.from_dict({"score": {"baselines": []}}).score.baselines == []
    for bad in (["pca", "pca"], ["lof"], "pca"):
        with pytest.raises(ConfigError, match=r"^score.baselines \(Classical baselines\)"):
            ExperimentConfig.from_dict({"score": {"baselines": bad}})


def digits_config(epochs=1, **score) -> ExperimentConfig:
    config = ExperimentConfig.load(PRESET)
    return config.replace(
        train=dataclasses.replace(config.train, epochs=epochs), score=dataclasses.replace(config.score, **score)
    )


@pytest.mark.slow
def test_baselines_are_saved_reopened_and_kept_by_threshold_updates(tmp_path):
    result = run_experiment(digits_config(), baselines_in_background=True)
    assert set(result.baselines.wait(120)) == {"pca", "iforest", "knn", "ecod"}
    moved = result.with_threshold(ThresholdChoice(float(np.median(result.scores)), "value", "the median"))
    assert moved.baselines is result.baselines
    folder = runs.save_run(result, tmp_path / "run")
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics["baselines"]) == {"pca", "iforest", "knn", "ecod"}
    for name, entry in metrics["baselines"].items():
        assert set(entry) == {"auroc", "ap", "seconds", "note"}
        assert entry["auroc"] == pytest.approx(result.baselines.results[name].auroc)

    runs.update_run_threshold(folder, ThresholdChoice(float(np.median(result.scores)), "value", "the median"))
    reopened = runs.load_run(folder)
    assert json.loads((folder / "metrics.json").read_text())["baselines"] == metrics["baselines"]
    assert reopened.baselines.done
    for name, saved in reopened.baselines.results.items():
        np.testing.assert_allclose(saved.scores, result.baselines.results[name].scores)
        assert saved.auroc == pytest.approx(metrics["baselines"][name]["auroc"])


@pytest.mark.slow
def test_an_empty_baselines_list_turns_them_off_and_old_runs_still_load(tmp_path):
    result = run_experiment(digits_config(baselines=[]))
    assert result.baselines.done and result.baselines.results == {}
    folder = runs.save_run(result, tmp_path / "run")
    assert json.loads((folder / "metrics.json").read_text())["baselines"] == {}
    assert not (folder / baselines.SCORES_FILE).exists()

    metrics = json.loads((folder / "metrics.json").read_text())
    del metrics["baselines"]  # what a run saved before baselines existed holds: no threshold.json, facts in metrics
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "threshold.json").unlink()
    (folder / "run.json").write_text(json.dumps({"created": "2025-01-01T00:00:00+00:00", "n_scored": 10}))
    assert runs.load_run(folder).baselines is None


@pytest.mark.slow
def test_cli_summary_names_the_best_baseline(tmp_path):
    from tests.test_experiment_cli import cli

    done = cli("run", PRESET, "--out", tmp_path / "run", "--epochs", "1")
    assert done.returncode == 0, done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    best = max(
        json.loads((tmp_path / "run" / "metrics.json").read_text())["baselines"].items(), key=lambda i: i[1]["auroc"]
    )
    assert f"(best baseline {best[0]} {best[1]['auroc']:.3f})" in summary, summary
