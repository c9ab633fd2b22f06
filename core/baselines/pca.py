"""PCA reconstruction error (scikit-learn PCA).

Not PyOD's `PCA`: that one scores a standardized, eigenvalue-weighted distance to the principal axes, while
this product compares reconstruction errors, and standardizing pixels that are constant in training (MNIST's
borders) would blow any stroke there up to an enormous score.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

VARIANCE = 0.9
BATCH = 4096


class PCAReconstruction:
    """Mean squared distance of a sample to its projection on the principal components of the training samples.

    Parameters: `variance`, the share of the training variance the kept components explain (the fewest that
    do); `seed`. Samples are flat rows (n, features). Fitted: `pca_` (sklearn PCA), `note_`.
    """

    def __init__(self, variance: float = VARIANCE, seed: int = 42):
        self.variance = variance
        self.seed = seed

    def fit(self, x: np.ndarray) -> PCAReconstruction:
        """Find the components on training rows x (n, features)."""
        self.pca_ = PCA(n_components=self.variance, svd_solver="full", random_state=self.seed).fit(x)
        self.note_ = (
            f"{self.pca_.n_components_} of {x.shape[1]} components explain {self.variance:.0%} of the training variance"
        )
        return self

    def score_samples(self, x: np.ndarray) -> np.ndarray:
        """Reconstruction errors (n,) of rows x (n, features); higher = more anomalous."""
        scores = np.empty(len(x), dtype=np.float64)
        for start in range(0, len(x), BATCH):
            rows = x[start : start + BATCH]
            rebuilt = self.pca_.inverse_transform(self.pca_.transform(rows))
            scores[start : start + BATCH] = np.mean((rows - rebuilt) ** 2, axis=1)
        return scores

    def fit_score_samples(self, x: np.ndarray) -> np.ndarray:
        """Fit on rows x (n, features) and score them: (n,)."""
        return self.fit(x).score_samples(x)
