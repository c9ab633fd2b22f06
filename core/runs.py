"""Saved runs: one folder per run, written atomically, reopened without retraining.

A run folder holds `config.json`, `model.keras`, `detector.json`, `history.json`, `scores.npz`
(scores, train_scores, and where known labels, roles and indices into the dataset), `metrics.json` and
`run.json` (the manifest: created, n_scored, and since threshold updates `revision`, `updated` and
`update_id`; older runs without these keys load as revision 1). Nothing is ever unpickled.

How a run stays whole:

- `save_run` writes every file into a hidden sibling `.NAME.partial-<hex>`, then claims NAME with
  `os.mkdir` (which fails when NAME exists, so two savers never get the same folder) and renames the
  partial folder over the empty claimed one, which is atomic on POSIX. A generated NAME carries a
  random id, and draws another when taken; a folder the caller named that holds anything is refused
  with RunError, never overwritten. A save killed part-way leaves only the hidden partial folder.
- `update_run_threshold` is copy-on-write: it builds a complete new folder `.NAME.partial-<hex>` with
  new config.json, detector.json, metrics.json and run.json (revision + 1, written last) and hard links
  to the unchanged big files (model.keras, scores.npz, history.json; copied where links are not
  possible), then swaps it with NAME in one step (Linux renameat2 RENAME_EXCHANGE; elsewhere two
  renames, NAME -> `.NAME.previous-<hex>` and the new folder -> NAME, and the cleanup puts a
  `.previous` folder back when a crash struck between them). Replacing the JSON files one by one
  would let a reader see the new config beside the old metrics; a swapped folder is always one
  complete revision. Readers (`load_run`, `list_runs`) read run.json before and after the other
  files and read again when it changed, so a swap during a read never yields a mix of revisions.
- Hidden `.NAME.partial-*`, `.NAME.deleting-*` and `.NAME.previous-*` folders untouched for
  STALE_AFTER_S are removed by `list_runs` and `save_run`; younger ones may be a save in progress in
  another process and are left alone.

Every OSError becomes a RunError with one readable sentence.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional, TypeVar, Union

import numpy as np

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
STALE_AFTER_S = 10 * 60  # hidden leftovers untouched this long are removed; younger ones may be a save in progress
_REWRITTEN = ("config.json", "detector.json", "metrics.json", MANIFEST)  # by update_run_threshold
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|deleting|previous)-[0-9a-f]+$")
_READ_ATTEMPTS = 5
_NAME_ATTEMPTS = 100
_T = TypeVar("_T")


@dataclass
class RunSummary:
    """One row of the Runs table. A folder that looks like a run but does not load has `damaged` set to
    the reason, and None wherever a field could not be read."""

    path: Path
    name: str
    dataset: Optional[str]
    model_kind: Optional[str]
    created: Optional[str]
    auroc: Optional[float]
    n_flagged: Optional[int]
    damaged: Optional[str] = None
    threshold: Optional[float] = None
    threshold_method: Optional[str] = None
    revision: Optional[int] = None
    updated: Optional[str] = None


def runs_root() -> Path:
    """Where runs are saved: $ANOMALY_STUDIO_RUNS, else ./runs."""
    return Path(os.environ.get("ANOMALY_STUDIO_RUNS", "runs")).expanduser()


def default_run_name(config: ExperimentConfig, token: Optional[str] = None) -> str:
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
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _hidden_sibling(folder: Path, kind: str) -> Path:
    return folder.parent / f".{folder.name}.{kind}-{secrets.token_hex(4)}"


def _consistent(result: ExperimentResult) -> ExperimentResult:
    """`result`, or a copy whose config, detector and metrics agree with `result.threshold`."""
    choice, config = result.threshold, result.config.threshold
    detector = result.detector
    agree = (
        getattr(detector, "threshold_", None) == choice and getattr(detector, "threshold", None) == config
        and config.method == choice.method and config.value in (None, choice.value)
        and result.metrics.get("threshold") == choice.value and result.metrics.get("threshold_method") == choice.method
    )
    return result if agree else result.with_threshold(choice, config)


def _is_empty_dir(folder: Path) -> bool:
    try:
        return folder.is_dir() and not any(folder.iterdir())
    except OSError:
        return False


def _taken(folder: Path) -> RunError:
    return RunError(f"{folder} exists already and is not empty; choose another folder so nothing saved is lost")


def save_run(result: ExperimentResult, folder: Optional[Union[str, Path]] = None) -> Path:
    """Write `result` to `folder` (default: a new uniquely named folder under runs_root()) and return its path.

    What is saved is `result.threshold`: config.json, detector.json and metrics.json are made to agree
    with it (see ExperimentResult.with_threshold). The files go to a hidden sibling folder first, which
    is moved into place at the end (see the module docstring), so an interrupted save leaves no folder
    that loads half. A given folder that exists and is not empty is refused with RunError; concurrent
    saves with the default folder each get their own.
    """
    result = _consistent(result)
    given = folder is not None
    folder = Path(folder) if given else runs_root() / default_run_name(result.config)
    if given and (folder.exists() or folder.is_symlink()) and not _is_empty_dir(folder):
        raise _taken(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the folder {folder.parent} to save the run in: {_reason(exc)}") from None
    clean_leftovers(folder.parent, only=folder.name if given else None)
    partial = _hidden_sibling(folder, "partial")
    try:
        partial.mkdir()
        _write_run_files(result, partial)
        return _move_into_place(partial, folder, given, result.config)
    except RunError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise RunError(f"the run could not be saved in {folder}: {_reason(exc)}; nothing was saved") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _write_run_files(result: ExperimentResult, partial: Path) -> None:
    result.config.save(partial / "config.json")
    result.detector.save(partial)
    _write_json(partial / "history.json", result.history.to_dict())
    _write_json(partial / "metrics.json", result.metrics)
    arrays = {"scores": result.scores, "train_scores": result.train_scores, "indices": result.data.indices,
              "roles": result.data.roles}
    if result.data.labels is not None:
        arrays["labels"] = result.data.labels
    np.savez_compressed(partial / "scores.npz", **arrays)
    _write_json(partial / MANIFEST, {"created": _now(), "n_scored": int(len(result.scores)), "revision": 1})


def _move_into_place(partial: Path, folder: Path, given: bool, config: ExperimentConfig) -> Path:
    """Claim `folder` with os.mkdir and rename `partial` over it; draw new names for a generated one that is taken."""
    for _ in range(_NAME_ATTEMPTS):
        try:
            os.mkdir(folder)
            claimed = True
        except FileExistsError:
            if not given:
                folder = folder.parent / default_run_name(config)
                continue
            if not _is_empty_dir(folder):
                raise _taken(folder) from None
            claimed = False  # an empty folder the caller made; the rename below fails if it fills meanwhile
        try:
            os.rename(partial, folder)  # atomic; replaces an empty directory, fails on a non-empty one
        except OSError as exc:
            if claimed:
                try:
                    os.rmdir(folder)  # only ever removes our own empty claim, never a run
                except OSError:
                    pass
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            if given:
                raise _taken(folder) from None
            folder = folder.parent / default_run_name(config)
            continue
        return folder
    raise RunError(f"found no free run name in {folder.parent} after {_NAME_ATTEMPTS} tries; nothing was saved")


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


def _manifest_text(folder: Path) -> Optional[bytes]:
    try:
        return (folder / MANIFEST).read_bytes()
    except OSError:
        return None


def _consistent_read(folder: Path, read: Callable[[], _T]) -> _T:
    """read() the run's files, again while run.json changed meanwhile (an update swapped the folder)."""
    for _ in range(_READ_ATTEMPTS):
        before = _manifest_text(folder)
        try:
            value = read()
        except RunError:
            if _manifest_text(folder) == before:
                raise
            continue
        if _manifest_text(folder) == before:
            return value
    raise RunError(f"{folder} kept changing while it was read; try again")


def _read_scores(folder: Path) -> tuple[np.ndarray, Optional[np.ndarray]]:
    try:
        with np.load(folder / "scores.npz", allow_pickle=False) as stored:
            return stored["scores"], (stored["labels"] if "labels" in stored.files else None)
    except (OSError, ValueError, KeyError) as exc:
        raise RunError(f"{folder / 'scores.npz'} is unreadable: {exc}") from None


def load_run(folder: Union[str, Path], data_dir: Optional[str] = None) -> ExperimentResult:
    """Reopen a saved run: model, history, scores, threshold and metrics, with its data rebuilt from the config.

    The threshold is the one saved last (by save_run or update_run_threshold): `result.threshold`,
    `result.config.threshold` and `result.detector.threshold_` come from the same revision of the run.
    """
    folder = Path(folder)

    def read():
        config = load_config(folder)
        detector = AutoencoderDetector.load(folder)
        detector.history_ = History.from_dict(_read_json(folder / "history.json"))
        return config, detector, _read_object(folder / "metrics.json"), _read_scores(folder)[0]

    config, detector, metrics, scores = _consistent_read(folder, read)
    try:
        data = build_experiment_data(config.data, config.seed, data_dir)
    except StudioError as exc:
        raise RunError(f"the run's data cannot be rebuilt: {exc}") from None
    if len(data.x_score) != len(scores):
        raise RunError(f"the run scored {len(scores)} samples but its config now yields {len(data.x_score)}; has the dataset changed?")
    threshold: ThresholdChoice = detector.threshold_
    return ExperimentResult(config, data, detector, scores, threshold, metrics)


def update_run_threshold(
    folder: Union[str, Path],
    threshold: Union[ExperimentResult, ThresholdChoice],
    threshold_config: Optional[ThresholdConfig] = None,
) -> Path:
    """Make the saved run in `folder` flag above a new threshold, as one atomic change; returns `folder`.

    `threshold`: a ThresholdChoice, or an ExperimentResult of this run (its `threshold` and
    `config.threshold` are used; a result of another run is refused). `threshold_config` gives the
    method's parameters (q, k, rate; default: the run's or the result's); its method and value are
    taken from the choice. config.json, detector.json and metrics.json (evaluated again at the new
    value from the stored scores and labels) change together with run.json (`revision` + 1,
    `updated`): the whole folder is replaced by a complete new copy in one swap (see the module
    docstring), so a reader sees either the old run or the new one, never a mix, and a crash leaves
    the old run. model.keras, scores.npz and history.json are hard links to the old files, not copies.
    """
    folder = Path(folder)
    result = threshold if isinstance(threshold, ExperimentResult) else None
    choice = result.threshold if result is not None else threshold
    if threshold_config is None and result is not None:
        threshold_config = result.config.threshold
    if not isinstance(choice, ThresholdChoice):
        raise RunError(f"update_run_threshold needs a ThresholdChoice or an ExperimentResult, got {type(choice).__name__}")

    def read():
        manifest = _read_object(folder / MANIFEST)
        config = load_config(folder)
        state = _read_object(folder / "detector.json")
        return manifest, config, state, _read_object(folder / "metrics.json"), _read_scores(folder)

    manifest, config, state, metrics, (scores, labels) = _consistent_read(folder, read)
    new_threshold = dataclasses.replace(threshold_config or config.threshold, method=choice.method, value=float(choice.value))
    try:
        new_config = config.replace(threshold=new_threshold)
    except ConfigError as exc:
        raise RunError(f"the threshold cannot be saved: {exc}") from None
    if result is not None and (dataclasses.replace(result.config, threshold=new_threshold) != new_config
                               or len(result.scores) != len(scores)):
        raise RunError(f"this result is not the run saved in {folder}; save it as a new run instead")
    new_metrics = {**metrics, **evaluate(scores, labels, choice.value),
                   "threshold_method": choice.method, "threshold_explanation": choice.explanation}
    state = {**state, "threshold": dataclasses.asdict(new_threshold), "threshold_choice": dataclasses.asdict(choice)}
    revision = manifest.get("revision", 1)
    new_manifest = {**manifest, "revision": (revision if isinstance(revision, int) else 1) + 1, "updated": _now(),
                    "update_id": secrets.token_hex(4)}

    partial = _hidden_sibling(folder, "partial")
    try:
        partial.mkdir()
        for entry in folder.iterdir():
            if entry.name in _REWRITTEN:
                continue
            if entry.is_dir():
                shutil.copytree(entry, partial / entry.name, copy_function=_link_or_copy)
            else:
                _link_or_copy(entry, partial / entry.name)
        new_config.save(partial / "config.json")
        (partial / "detector.json").write_text(json.dumps(state, default=_json_default), encoding="utf-8")
        _write_json(partial / "metrics.json", new_metrics)
        _write_json(partial / MANIFEST, new_manifest)  # last: a folder without it is not a run
        _swap_in(partial, folder)
    except RunError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise RunError(f"the threshold of {folder} could not be updated: {_reason(exc)}; the run is unchanged") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return folder


def _link_or_copy(source, target) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 with RENAME_EXCHANGE); False where that is unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _swap_in(new: Path, folder: Path) -> None:
    """Put the complete folder `new` where `folder` is, and remove the old one."""
    if _exchange(new, folder):
        old = new  # after the exchange the old run lives at `new`'s hidden name
    else:
        old = _hidden_sibling(folder, "previous")
        try:
            os.rename(folder, old)
        except FileNotFoundError:
            raise RunError(f"{folder} disappeared while its threshold was updated; nothing was changed") from None
        try:
            os.rename(new, folder)
        except BaseException:
            try:
                os.rename(old, folder)
            except OSError:
                pass  # already put back by clean_leftovers in another process
            raise
    doomed = _hidden_sibling(folder, "deleting")
    try:
        os.rename(old, doomed)
    except OSError:
        doomed = old
    shutil.rmtree(doomed, ignore_errors=True)


def _age_s(path: Path, now: float) -> float:
    """Seconds since `path` or anything directly in it last changed."""
    latest = path.lstat().st_mtime
    with os.scandir(path) as entries:
        for entry in entries:
            try:
                latest = max(latest, entry.stat(follow_symlinks=False).st_mtime)
            except OSError:
                pass
    return now - latest


def clean_leftovers(root: Optional[Union[str, Path]] = None, only: Optional[str] = None) -> list[Path]:
    """Remove hidden `.NAME.partial-*`, `.NAME.deleting-*` and `.NAME.previous-*` folders in `root`
    (default runs_root()) untouched for STALE_AFTER_S, and put back a `.NAME.previous-*` whose NAME is
    missing (an update killed between its two renames). `only`: just the leftovers of that NAME.
    Never raises; returns the folders removed.
    """
    root = Path(root) if root is not None else runs_root()
    removed = []
    try:
        entries = [entry for entry in os.scandir(root) if entry.name.startswith(".")]
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = _LEFTOVER.match(entry.name)
        if match is None or (only is not None and match["name"] != only):
            continue
        path = Path(entry.path)
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if match["kind"] == "previous" and not os.path.lexists(root / match["name"]):
                os.rename(path, root / match["name"])
                continue
            if _age_s(path, now) > STALE_AFTER_S:
                shutil.rmtree(path)
                removed.append(path)
        except OSError:
            continue
    return removed


def _looks_like_run(folder: Path) -> bool:
    return folder.is_dir() and ((folder / MANIFEST).exists() or (folder / "config.json").exists())


def _summary(folder: Path) -> RunSummary:
    missing = [name for name in RUN_FILES if not (folder / name).is_file()]
    if missing:
        raise RunError(f"{folder.name} is incomplete: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing")
    manifest = _read_object(folder / MANIFEST)
    config = load_config(folder)
    metrics = _read_object(folder / "metrics.json")
    return RunSummary(folder, folder.name, config.data.dataset, config.model.kind, manifest.get("created", ""),
                      metrics.get("auroc"), metrics.get("n_flagged"), None, metrics.get("threshold"),
                      metrics.get("threshold_method"), manifest.get("revision", 1), manifest.get("updated"))


def list_runs(root: Optional[Union[str, Path]] = None) -> list[RunSummary]:
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
            summaries.append(_consistent_read(folder, lambda: _summary(folder)))
        except Exception as exc:  # a damaged folder is listed with the reason, never fatal
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            summaries.append(RunSummary(folder, folder.name, None, None, _created_or_none(folder), None, None, reason))
    return sorted(summaries, key=lambda run: run.created or "", reverse=True)


def _created_or_none(folder: Path) -> Optional[str]:
    try:
        created = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("created")
    except (OSError, ValueError, AttributeError):
        return None
    return created if isinstance(created, str) else None


def delete_run(folder: Union[str, Path]) -> None:
    """Remove a saved run folder, damaged ones too; refuses folders without a run.json or config.json."""
    folder = Path(folder)
    if folder.name.startswith(".") or folder.is_symlink() or not _looks_like_run(folder):
        raise RunError(f"{folder} is not a saved run; nothing was deleted")
    doomed = _hidden_sibling(folder, "deleting")
    try:
        os.rename(folder, doomed)
    except FileNotFoundError:
        raise RunError(f"{folder} is not a saved run any more (deleted meanwhile?); nothing was deleted") from None
    except OSError as exc:
        raise RunError(f"{folder} could not be deleted: {_reason(exc)}") from None
    shutil.rmtree(doomed, ignore_errors=True)  # what a crash leaves here, clean_leftovers removes later
