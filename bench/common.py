"""What every benchmark shares: settings, the data folder, markdown tables, timing and classical baselines."""

from __future__ import annotations

import dataclasses
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from core.baselines import flatten, score_baselines
from core.baselines.pca import VARIANCE
from core.data import resolve_data_dir

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "presets"
OUTPUT_DIR = REPO / "bench-output"
DEFAULT_DATA_DIR = REPO.parent / "shared" / "datasets"
SEED = 42
PCA_VARIANCE = VARIANCE  # PCA keeps the fewest components explaining 90% of the training variance
QUICK_LIMIT = 500  # samples per pool (train, scored) in --quick runs


@dataclass(frozen=True)
class Settings:
    """How big a run is: `quick` shrinks data, epochs, classes and repeats so the whole suite takes minutes."""

    data_dir: Path
    quick: bool = False
    seed: int = SEED
    nab_results: Path | None = None  # where the nab suite writes its NAB result files (None: under bench-output/)

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


@dataclass(frozen=True)
class Baselines:
    pca: np.ndarray
    isolation_forest: np.ndarray


def classical_baselines(x_train: np.ndarray, x_score: np.ndarray, seed: int) -> Baselines:
    """PCA reconstruction error and Isolation Forest scores of x_score, fitted on x_train: the product's own
    (core.baselines), on the samples as given."""
    found = score_baselines(["pca", "iforest"], flatten(x_train), flatten(x_score), None, seed)
    return Baselines(found["pca"].scores, found["iforest"].scores)


def free_port() -> int:
    """A free TCP port on 127.0.0.1, for a server the benchmark starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_url(url: str, timeout: float, server: subprocess.Popen | None = None) -> None:
    """Until `url` answers 200; the last OSError once `timeout` seconds have passed, or at once when the `server`
    process meant to answer has ended (ChildProcessError)."""
    deadline = time.perf_counter() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if server is not None and server.poll() is not None:
                raise ChildProcessError(f"the server ended with exit code {server.returncode}") from None
            if time.perf_counter() > deadline:
                raise
        time.sleep(0.05)
