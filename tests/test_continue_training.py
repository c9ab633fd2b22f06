"""Training a fitted model on for more epochs (core, jobs, CLI), and TensorBoard logs kept in the run."""

import dataclasses
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from test_experiment_cli import cli

from core import runs
from core.config import ExperimentConfig, ModelConfig, TrainConfig
from core.detector import AutoencoderDetector
from core.errors import ConfigError
from core.experiment import continue_experiment, run_experiment
from core.jobs import TrainingJob
from core.models import build_autoencoder
from core.training import train_autoencoder


def digits_config(**train) -> ExperimentConfig:
    """A small dense autoencoder on the built-in digits, 0–4 normal, 5–9 anomalies; the PCA baseline only."""
    config = ExperimentConfig.from_dict(
        {
            "data": {"dataset": "digits", "normal_classes": [0, 1, 2, 3, 4], "anomaly_classes": [5, 6, 7, 8, 9]},
            "model": {"kind": "dense", "latent_dim": 8, "hidden": [64]},
            "score": {"baselines": ["pca"]},
        }
    )
    return config.replace(train=dataclasses.replace(config.train, **train))


@pytest.fixture(scope="module")
def first():
    """Two epochs, with TensorBoard logs."""
    return run_experiment(digits_config(epochs=2, tensorboard=True))


@pytest.fixture(scope="module")
def continued(first):
    return continue_experiment(first, 2)


def event_losses(folder: Path) -> dict[int, float]:
    """{step: value} of the "epoch_loss" scalars in the TensorBoard event files of `folder`."""
    losses = {}
    for file in sorted(folder.glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(file)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.tag == "epoch_loss":
                    losses[event.step] = float(tf.make_ndarray(value.tensor))
    return losses


def test_continued_training_appends_epochs_and_the_loss_goes_on(first, continued):
    history = continued.history
    assert history.epochs_run == 4 and continued.metrics["epochs_run"] == 4
    assert history.loss[:2] == first.history.loss
    assert history.continued_after == [2]
    assert max(history.batch_epoch) == pytest.approx(4.0) and min(history.batch_epoch[-5:]) > 3
    # The optimizer carries on: epoch 3 starts where epoch 2 ended, far below a fresh model's first epoch.
    assert history.loss[2] < 0.8 * history.loss[0]
    assert history.loss[2] < 1.1 * history.loss[1]
    assert continued.config.train.epochs == 4 and continued.detector.train.epochs == 4
    assert continued.detector.keeps_optimizer_state


def test_continued_training_scores_thresholds_and_evaluates_again(first, continued):
    assert not np.allclose(continued.scores, first.scores)
    assert continued.threshold.method == first.config.threshold.method
    assert continued.threshold.value != first.threshold.value
    assert continued.metrics["auroc"] != first.metrics["auroc"]
    assert continued.baselines is first.baselines  # the classical baselines do not depend on the autoencoder
    assert continued.metrics["baselines"]["pca"]["auroc"] == first.metrics["baselines"]["pca"]["auroc"]
    # The earlier result keeps its own history, config and scores.
    assert first.history.epochs_run == 2 and first.config.train.epochs == 2
    assert first.metrics["epochs_run"] == 2


def test_the_earlier_result_keeps_its_model_and_the_copy_goes_on_with_its_optimizer_state(first, continued):
    assert continued.model is not first.model
    # Trained on a copy: the earlier model still gives the earlier scores (its Flagged page stays true meanwhile).
    np.testing.assert_allclose(first.detector.score_samples(first.data.x_score), first.scores, rtol=1e-5)
    first_steps = int(first.detector.trainee_.optimizer.iterations.numpy())
    assert first_steps > 0
    assert int(continued.detector.trainee_.optimizer.iterations.numpy()) == 2 * first_steps


def test_the_continued_config_re_runs_to_an_equivalent_model(continued):
    again = ExperimentConfig.from_dict(continued.config.to_dict())
    assert again.train.epochs == 4
    assert again.replace(train=dataclasses.replace(again.train, epochs=2)) == digits_config(epochs=2, tensorboard=True)


def test_more_epochs_must_be_a_positive_whole_number(first):
    with pytest.raises(ConfigError, match="at least 1"):
        continue_experiment(first, 0)
    with pytest.raises(ConfigError, match="Epochs"):
        continue_experiment(first, 10_000)


def test_stop_flag_stops_a_continued_training(first):
    stop = threading.Event()

    class StopAfterThreeBatches:
        def __init__(self):
            self.batches = 0

        def on_batch(self, progress, history):
            self.batches += 1
            if self.batches >= 3:
                stop.set()

        def on_epoch(self, progress, history):
            pass

    result = continue_experiment(first, 200, StopAfterThreeBatches(), stop)
    assert result.history.stopped == "stopped"
    assert result.history.epochs_run <= 3
    assert np.isfinite(result.scores).all()


def test_a_divergence_when_going_on_keeps_the_weights_it_started_from(first):
    x = first.detector.transform(first.data.x_train)
    model = build_autoencoder(ModelConfig(kind="dense", latent_dim=8, hidden=[]), x.shape[1:])
    config = TrainConfig(epochs=1, batch_size=32)
    history = train_autoencoder(model, x, config, 0)
    weights = model.get_weights()
    # No TrainingError, though the loss is infinite from the first batch on: the weights it started from are good.
    more = train_autoencoder(model, x * 1e30, dataclasses.replace(config, epochs=3), 0, earlier=history)
    assert more.stopped == "diverged" and "diverged" in more.warning
    assert more.epochs_run == 1 and history.epochs_run == 1
    for kept, before in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(kept, before)


@pytest.mark.parametrize("kind", ["series", "timeseries"])
def test_series_and_time_series_detectors_go_on_with_their_scaler(kind):
    """Raw series samples (scaled by the detector) and one long series (cut into windows) train on alike."""
    rng = np.random.default_rng(5)
    steps = np.linspace(0, 12 * np.pi, 600, dtype=np.float32)
    if kind == "series":
        x = (50 + 20 * np.sin(steps[:40] + rng.uniform(0, 6, (150, 1))) + rng.normal(0, 1, (150, 40))).astype(
            np.float32
        )
    else:
        x = (50 + 20 * np.sin(steps) + rng.normal(0, 1, 600)).astype(np.float32)[:, np.newaxis]
    detector = AutoencoderDetector(
        ModelConfig(kind="dense", hidden=[16], latent_dim=4),
        TrainConfig(epochs=2),
        seed=3,
        kind=kind,
        window=24 if kind == "timeseries" else None,
        stride=4,
    ).fit(x)
    scaler, scores = detector.scaler_, detector.train_scores_
    detector.infer_threshold()
    detector.fit_more(x, 1)
    assert detector.history_.epochs_run == 3 and detector.train.epochs == 3
    assert detector.scaler_ == scaler
    assert detector.train_scores_.shape == scores.shape == (len(x),)
    assert not np.allclose(detector.train_scores_, scores)
    assert not hasattr(detector, "threshold_")  # the old threshold does not describe the model trained on


def test_a_continuing_job_shows_the_earlier_epochs_from_the_start(first):
    job = TrainingJob.continuing(first, 1)
    assert job.config.train.epochs == 3
    assert job.snapshot().history.loss == first.history.loss
    job.start().join(120)
    snapshot = job.snapshot()
    assert snapshot.status == "done", snapshot.error
    assert snapshot.history.loss[:2] == first.history.loss and len(snapshot.history.loss) == 3
    assert job.result.metrics["epochs_run"] == 3


def test_tensorboard_logs_go_into_the_saved_run_and_continue_there(first, continued, tmp_path):
    first_folder = runs.save_run(first, tmp_path / "first")
    folder = runs.save_run(continued, tmp_path / "continued")
    assert event_losses(first_folder / "tensorboard" / "train") == pytest.approx(dict(enumerate(first.history.loss)))
    files = list((folder / "tensorboard" / "train").glob("events.out.tfevents.*"))
    assert files and all(file.stat().st_size > 0 for file in files)
    assert event_losses(folder / "tensorboard" / "train") == pytest.approx(dict(enumerate(continued.history.loss)))
    assert sorted(event_losses(folder / "tensorboard" / "validation")) == [0, 1, 2, 3]
    runs.update_run_threshold(folder, dataclasses.replace(continued.threshold, value=0.5, method="value"))
    assert sorted(event_losses(folder / "tensorboard" / "train")) == [0, 1, 2, 3], "a threshold update keeps the logs"
    # A run opened from its folder continues in a copy of its logs, leaving the saved run's logs as they were.
    opened = runs.load_run(folder)
    more = continue_experiment(opened, 1)
    assert not opened.detector.keeps_optimizer_state  # a run folder keeps no optimizer state: a new one goes on
    assert sorted(event_losses(Path(more.detector.log_dir_) / "train")) == [0, 1, 2, 3, 4]
    assert sorted(event_losses(folder / "tensorboard" / "train")) == [0, 1, 2, 3]
    assert more.history.loss[:4] == continued.history.loss


def test_without_the_switch_no_logs_and_an_own_folder_still_gets_them(tmp_path):
    plain = run_experiment(digits_config(epochs=1))
    assert plain.detector.log_dir_ is None
    assert not (runs.save_run(plain, tmp_path / "plain") / "tensorboard").exists()
    # Configs written before the switch existed named a folder of their own: logs still go there, not into the run.
    own = tmp_path / "own-logs"
    raw = digits_config(epochs=1).to_dict()
    del raw["train"]["tensorboard"]
    raw["train"]["tensorboard_dir"] = str(own)
    result = run_experiment(ExperimentConfig.from_dict(raw))
    assert sorted(event_losses(own / "train")) == [0]
    assert not (runs.save_run(result, tmp_path / "own") / "tensorboard").exists()


@pytest.mark.slow
def test_cli_continue_saves_a_new_run_and_leaves_the_old_one_alone(first, tmp_path):
    source = runs.save_run(first, tmp_path / "source")
    before = {path: path.read_bytes() for path in source.rglob("*") if path.is_file()}
    out = tmp_path / "more"
    done = cli("continue", source, "--epochs", 1, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "epochs 3 (completed)" in done.stdout and str(out) in done.stdout
    assert {path: path.read_bytes() for path in source.rglob("*") if path.is_file()} == before
    result = runs.load_run(out)
    assert result.config.train.epochs == 3 and result.history.epochs_run == 3
    assert result.history.loss[:2] == first.history.loss
    assert sorted(event_losses(out / "tensorboard" / "train")) == [0, 1, 2]
    # Without --out the new run goes beside the old one.
    beside = cli("continue", source, "--epochs", 1)
    assert beside.returncode == 0, beside.stderr
    assert len([folder for folder in tmp_path.iterdir() if not folder.name.startswith(".")]) == 3


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "2"], "is not a saved run"),
        (["--epochs", "0"], "--epochs must be a whole number of at least 1"),
    ],
)
def test_cli_continue_refuses_bad_input_in_one_line(tmp_path, args, message):
    done = cli("continue", tmp_path, *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], done.stderr
    assert os.listdir(tmp_path) == []
