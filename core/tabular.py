"""Preprocessing for tables: each column scaled on its own, blank cells filled, fitted on the training rows only.

A table's columns are quantities of their own units (a heart rate beside a count of decelerations), so the
detector scales each by its own centre and spread rather than with one range for the whole table, and its
decoder ends in a linear layer (core.models), since a standardised column has no bound.
"""

from __future__ import annotations

import numpy as np

from core.errors import NotFittedError


class ColumnScaler:
    """(x − median) / spread per column, fitted on training rows; blank cells (NaN) become the column's median.

    spread: the column's standard deviation over the training rows (0 for a constant column is taken as 1).
    Fitted: `center_` and `scale_`, float64 (n_columns,). `to_dict` / `from_dict` keep them as JSON lists.
    """

    def fit(self, x: np.ndarray) -> ColumnScaler:
        """Fit on training rows x (n, n_columns), NaN where a cell is blank."""
        x = np.asarray(x, dtype=np.float64)
        center = np.nanmedian(x, axis=0)
        scale = np.nanstd(x, axis=0)
        self.center_ = np.where(np.isnan(center), 0.0, center)
        self.scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Rows x (n, n_columns) scaled, blanks filled: float32 (n, n_columns), 0 where x was NaN."""
        self._check_is_fitted()
        scaled = ((np.asarray(x, dtype=np.float64) - self.center_) / self.scale_).astype(np.float32)
        return np.nan_to_num(scaled, nan=0.0)

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """Scaled rows z (n, n_columns) back in the columns' own units: float32 (n, n_columns)."""
        self._check_is_fitted()
        return (np.asarray(z, dtype=np.float64) * self.scale_ + self.center_).astype(np.float32)

    def to_dict(self) -> dict:
        self._check_is_fitted()
        return {"center": self.center_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, state: dict) -> ColumnScaler:
        scaler = cls()
        scaler.center_ = np.asarray(state["center"], dtype=np.float64)
        scaler.scale_ = np.asarray(state["scale"], dtype=np.float64)
        return scaler

    def _check_is_fitted(self) -> None:
        if not hasattr(self, "center_"):
            raise NotFittedError("this ColumnScaler is not fitted yet; call fit(x) first")


def table_spans(scaler: dict | None, x_train: np.ndarray) -> tuple[np.ndarray, str]:
    """Each column's spread as the detector scaled it, and its name: the ColumnScaler's standard deviations
    (`scaler` as detector.scaler_ holds it), or for runs saved before it the training range of x_train."""
    if scaler is not None and "center" in scaler:
        return ColumnScaler.from_dict(scaler).scale_, "training standard deviation"
    return np.ptp(x_train, axis=0), "training range"


def density_components(setting: int | str, table: bool) -> int:
    """The Gaussians of the code density (score.density_components): "auto" is 1 for a table and 0 otherwise.

    On tables, anomalies often lie far out along the directions the code keeps, where the reconstruction error
    alone misses them; how unlikely the code is catches them (docs/bench-tables.md: satimage-2, cardio)."""
    if setting == "auto":
        return 1 if table else 0
    return int(setting)
