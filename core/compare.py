"""Two to five saved runs side by side: their metrics, ROC and PR curves, and the settings in which they differ.

Reads only what each run saved (core.runs.load_outcome): no model is loaded and no data rebuilt.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from core.config import ExperimentConfig
from core.errors import RunError
from core.fields import FIELDS, get, shown
from core.metrics import pr_curve, roc_curve
from core.runs import RunOutcome, load_outcome

MIN_RUNS, MAX_RUNS = 2, 5
# metrics.json key → column of the metrics table
METRIC_COLUMNS = {
    "auroc": "AUROC",
    "average_precision": "AP",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "threshold": "threshold",
    "threshold_method": "threshold method",
    "n_scored": "scored",
    "n_flagged": "flagged",
    "epochs_run": "epochs",
    "train_seconds": "training seconds",
}


def load_runs(folders: Sequence[str | Path]) -> dict[str, RunOutcome]:
    """{run folder name: what it saved} of MIN_RUNS to MAX_RUNS run folders, in the order given.

    Raises RunError for fewer or more runs, or a run that does not read back."""
    if not MIN_RUNS <= len(folders) <= MAX_RUNS:
        raise RunError(f"compare {MIN_RUNS} to {MAX_RUNS} runs (got {len(folders)})")
    return {Path(folder).name: load_outcome(folder) for folder in folders}


def metrics_table(runs: dict[str, RunOutcome]) -> pd.DataFrame:
    """One row per run: its name, then METRIC_COLUMNS from its metrics.json (None where it has no such value,
    e.g. AUROC without labels)."""
    return pd.DataFrame(
        [
            {"run": name} | {column: run.metrics.get(key) for key, column in METRIC_COLUMNS.items()}
            for name, run in runs.items()
        ]
    )


def curves(runs: dict[str, RunOutcome]) -> tuple[dict, dict]:
    """({run name: (false-positive rates, true-positive rates)}, {run name: (recalls, precisions)}) of the runs whose
    scores have labels of both classes; the others are left out."""
    roc, pr = {}, {}
    for name, run in runs.items():
        if run.labels is None:
            continue
        fpr, tpr = roc_curve(run.scores, run.labels)
        if len(fpr):
            precision, recall = pr_curve(run.scores, run.labels)
            roc[name], pr[name] = (fpr, tpr), (recall, precision)
    return roc, pr


def config_differences(configs: dict[str, ExperimentConfig]) -> pd.DataFrame:
    """The config fields (core.fields.FIELDS) whose values differ between the configs, one row each: "setting"
    (the dashboard's label), "field" (the config path), then each config's value as text, by its name in `configs`.
    No rows when the configs agree everywhere."""
    rows = []
    for path, field in FIELDS.items():
        values = [get(config, path) for config in configs.values()]
        if any(value != values[0] for value in values[1:]):
            rows.append(
                {"setting": field.label, "field": path}
                | {name: shown(path, value) for name, value in zip(configs, values, strict=True)}
            )
    return pd.DataFrame(rows, columns=["setting", "field", *configs])
