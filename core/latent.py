"""Where the scored samples sit in the autoencoder's code space: their codes, and a 2-D map of those codes.

The codes come from the detector's encoder (`AutoencoderDetector.encode`). For a time series each point is a
window, as the detector cuts the scored series: its score is the highest score of the timestamps it covers and
its label 1 when any of them lies in a labelled anomaly.

The map: codes of two numbers are drawn as they are, codes of one number against the score, longer codes are
projected to 2-D by PCA (every point), UMAP or t-SNE. UMAP and t-SNE take seconds per thousand points, so they
place a subsample of at most `CAPS[method]` points drawn with the seed. Measured on MNIST's 16-number codes on a
busy 2-core machine: t-SNE placed 3,000 in about 10 s, UMAP 10,000 in about 7 s, plus about 25 s more the first
time UMAP runs in a process (it compiles its numba code).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core import timeseries
from core.data.types import TIMESERIES

METHODS = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE"}
CAPS: dict[str, int | None] = {"pca": None, "umap": 10_000, "tsne": 3_000}
OUTCOMES = ("true alarm", "false alarm", "missed anomaly", "normal")  # with labels
UNLABELED_OUTCOMES = ("flagged", "not flagged")


@dataclass(frozen=True)
class LatentCodes:
    """The map's points: one per scored sample, or per window of a scored time series.

    codes: (n, latent_dim) float32; scores: (n,); labels: (n,) 0/1 or None (unlabeled data);
    window_starts: (n,) where each window starts in the scored series (time series), else None.
    """

    codes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray | None
    window_starts: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.codes)


@dataclass(frozen=True)
class Projection:
    """2-D positions of some of the points. points: (n_shown, 2); indices: (n_shown,) positions in the LatentCodes,
    ascending; axes: the two axis titles; description: how the positions were found, for a caption."""

    points: np.ndarray
    indices: np.ndarray
    axes: tuple[str, str]
    description: str


def latent_codes(detector, x_score, scores: np.ndarray, labels: np.ndarray | None) -> LatentCodes:
    """The codes of the scored samples x_score (raw, as `detector.score_samples` takes them) with their scores (n,)
    and labels (n,) or None; for a time-series detector, of its windows (see the module docstring)."""
    codes = detector.encode(x_score)
    if getattr(detector, "kind_", None) != TIMESERIES:
        return LatentCodes(codes, np.asarray(scores), labels)
    starts = timeseries.window_starts(len(x_score), detector.window, detector.stride)

    def worst_in_window(values: np.ndarray) -> np.ndarray:
        return np.lib.stride_tricks.sliding_window_view(values, detector.window).max(axis=1)[starts]

    window_labels = None if labels is None else worst_in_window(np.asarray(labels))
    return LatentCodes(codes, worst_in_window(np.asarray(scores)), window_labels, starts)


def subsample(n: int, cap: int | None, seed: int) -> np.ndarray:
    """Positions (≤ cap,) of the points a capped projection places, ascending: all n when n ≤ cap, else drawn with
    `seed`."""
    if cap is None or n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, cap, replace=False))


def project(
    codes: np.ndarray, method: str = "pca", seed: int = 0, cap: int | None = None, scores: np.ndarray | None = None
) -> Projection:
    """2-D positions of codes (n, latent_dim).

    method: "pca" (every point), "umap" or "tsne" (a subsample of at most `cap` points, default CAPS[method],
    drawn with `seed`; the projection is seeded too). Codes of 2 numbers are returned as they are, codes of 1
    number against `scores` (n,), whatever the method.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)} (got {method!r})")
    codes = np.asarray(codes, dtype=np.float32)
    n, size = codes.shape
    if size == 1:
        if scores is None:
            raise ValueError("codes of one number are drawn against their scores: pass scores")
        return Projection(
            np.c_[codes[:, 0], scores],
            np.arange(n),
            ("code", "score"),
            "The codes hold one number: code against score.",
        )
    if size == 2:
        return Projection(
            codes, np.arange(n), ("code 1", "code 2"), "The codes hold two numbers, drawn as they are: no projection."
        )
    indices = subsample(n, cap if cap is not None else CAPS[method], seed)
    chosen = codes[indices]
    if method == "pca":
        points, detail = _pca(chosen, seed)
    elif method == "umap":
        points, detail = _umap(chosen, seed), ""
    else:
        points, detail = _tsne(chosen, seed), ""
    shown = (
        f"all {n:,} points" if len(indices) == n else f"{len(indices):,} of the {n:,} points, drawn with seed {seed}"
    )
    capped = f" ({METHODS[method]} is capped at {cap or CAPS[method]:,} points)" if CAPS[method] else ""
    axes = (f"{METHODS[method]} 1", f"{METHODS[method]} 2")
    return Projection(points, indices, axes, f"{METHODS[method]} of the {size}-number codes: {shown}{capped}.{detail}")


def _pca(codes: np.ndarray, seed: int) -> tuple[np.ndarray, str]:
    from sklearn.decomposition import PCA

    pca = PCA(2, random_state=seed)
    points = pca.fit_transform(codes)
    return points, f" The two axes hold {pca.explained_variance_ratio_.sum():.0%} of the codes' variance."


def _umap(codes: np.ndarray, seed: int) -> np.ndarray:
    import umap  # imported when asked for: it loads numba, seconds

    # n_jobs=1: a seeded UMAP runs on one thread anyway (and warns when asked for more)
    reducer = umap.UMAP(n_components=2, n_neighbors=min(15, len(codes) - 1), random_state=seed, n_jobs=1)
    return reducer.fit_transform(codes)


def _tsne(codes: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    perplexity = min(30.0, (len(codes) - 1) / 3)  # t-SNE needs fewer neighbours than points
    # One OpenMP thread: beside a training (or other busy processes) t-SNE's spinning threads ran 2-8x slower
    # than one thread on this 2-core machine.
    with threadpool_limits(1):
        return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(codes)


def outcomes(scores: np.ndarray, labels: np.ndarray | None, threshold: float) -> np.ndarray:
    """Each point's outcome at `threshold` (flagged when its score is above it): one of OUTCOMES with labels, else
    of UNLABELED_OUTCOMES; (n,) str."""
    flagged = np.asarray(scores) > threshold
    if labels is None:
        return np.where(flagged, *UNLABELED_OUTCOMES)
    anomaly = np.asarray(labels) == 1
    return np.select(
        [flagged & anomaly, flagged & ~anomaly, ~flagged & anomaly], OUTCOMES[:3], default=OUTCOMES[3]
    ).astype(str)
