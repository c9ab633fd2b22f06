"""Sliding windows over a long series, and window errors spread back onto the timestamps they cover.

A series of n timestamps is cut into windows of `window` steps starting every `stride` steps; the last
window always ends on the last timestamp, so every timestamp is covered by at least one window. Each
timestamp's score is the mean (or max) of the errors of the windows that cover it.
"""

from __future__ import annotations

import numpy as np

from core import fields
from core.errors import DataError

AGGREGATES = ("mean", "max")


def window_starts(n: int, window: int, stride: int) -> np.ndarray:
    """Start indices (n_windows,) int64 of the windows over n timestamps: 0, stride, 2·stride, ..., n − window.

    Raises DataError when the series is shorter than one window.
    """
    if n < window:
        raise DataError(
            f"the series has {n} timestamps, fewer than one window of {window}; "
            f"lower {fields.name('data.window')} or use a longer series"
        )
    starts = np.arange(0, n - window + 1, stride, dtype=np.int64)
    return starts if starts[-1] == n - window else np.r_[starts, n - window]


def sliding_windows(series: np.ndarray, window: int, stride: int) -> np.ndarray:
    """Windows (n_windows, window, channels) of `series` (n, channels), as a read-only strided view."""
    starts = window_starts(len(series), window, stride)
    view = np.lib.stride_tricks.sliding_window_view(series, window, axis=0)  # (n - window + 1, channels, window)
    return view[starts].swapaxes(1, 2)


def as_samples(windows: np.ndarray) -> np.ndarray:
    """Windows as the model takes them: (n_windows, window) for one channel, else (n_windows, window, channels)."""
    return windows[..., 0] if windows.shape[-1] == 1 else windows


def per_timestamp(errors: np.ndarray, starts: np.ndarray, window: int, n: int, aggregate: str = "mean") -> np.ndarray:
    """Scores (n,) float32: each timestamp's mean or max over the errors (n_windows,) of the windows covering it.

    starts: (n_windows,) window start indices, as `window_starts` gives them.
    """
    errors = np.asarray(errors, dtype=np.float64)
    if aggregate == "mean":
        total, count = np.zeros(n + 1), np.zeros(n + 1)
        np.add.at(total, starts, errors)
        np.add.at(total, starts + window, -errors)
        np.add.at(count, starts, 1)
        np.add.at(count, starts + window, -1)
        return (np.cumsum(total)[:n] / np.cumsum(count)[:n]).astype(np.float32)
    if aggregate == "max":
        scores = np.full(n, -np.inf)
        for start, error in zip(starts.tolist(), errors.tolist(), strict=True):
            np.maximum(scores[start : start + window], error, out=scores[start : start + window])
        return scores.astype(np.float32)
    raise ValueError(f"aggregate must be one of {AGGREGATES} (got {aggregate!r})")


def covering(index: int, starts: np.ndarray, window: int) -> np.ndarray:
    """Positions in `starts` of the windows that contain timestamp `index`."""
    return np.flatnonzero((starts <= index) & (index < starts + window))


def score_mode(score) -> str:
    """How a time-series run scores its timestamps, in words, from its ScoreConfig: streaming (the window ending at
    each timestamp) or the `aggregate` of the windows covering it, and the raw error or the anomaly likelihood."""
    where = (
        "streaming: the window ending at each timestamp"
        if score.causal
        else f"{score.aggregate} of the windows covering each timestamp"
    )
    what = "anomaly likelihood in [0, 1]" if score.likelihood else f"raw {score.error} error"
    return f"{where}, {what}"
