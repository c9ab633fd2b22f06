"""The Numenta Anomaly Benchmark's scoring, implemented from its description (Lavin & Ahmad 2015, NAB v1.1).

Each series has labelled anomaly windows. A detector gives every timestamp an anomaly score; at a threshold a
timestamp is a detection when its score is at or above it. Each detection is weighted by where it falls:

- inside a window, by the scaled sigmoid of its position relative to the window's end, so the window's first
  timestamp earns the profile's full true-positive weight and a detection at its end almost nothing; a window
  counts only its best (earliest) detection, and a window with none costs the false-negative weight;
- outside a window, as a false positive costing up to the false-positive weight: just after a window's end the
  cost is small and it grows with the distance (in window widths) to the full weight; before the first window
  it is the full weight.

Timestamps in a file's probationary period, its first min(⌊0.15·n⌋, 750) rows, are not scored. One threshold
serves the whole corpus: the one that maximises the corpus's summed score. That sum is normalised to 100 for a
perfect detector (every window detected at its first timestamp, no false positive) and 0 for the null
detector (no detection at all, every window missed).

Result files are NAB's: `timestamp,value,anomaly_score,label` CSVs at `<folder>/<detector>/<category>/
<detector>_<file>.csv`, where `<category>/<file>.csv` is the series' key in the label files.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

PROBATIONARY_SHARE = 0.15
PROBATIONARY_CAP = 750  # NAB: the share of 5,000 rows, whatever the file's length
RESULT_COLUMNS = ("timestamp", "value", "anomaly_score", "label")
_OUTSIDE, _PROBATION = -1, -2


def probationary_length(n_rows: int) -> int:
    """Rows at the start of a series of n_rows that a detector learns from and that are never scored."""
    return int(min(math.floor(PROBATIONARY_SHARE * n_rows), PROBATIONARY_CAP))


def scaled_sigmoid(position) -> np.ndarray:
    """2·sigmoid(−5·position) − 1 (−1 from position 3 on): ≈ 0.987 at −1 (a window's start), 0 at its end (0)."""
    position = np.asarray(position, dtype=np.float64)
    return np.where(position >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * np.minimum(position, 3.0))) - 1.0)


@dataclass(frozen=True)
class Profile:
    """An application profile's weights: a detected window earns up to `tp`, a missed one costs `fn`, a false
    positive costs up to `fp`."""

    tp: float
    fp: float
    fn: float


def load_profiles(path: str | Path) -> dict[str, Profile]:
    """NAB's profiles.json: {name: {"CostMatrix": {"tpWeight", "fpWeight", "fnWeight", ...}}} as Profiles."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return {
        name: Profile(
            float(m["CostMatrix"]["tpWeight"]), float(m["CostMatrix"]["fpWeight"]), float(m["CostMatrix"]["fnWeight"])
        )
        for name, m in raw.items()
    }


def load_windows(path: str | Path) -> dict[str, list[tuple[np.datetime64, np.datetime64]]]:
    """NAB's combined_windows.json: {"<category>/<file>.csv": [[start, end], ...]} with times as datetime64[ns]."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return {
        key: [(pd.Timestamp(start).to_datetime64(), pd.Timestamp(end).to_datetime64()) for start, end in windows]
        for key, windows in raw.items()
    }


@dataclass
class FileParts:
    """One series prepared for scoring, every array (n_scored,) over its rows after the probationary period:
    `scores` the detector's, `weights` each row's value if detected under the profile (positive in a window,
    negative outside), `window` the index of the window holding the row (−1 outside any)."""

    scores: np.ndarray
    weights: np.ndarray
    window: np.ndarray
    n_windows: int


def file_parts(timestamps: np.ndarray, scores: np.ndarray, windows: list, profile: Profile) -> FileParts:
    """Weigh each row of one series: timestamps (n,) datetime64 in time order, scores (n,) float, windows as
    `load_windows` gives them. Raises ValueError when a window's start or end is not one of the timestamps."""
    timestamps = np.asarray(timestamps, dtype="datetime64[ns]")
    scores = np.asarray(scores, dtype=np.float64)
    n = len(timestamps)
    if len(scores) != n:
        raise ValueError(f"{len(scores)} scores for {n} timestamps")
    weights = np.empty(n)
    window = np.full(n, _OUTSIDE, dtype=np.int64)
    index = np.arange(n)
    previous_end: int | None = None
    previous_width, cursor = 1.0, 0
    bounds = [(_row_of(timestamps, start), _row_of(timestamps, end)) for start, end in windows]
    for number, (left, right) in enumerate([*bounds, (n, n)]):
        gap = slice(cursor, left)  # rows after the previous window (or from the start) up to this one
        if previous_end is None:
            weights[gap] = -profile.fp
        else:
            weights[gap] = profile.fp * scaled_sigmoid((index[gap] - previous_end) / (previous_width - 1.0))
        if left == n:
            break
        width = right - left + 1.0
        inside = index[left : right + 1]
        weights[left : right + 1] = profile.tp * scaled_sigmoid(-(right - inside + 1) / width) / scaled_sigmoid(-1.0)
        window[left : right + 1] = number
        previous_end, previous_width, cursor = right, width, right + 1
    scored = slice(probationary_length(n), n)
    return FileParts(scores[scored], weights[scored], window[scored], len(windows))


def _row_of(timestamps: np.ndarray, moment: np.datetime64) -> int:
    row = int(np.searchsorted(timestamps, moment))
    if row >= len(timestamps) or timestamps[row] != moment:
        raise ValueError(f"the window bound {moment} is not one of the series' timestamps")
    return row


def file_score(parts: FileParts, threshold: float, profile: Profile) -> float:
    """The raw NAB score of one series at a threshold: detected windows' best weights, minus missed windows'
    cost, plus the (negative) weights of detections outside windows."""
    detected = parts.scores >= threshold
    false_positives = parts.weights[detected & (parts.window == _OUTSIDE)].sum()
    total = float(false_positives)
    for number in range(parts.n_windows):
        hits = parts.weights[detected & (parts.window == number)]
        total += float(hits.max()) if len(hits) else -profile.fn
    return total


def best_threshold(files: list[FileParts], profile: Profile) -> tuple[float, float]:
    """(threshold, raw corpus score) maximising the summed score of all files; threshold inf = detect nothing.

    Sweeps every distinct score from the highest down: lowering the threshold past a score adds its rows'
    false-positive weights, and raises a window's value to the best weight detected in it so far.
    """
    scores = np.concatenate([parts.scores for parts in files])
    weights = np.concatenate([parts.weights for parts in files])
    offsets = np.cumsum([0] + [parts.n_windows for parts in files])
    window = np.concatenate(
        [
            np.where(parts.window >= 0, parts.window + offset, _OUTSIDE)
            for parts, offset in zip(files, offsets, strict=False)
        ]
    )
    nothing = -profile.fn * float(offsets[-1])
    if len(scores) == 0:
        return math.inf, nothing
    order = np.argsort(-scores, kind="stable")
    scores, weights, window = scores[order], weights[order], window[order]
    change = np.where(window == _OUTSIDE, weights, 0.0)
    inside = window != _OUTSIDE
    frame = pd.DataFrame({"window": window[inside], "weight": weights[inside]})
    best_so_far = frame.groupby("window")["weight"].cummax()
    before = best_so_far.groupby(frame["window"]).shift(1).fillna(-profile.fn)
    change[inside] = (best_so_far - before).to_numpy()
    totals = nothing + np.cumsum(change)
    last_of_tie = np.r_[scores[1:] != scores[:-1], True]
    candidates = np.flatnonzero(last_of_tie)
    best = candidates[np.argmax(totals[candidates])]
    if totals[best] <= nothing:
        return math.inf, nothing
    return float(scores[best]), float(totals[best])


@dataclass
class CorpusScore:
    """A detector's NAB result under one profile: `normalized` (0 = null detector, 100 = perfect), the `raw`
    summed score, the corpus-wide `threshold` and each file's raw score `per_file` ({key: score})."""

    normalized: float
    raw: float
    threshold: float
    per_file: dict[str, float]


def score_corpus(
    results: dict[str, tuple[np.ndarray, np.ndarray]], windows: dict[str, list], profile: Profile
) -> CorpusScore:
    """Score a detector's results {key: (timestamps (n,), scores (n,))}, keys as in the label files."""
    parts = {key: file_parts(times, scores, windows[key], profile) for key, (times, scores) in results.items()}
    threshold, raw = best_threshold(list(parts.values()), profile)
    per_file = {key: file_score(part, threshold, profile) for key, part in parts.items()}
    n_windows = sum(part.n_windows for part in parts.values())
    null, perfect = -profile.fn * n_windows, profile.tp * n_windows
    normalized = 100.0 * (raw - null) / (perfect - null) if perfect > null else 0.0
    return CorpusScore(normalized, raw, threshold, per_file)


def result_path(folder: str | Path, detector: str, key: str) -> Path:
    """Where NAB keeps a detector's result for the series `key` ("<category>/<file>.csv")."""
    category, file_name = key.split("/", 1)
    return Path(folder) / detector / category / f"{detector}_{file_name}"


def read_result(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(timestamps (n,) datetime64[ns], anomaly scores (n,) float64) of a NAB result file."""
    table = pd.read_csv(path, usecols=["timestamp", "anomaly_score"])
    return pd.to_datetime(table["timestamp"]).to_numpy("datetime64[ns]"), table["anomaly_score"].to_numpy(np.float64)


def write_result(path: str | Path, timestamps, values: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> None:
    """Write one series' result as NAB reads it: timestamp, value, anomaly_score, label (0/1 in a window)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(np.asarray(timestamps)).strftime("%Y-%m-%d %H:%M:%S"),
            "value": np.asarray(values, dtype=np.float64),
            "anomaly_score": np.asarray(scores, dtype=np.float64),
            "label": np.asarray(labels, dtype=np.int64),
        }
    )
    frame.to_csv(path, index=False, float_format="%.10g")


def score_folder(
    folder: str | Path, detector: str, windows: dict[str, list], profiles: dict[str, Profile], flat: bool = False
) -> dict[str, CorpusScore]:
    """Score every series of `windows` from the detector's result files in `folder` under each profile.

    flat: the files lie directly in `folder` as `<detector>_<file>.csv` (as in a published results download)
    rather than under `<detector>/<category>/`.
    """
    results = {}
    for key in windows:
        path = Path(folder) / f"{detector}_{key.split('/', 1)[1]}" if flat else result_path(folder, detector, key)
        results[key] = read_result(path)
    return {name: score_corpus(results, windows, profile) for name, profile in profiles.items()}
