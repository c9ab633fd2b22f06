"""Saved runs: unique race-free names, the threshold the user chose, atomic threshold updates, damaged
runs listed with a reason, and cleanup of what killed saves leave behind."""

import copy
import dataclasses
import errno
import json
import multiprocessing
import os
import shutil
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from core import runs
from core.config import ExperimentConfig, ThresholdConfig
from core.errors import RunError
from core.experiment import run_experiment
from core.metrics import evaluate
from core.thresholds import choose_threshold, config_of

PRESETS = Path(__file__).resolve().parents[1] / "presets"


class FixedClock(datetime):
    """Every save happens in the same second, as with five dashboard sessions saving at once."""

    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 11, 23, 12, 0, 0, tzinfo=tz)


@pytest.fixture(scope="module")
def result():
    config = ExperimentConfig.load(PRESETS / "digits_quick.json")
    config = config.replace(
        data=dataclasses.replace(config.data, limit=120),
        model=dataclasses.replace(config.model, kind="dense", hidden=[16], latent_dim=4),
        train=dataclasses.replace(config.train, epochs=1, batch_size=32),
    )
    return run_experiment(config)


@pytest.fixture
def fixed_clock(monkeypatch):
    monkeypatch.setattr(runs, "datetime", FixedClock)


def best_f1(result):
    return choose_threshold(ThresholdConfig(method="best_f1"), result.scores, result.train_scores, result.data.labels)


def file_bytes(folder: Path) -> dict:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def visible(root: Path) -> list[str]:
    return sorted(path.name for path in root.iterdir() if not path.name.startswith("."))


# ---------------------------------------------------------------- unique names, race-free saves


def test_default_names_are_unique_and_not_only_the_clock(result, fixed_clock):
    names = {runs.default_run_name(result.config) for _ in range(20)}
    assert len(names) == 20
    assert all(name.startswith("20261123-120000-digits-quick-demo-dense-") for name in names)


def test_five_threads_saving_in_the_same_second_give_five_runs(result, fixed_clock):
    barrier = threading.Barrier(5)
    saved, errors = [], []

    def save():
        barrier.wait(timeout=30)
        try:
            saved.append(runs.save_run(result))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [] and len(set(saved)) == 5
    listed = runs.list_runs()
    assert len(listed) == 5 and all(summary.damaged is None for summary in listed)
    assert {summary.path for summary in listed} == set(saved)
    for folder in saved:
        reopened = runs.load_run(folder)
        np.testing.assert_array_equal(reopened.scores, result.scores)
    assert not [path for path in runs.runs_root().iterdir() if path.name.startswith(".")]


def _save_in_child(result, template, barrier):
    detector = copy.copy(result.detector)

    def save(folder):  # copies a saved model: the child never runs TensorFlow after the fork
        for name in ("model.keras", "detector.json"):
            shutil.copy(template / name, Path(folder) / name)

    detector.save = save
    barrier.wait(timeout=30)
    runs.save_run(dataclasses.replace(result, detector=detector))


def test_five_processes_saving_in_the_same_second_give_five_runs(result, fixed_clock, tmp_path):
    template = runs.save_run(result, tmp_path / "template")
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(5)
    processes = [context.Process(target=_save_in_child, args=(result, template, barrier)) for _ in range(5)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [process.exitcode for process in processes] == [0] * 5
    listed = runs.list_runs()
    assert len({summary.name for summary in listed}) == 5 and all(summary.damaged is None for summary in listed)
    assert runs.load_run(listed[0].path).threshold == result.threshold


def test_a_generated_name_that_is_taken_draws_another(result, fixed_clock, monkeypatch):
    taken = runs.runs_root() / runs.default_run_name(result.config, token="abcdef")
    taken.mkdir()
    (taken / "keep.txt").write_text("someone else's")
    real = runs.secrets.token_hex
    draws = iter(["abcdef", "abcdef"])
    monkeypatch.setattr(runs.secrets, "token_hex", lambda n: next(draws, None) or real(n) if n == 3 else real(n))
    folder = runs.save_run(result)
    assert folder != taken and folder.name.startswith("20261123-120000-")
    assert (taken / "keep.txt").read_text() == "someone else's" and len(list(taken.iterdir())) == 1
    assert runs.load_config(folder) == result.config


def test_an_explicit_folder_holding_a_run_is_refused_and_left_intact(result, tmp_path):
    folder = runs.save_run(result, tmp_path / "run")
    before = file_bytes(folder)
    with pytest.raises(RunError, match="exists already"):
        runs.save_run(result.with_threshold(best_f1(result)), folder)
    assert file_bytes(folder) == before
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("mine")
    with pytest.raises(RunError, match="exists already"):
        runs.save_run(result, tmp_path / "notes")
    assert visible(tmp_path / "notes") == ["a.txt"]
    (tmp_path / "empty").mkdir()
    assert runs.save_run(result, tmp_path / "empty") == tmp_path / "empty"
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_threads_racing_for_one_explicit_folder_one_wins_the_others_get_run_error(result, tmp_path):
    barrier = threading.Barrier(4)
    outcomes = []

    def save():
        barrier.wait(timeout=30)
        try:
            outcomes.append(runs.save_run(result, tmp_path / "same"))
        except Exception as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=save) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes.count(tmp_path / "same") == 1
    assert all(isinstance(o, RunError) and "exists already" in str(o) for o in outcomes if not isinstance(o, Path))
    assert runs.load_config(tmp_path / "same") == result.config
    assert visible(tmp_path) == ["same"] and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_crash_mid_save_leaves_no_run_and_earlier_runs_intact(result, monkeypatch):
    earlier = runs.save_run(result)
    before = file_bytes(earlier)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", disk_full)
    with pytest.raises(RunError, match="No space left on device") as caught:
        runs.save_run(result)
    assert "\n" not in str(caught.value)
    root = runs.runs_root()
    assert os.listdir(root) == [earlier.name]  # no visible half-run, no hidden partial folder
    assert file_bytes(earlier) == before
    assert [summary.path for summary in runs.list_runs()] == [earlier]


# ---------------------------------------------------------------- the threshold the user chose


def test_with_threshold_makes_config_detector_and_metrics_agree(result):
    original_metrics = dict(result.metrics)
    choice = best_f1(result)
    chosen = result.with_threshold(choice, ThresholdConfig(method="best_f1", q=0.95))
    assert chosen.threshold == chosen.detector.threshold_ == choice
    assert chosen.config.threshold == ThresholdConfig(method="best_f1", q=0.95)
    assert chosen.detector.threshold == chosen.config.threshold
    at_choice = evaluate(result.scores, result.data.labels, choice.value)
    assert {key: chosen.metrics[key] for key in at_choice} == at_choice
    assert chosen.metrics["threshold_method"] == "best_f1"
    for key in ("n_train", "epochs_run", "train_seconds", "score_seconds", "stopped"):
        assert chosen.metrics[key] == result.metrics[key]
    assert chosen.detector.model_ is result.detector.model_
    # The original keeps its own threshold.
    assert result.metrics == original_metrics and result.detector.threshold_ == result.threshold != choice
    assert result.config.threshold.method == "mean_std"


def test_a_saved_run_keeps_the_chosen_threshold(result):
    choice = best_f1(result)
    chosen = result.with_threshold(choice, ThresholdConfig(method="best_f1"))
    reopened = runs.load_run(runs.save_run(chosen))
    assert reopened.threshold == choice
    assert reopened.config.threshold == chosen.config.threshold and reopened.config.threshold.method == "best_f1"
    assert reopened.metrics == chosen.metrics
    assert runs.list_runs()[0].threshold == choice.value and runs.list_runs()[0].threshold_method == "best_f1"


def test_save_run_writes_result_threshold_even_when_only_that_was_replaced(result):
    choice = best_f1(result)
    folder = runs.save_run(dataclasses.replace(result, threshold=choice))
    stored = json.loads((folder / "threshold.json").read_text())
    assert (stored["value"], stored["method"], stored["revision"]) == (choice.value, "best_f1", 1)
    assert json.loads((folder / "metrics.json").read_text())["threshold"] == choice.value  # the copy for tools
    assert runs.load_config(folder).threshold.method == "best_f1"
    assert runs.load_run(folder).threshold == choice


# ---------------------------------------------------------------- atomic threshold updates


def test_update_run_threshold_replaces_the_threshold_file_only(result):
    folder, other = runs.save_run(result), runs.save_run(result)
    other_before = file_bytes(other)
    facts = {name: (folder / name).read_bytes() for name in runs.RUN_FILES if name != runs.MANIFEST}
    choice = best_f1(result)
    assert runs.update_run_threshold(folder, choice, ThresholdConfig(method="best_f1", q=0.9)) == folder
    reopened = runs.load_run(folder)
    assert reopened.threshold == reopened.detector.threshold_ == choice
    assert reopened.config.threshold == ThresholdConfig(method="best_f1", q=0.9)
    assert reopened.metrics == result.with_threshold(choice, ThresholdConfig(method="best_f1", q=0.9)).metrics
    stored = json.loads((folder / "threshold.json").read_text())
    assert stored["revision"] == 2 and stored["updated"] and stored["q"] == 0.9
    assert {name: (folder / name).read_bytes() for name in facts} == facts  # what training established is untouched
    assert json.loads((folder / "metrics.json").read_text()) == json.loads(json.dumps(reopened.metrics))
    assert file_bytes(other) == other_before
    assert sorted(os.listdir(runs.runs_root())) == sorted([folder.name, other.name])
    assert not [name for name in os.listdir(folder) if name.startswith(".")]  # no temporary file left

    updated = result.with_threshold(choose_threshold(ThresholdConfig(method="quantile", q=0.9), result.scores))
    runs.update_run_threshold(folder, updated)
    reopened = runs.load_run(folder)
    assert reopened.threshold == updated.threshold and reopened.config == updated.config
    assert reopened.metrics == updated.metrics
    assert {summary.path: summary.revision for summary in runs.list_runs()} == {folder: 3, other: 1}


def test_update_run_threshold_refuses_another_runs_result(result):
    folder = runs.save_run(result)
    other = result.with_threshold(best_f1(result))
    other = dataclasses.replace(other, config=other.config.replace(seed=7))
    with pytest.raises(RunError, match="not the run saved"):
        runs.update_run_threshold(folder, other)


def test_a_crash_mid_update_leaves_the_run_as_it_was(result, monkeypatch):
    folder = runs.save_run(result)
    before = file_bytes(folder)

    def disk_full(source, target):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(RunError, match="unchanged"):
        runs.update_run_threshold(folder, best_f1(result))
    assert file_bytes(folder) == before and os.listdir(runs.runs_root()) == [folder.name]


def test_readers_never_see_a_half_written_threshold(result):
    folder = runs.save_run(result)
    choices = [best_f1(result), choose_threshold(ThresholdConfig(method="quantile", q=0.5), result.scores)]
    done = threading.Event()
    failures = []

    def update():
        try:
            for i in range(12):
                runs.update_run_threshold(folder, choices[i % 2])
        except Exception as exc:
            failures.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=update)
    writer.start()
    seen = set()
    while not done.is_set() or not seen:
        saved = runs.load_threshold(folder)  # never a RunError: the file is replaced whole
        assert saved.config == config_of(saved.choice, saved.config)
        seen.add(saved.choice)
    writer.join()
    assert failures == [] and seen <= {result.threshold, *choices}


# ---------------------------------------------------------------- listing, deleting, cleanup


def test_damaged_runs_are_listed_with_a_reason_and_can_be_deleted(result):
    root = runs.runs_root()
    healthy = runs.save_run(result)
    for name in ("bad-threshold", "bad-config", "no-scores", "no-manifest"):
        shutil.copytree(healthy, root / name)
    (root / "bad-threshold" / "threshold.json").write_text("{not json")
    (root / "bad-config" / "config.json").write_text('{"seed": -1}')
    (root / "no-scores" / "scores.npz").unlink()
    (root / "no-manifest" / "run.json").unlink()
    (root / "holiday-photos").mkdir()
    (root / "holiday-photos" / "a.jpg").write_bytes(b"x")
    shutil.copytree(healthy, root / ".hidden-copy")

    listed = {summary.name: summary for summary in runs.list_runs()}
    assert set(listed) == {healthy.name, "bad-threshold", "bad-config", "no-scores", "no-manifest"}
    assert listed[healthy.name].damaged is None and listed[healthy.name].auroc == result.metrics["auroc"]
    assert "threshold.json" in listed["bad-threshold"].damaged
    assert "seed" in listed["bad-config"].damaged
    assert "scores.npz" in listed["no-scores"].damaged
    assert "run.json" in listed["no-manifest"].damaged
    for name in ("bad-threshold", "bad-config", "no-scores", "no-manifest"):
        summary = listed[name]
        assert summary.auroc is None and summary.dataset is None and "\n" not in summary.damaged
        runs.delete_run(summary.path)
        assert not summary.path.exists()
    with pytest.raises(RunError, match="not a saved run"):
        runs.delete_run(root / "holiday-photos")
    assert (root / "holiday-photos" / "a.jpg").exists()
    assert [summary.name for summary in runs.list_runs()] == [healthy.name]


def _leftover(root: Path, name: str, age_s: float) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "model.keras").write_bytes(b"half")
    stamp = time.time() - age_s
    for path in (folder / "model.keras", folder):
        os.utime(path, (stamp, stamp))
    return folder


def test_stale_leftovers_are_cleaned_fresh_ones_kept(result):
    root = runs.runs_root()
    stale = runs.STALE_AFTER_S + 60
    old_partial = _leftover(root, ".20260101-000000-digits-dense-abcdef.partial-0123abcd", stale)
    old_deleting = _leftover(root, ".gone.deleting-89abcdef", stale)
    fresh_partial = _leftover(root, ".20260101-000000-digits-dense-fedcba.partial-11111111", 5)
    not_ours = _leftover(root, ".git", stale)
    assert runs.list_runs() == []
    assert not old_partial.exists() and not old_deleting.exists()
    assert fresh_partial.exists() and not_ours.exists()

    other_stale = _leftover(root, ".x.partial-22222222", stale)
    runs.save_run(result)
    assert not other_stale.exists() and fresh_partial.exists()


def test_a_folder_an_older_version_left_aside_mid_update_is_put_back(result):
    folder = runs.save_run(result)
    previous = folder.parent / f".{folder.name}.previous-0badc0de"
    os.rename(folder, previous)  # where a crash in an older version's two-rename swap would leave it
    assert [summary.path for summary in runs.list_runs()] == [folder]
    assert runs.load_run(folder).threshold == result.threshold


def test_runs_saved_before_manifest_revisions_still_load_and_update(result):
    folder = runs.save_run(result)
    (folder / "threshold.json").unlink()  # the older layouts: the threshold in detector.json, facts in metrics.json
    (folder / "run.json").write_text(
        json.dumps({"created": "2025-01-01T00:00:00+00:00", "n_scored": len(result.scores)})
    )
    [summary] = runs.list_runs()
    assert summary.damaged is None and summary.revision == 1 and summary.updated is None
    assert runs.load_run(folder).threshold == result.threshold
    choice = best_f1(result)
    runs.update_run_threshold(folder, choice)
    [summary] = runs.list_runs()
    assert (
        summary.revision == 2 and summary.threshold == choice.value and summary.created == "2025-01-01T00:00:00+00:00"
    )
    assert runs.load_run(folder).threshold == choice
