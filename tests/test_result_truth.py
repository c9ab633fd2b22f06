"""One truth for a result: after Save threshold on the Threshold page, the reopened run, `python -m core report`,
Runs, Compare and metrics.json all say what the screen said; and runs saved by earlier versions still open."""

import dataclasses
import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from core import runs
from core.__main__ import main
from core.compare import load_runs
from core.config import ExperimentConfig
from core.errors import RunError
from core.experiment import run_experiment
from core.metrics import evaluate
from tests.test_latent_compare import tiny_digits
from tests.test_pages import (  # noqa: F401
    button,
    flagged_count,
    go,
    metric,
    navigation_runs_app_py,
    start_app,
    workspace,
)
from tests.test_timeseries import hourly, write_csv
from ui.state import THRESHOLD_PAGE

OLD_RUN = Path(__file__).parent / "fixtures" / "run_saved_before_threshold_json"


def series_result(tmp_path: Path):
    """A conv1d autoencoder on a synthetic hourly series with three labelled anomaly windows."""
    rng = np.random.default_rng(3)
    n = 600
    values = np.sin(np.arange(n) * 2 * np.pi / 24) + rng.normal(0, 0.05, n)
    labels = np.zeros(n, dtype=int)
    for start in (380, 450, 530):
        values[start : start + 6] += 2.5
        labels[start : start + 6] = 1
    rows = [f"{t},{v:.4f},{y}" for t, v, y in zip(hourly(n), values, labels, strict=True)]
    path = write_csv(tmp_path / "series.csv", rows, header="timestamp,value,label")
    config = ExperimentConfig.from_dict(
        {
            "data": {"dataset": str(path), "window": 24, "stride": 4, "train_span": 0.5},
            "model": {"kind": "conv1d", "filters": [8], "latent_dim": 4, "kernel_size": 3},
            "train": {"epochs": 2, "batch_size": 32, "validation_fraction": 0.0},
            "threshold": {"method": "max"},
            "score": {"baselines": ["pca"]},
        }
    )
    return run_experiment(config)


def save_threshold_on_screen(result, folder: Path, value: float):
    """Open the saved run on the Threshold page, type `value` as the threshold and click Save threshold, as a
    user does; returns the page."""
    at = start_app()
    ws = workspace(at)
    ws.result, ws.saved_run = result, str(folder)
    go(at, THRESHOLD_PAGE)
    at.number_input(key="threshold:typed").set_value(value).run()
    button(at, "Save threshold").click().run()
    assert not at.error, at.error[0].value
    assert button(at, "Saved").disabled
    return at


def cards_of(report: str) -> dict[str, str]:
    """{card label: value} of an HTML report's metric cards."""
    found = re.findall(r'<div class="card-label">(.*?)</div><div class="card-value">(.*?)</div>', report)
    return {html.unescape(label): html.unescape(value) for label, value in found}


def assert_everywhere_as_on_screen(at, folder: Path, tmp_path: Path) -> dict:
    shown = workspace(at).result  # what the screen drew from
    assert f"{flagged_count(at):,}" == f"{shown.metrics['n_flagged']:,}"
    reopened = runs.load_run(folder)
    assert reopened.threshold == shown.threshold and reopened.config == shown.config
    assert reopened.metrics == shown.metrics
    assert load_runs([folder, folder.parent / "other"])[folder.name].metrics == shown.metrics
    assert json.loads((folder / "metrics.json").read_text()) == json.loads(json.dumps(shown.metrics))
    [listed] = [summary for summary in runs.list_runs(folder.parent) if summary.path == folder]
    assert (listed.threshold, listed.n_flagged, listed.revision) == (shown.threshold.value, flagged_count(at), 2)

    out = tmp_path / "report.html"
    assert main(["report", str(folder), "--out", str(out)]) == 0
    cards = cards_of(out.read_text(encoding="utf-8"))
    assert cards["Flagged"] == f"{shown.metrics['n_flagged']:,}" == f"{flagged_count(at):,}"
    return cards


def test_a_time_series_run_says_after_save_threshold_what_the_screen_said(tmp_path):
    result = series_result(tmp_path)
    folder = runs.save_run(result, tmp_path / "runs" / "series")
    shutil.copytree(folder, tmp_path / "runs" / "other")
    lower = float(np.quantile(result.scores, 0.6))  # many more events than at the training threshold
    at = save_threshold_on_screen(result, folder, lower)
    shown = workspace(at).result
    events = shown.metrics["events"]
    assert events != result.metrics["events"] and events["flagged"] > result.metrics["events"]["flagged"]
    assert metric(at, "Flagged events") == f"{events['flagged']:,}"
    assert metric(at, "Windows detected") == f"{events['detected']} of {events['total']}"

    cards = assert_everywhere_as_on_screen(at, folder, tmp_path)
    for label in ("Flagged events", "Windows detected", "False alarms", "Mean delay"):
        assert cards[label] == metric(at, label), label


def test_an_image_run_says_after_save_threshold_what_the_screen_said(tmp_path):
    config = tiny_digits()
    result = run_experiment(config.replace(data=dataclasses.replace(config.data, limit=120)))
    folder = runs.save_run(result, tmp_path / "runs" / "digits")
    shutil.copytree(folder, tmp_path / "runs" / "other")
    at = save_threshold_on_screen(result, folder, float(np.quantile(result.scores, 0.5)))
    cards = assert_everywhere_as_on_screen(at, folder, tmp_path)
    shown = workspace(at).result.metrics  # the browser's cards compute the same (tests/test_threshold_view.py)
    for label, key in (("Precision", "precision"), ("Recall", "recall")):
        assert cards[label] == f"{shown[key]:.1%}", label


def test_a_run_saved_before_threshold_json_opens_at_its_updated_threshold_and_updates(tmp_path):
    """The fixture was saved, then its threshold updated, by the code before threshold.json (tests/fixtures/README)."""
    folder = shutil.copytree(OLD_RUN, tmp_path / "old")
    old_metrics = json.loads((folder / "metrics.json").read_text())
    old_choice = json.loads((folder / "detector.json").read_text())["threshold_choice"]
    reopened = runs.load_run(folder)
    assert (reopened.threshold.value, reopened.threshold.method) == (old_choice["value"], "quantile")
    assert reopened.config.threshold.q == 0.8
    at_threshold = evaluate(reopened.scores, reopened.data.labels, reopened.threshold.value)
    assert {key: old_metrics[key] for key in at_threshold} == at_threshold
    for key in ("n_train", "epochs_run", "stopped", "warnings", "baselines"):
        assert reopened.metrics[key] == old_metrics[key], key
    [summary] = runs.list_runs(tmp_path)
    assert summary.damaged is None and summary.revision == 2 and summary.threshold == old_choice["value"]

    higher = reopened.with_threshold(dataclasses.replace(reopened.threshold, value=float(reopened.scores.max())))
    runs.update_run_threshold(folder, higher)
    again = runs.load_run(folder)
    assert again.threshold == higher.threshold and again.metrics == higher.metrics
    assert again.metrics["n_flagged"] == 0 and runs.list_runs(tmp_path)[0].revision == 3


@pytest.mark.parametrize("broken", ["detector.json", "threshold.json"])
def test_a_threshold_that_does_not_read_back_names_its_file(tmp_path, broken):
    folder = shutil.copytree(OLD_RUN, tmp_path / "old")
    if broken == "threshold.json":
        (folder / broken).write_text('{"method": "quantile"}')
    else:
        state = json.loads((folder / broken).read_text())
        (folder / broken).write_text(json.dumps(state | {"threshold_choice": None}))
    with pytest.raises(RunError, match=broken):
        runs.load_run(folder)
