"""What the threshold histogram needs, decided once per result: a readable scale, and the arrays that let a
browser answer every metric at any threshold without asking the server.

The browser receives the errors sorted ascending and, with labels, the running count of anomalies along them.
At a threshold t it finds, by binary search, how many errors are at most t; the flagged count, precision, recall,
F1 and the confusion counts follow from two array reads, exactly as `core.metrics.OperatingCurve.at` computes
them (a sample is flagged when its error is above t).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.figures import HistogramBins, histogram_bins
from core.metrics import OperatingCurve

BULK_SHARE = 0.5  # a histogram whose fullest bin holds more than this share of the errors is unreadable on a linear x
# A bar shorter than this share of the tallest one is a few pixels high; when more than LOW_BARS_SHARE of the
# non-empty bars are that short, the counts are log-scaled so they show.
LOW_BAR = 1 / 50
LOW_BARS_SHARE = 0.25


@dataclass(frozen=True)
class ReadableScale:
    """The axes a histogram of these errors is drawn on by default."""

    log_x: bool
    log_y: bool


def fullest_share(bins: HistogramBins) -> float:
    """The share of all errors that falls in the fullest bin (normal and anomalous counted together)."""
    totals = np.sum(list(bins.counts.values()), axis=0)
    return float(totals.max() / max(totals.sum(), 1))


def low_bars_share(bins: HistogramBins) -> float:
    """The share of the non-empty bins drawn shorter than LOW_BAR of the tallest one on a linear count axis."""
    totals = np.sum(list(bins.counts.values()), axis=0)
    filled = totals[totals > 0]
    return float(np.mean(filled < LOW_BAR * filled.max())) if filled.size else 0.0


def readable_scale(linear: HistogramBins, log: HistogramBins | None) -> ReadableScale:
    """Log-scaled errors when the bulk of the errors sits in one bin of the linear histogram and equal bins in log
    space spread it better (`log` is None when no error is positive); log-scaled counts when, on the chosen errors'
    axis, more than LOW_BARS_SHARE of the non-empty bars would be only a few pixels high (rare high errors)."""
    log_x = log is not None and fullest_share(linear) > BULK_SHARE and fullest_share(log) < fullest_share(linear)
    chosen = log if log_x and log is not None else linear
    return ReadableScale(log_x=log_x, log_y=low_bars_share(chosen) > LOW_BARS_SHARE)


def both_bins(scores: np.ndarray, labels: np.ndarray | None) -> tuple[HistogramBins, HistogramBins | None]:
    """The histogram on linear and on log-scaled errors (None when no error is positive: nothing to log-scale)."""
    linear = histogram_bins(scores, labels, log_x=False)
    log = histogram_bins(scores, labels, log_x=True) if np.any(np.asarray(scores) > 0) else None
    return linear, log


def bins_payload(bins: HistogramBins) -> dict:
    """Bins as plain lists for the browser: edges (n_bins + 1,) and the counts (n_bins,) of each group."""
    return {
        "edges": bins.edges.tolist(),
        "counts": {group: counts.tolist() for group, counts in bins.counts.items()},
    }


def browser_arrays(curve: OperatingCurve) -> dict[str, np.ndarray]:
    """The errors sorted ascending ("error", (n,) float64) and, with labels, "anomalies_up_to" (n,): the number of
    anomalies among the errors up to and including each one."""
    arrays = {"error": curve.sorted_scores}
    if curve.n_anomalies is not None:
        arrays["anomalies_up_to"] = curve.positives_at_or_below[1:].astype(np.int32)
    return arrays


def step_for(low: float, high: float) -> float:
    """A round step of between a 200th and a 2,000th of the span [low, high]: one arrow-key press moves the line by
    a visible amount, and ten presses move it about a twentieth of the axis."""
    span = high - low
    return 10.0 ** np.floor(np.log10(span / 200)) if span > 0 else 1e-6
