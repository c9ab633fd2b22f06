"""Past one machine: tf.distribute strategies, image folders streamed through tf.data, streamed scoring."""

import dataclasses
import functools
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import test_experiment_cli
from PIL import Image

from core.config import ExperimentConfig
from core.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "presets"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


cli = functools.partial(test_experiment_cli.cli, timeout=600)  # multi-worker runs start two TensorFlows


def digits_config(**train) -> ExperimentConfig:
    config = ExperimentConfig.load(PRESETS / "digits_quick.json")
    return config.replace(train=dataclasses.replace(config.train, **train))


def write_digit_folder(folder: Path, count: int | None = None) -> Path:
    """scikit-learn's digits as 8×8 grey PNGs, one sub-folder per class."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images[:count], digits.target[:count], strict=False)):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * 16).clip(0, 255).astype(np.uint8)).save(folder / str(label) / f"{i:04d}.png")
    return folder


def test_the_new_training_fields_are_validated():
    config = ExperimentConfig.from_dict({"train": {"strategy": "multi_worker", "mixed_precision": True}})
    assert config.train.strategy == "multi_worker" and config.train.mixed_precision and not config.train.jit_compile
    with pytest.raises(ConfigError, match=r"^train.strategy \(Distribution\) must be one of"):
        ExperimentConfig.from_dict({"train": {"strategy": "tpu"}})
    with pytest.raises(ConfigError, match=r"^train.jit_compile \(XLA compilation\) must be true or false"):
        ExperimentConfig.from_dict({"train": {"jit_compile": 1}})


def test_mixed_precision_keeps_the_output_layer_float32():
    from core.models import build_autoencoder

    for kind, shape in (("dense", (8, 8, 1)), ("conv", (8, 8, 1)), ("conv1d", (140,))):
        model = build_autoencoder(ExperimentConfig().model.__class__(kind=kind, hidden=[16]), shape, 1, True)
        policies = [layer.dtype_policy.name for layer in model.get_layer("decoder").layers if layer.weights]
        assert policies[-1] == "float32" and "mixed_float16" in policies, kind
        assert model(np.zeros((2, *shape), np.float32)).dtype == "float32"


def test_mixed_precision_on_a_cpu_only_machine_warns_once_and_is_ignored(capsys):
    from core import distribute

    if distribute.gpu_count():
        pytest.skip("this machine has a GPU")
    distribute._WARNED.discard("mixed_precision")
    assert distribute.use_mixed_precision(True) is False and distribute.use_mixed_precision(True) is False
    assert capsys.readouterr().err.count("warning: train.mixed_precision") == 1


def test_the_chief_is_the_chief_task_or_worker_zero(monkeypatch):
    from core.distribute import is_chief

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert is_chief()
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    for index, chief in ((0, True), (1, False)):
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        assert is_chief() is chief
    with_chief = {**cluster, "chief": ["127.0.0.1:3"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": with_chief, "task": {"type": "worker", "index": 0}}))
    assert not is_chief()


@pytest.mark.slow  # trains twice on a folder of 600 PNGs: about 13 s on 2 cores
def test_a_streamed_folder_trains_and_scores_like_the_same_folder_in_memory(tmp_path):
    """The folder is read as paths through tf.data; selection, training and scores match the in-memory path."""
    from core.data import build_experiment_data
    from core.data.stream import ImageFiles
    from core.experiment import run_experiment

    folder = write_digit_folder(tmp_path / "digits", 600)
    config = digits_config(epochs=2)
    config = config.replace(data=dataclasses.replace(config.data, dataset=str(folder)))
    in_memory = build_experiment_data(config.data, config.seed)
    streamed = build_experiment_data(config.data, config.seed, stream=True)
    assert isinstance(streamed.x_train, ImageFiles) and streamed.streamed and not in_memory.streamed
    np.testing.assert_array_equal(streamed.indices, in_memory.indices)
    np.testing.assert_array_equal(streamed.labels, in_memory.labels)
    np.testing.assert_allclose(streamed.x_score[:20].load(), in_memory.x_score[:20], atol=1e-6)
    result = run_experiment(config, data=streamed)
    assert len(result.scores) == len(in_memory.x_score) and np.isfinite(result.scores).all()
    assert result.metrics["auroc"] > 0.6 and result.metrics["baselines"] == {}
    assert any("skipped for the streamed folder" in w for w in result.warnings)
    # The trained detector scores in-memory samples the same as the streamed ones.
    np.testing.assert_allclose(result.detector.score_samples(in_memory.x_score[:50]), result.scores[:50], rtol=1e-4)


@pytest.mark.slow  # a CLI run, then four CLI scorings: about 50 s
def test_cli_score_streams_a_folder_into_a_resumable_results_file(tmp_path):
    run = tmp_path / "run"
    done = cli("run", PRESETS / "digits_quick.json", "--out", run, "--epochs", "1")
    assert done.returncode == 0, done.stderr
    folder = write_digit_folder(tmp_path / "new", 120)
    out = tmp_path / "results.jsonl"
    first = cli("score", "--run", run, folder, "--out", out, "--batch-size", "32")
    assert first.returncode == 0, first.stderr
    assert "scored 120/120" in first.stderr and first.stdout == ""
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["index"] for r in records] == list(range(120)) and {r["item"] for r in records} == {0}
    assert len({r["path"] for r in records}) == 120
    # Interrupted: the last 50 lines lost and the one before cut in half; a re-run scores just those.
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:70]) + lines[70][:20])
    again = cli("score", "--run", run, folder, "--out", out)
    assert again.returncode == 0, again.stderr and "70 already scored" in again.stderr
    resumed = [json.loads(line) for line in out.read_text().splitlines()]
    assert resumed == records
    # Without --out: JSON lines on stdout, as for one file, plus each sample's path.
    stdout = cli("score", "--run", run, folder)
    lines = [json.loads(line) for line in stdout.stdout.splitlines()]
    assert [(r["index"], r["path"]) for r in lines] == [(r["index"], r["path"]) for r in records]
    np.testing.assert_allclose([r["score"] for r in lines], [r["score"] for r in records], rtol=1e-5)
    # A .npz and a folder in one call, to CSV.
    np.savez(tmp_path / "more.npz", x=np.zeros((5, 8, 8), np.uint8))
    csv_out = tmp_path / "results.csv"
    both = cli("score", "--run", run, tmp_path / "more.npz", folder, "--out", csv_out)
    assert both.returncode == 0, both.stderr
    rows = csv_out.read_text().splitlines()
    assert rows[0] == "index,path,item,score,flagged" and len(rows) == 1 + 5 + 120


@pytest.mark.slow  # two TensorFlow workers and a single-process run: about a minute on 2 cores
def test_two_workers_on_localhost_train_a_run_like_one_process(tmp_path):
    config = digits_config(epochs=2)
    single = tmp_path / "single"
    done = cli("run", PRESETS / "digits_quick.json", "--out", single, "--epochs", "2")
    assert done.returncode == 0, done.stderr
    config = config.replace(train=dataclasses.replace(config.train, strategy="multi_worker"))
    config.save(tmp_path / "cluster.json")
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "core",
                    "run",
                    str(tmp_path / "cluster.json"),
                    "--out",
                    str(tmp_path / f"run{index}"),
                ],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "TF_CONFIG": tf_config, "CUDA_VISIBLE_DEVICES": ""},
            )
        )
    outputs = [worker.communicate(timeout=600) for worker in workers]
    for worker, (_stdout, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr[-3000:]
    assert "epoch 2/2" in outputs[0][0] and "epoch 2/2" in outputs[1][0]
    assert "the chief saves the run" in outputs[1][0]
    assert not (tmp_path / "run1").exists(), "a worker other than the chief wrote a run"
    chief = json.loads((tmp_path / "run0" / "metrics.json").read_text())
    alone = json.loads((single / "metrics.json").read_text())
    assert chief["epochs_run"] == 2 and abs(chief["auroc"] - alone["auroc"]) < 0.1, (chief["auroc"], alone["auroc"])
    np.savez(tmp_path / "new.npz", x=np.zeros((3, 8, 8), np.uint8))
    scored = cli("score", "--run", tmp_path / "run0", tmp_path / "new.npz")
    assert scored.returncode == 0 and len(scored.stdout.splitlines()) == 3, scored.stderr
