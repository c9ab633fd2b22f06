"""Classical detectors beside the autoencoder, on the very samples it trains on and scores.

A sceptical data scientist tries PCA, Isolation Forest and kNN first; every experiment runs them (and ECOD,
a parameter-free modern one) on the same training samples and the same scored samples, flattened to rows
(n, features), series scaled as the autoencoder sees them. One detector per module, each a scikit-learn-like
estimator on rows: `fit(x)`, `score_samples(x)` for new rows, `fit_score_samples(x)` for the training rows
themselves (transductive runs), and `note_`, which says what was fitted (components kept, reference set, ...):

- `pca`: PCA reconstruction error, components explaining 90 % of the training variance (scikit-learn)
- `iforest`: Isolation Forest, 100 trees, seeded (PyOD)
- `knn`: mean distance to the 5 nearest training samples, at most 10,000 of them drawn with the seed (PyOD)
- `ecod`: ECOD, empirical-CDF tail probabilities (PyOD)

`score_baselines` runs them one after the other; `BaselineRun` does it in a background thread, so the
dashboard never waits for them. The run folder keeps their scores in `baselines.npz` (`save_scores`,
`load_scores`) and their AUROC, AP, seconds and note in metrics.json under "baselines".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.fields import BASELINES, FIELDS
from core.metrics import evaluate, roc_curve

SCORES_FILE = "baselines.npz"
BEATS_MARGIN = 0.005  # AUROC a baseline must win by before it is said to beat the autoencoder


def make(name: str, seed: int):
    """An unfitted baseline detector by config name ("pca", "iforest", "knn", "ecod")."""
    if name == "pca":
        from core.baselines.pca import PCAReconstruction

        return PCAReconstruction(seed=seed)
    if name == "iforest":
        from core.baselines.iforest import IsolationForestDetector

        return IsolationForestDetector(seed=seed)
    if name == "knn":
        from core.baselines.knn import KNNDistance

        return KNNDistance(seed=seed)
    if name == "ecod":
        from core.baselines.ecod import ECODDetector

        return ECODDetector()
    raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")


def label(name: str) -> str:
    """How the dashboard names a baseline, e.g. "PCA reconstruction"."""
    return FIELDS["score.baselines"].label_of(name)


@dataclass
class BaselineResult:
    """One baseline on one experiment. scores: (n_scored,) higher = more anomalous, or None when it failed
    (then `note` says why); auroc and ap: None without both normal and anomalous labels."""

    name: str
    scores: np.ndarray | None
    auroc: float | None
    ap: float | None
    seconds: float
    note: str

    def to_dict(self) -> dict:
        """Its entry in metrics.json's "baselines"."""
        return {"auroc": self.auroc, "ap": self.ap, "seconds": round(self.seconds, 3), "note": self.note}


def flatten(x: np.ndarray) -> np.ndarray:
    """Samples (n, ...) as float32 rows (n, features)."""
    return np.asarray(x, dtype=np.float32).reshape(len(x), -1)


def score_baselines(
    names: Sequence[str],
    x_train: np.ndarray,
    x_score: np.ndarray | None,
    labels: np.ndarray | None,
    seed: int,
    to_items: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, BaselineResult]:
    """Fit each named baseline on rows x_train (n_train, features) and score rows x_score (n, features).

    x_score None: a transductive run, whose scored samples are the training samples (`fit_score_samples`).
    to_items: maps the rows' scores to the scored items' (a time series' window scores to its timestamps).
    labels: (n_items,) 1 = anomaly, 0 = normal, or None. A baseline that raises is kept with scores None and
    the reason in its note; the others still run.
    """
    results = {}
    for name in names:
        started = time.perf_counter()
        try:
            detector = make(name, seed)
            if x_score is None:
                scores = detector.fit_score_samples(x_train)
            else:
                scores = detector.fit(x_train).score_samples(x_score)
            scores = np.asarray(scores if to_items is None else to_items(scores), dtype=np.float64)
            if not np.isfinite(scores).all():
                raise ValueError("it gave NaN or infinite scores")
            metrics = evaluate(scores, labels, float(np.max(scores)))
            auroc, ap, note = metrics["auroc"], metrics["average_precision"], detector.note_
        except Exception as exc:  # a baseline must never take the experiment down with it
            scores, auroc, ap, note = None, None, None, f"failed: {type(exc).__name__}: {exc}"
        results[name] = BaselineResult(name, scores, auroc, ap, time.perf_counter() - started, note)
    return results


class BaselineRun:
    """The baselines of one experiment, computed in a daemon thread (`start`) or right away (`run`).

    `done` tells whether they are ready; `wait()` returns {name: BaselineResult} once they are.
    """

    def __init__(self, names: Sequence[str], x_train, x_score, labels, seed: int, to_items=None):
        self.names = list(names)
        self._inputs = (x_train, x_score, labels, seed, to_items)
        self._results: dict[str, BaselineResult] | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def finished(cls, results: dict[str, BaselineResult]) -> BaselineRun:
        """A run whose results are known already (a reopened run)."""
        run = cls(list(results), None, None, None, 0)
        run._finish(results)
        return run

    def run(self) -> BaselineRun:
        """Compute the baselines in the calling thread."""
        self._finish(score_baselines(self.names, *self._inputs))
        return self

    def start(self) -> BaselineRun:
        """Compute the baselines in a daemon thread."""
        if not self.names:
            return self.run()
        self._thread = threading.Thread(target=self.run, name="anomaly-studio-baselines", daemon=True)
        self._thread.start()
        return self

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def results(self) -> dict[str, BaselineResult] | None:
        """{name: BaselineResult} once done, else None."""
        return self._results

    def wait(self, timeout: float | None = None) -> dict[str, BaselineResult] | None:
        self._done.wait(timeout)
        return self._results

    def _finish(self, results: dict[str, BaselineResult]) -> None:
        self._results = results
        self._inputs = None  # the samples are no longer needed
        self._done.set()

    def summary(self) -> dict:
        """metrics.json's "baselines": {name: {"auroc", "ap", "seconds", "note"}}; waits until they are done."""
        return {name: r.to_dict() for name, r in self.wait().items()}

    def best(self) -> BaselineResult | None:
        """The baseline with the highest AUROC, or None (not done, none, or no labels)."""
        rated = [r for r in (self._results or {}).values() if r.auroc is not None]
        return max(rated, key=lambda r: r.auroc) if rated else None


def save_scores(folder: Path, results: dict[str, BaselineResult]) -> None:
    """Write the scores of the baselines that have some to `folder`/baselines.npz (nothing when none do)."""
    arrays = {name: r.scores for name, r in results.items() if r.scores is not None}
    if arrays:
        np.savez_compressed(Path(folder) / SCORES_FILE, **arrays)


def load_scores(folder: Path, summary: dict | None) -> BaselineRun | None:
    """The baselines saved in `folder`: metrics.json's "baselines" entry (`summary`) and baselines.npz.

    None for runs saved before baselines existed. Raises ValueError or OSError for an unreadable file.
    """
    if not isinstance(summary, dict):
        return None
    path = Path(folder) / SCORES_FILE
    arrays = {}
    if path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    results = {
        name: BaselineResult(
            name,
            arrays.get(name),
            entry.get("auroc"),
            entry.get("ap"),
            entry.get("seconds", 0.0),
            entry.get("note", ""),
        )
        for name, entry in summary.items()
        if isinstance(entry, dict)
    }
    return BaselineRun.finished(results)


def beats_sentence(auroc: float | None, results: Iterable[BaselineResult]) -> str | None:
    """One plain sentence naming the baselines whose AUROC beats the autoencoder's `auroc` by more than
    BEATS_MARGIN, best first; None when none does or without labels (`auroc` None)."""
    if auroc is None:
        return None
    better = sorted(
        (r for r in results if r.auroc is not None and r.auroc > auroc + BEATS_MARGIN), key=lambda r: -r.auroc
    )
    if not better:
        return None
    names = [f"{label(r.name)} ({r.auroc:.3f})" for r in better]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "beats" if len(names) == 1 else "beat"
    return f"On these samples {listed} {verb} the autoencoder's AUROC of {auroc:.3f}."


def top_overlap(reference_order: np.ndarray, order: np.ndarray, n_flagged: int) -> float | None:
    """Share of the `n_flagged` samples ranked highest by one detector that another also ranks among its top.

    reference_order, order: (n,) sample indices, highest score first (argsort of -scores). None when
    nothing is flagged.
    """
    n_flagged = min(n_flagged, len(order))
    if n_flagged <= 0:
        return None
    return len(np.intersect1d(reference_order[:n_flagged], order[:n_flagged], assume_unique=True)) / n_flagged


def rank_correlation(reference: np.ndarray, scores: np.ndarray) -> float | None:
    """Spearman rank correlation of two score vectors (n,); None when either is constant."""
    from scipy.stats import spearmanr

    rho = spearmanr(reference, scores).statistic
    return None if not np.isfinite(rho) else float(rho)


def rankings(
    scores: np.ndarray, results: dict[str, BaselineResult]
) -> tuple[dict[str, np.ndarray], dict[str, float | None]]:
    """For each baseline with scores: its sample indices, highest score first, and the Spearman rank correlation
    of its scores with the autoencoder's `scores` (n,)."""
    scored = {name: r for name, r in results.items() if r.scores is not None}
    orders = {name: np.argsort(-r.scores, kind="stable") for name, r in scored.items()}
    return orders, {name: rank_correlation(scores, r.scores) for name, r in scored.items()}


def roc_curves(results: dict[str, BaselineResult], labels: np.ndarray | None) -> dict[str, tuple]:
    """{label: (fpr, tpr)} of the baselines with scores, for their ROC curves; {} without labels, and none for a
    curve that needs both normal samples and anomalies."""
    if labels is None:
        return {}
    curves = {label(name): roc_curve(r.scores, labels) for name, r in results.items() if r.scores is not None}
    return {name: curve for name, curve in curves.items() if curve[0].size}


def comparison_table(
    metrics: dict,
    by_error: np.ndarray,
    results: dict[str, BaselineResult],
    n_flagged: int,
    orders: dict[str, np.ndarray],
    correlations: dict[str, float | None],
) -> pd.DataFrame:
    """One row for the autoencoder and one per baseline, as text: AUROC, AP, seconds and note; without labels
    (no "auroc" in `metrics`) the rank correlation with the autoencoder and the overlap of the `n_flagged`
    top-scored samples instead of AUROC and AP.

    metrics: the autoencoder's; by_error: its sample indices, highest score first; `orders` and `correlations`:
    the baselines' `rankings`.
    """
    labelled = metrics.get("auroc") is not None
    ae_seconds = (metrics.get("train_seconds") or 0) + (metrics.get("score_seconds") or 0)
    rows = [("autoencoder", metrics.get("auroc"), metrics.get("average_precision"), None, None, ae_seconds, "")]
    for name, r in results.items():
        order = orders.get(name)
        overlap = None if order is None else top_overlap(by_error, order, n_flagged)
        rows.append((label(name), r.auroc, r.ap, correlations.get(name), overlap, r.seconds, r.note))

    def number(value, digits: int = 3) -> str:
        return "–" if value is None else f"{value:.{digits}f}"

    return pd.DataFrame(
        [
            {
                "detector": detector,
                **(
                    {"AUROC": number(auroc), "AP": number(ap)}
                    if labelled
                    else {
                        "rank correlation": number(rho, 2),
                        f"top {n_flagged:,} overlap": "–" if overlap is None else f"{overlap:.0%}",
                    }
                ),
                "seconds": f"{seconds:.1f}",
                "note": note,
            }
            for detector, auroc, ap, rho, overlap, seconds, note in rows
        ]
    )
