"""Saved runs: one folder per run, written atomically, reopened without retraining.

A run folder holds `config.json`, `model.keras`, `detector.json`, `history.json`, `scores.npz`
(scores, train_scores, and where known labels, roles and indices into the dataset), `metrics.json` (with
the classical baselines' AUROC, AP, seconds and note under "baselines"), `baselines.npz` (their scores;
absent in runs saved before baselines existed, or with none) and `run.json` (the manifest: created,
n_scored, and since threshold updates `revision`, `updated` and `update_id`; older runs without these keys
load as revision 1). Nothing is ever unpickled.

How a run stays whole (the folder machinery is core.folders):

- `save_run` writes every file into a hidden sibling folder and moves it into place in one rename
  (`folders.place_new`). A generated NAME carries a random id and draws another when taken; a folder the
  caller named that holds anything is refused with RunError, never overwritten. A save killed part-way
  leaves only a hidden folder, which `list_runs` and `save_run` remove once stale (`clean_leftovers`).
- `update_run_threshold` is copy-on-write: a complete new folder with new config.json, detector.json,
  metrics.json and run.json (revision + 1, written last) and hard links to the unchanged big files
  (model.keras, scores.npz, baselines.npz, history.json) is swapped with NAME in one step (`folders.swap_in`).
  Replacing the JSON files one by one would let a reader see the new config beside the old metrics; a
  swapped folder is always one complete revision.
- Readers (`load_run`, `list_runs`) read run.json before and after the other files and read again when
  it changed (`folders.consistent_read`), so a swap during a read never yields a mix of revisions.

Every OSError becomes a RunError with one readable sentence.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import numpy as np

from core import baselines as baseline_files
from core import folders
from core.config import ExperimentConfig, ThresholdConfig
from core.data import build_experiment_data
from core.detector import AutoencoderDetector
from core.errors import ConfigError, RunError, StudioError
from core.experiment import ExperimentResult
from core.metrics import evaluate
from core.thresholds import ThresholdChoice
from core.training import History

MANIFEST = "run.json"
RUN_FILES = ("config.json", "model.keras", "detector.json", "history.json", "scores.npz", "metrics.json", MANIFEST)
STALE_AFTER_S = folders.STALE_AFTER_S  # hidden leftovers untouched this long are removed by clean_leftovers
_REWRITTEN = ("config.json", "detector.json", "metrics.json", MANIFEST)  # by update_run_threshold
_T = TypeVar("_T")


@dataclass
class RunSummary:
    """One row of the Runs table. A folder that looks like a run but does not load has `damaged` set to
    the reason, and None wherever a field could not be read."""

    path: Path
    name: str
    dataset: str | None
    model_kind: str | None
    created: str | None
    auroc: float | None
    n_flagged: int | None
    damaged: str | None = None
    threshold: float | None = None
    threshold_method: str | None = None
    revision: int | None = None
    updated: str | None = None


def runs_root() -> Path:
    """Where runs are saved: $ANOMALY_STUDIO_RUNS, else ./runs."""
    return Path(os.environ.get("ANOMALY_STUDIO_RUNS", "runs")).expanduser()


def default_run_name(config: ExperimentConfig, token: str | None = None) -> str:
    """`YYYYmmdd-HHMMSS-<label>-<kind>-<token>`; the token is 6 random hex digits unless given."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    label = config.name or Path(config.data.dataset).stem
    token = token or secrets.token_hex(3)
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{stamp}-{label}-{config.model.kind}-{token}")


def _write_json(path: Path, content) -> None:
    path.write_text(json.dumps(content, indent=2, allow_nan=False, default=_json_default) + "\n", encoding="utf-8")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in JSON")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _consistent(result: ExperimentResult) -> ExperimentResult:
    """`result`, or a copy whose config, detector and metrics agree with `result.threshold`."""
    choice, config = result.threshold, result.config.threshold
    detector = result.detector
    agree = (
        getattr(detector, "threshold_", None) == choice
        and getattr(detector, "threshold", None) == config
        and config.method == choice.method
        and config.value in (None, choice.value)
        and result.metrics.get("threshold") == choice.value
        and result.metrics.get("threshold_method") == choice.method
    )
    return result if agree else result.with_threshold(choice, config)


def save_run(result: ExperimentResult, folder: str | Path | None = None) -> Path:
    """Write `result` to `folder` (default: a new uniquely named folder under runs_root()) and return its path.

    What is saved is `result.threshold`: config.json, detector.json and metrics.json are made to agree
    with it (see ExperimentResult.with_threshold). Baselines still computing in the background are waited for. The files go to a hidden sibling folder first, which
    is moved into place at the end (see the module docstring), so an interrupted save leaves no folder
    that loads half. A given folder that exists and is not empty is refused with RunError; concurrent
    saves with the default folder each get their own.
    """
    result = _consistent(result)
    given = folder is not None
    folder = Path(folder) if given else runs_root() / default_run_name(result.config)
    if given and (folder.exists() or folder.is_symlink()) and not folders.is_empty_dir(folder):
        raise folders.taken(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the folder {folder.parent} to save the run in: {_reason(exc)}") from None
    clean_leftovers(folder.parent, only=folder.name if given else None)
    next_name = None if given else (lambda: folder.parent / default_run_name(result.config))
    try:
        with folders.staging(folder) as partial:
            _write_run_files(result, partial)
            return folders.place_new(partial, folder, next_name)
    except RunError:
        raise
    except OSError as exc:
        raise RunError(f"the run could not be saved in {folder}: {_reason(exc)}; nothing was saved") from None


def _write_run_files(result: ExperimentResult, partial: Path) -> None:
    result.config.save(partial / "config.json")
    result.detector.save(partial)
    _write_json(partial / "history.json", result.history.to_dict())
    metrics = result.metrics
    if result.baselines is not None:
        metrics = metrics | {"baselines": result.baselines.summary()}
        baseline_files.save_scores(partial, result.baselines.results)
    _write_json(partial / "metrics.json", metrics)
    arrays = {
        "scores": result.scores,
        "train_scores": result.train_scores,
        "indices": result.data.indices,
        "roles": result.data.roles,
    }
    if result.data.labels is not None:
        arrays["labels"] = result.data.labels
    np.savez_compressed(partial / "scores.npz", **arrays)
    _write_json(partial / MANIFEST, {"created": _now(), "n_scored": int(len(result.scores)), "revision": 1})


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path.parent} is not a complete run: {path.name} is missing") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} is unreadable: {exc}") from None


def load_config(folder: str | Path) -> ExperimentConfig:
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise RunError(
            f"{folder} is not a saved run (no {MANIFEST}); save a run from the dashboard or `python -m core run`"
        )
    try:
        return ExperimentConfig.load(folder / "config.json")
    except ConfigError as exc:
        raise RunError(f"{folder / 'config.json'}: {exc}") from None


def load_detector(folder: str | Path) -> AutoencoderDetector:
    folder = Path(folder)

    def read():
        load_config(folder)
        return AutoencoderDetector.load(folder)

    return _consistent_read(folder, read)


def _read_object(path: Path) -> dict:
    content = _read_json(path)
    if not isinstance(content, dict):
        raise RunError(f"{path} is damaged: it holds a JSON {type(content).__name__}, not an object")
    return content


def _consistent_read(folder: Path, read: Callable[[], _T]) -> _T:
    """read() the run's files, again while run.json changed meanwhile (an update swapped the folder)."""
    return folders.consistent_read(folder, MANIFEST, read)


def _read_scores(folder: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(folder / "scores.npz", allow_pickle=False) as stored:
            return stored["scores"], (stored["labels"] if "labels" in stored.files else None)
    except (OSError, ValueError, KeyError) as exc:
        raise RunError(f"{folder / 'scores.npz'} is unreadable: {exc}") from None


def load_run(folder: str | Path, data_dir: str | None = None) -> ExperimentResult:
    """Reopen a saved run: model, history, scores, threshold and metrics, with its data rebuilt from the config.

    The threshold is the one saved last (by save_run or update_run_threshold): `result.threshold`,
    `result.config.threshold` and `result.detector.threshold_` come from the same revision of the run.
    `result.baselines` holds the saved baselines (None for runs saved before there were any).
    """
    folder = Path(folder)

    def read():
        config = load_config(folder)
        detector = AutoencoderDetector.load(folder)
        detector.history_ = History.from_dict(_read_json(folder / "history.json"))
        metrics = _read_object(folder / "metrics.json")
        try:
            baselines = baseline_files.load_scores(folder, metrics.get("baselines"))
        except (OSError, ValueError, KeyError) as exc:
            raise RunError(f"{folder / baseline_files.SCORES_FILE} is unreadable: {exc}") from None
        return config, detector, metrics, _read_scores(folder)[0], baselines

    config, detector, metrics, scores, baselines = _consistent_read(folder, read)
    try:
        data = build_experiment_data(config.data, config.seed, data_dir)
    except StudioError as exc:
        raise RunError(f"the run's data cannot be rebuilt: {exc}") from None
    if len(data.x_score) != len(scores):
        raise RunError(
            f"the run scored {len(scores)} samples but its config now yields {len(data.x_score)}; has the dataset changed?"
        )
    threshold: ThresholdChoice = detector.threshold_
    warnings = list(metrics.get("warnings", []))
    return ExperimentResult(config, data, detector, scores, threshold, metrics, warnings, baselines)


@dataclass
class RunOutcome:
    """How a saved run went, read without its model or data: its config, loss history, metrics.json, scores (n,)
    and labels (n,) (None for unlabeled data)."""

    path: Path
    config: ExperimentConfig
    history: History
    metrics: dict
    scores: np.ndarray
    labels: np.ndarray | None


def load_outcome(folder: str | Path) -> RunOutcome:
    """The config, history, metrics, scores and labels of the saved run in `folder`, all of one revision; no model
    is loaded and no data rebuilt, so it takes milliseconds. Raises RunError when a file does not read back."""
    folder = Path(folder)

    def read():
        config = load_config(folder)
        history = History.from_dict(_read_object(folder / "history.json"))
        scores, labels = _read_scores(folder)
        return RunOutcome(folder, config, history, _read_object(folder / "metrics.json"), scores, labels)

    return _consistent_read(folder, read)


def update_run_threshold(
    folder: str | Path,
    threshold: ExperimentResult | ThresholdChoice,
    threshold_config: ThresholdConfig | None = None,
) -> Path:
    """Make the saved run in `folder` flag above a new threshold, as one atomic change; returns `folder`.

    `threshold`: a ThresholdChoice, or an ExperimentResult of this run (its `threshold` and
    `config.threshold` are used; a result of another run is refused). `threshold_config` gives the
    method's parameters (q, k, rate; default: the run's or the result's); its method and value are
    taken from the choice. config.json, detector.json and metrics.json (evaluated again at the new
    value from the stored scores and labels) change together with run.json (`revision` + 1,
    `updated`): the whole folder is replaced by a complete new copy in one swap (see the module
    docstring), so a reader sees either the old run or the new one, never a mix, and a crash leaves
    the old run. model.keras, scores.npz, baselines.npz and history.json are hard links to the old files, not
    copies; metrics.json keeps its "baselines".
    """
    folder = Path(folder)
    result = threshold if isinstance(threshold, ExperimentResult) else None
    choice = result.threshold if result is not None else threshold
    if threshold_config is None and result is not None:
        threshold_config = result.config.threshold
    if not isinstance(choice, ThresholdChoice):
        raise RunError(
            f"update_run_threshold needs a ThresholdChoice or an ExperimentResult, got {type(choice).__name__}"
        )

    def read():
        manifest = _read_object(folder / MANIFEST)
        config = load_config(folder)
        state = _read_object(folder / "detector.json")
        return manifest, config, state, _read_object(folder / "metrics.json"), _read_scores(folder)

    manifest, config, state, metrics, (scores, labels) = _consistent_read(folder, read)
    new_threshold = dataclasses.replace(
        threshold_config or config.threshold, method=choice.method, value=float(choice.value)
    )
    try:
        new_config = config.replace(threshold=new_threshold)
    except ConfigError as exc:
        raise RunError(f"the threshold cannot be saved: {exc}") from None
    if result is not None and (
        dataclasses.replace(result.config, threshold=new_threshold) != new_config or len(result.scores) != len(scores)
    ):
        raise RunError(f"this result is not the run saved in {folder}; save it as a new run instead")
    new_metrics = {
        **metrics,
        **evaluate(scores, labels, choice.value),
        "threshold_method": choice.method,
        "threshold_explanation": choice.explanation,
    }
    state = {**state, "threshold": dataclasses.asdict(new_threshold), "threshold_choice": dataclasses.asdict(choice)}
    revision = manifest.get("revision", 1)
    new_manifest = {
        **manifest,
        "revision": (revision if isinstance(revision, int) else 1) + 1,
        "updated": _now(),
        "update_id": secrets.token_hex(4),
    }

    try:
        with folders.staging(folder) as partial:
            folders.link_tree(folder, partial, skip=_REWRITTEN)
            new_config.save(partial / "config.json")
            (partial / "detector.json").write_text(json.dumps(state, default=_json_default), encoding="utf-8")
            _write_json(partial / "metrics.json", new_metrics)
            _write_json(partial / MANIFEST, new_manifest)  # last: a folder without it is not a run
            folders.swap_in(partial, folder)
    except RunError:
        raise
    except OSError as exc:
        raise RunError(
            f"the threshold of {folder} could not be updated: {_reason(exc)}; the run is unchanged"
        ) from None
    return folder


def clean_leftovers(root: str | Path | None = None, only: str | None = None) -> list[Path]:
    """Remove stale hidden leftovers of saves, updates and deletions in `root` (default runs_root()) and put
    back a run an update left aside; see folders.clean_leftovers. Never raises; returns the folders removed."""
    return folders.clean_leftovers(Path(root) if root is not None else runs_root(), only)


def _looks_like_run(folder: Path) -> bool:
    return folder.is_dir() and ((folder / MANIFEST).exists() or (folder / "config.json").exists())


def _summary(folder: Path) -> RunSummary:
    missing = [name for name in RUN_FILES if not (folder / name).is_file()]
    if missing:
        raise RunError(
            f"{folder.name} is incomplete: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
        )
    manifest = _read_object(folder / MANIFEST)
    config = load_config(folder)
    metrics = _read_object(folder / "metrics.json")
    return RunSummary(
        folder,
        folder.name,
        config.data.dataset,
        config.model.kind,
        manifest.get("created", ""),
        metrics.get("auroc"),
        metrics.get("n_flagged"),
        None,
        metrics.get("threshold"),
        metrics.get("threshold_method"),
        manifest.get("revision", 1),
        manifest.get("updated"),
    )


def list_runs(root: str | Path | None = None) -> list[RunSummary]:
    """Runs under `root` (default runs_root()), newest first.

    Hidden folders (saves and updates in progress, leftovers) are never listed; stale leftovers are
    removed (clean_leftovers). A folder with a run.json or config.json that does not read back (bad
    JSON, missing files, invalid config) is listed with `damaged` set to the reason; other folders are
    not runs and are skipped.
    """
    root = Path(root) if root is not None else runs_root()
    if not root.is_dir():
        return []
    clean_leftovers(root)
    summaries = []
    try:
        folders = sorted(root.iterdir())
    except OSError:
        return []
    for folder in folders:
        if folder.name.startswith(".") or not _looks_like_run(folder):
            continue
        try:
            summaries.append(_consistent_read(folder, functools.partial(_summary, folder)))
        except Exception as exc:  # a damaged folder is listed with the reason, never fatal
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            summaries.append(RunSummary(folder, folder.name, None, None, _created_or_none(folder), None, None, reason))
    return sorted(summaries, key=lambda run: run.created or "", reverse=True)


def _created_or_none(folder: Path) -> str | None:
    try:
        created = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("created")
    except (OSError, ValueError, AttributeError):
        return None
    return created if isinstance(created, str) else None


def delete_run(folder: str | Path) -> None:
    """Remove a saved run folder, damaged ones too; refuses folders without a run.json or config.json."""
    folder = Path(folder)
    if folder.name.startswith(".") or folder.is_symlink() or not _looks_like_run(folder):
        raise RunError(f"{folder} is not a saved run; nothing was deleted")
    try:
        folders.remove(folder)  # what a crash leaves of it, clean_leftovers removes later
    except FileNotFoundError:
        raise RunError(f"{folder} is not a saved run any more (deleted meanwhile?); nothing was deleted") from None
    except OSError as exc:
        raise RunError(f"{folder} could not be deleted: {_reason(exc)}") from None
