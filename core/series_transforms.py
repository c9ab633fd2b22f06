"""Small transformers for long time series, each with fit / transform (and inverse_transform where it has one);
their robust scaling is core.tabular.ColumnScaler, per channel.

- `CausalWindows`: each timestamp's window is the one that ends at it, so its score uses only the past.
- `AnomalyLikelihood`: how unusual the recent errors are against their longer history, in [0, 1] (after NAB's
  HTM anomaly likelihood: a short moving average of the errors against a Gaussian of its longer past, read as
  a tail probability), so that one threshold means the same on every series.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import log_ndtr

from core.errors import NotFittedError

_UNJUDGED = math.log(2) / (1 + math.log(2))  # the value of an even chance (tail probability 0.5)


class CausalWindows:
    """The window (window, channels) ending at each timestamp of a series (n, channels) from the `window`-th on.

    transform gives (n − window + 1, window, channels) windows as a read-only strided view; `per_timestamp`
    puts one value per window back on the timestamps (n,), the first window − 1 (no full past yet) as NaN.
    """

    def __init__(self, window: int):
        if window < 1:
            raise ValueError(f"window must be at least 1 (got {window})")
        self.window = window

    def fit(self, x: np.ndarray) -> CausalWindows:
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if len(x) < self.window:
            raise ValueError(f"the series has {len(x)} timestamps, fewer than one window of {self.window}")
        return np.lib.stride_tricks.sliding_window_view(x, self.window, axis=0).swapaxes(1, 2)

    def per_timestamp(self, values: np.ndarray, n: int) -> np.ndarray:
        """(n,) float32: values (n − window + 1,) on the timestamps their windows end at; NaN before."""
        out = np.full(n, np.nan, dtype=np.float32)
        out[self.window - 1 :] = values
        return out


class AnomalyLikelihood:
    """Per-timestamp likelihood in [0, 1] that the recent errors are unusual for this series.

    At timestamp t: the mean of the last `short` errors, against the mean and standard deviation of that
    moving average over the `long` timestamps before t (the past only, so the value at t never changes with
    later data), as z; the result is the Gaussian tail's surprise s = −log Q(z) reported as s / (1 + s): a
    monotone, log-scaled form of the likelihood 1 − Q(z) (as NAB's HTM detector reports its likelihood on a log
    scale), 0.41 at an even chance and near 1 when the errors are far above their past, which keeps near-certain
    values in order where 1 − Q(z) would round to 1. Until `min_history` errors have been seen the history is too
    short to judge, and the value is that of an even chance. NaN errors (timestamps not scored yet) are skipped.
    The standard deviation is at least `floor` times that of the fitted training errors, so a history that
    happens to be flat does not turn noise into certainty.

    The defaults (each error against a Gaussian of the last 8,640 before it, floor 0.5) scored best of the
    variants tried on the NAB corpus with one config for every series (docs/bench-nab.md); NAB's HTM averages
    the last 10.
    """

    def __init__(self, short: int = 1, long: int = 8640, min_history: int = 100, floor: float = 0.5):
        if not 1 <= short < long:
            raise ValueError(f"short ({short}) must be at least 1 and shorter than long ({long})")
        self.short, self.long, self.min_history, self.floor = short, long, min_history, floor

    def fit(self, errors: np.ndarray) -> AnomalyLikelihood:
        """Remember the spread of the training errors (n,), the least spread a history is granted."""
        averaged = pd.Series(np.asarray(errors, np.float64)).rolling(self.short, min_periods=1).mean()
        spread = float(np.nanstd(averaged.to_numpy()))
        self.min_std_ = self.floor * spread if math.isfinite(spread) and spread > 0 else 1e-12
        return self

    def transform(self, errors: np.ndarray) -> np.ndarray:
        """(n,) float64 likelihoods of the errors (n,) in time order (float64: near 1 the digits still rank)."""
        if not hasattr(self, "min_std_"):
            raise NotFittedError("this AnomalyLikelihood is not fitted yet; call fit(training_errors) first")
        averaged = pd.Series(np.asarray(errors, np.float64)).rolling(self.short, min_periods=1).mean()
        past = averaged.shift(1).rolling(self.long, min_periods=self.min_history)
        mean, std = past.mean(), past.std().clip(lower=self.min_std_)
        surprise = -log_ndtr(-((averaged - mean) / std).to_numpy())  # −log of the upper tail probability
        return np.nan_to_num(surprise / (1.0 + surprise), nan=_UNJUDGED)

    def fit_transform(self, errors: np.ndarray) -> np.ndarray:
        return self.fit(errors).transform(errors)
