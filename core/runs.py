"""Saved runs: one folder per run, written atomically, reopened without retraining.

A run folder holds `config.json`, `model.keras`, `detector.json`, `history.json`, `scores.npz`
(scores, train_scores, and where known labels, roles and indices into the dataset), `metrics.json` and
`run.json` (written last; a folder without it is not a run). Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Union

import numpy as np

from core.config import ExperimentConfig
from core.data import build_experiment_data
from core.detector import AutoencoderDetector
from core.errors import ConfigError, RunError, StudioError
from core.experiment import ExperimentResult
from core.thresholds import ThresholdChoice
from core.training import History

MANIFEST = "run.json"


@dataclass
class RunSummary:
    path: Path
    name: str
    dataset: str
    model_kind: str
    created: str
    auroc: Optional[float]
    n_flagged: Optional[int]


def runs_root() -> Path:
    """Where runs are saved: $ANOMALY_STUDIO_RUNS, else ./runs."""
    return Path(os.environ.get("ANOMALY_STUDIO_RUNS", "runs")).expanduser()


def default_run_name(config: ExperimentConfig) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    label = config.name or Path(config.data.dataset).stem
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{stamp}-{label}-{config.model.kind}")


def _write_json(path: Path, content) -> None:
    path.write_text(json.dumps(content, indent=2, allow_nan=False, default=_json_default) + "\n", encoding="utf-8")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in JSON")


def save_run(result: ExperimentResult, folder: Optional[Union[str, Path]] = None) -> Path:
    """Write `result` to `folder` (default: a new dated folder under runs_root()) and return its path.

    The files go to a hidden sibling folder first, which is renamed into place at the end, so an
    interrupted save leaves no folder that loads half. An existing run is never overwritten.
    """
    folder = Path(folder) if folder is not None else runs_root() / default_run_name(result.config)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise RunError(f"{folder} exists already and is not empty; choose another folder so nothing saved is lost")
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.parent / f".{folder.name}.partial-{uuid.uuid4().hex[:8]}"
    partial.mkdir()
    try:
        result.config.save(partial / "config.json")
        result.detector.save(partial)
        _write_json(partial / "history.json", result.history.to_dict())
        _write_json(partial / "metrics.json", result.metrics)
        arrays = {"scores": result.scores, "train_scores": result.train_scores, "indices": result.data.indices,
                  "roles": result.data.roles}
        if result.data.labels is not None:
            arrays["labels"] = result.data.labels
        np.savez_compressed(partial / "scores.npz", **arrays)
        _write_json(partial / MANIFEST, {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                         "n_scored": int(len(result.scores))})
        if folder.exists():
            folder.rmdir()
        os.replace(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return folder


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path.parent} is not a complete run: {path.name} is missing") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} is unreadable: {exc}") from None


def load_config(folder: Union[str, Path]) -> ExperimentConfig:
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise RunError(f"{folder} is not a saved run (no {MANIFEST}); save a run from the dashboard or `python -m core run`")
    try:
        return ExperimentConfig.load(folder / "config.json")
    except ConfigError as exc:
        raise RunError(f"{folder / 'config.json'}: {exc}") from None


def load_detector(folder: Union[str, Path]) -> AutoencoderDetector:
    load_config(folder)
    return AutoencoderDetector.load(Path(folder))


def load_run(folder: Union[str, Path], data_dir: Optional[str] = None) -> ExperimentResult:
    """Reopen a saved run: model, history, scores, threshold and metrics, with its data rebuilt from the config."""
    folder = Path(folder)
    config = load_config(folder)
    detector = AutoencoderDetector.load(folder)
    detector.history_ = History.from_dict(_read_json(folder / "history.json"))
    metrics = _read_json(folder / "metrics.json")
    try:
        with np.load(folder / "scores.npz", allow_pickle=False) as stored:
            scores = stored["scores"]
    except (OSError, ValueError, KeyError) as exc:
        raise RunError(f"{folder / 'scores.npz'} is unreadable: {exc}") from None
    try:
        data = build_experiment_data(config.data, config.seed, data_dir)
    except StudioError as exc:
        raise RunError(f"the run's data cannot be rebuilt: {exc}") from None
    if len(data.x_score) != len(scores):
        raise RunError(f"the run scored {len(scores)} samples but its config now yields {len(data.x_score)}; has the dataset changed?")
    threshold: ThresholdChoice = detector.threshold_
    return ExperimentResult(config, data, detector, scores, threshold, metrics)


def list_runs(root: Optional[Union[str, Path]] = None) -> list[RunSummary]:
    """Complete runs under `root` (default runs_root()), newest first; unreadable folders are skipped."""
    root = Path(root) if root is not None else runs_root()
    if not root.is_dir():
        return []
    summaries = []
    for folder in root.iterdir():
        if folder.name.startswith(".") or not (folder / MANIFEST).is_file():
            continue
        try:
            manifest = _read_json(folder / MANIFEST)
            config = load_config(folder)
            metrics = _read_json(folder / "metrics.json")
        except RunError:
            continue
        summaries.append(RunSummary(folder, folder.name, config.data.dataset, config.model.kind,
                                    manifest.get("created", ""), metrics.get("auroc"), metrics.get("n_flagged")))
    return sorted(summaries, key=lambda run: run.created, reverse=True)


def delete_run(folder: Union[str, Path]) -> None:
    """Remove a saved run folder; refuses folders that are not runs."""
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise RunError(f"{folder} is not a saved run; nothing was deleted")
    doomed = folder.parent / f".{folder.name}.deleting-{uuid.uuid4().hex[:8]}"
    os.replace(folder, doomed)
    shutil.rmtree(doomed)
