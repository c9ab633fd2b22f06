"""What every benchmark shares: settings, the data folder, markdown tables, timing and classical baselines."""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from core.data import resolve_data_dir

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "presets"
OUTPUT_DIR = REPO / "bench-output"
DEFAULT_DATA_DIR = REPO.parent / "shared" / "datasets"
SEED = 42
PCA_VARIANCE = 0.9  # PCA keeps the fewest components explaining 90% of the training variance
QUICK_LIMIT = 500  # samples per pool (train, scored) in --quick runs


@dataclass(frozen=True)
class Settings:
    """How big a run is: `quick` shrinks data, epochs, classes and repeats so the whole suite takes minutes."""

    data_dir: Path
    quick: bool = False
    seed: int = SEED

    @property
    def limit(self) -> int | None:
        return QUICK_LIMIT if self.quick else None

    def epochs(self, full: int) -> int:
        return 1 if self.quick else full

    def repeats(self, full: int) -> int:
        return 2 if self.quick else full


def default_data_dir(override: str | None = None) -> Path:
    """--data-dir, else $ANOMALY_STUDIO_DATA, else ../shared/datasets beside the repository."""
    return resolve_data_dir(override) or DEFAULT_DATA_DIR.resolve()


@dataclass
class Table:
    """A markdown table with a title and notes printed under it."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", _row(self.columns), _row(["---"] * len(self.columns))]
        lines += [_row(row) for row in self.rows]
        if self.notes:
            lines += [""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def with_fields(instance, **changes):
    """A copy of a config section with some fields changed."""
    return dataclasses.replace(instance, **changes)


def with_sections(config, changes: dict):
    """A validated copy of an ExperimentConfig with fields of its sections changed: {"model": {"latent_dim": 8}}."""
    return config.replace(**{name: with_fields(getattr(config, name), **fields) for name, fields in changes.items()})


# ---------------------------------------------------------------- timing


def progress(message: str) -> None:
    """A line on stderr, so a long run shows where it is without mixing into the tables on stdout."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def interleaved(
    first: Callable[[], float], second: Callable[[], float], repeats: int
) -> tuple[list[float], list[float]]:
    """Run first, second, first, second, ... so both see the same load on a shared machine; their results."""
    a, b = [], []
    for _ in range(repeats):
        a.append(first())
        b.append(second())
    return a, b


def median_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """Median of the paired ratios: each pair ran back to back, so it shares the machine's load."""
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


# ---------------------------------------------------------------- classical baselines


def auroc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    labels = np.asarray(labels)
    return float(roc_auc_score(labels, scores)) if len(np.unique(labels)) == 2 else None


def _flat(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).reshape(len(x), -1)


def pca_scores(x_train: np.ndarray, x_score: np.ndarray, seed: int) -> np.ndarray:
    """Mean squared reconstruction error after projecting on the principal components of x_train."""
    pca = PCA(n_components=PCA_VARIANCE, svd_solver="full", random_state=seed).fit(_flat(x_train))
    flat = _flat(x_score)
    return np.mean((flat - pca.inverse_transform(pca.transform(flat))) ** 2, axis=1)


def isolation_forest_scores(x_train: np.ndarray, x_score: np.ndarray, seed: int) -> np.ndarray:
    """Isolation Forest (100 trees, 256 samples each) on raw features; higher = more anomalous."""
    forest = IsolationForest(n_estimators=100, random_state=seed).fit(_flat(x_train))
    return -forest.score_samples(_flat(x_score))


@dataclass(frozen=True)
class Baselines:
    pca: np.ndarray
    isolation_forest: np.ndarray


def classical_baselines(x_train: np.ndarray, x_score: np.ndarray, seed: int) -> Baselines:
    return Baselines(pca_scores(x_train, x_score, seed), isolation_forest_scores(x_train, x_score, seed))
