"""Preprocessing for tables: each column scaled on its own, blank cells filled, fitted on the training rows only.

A table's columns are quantities of their own units (a heart rate beside a count of decelerations), so the
detector scales each by its own centre and spread rather than with one range for the whole table, and its
decoder ends in a linear layer (core.models), since a standardised column has no bound.
"""

from __future__ import annotations

import numpy as np

from core.errors import NotFittedError

TYPICAL_SHARE = 0.90  # the central share of each column's training values the autoencoder learns to rebuild


class ColumnScaler:
    """(x − median) / spread per column, fitted on training rows; blank cells (NaN) become the column's median.
    A time series' channels are scaled by it too (core.detector, `data.scaling` "robust"), without the clip.

    spread: the interquartile range, robust to the outliers a contaminated table holds (a column whose quartiles
    coincide, e.g. mostly zeros, takes its standard deviation; a constant one 1). `low_` and `high_` bound each
    scaled column's typical range, the central TYPICAL_SHARE of its training values: the autoencoder learns from
    rows clipped to it (`clip`) and, as the first step of its encoder, clips what it scores, so a value beyond
    the range cannot be rebuilt and counts in full in the reconstruction error.
    Fitted: `center_`, `scale_`, `low_`, `high_`, float64 (n_columns,). `to_dict` / `from_dict` keep them as JSON.
    """

    def fit(self, x: np.ndarray) -> ColumnScaler:
        """Fit on training rows x (n, n_columns), NaN where a cell is blank."""
        x = np.asarray(x, dtype=np.float64)
        center = np.nanmedian(x, axis=0)
        low_quartile, high_quartile = np.nanpercentile(x, [25, 75], axis=0)
        spread = high_quartile - low_quartile
        deviation = np.nanstd(x, axis=0)
        spread = np.where(spread > 0, spread, np.where(np.isfinite(deviation) & (deviation > 0), deviation, 1.0))
        self.center_ = np.where(np.isnan(center), 0.0, center)
        self.scale_ = np.where(np.isfinite(spread), spread, 1.0)
        tail = (1 - TYPICAL_SHARE) / 2
        low, high = np.nanquantile((x - self.center_) / self.scale_, [tail, 1 - tail], axis=0)
        self.low_, self.high_ = np.nan_to_num(low), np.nan_to_num(high)
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

    def clip(self, z: np.ndarray) -> np.ndarray:
        """Scaled rows z (n, n_columns) clipped to each column's typical range: float32 (n, n_columns)."""
        self._check_is_fitted()
        return np.clip(z, self.low_, self.high_).astype(np.float32)

    def to_dict(self) -> dict:
        self._check_is_fitted()
        return {key: getattr(self, f"{key}_").tolist() for key in ("center", "scale", "low", "high")}

    @classmethod
    def from_dict(cls, state: dict) -> ColumnScaler:
        scaler = cls()
        for key in ("center", "scale", "low", "high"):
            setattr(scaler, f"{key}_", np.asarray(state[key], dtype=np.float64))
        return scaler

    def _check_is_fitted(self) -> None:
        if not hasattr(self, "center_"):
            raise NotFittedError("this ColumnScaler is not fitted yet; call fit(x) first")


def table_spans(scaler: dict | None, x_train: np.ndarray) -> tuple[np.ndarray, str]:
    """Each column's spread as the detector scaled it, and its name: the ColumnScaler's interquartile ranges
    (`scaler` as detector.scaler_ holds it), or for runs saved before it the training range of x_train."""
    if scaler is not None and "center" in scaler:
        return ColumnScaler.from_dict(scaler).scale_, "training interquartile range"
    return np.ptp(x_train, axis=0), "training range"


TABLE_DENSITY_COMPONENTS = 4


def density_components(setting: int | str, table: bool) -> int:
    """The Gaussians of the code density (score.density_components): "auto" is TABLE_DENSITY_COMPONENTS for a
    table and 0 otherwise.

    On tables, anomalies often lie where the reconstruction error alone misses them: far out along the
    directions the code keeps, or between the clusters normal rows form; how unlikely the code is under a
    mixture of a few Gaussians catches them (docs/bench-tables.md)."""
    if setting == "auto":
        return TABLE_DENSITY_COMPONENTS if table else 0
    return int(setting)
