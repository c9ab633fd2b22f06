"""kNN distance (PyOD's `KNN`, method "mean"): mean Euclidean distance to the k nearest training samples."""

from __future__ import annotations

import numpy as np

N_NEIGHBORS = 5
MAX_REFERENCE = 10_000


class KNNDistance:
    """Mean distance to the `n_neighbors` nearest reference samples.

    The reference set is the training samples, or `max_reference` of them drawn with `seed` when there are
    more (each query costs a distance to every reference sample); `note_` says which. A training sample
    scored by `fit_score_samples` is never its own neighbour. Samples are flat rows (n, features).
    Fitted: `knn_` (pyod.models.knn.KNN), `reference_` (indices into the training rows), `note_`.
    """

    def __init__(self, n_neighbors: int = N_NEIGHBORS, max_reference: int = MAX_REFERENCE, seed: int = 42):
        self.n_neighbors = n_neighbors
        self.max_reference = max_reference
        self.seed = seed

    def fit(self, x: np.ndarray) -> KNNDistance:
        """Index the reference rows of training rows x (n, features)."""
        from pyod.models.knn import KNN

        n = len(x)
        if n > self.max_reference:
            rng = np.random.default_rng(self.seed)
            self.reference_ = np.sort(rng.choice(n, self.max_reference, replace=False))
            reference = f"reference: {self.max_reference:,} of {n:,} training samples, drawn with seed {self.seed}"
        else:
            self.reference_ = np.arange(n)
            reference = f"reference: all {n:,} training samples"
        k = max(1, min(self.n_neighbors, len(self.reference_) - 1))
        self.knn_ = KNN(n_neighbors=k, method="mean").fit(x[self.reference_])
        self.note_ = f"k = {k}; {reference}"
        return self

    def score_samples(self, x: np.ndarray) -> np.ndarray:
        """Mean distances (n,) of rows x (n, features) to their nearest reference rows; higher = more anomalous."""
        return np.asarray(self.knn_.decision_function(x), dtype=np.float64)

    def fit_score_samples(self, x: np.ndarray) -> np.ndarray:
        """Fit on rows x (n, features) and score them: (n,); reference rows leave themselves out."""
        self.fit(x)
        own = np.asarray(self.knn_.decision_scores_, dtype=np.float64)  # without the row itself
        if len(self.reference_) == len(x):
            return own
        scores = self.score_samples(x)
        scores[self.reference_] = own
        return scores
