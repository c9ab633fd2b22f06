"""Isolation Forest (PyOD's `IForest`, which wraps scikit-learn's IsolationForest), seeded."""

from __future__ import annotations

import numpy as np


class IsolationForestDetector:
    """Isolation Forest: samples that random axis-aligned splits isolate in few steps score high.

    Parameters: `n_estimators` trees of up to 256 samples each; `seed`. Samples are flat rows (n, features).
    Fitted: `forest_` (pyod.models.iforest.IForest), `note_`.
    """

    def __init__(self, n_estimators: int = 100, seed: int = 42):
        self.n_estimators = n_estimators
        self.seed = seed

    def fit(self, x: np.ndarray) -> IsolationForestDetector:
        """Grow the forest on training rows x (n, features)."""
        from pyod.models.iforest import IForest

        self.forest_ = IForest(n_estimators=self.n_estimators, random_state=self.seed).fit(x)
        self.note_ = f"{self.n_estimators} trees of {self.forest_.detector_.max_samples_} samples, seed {self.seed}"
        return self

    def score_samples(self, x: np.ndarray) -> np.ndarray:
        """Anomaly scores (n,) of rows x (n, features); higher = more anomalous."""
        return np.asarray(self.forest_.decision_function(x), dtype=np.float64)

    def fit_score_samples(self, x: np.ndarray) -> np.ndarray:
        """Fit on rows x (n, features) and score them (PyOD scores the training rows while fitting): (n,)."""
        return np.asarray(self.fit(x).forest_.decision_scores_, dtype=np.float64)
