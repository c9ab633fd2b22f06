"""The engine end to end (data → model → scores → threshold → metrics → run folder) and its CLI."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core import runs
from core.config import ExperimentConfig
from core.data import load_dataset
from core.errors import RunError
from core.experiment import run_experiment

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "presets"
METRIC_KEYS = {
    "auroc",
    "average_precision",
    "threshold",
    "threshold_method",
    "n_scored",
    "n_flagged",
    "n_anomalies",
    "true_positives",
    "precision",
    "recall",
    "f1",
    "accuracy",
    "epochs_run",
    "train_seconds",
    "score_seconds",
}


def digits_config(**train) -> ExperimentConfig:
    config = ExperimentConfig.load(PRESETS / "digits_quick.json")
    return config.replace(train=dataclasses.replace(config.train, **train))


def cli(*args, env=None, timeout=300, **options):
    """`python -m core ARGS…` run from the repository, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "core", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        **options,
    )


@pytest.fixture(scope="module")
def digits_result():
    return run_experiment(digits_config(epochs=8))


def test_digits_experiment_separates_unseen_digits(digits_result):
    metrics = digits_result.metrics
    assert set(metrics) >= METRIC_KEYS
    assert metrics["n_scored"] == len(digits_result.data.x_score) == len(digits_result.scores)
    assert metrics["auroc"] > 0.75
    anomalies = digits_result.data.labels == 1
    assert digits_result.scores[anomalies].mean() > digits_result.scores[~anomalies].mean()
    assert metrics["n_flagged"] == int((digits_result.scores > metrics["threshold"]).sum())


def test_run_folder_round_trips(digits_result, tmp_path):
    folder = runs.save_run(digits_result, tmp_path / "run")
    assert {"config.json", "model.keras", "history.json", "scores.npz", "metrics.json", "run.json"} <= {
        p.name for p in folder.iterdir()
    }
    reopened = runs.load_run(folder)
    np.testing.assert_array_equal(reopened.scores, digits_result.scores)
    np.testing.assert_array_equal(reopened.data.labels, digits_result.data.labels)
    assert reopened.config == digits_result.config
    assert reopened.threshold == digits_result.threshold
    assert reopened.history.loss == digits_result.history.loss
    np.testing.assert_allclose(
        reopened.detector.score_samples(reopened.data.x_score[:20]), digits_result.scores[:20], rtol=1e-5
    )
    with np.load(folder / "scores.npz", allow_pickle=False) as stored:
        assert stored["indices"].shape == digits_result.scores.shape
    summaries = runs.list_runs(tmp_path)
    assert [s.name for s in summaries] == ["run"] and summaries[0].auroc == pytest.approx(
        digits_result.metrics["auroc"]
    )
    with pytest.raises(RunError, match="exists already"):
        runs.save_run(digits_result, folder)
    runs.delete_run(folder)
    assert not folder.exists() and runs.list_runs(tmp_path) == []


def test_interrupted_save_leaves_nothing_half_written(digits_result, tmp_path, monkeypatch):
    def broken_savez(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        runs.save_run(digits_result, tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_delete_refuses_folders_that_are_not_runs(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(RunError, match="not a saved run"):
        runs.delete_run(tmp_path)
    assert (tmp_path / "precious.txt").exists()


@pytest.mark.slow  # two TensorFlow subprocesses: about 20 s
def test_cli_run_then_score(tmp_path):
    out = tmp_path / "run"
    done = cli("run", PRESETS / "digits_quick.json", "--out", out, "--epochs", "2")
    assert done.returncode == 0, done.stderr
    assert "epoch 1/2" in done.stdout and "epoch 2/2" in done.stdout
    assert "AUROC" in done.stdout.strip().splitlines()[-1]
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= METRIC_KEYS and metrics["epochs_run"] == 2
    # The saved run reopens from Python as well.
    assert runs.load_config(out) == digits_config(epochs=2)

    from sklearn.datasets import load_digits

    images = (load_digits().images[:25] * 16).astype(np.uint8)  # 0..255 like a user's image file
    np.savez(tmp_path / "new.npz", x=images)
    scored = cli("score", "--run", out, tmp_path / "new.npz")
    assert scored.returncode == 0, scored.stderr
    lines = [json.loads(line) for line in scored.stdout.strip().splitlines()]
    assert [line["index"] for line in lines] == list(range(25))
    assert all(line["flagged"] == (line["score"] > metrics["threshold"]) for line in lines)

    again = cli("run", PRESETS / "digits_quick.json", "--out", out, "--epochs", "1")
    assert again.returncode == 2 and "exists already" in again.stderr
    assert json.loads((out / "metrics.json").read_text()) == metrics

    np.savez(tmp_path / "wrong.npz", x=np.zeros((20, 140), np.float32))  # series, not images
    wrong = cli("score", "--run", out, tmp_path / "wrong.npz")
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "Traceback" not in wrong.stderr

    (out / "model.keras").write_bytes(np.random.default_rng(0).bytes(4096))  # a damaged model file
    damaged = cli("score", "--run", out, tmp_path / "new.npz")
    assert damaged.returncode == 2 and damaged.stderr.count("\n") == 1
    assert "model.keras is damaged" in damaged.stderr and "not found" not in damaged.stderr.lower()


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"seed": 1, "train": {"epochs": "many"}}', "train.epochs"),
        ('{"seed": 1,', "not valid JSON"),
        ('{"data": {"dataset": "no/such/file.npz"}}', "file.npz"),
        (
            '{"model": {"kind": "dense"}, "threshold": {"method": "best_f1"}, "data": {"dataset": "digits", "normal_classes": [0], "anomaly_classes": [42]}}',
            "42",
        ),
    ],
)
def test_cli_bad_configs_exit_2_with_one_line(tmp_path, content, message):
    config = tmp_path / "config.json"
    config.write_text(content)
    done = cli("run", config, "--out", tmp_path / "out")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_cli_missing_dataset_offline_is_one_line(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"data": {"dataset": "fashion_mnist"}, "train": {"epochs": 1}}')
    done = cli(
        "run",
        config,
        "--out",
        tmp_path / "out",
        "--data-dir",
        tmp_path / "empty",
        env={"KERAS_HOME": str(tmp_path / "keras")},
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "fashion" in done.stderr and "ANOMALY_STUDIO_DATA" in done.stderr


@pytest.mark.slow  # trains on the real ECG5000 data
def test_cli_score_of_raw_ecg_rows_equals_the_run_scores(tmp_path, shared_data_dir):
    """The saved detector scales raw series itself: scoring the rows as they are in ecg.csv gives the run's scores."""
    out = tmp_path / "run"
    done = cli("run", PRESETS / "ecg5000.json", "--out", out, "--epochs", "2", "--data-dir", shared_data_dir)
    assert done.returncode == 0, done.stderr
    with np.load(out / "scores.npz", allow_pickle=False) as stored:
        scores, indices = stored["scores"], stored["indices"]
    raw = load_dataset("ecg5000", shared_data_dir).x_train[indices]
    np.savetxt(tmp_path / "beats.csv", raw, delimiter=",")
    scored = cli("score", "--run", out, tmp_path / "beats.csv")
    assert scored.returncode == 0, scored.stderr
    lines = [json.loads(line) for line in scored.stdout.strip().splitlines()]
    np.testing.assert_allclose([line["score"] for line in lines], scores, rtol=1e-5)
    threshold = json.loads((out / "metrics.json").read_text())["threshold"]
    assert [line["flagged"] for line in lines] == (scores > threshold).tolist()
    # In Python, the reopened detector scores the raw rows the same way.
    np.testing.assert_allclose(runs.load_detector(out).score_samples(raw), scores, rtol=1e-5)


def test_cli_score_rejects_a_folder_that_is_not_a_run(tmp_path):
    done = cli("score", "--run", tmp_path, tmp_path / "x.npz")
    assert done.returncode == 2 and "not a saved run" in done.stderr


def test_cli_warns_about_a_collapsed_training_and_keeps_the_warning_in_the_run(tmp_path):
    config_path = tmp_path / "collapse.json"
    config = digits_config(epochs=2, learning_rate=1)
    config.save(config_path)
    done = cli("run", config_path, "--out", tmp_path / "run")
    assert done.returncode == 0, done.stderr
    assert "warning: Training collapsed" in done.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert any("collapsed" in warning for warning in metrics["warnings"])
    assert any("collapsed" in warning for warning in runs.load_run(tmp_path / "run").warnings)


def test_cli_refuses_a_learning_rate_past_its_limit_in_one_line(tmp_path):
    raw = json.loads((PRESETS / "digits_quick.json").read_text())
    raw["train"]["learning_rate"] = 10
    (tmp_path / "fast.json").write_text(json.dumps(raw))
    done = cli("run", tmp_path / "fast.json", "--out", tmp_path / "run")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: train.learning_rate (Learning rate) must be a finite number in [1e-06, 1] (got 10.0)"
    ]
