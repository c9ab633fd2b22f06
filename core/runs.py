"""Saved runs: one folder per run, written atomically, reopened without retraining.

A run folder holds what never changes after training, and one small file that does:

- `config.json` (the config as saved), `model.keras` and `detector.json` (core.detector), `history.json`,
  `scores.npz` (scores, train_scores, and where known labels, roles, indices into the dataset and, for a time
  series, timestamps), `baselines.npz` (the classical baselines' scores; absent with none) and `run.json` (the
  manifest: created, n_scored, and the run's `facts` and `baselines` summary: core.result.RunFacts and each
  baseline's AUROC, AP, seconds and note);
- `threshold.json`: the threshold in force (method, its parameters q/k/rate, value, explanation), with
  `revision` (1 when saved, + 1 per update) and `updated` (when last updated; null until then). It is the one truth about the threshold: on load it
  replaces config.json's threshold section and detector.json's, and every metric is derived from the scores,
  labels and it (core.result.result_metrics).
- `metrics.json`: those metrics, written for other tools at every save and threshold update; never read back.

Runs saved before threshold.json existed (no such file) read their threshold from detector.json's
`threshold_choice` and config.json's threshold section, and their facts from metrics.json; updating their
threshold writes threshold.json. Nothing is ever unpickled.

`save_run` writes every file into a hidden sibling folder and moves it into place in one rename
(`folders.place_new`): a generated NAME carries a random id and draws another when taken; a folder the caller
named that holds anything is refused with RunError, never overwritten. A save killed part-way leaves only a
hidden folder, which `list_runs` and `save_run` remove once stale (`clean_leftovers`). `update_run_threshold`
replaces threshold.json in one os.replace of a complete temporary file, so a reader sees the old threshold or
the new one; metrics.json follows. Every OSError becomes a RunError with one readable sentence.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core import baselines as baseline_files
from core import folders
from core.config import ExperimentConfig, ThresholdConfig
from core.data import build_experiment_data
from core.detector import AutoencoderDetector
from core.errors import ConfigError, RunError, StudioError
from core.folders import runs_root, safe_file_name
from core.result import ExperimentResult, RunFacts, result_metrics
from core.thresholds import ThresholdChoice, config_of
from core.training import History

MANIFEST = "run.json"
THRESHOLD = "threshold.json"
METRICS = "metrics.json"  # written for other tools, never read back (except the facts of runs saved before THRESHOLD)
RUN_FILES = ("config.json", "model.keras", "detector.json", "history.json", "scores.npz", MANIFEST)
STALE_AFTER_S = folders.STALE_AFTER_S  # hidden leftovers untouched this long are removed by clean_leftovers


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


def default_run_name(config: ExperimentConfig, token: str | None = None) -> str:
    """`YYYYmmdd-HHMMSS-<label>-<kind>-<token>`; the token is 6 random hex digits unless given."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    label = config.name or Path(config.data.dataset).stem
    return safe_file_name(f"{stamp}-{label}-{config.model.kind}-{token or secrets.token_hex(3)}")


def _json_text(content) -> str:
    return json.dumps(content, indent=2, allow_nan=False, default=_json_default) + "\n"


def _write_json(path: Path, content) -> None:
    path.write_text(_json_text(content), encoding="utf-8")


def _replace_json(path: Path, content) -> None:
    """Write `path` in one step: a complete hidden temporary file beside it, then os.replace (atomic on POSIX)."""
    partial = path.with_name(f".{path.name}.partial-{secrets.token_hex(4)}")
    try:
        partial.write_text(_json_text(content), encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in JSON")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _threshold_file(choice: ThresholdChoice, config: ThresholdConfig, revision: int) -> dict:
    parameters = dataclasses.asdict(config_of(choice, config)) | {"value": float(choice.value)}
    return parameters | {
        "explanation": choice.explanation,
        "revision": revision,
        "updated": _now() if revision > 1 else None,
    }


def save_run(result: ExperimentResult, folder: str | Path | None = None) -> Path:
    """Write `result` at its threshold to `folder` (default: a new uniquely named folder under runs_root()) and
    return its path.

    Baselines still computing in the background are waited for. The files go to a hidden sibling folder first,
    which is moved into place at the end (see the module docstring), so an interrupted save leaves no folder that
    loads half. A given folder that exists and is not empty is refused with RunError; concurrent saves with the
    default folder each get their own.
    """
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
    baselines = None
    if result.baselines is not None:
        baselines = result.baselines.summary()
        baseline_files.save_scores(partial, result.baselines.results)
    arrays = {
        "scores": result.scores,
        "train_scores": result.train_scores,
        "indices": result.data.indices,
        "roles": result.data.roles,
    }
    if result.data.labels is not None:
        arrays["labels"] = result.data.labels
    if result.data.timestamps is not None:
        arrays["timestamps"] = result.data.timestamps
    np.savez_compressed(partial / "scores.npz", **arrays)
    _write_json(partial / THRESHOLD, _threshold_file(result.threshold, result.config.threshold, 1))
    _write_json(partial / METRICS, result.metrics)
    manifest = {"created": _now(), "n_scored": int(len(result.scores)), "facts": result.facts.to_dict()}
    _write_json(partial / MANIFEST, manifest | {"baselines": baselines})


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path.parent} is not a complete run: {path.name} is missing") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} is unreadable: {exc}") from None


def _read_object(path: Path) -> dict:
    content = _read_json(path)
    if not isinstance(content, dict):
        raise RunError(f"{path} is damaged: it holds a JSON {type(content).__name__}, not an object")
    return content


def _require_run(folder: Path) -> None:
    if not (folder / MANIFEST).is_file():
        raise RunError(
            f"{folder} is not a saved run (no {MANIFEST}); save a run from the dashboard or `python -m core run`"
        )


def _trained_config(folder: Path) -> ExperimentConfig:
    _require_run(folder)
    try:
        return ExperimentConfig.load(folder / "config.json")
    except ConfigError as exc:
        raise RunError(f"{folder / 'config.json'}: {exc}") from None


@dataclass(frozen=True)
class SavedThreshold:
    """The threshold of a saved run as threshold.json (or, in runs saved before it, detector.json) holds it."""

    choice: ThresholdChoice
    config: ThresholdConfig
    revision: int
    updated: str | None


def load_threshold(folder: str | Path) -> SavedThreshold:
    """The threshold in force in the saved run in `folder`; RunError when it does not read back."""
    folder = Path(folder)
    _require_run(folder)
    path = folder / THRESHOLD
    try:
        if path.exists():
            stored = _read_object(path)
            choice = ThresholdChoice(float(stored["value"]), stored["method"], stored["explanation"])
            config = config_of(choice, ThresholdConfig(**{name: stored[name] for name in ("q", "k", "rate")}))
            return SavedThreshold(choice, config, int(stored.get("revision", 1)), stored.get("updated"))
        # saved before threshold.json: the choice in detector.json, the parameters in config.json
        stored_choice = _read_object(folder / "detector.json").get("threshold_choice")
        if not isinstance(stored_choice, dict):
            raise RunError(f"{folder / 'detector.json'} holds no threshold")
        choice = ThresholdChoice(**stored_choice)
        config = config_of(choice, _trained_config(folder).threshold)
        manifest = _read_object(folder / MANIFEST)
        return SavedThreshold(choice, config, int(manifest.get("revision", 1)), manifest.get("updated"))
    except (KeyError, TypeError, ValueError) as exc:
        raise RunError(f"{path} is damaged: {exc}") from None


def load_config(folder: str | Path, saved: SavedThreshold | None = None) -> ExperimentConfig:
    """The saved run's config, its threshold section the one in force (`saved`, default: read now)."""
    folder = Path(folder)
    config = _trained_config(folder)
    try:
        return config.replace(threshold=(saved or load_threshold(folder)).config)
    except ConfigError as exc:
        raise RunError(f"{folder / THRESHOLD}: {exc}") from None


def load_detector(folder: str | Path, saved: SavedThreshold | None = None) -> AutoencoderDetector:
    """The saved run's detector, flagging above the run's threshold in force (`saved`, default: read now)."""
    folder = Path(folder)
    saved = saved or load_threshold(folder)
    detector = AutoencoderDetector.load(folder)
    detector.threshold, detector.threshold_ = saved.config, saved.choice
    return detector


def _facts(folder: Path, manifest: dict) -> tuple[RunFacts, dict | None]:
    """The run's facts and baselines summary: from run.json, or metrics.json in runs saved before threshold.json."""
    source = manifest if "facts" in manifest else _read_object(folder / METRICS)
    facts = manifest.get("facts", source)
    try:
        return RunFacts.from_dict(facts), source.get("baselines")
    except (TypeError, ValueError, AttributeError) as exc:
        raise RunError(f"{folder / MANIFEST} is damaged: {exc}") from None


def _read_scores(folder: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(folder / "scores.npz", allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError) as exc:
        raise RunError(f"{folder / 'scores.npz'} is unreadable: {exc}") from None


def _read_baselines(folder: Path, summary: dict | None):
    try:
        return baseline_files.load_scores(folder, summary)
    except (OSError, ValueError, KeyError) as exc:
        raise RunError(f"{folder / baseline_files.SCORES_FILE} is unreadable: {exc}") from None


def load_run(folder: str | Path, data_dir: str | None = None) -> ExperimentResult:
    """Reopen a saved run: model, history, scores and threshold, with its data rebuilt from the config; its
    metrics are derived again from them (core.result.result_metrics), as they were on screen.

    `result.baselines` holds the saved baselines (None for runs saved before there were any).
    """
    folder = Path(folder)
    saved = load_threshold(folder)
    config = load_config(folder, saved)
    detector = load_detector(folder, saved)
    detector.history_ = History.from_dict(_read_object(folder / "history.json"))
    facts, summary = _facts(folder, _read_object(folder / MANIFEST))
    baselines = _read_baselines(folder, summary)
    scores = _read_scores(folder).get("scores")
    if scores is None:
        raise RunError(f"{folder / 'scores.npz'} holds no scores")
    try:
        data = build_experiment_data(config.data, config.seed, data_dir)
    except StudioError as exc:
        raise RunError(f"the run's data cannot be rebuilt: {exc}") from None
    if len(data.x_score) != len(scores):
        raise RunError(
            f"the run scored {len(scores)} samples but its config now yields {len(data.x_score)}; has the dataset changed?"
        )
    return ExperimentResult(config, data, detector, scores, saved.choice, facts, baselines)


@dataclass
class RunOutcome:
    """How a saved run went, read without its model or data: its config, loss history, metrics (derived as a
    reopened run's are; without "events" for a time series saved before its timestamps were), scores (n,) and
    labels (n,) (None for unlabeled data)."""

    path: Path
    config: ExperimentConfig
    history: History
    metrics: dict
    scores: np.ndarray
    labels: np.ndarray | None


def load_outcome(folder: str | Path) -> RunOutcome:
    """The config, history, metrics, scores and labels of the saved run in `folder`; no model is loaded and no
    data rebuilt, so it takes milliseconds. Raises RunError when a file does not read back."""
    folder = Path(folder)
    saved = load_threshold(folder)
    config = load_config(folder, saved)
    history = History.from_dict(_read_object(folder / "history.json"))
    arrays = _read_scores(folder)
    if "scores" not in arrays:
        raise RunError(f"{folder / 'scores.npz'} holds no scores")
    scores, labels = arrays["scores"], arrays.get("labels")
    facts, summary = _facts(folder, _read_object(folder / MANIFEST))
    metrics = result_metrics(scores, labels, arrays.get("timestamps"), saved.choice, history, facts, summary)
    return RunOutcome(folder, config, history, metrics, scores, labels)


def update_run_threshold(
    folder: str | Path,
    threshold: ExperimentResult | ThresholdChoice,
    threshold_config: ThresholdConfig | None = None,
) -> Path:
    """Make the saved run in `folder` flag above a new threshold, as one atomic change; returns `folder`.

    `threshold`: a ThresholdChoice, or an ExperimentResult of this run (its `threshold` and `config.threshold`
    are used; a result of another run is refused). `threshold_config` gives the method's parameters (q, k, rate;
    default: the run's or the result's); its method and value are taken from the choice. threshold.json is
    replaced in one os.replace (revision + 1, `updated`); metrics.json, a copy for other tools, follows.
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
    saved = load_threshold(folder)
    config = load_config(folder, saved)
    new_threshold = config_of(choice, threshold_config or config.threshold)
    try:
        new_config = config.replace(threshold=new_threshold)
    except ConfigError as exc:
        raise RunError(f"the threshold cannot be saved: {exc}") from None
    scores = _read_scores(folder).get("scores")
    if result is not None and (
        dataclasses.replace(result.config, threshold=new_threshold) != new_config
        or scores is None
        or len(result.scores) != len(scores)
    ):
        raise RunError(f"this result is not the run saved in {folder}; save it as a new run instead")
    try:
        _replace_json(folder / THRESHOLD, _threshold_file(choice, new_threshold, saved.revision + 1))
    except OSError as exc:
        raise RunError(
            f"the threshold of {folder} could not be updated: {_reason(exc)}; the run is unchanged"
        ) from None
    with contextlib.suppress(OSError, RunError):  # a copy for other tools: the run itself is updated
        _replace_json(folder / METRICS, load_outcome(folder).metrics)
    return folder


def clean_leftovers(root: str | Path | None = None, only: str | None = None) -> list[Path]:
    """Remove stale hidden leftovers of saves and deletions in `root` (default runs_root()); see
    folders.clean_leftovers. Never raises; returns the folders removed."""
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
    saved = load_threshold(folder)
    outcome = load_outcome(folder)
    return RunSummary(
        folder,
        folder.name,
        outcome.config.data.dataset,
        outcome.config.model.kind,
        manifest.get("created", ""),
        outcome.metrics.get("auroc"),
        outcome.metrics.get("n_flagged"),
        None,
        saved.choice.value,
        saved.choice.method,
        saved.revision,
        saved.updated,
    )


def list_runs(root: str | Path | None = None) -> list[RunSummary]:
    """Runs under `root` (default runs_root()), newest first.

    Hidden folders (saves in progress, leftovers) are never listed; stale leftovers are removed
    (clean_leftovers). A folder with a run.json or config.json that does not read back (bad JSON, missing files,
    invalid config) is listed with `damaged` set to the reason; other folders are not runs and are skipped.
    """
    root = Path(root) if root is not None else runs_root()
    if not root.is_dir():
        return []
    clean_leftovers(root)
    summaries = []
    try:
        candidates = sorted(root.iterdir())
    except OSError:
        return []
    for folder in candidates:
        if folder.name.startswith(".") or not _looks_like_run(folder):
            continue
        try:
            summaries.append(_summary(folder))
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
