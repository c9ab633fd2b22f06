"""ECOD (PyOD's `ECOD`): parameter-free, from each feature's empirical tail probabilities.

A sample's score sums, over features, -log of the smaller-looking tail probability of its value (left,
right, or the one the feature's skew points to). PyOD estimates the ECDFs on the training rows together
with the rows it scores. Every feature counts on its own, so the features are fed to PyOD in blocks of
`BLOCK` columns and the block scores summed: the same numbers as one call, in a fraction of the memory
(PyOD keeps several float64 copies of the whole pool: gigabytes for MNIST at once).
"""

from __future__ import annotations

import numpy as np

BLOCK = 64


class ECODDetector:
    """ECOD on flat rows (n, features). Fitted: `x_` (the training rows), `note_`."""

    def fit(self, x: np.ndarray) -> ECODDetector:
        """Keep training rows x (n, features); the ECDFs are estimated when scoring."""
        self.x_ = x
        self.note_ = "empirical CDFs of the training samples pooled with the scored ones (as PyOD does)"
        return self

    def score_samples(self, x: np.ndarray) -> np.ndarray:
        """Scores (n,) of rows x (n, features); higher = more anomalous."""
        return self._blocks(lambda ecod, columns: ecod.fit(self.x_[:, columns]).decision_function(x[:, columns]), x)

    def fit_score_samples(self, x: np.ndarray) -> np.ndarray:
        """Fit on rows x (n, features) and score them, each against the ECDFs of all of them: (n,)."""
        self.fit(x)
        self.note_ = "empirical CDFs of the training samples"
        return self._blocks(lambda ecod, columns: ecod.fit(x[:, columns]).decision_scores_, x)

    def _blocks(self, score_block, x: np.ndarray) -> np.ndarray:
        from pyod.models.ecod import ECOD

        scores = np.zeros(len(x), dtype=np.float64)
        for start in range(0, x.shape[1], BLOCK):
            scores += score_block(ECOD(), slice(start, start + BLOCK))
        return scores
