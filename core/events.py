"""Events on a timeline: runs of flagged timestamps, labelled anomaly windows, and how well one finds the other.

A flagged event is a maximal run of consecutive timestamps whose score is above the threshold; a labelled
window is a maximal run of timestamps labelled 1. A window is detected when at least one of its timestamps
is flagged; a flagged event that touches no labelled window is a false alarm; the delay of a detected
window is the time from its first timestamp to its first flagged one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.timeformat import duration, timestamp


@dataclass(frozen=True)
class Event:
    """Timestamps [start, stop) of one run; `peak` is the index of its highest score, `peak_score` that score."""

    start: int
    stop: int
    peak: int
    peak_score: float

    @property
    def length(self) -> int:
        return self.stop - self.start


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """The maximal runs of True in a (n,) boolean mask, as [start, stop) index pairs in time order."""
    padded = np.r_[False, np.asarray(mask, dtype=bool), False]
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def flagged_events(scores: np.ndarray, threshold: float) -> list[Event]:
    """The runs of timestamps scoring above `threshold`, highest peak first. scores: (n,)."""
    scores = np.asarray(scores)
    events = []
    for start, stop in runs(scores > threshold):
        peak = start + int(np.argmax(scores[start:stop]))
        events.append(Event(start, stop, peak, float(scores[peak])))
    return sorted(events, key=lambda event: -event.peak_score)


def event_metrics(
    scores: np.ndarray, labels: np.ndarray | None, threshold: float, timestamps: np.ndarray | None = None
) -> dict:
    """Event-level counts at `threshold`.

    scores: (n,) per-timestamp scores; labels: (n,) 0/1 per timestamp, or None; timestamps: (n,) datetime64, for
    the delays (None: delays in steps are not reported).
    Returns {"flagged": flagged events, "total": labelled windows, "detected": windows with a flag inside,
    "false_alarms": flagged events touching no window, "mean_delay_s": mean seconds from a detected window's
    start to its first flag}; without labels only "flagged" is a number, the rest None.
    """
    flagged = np.asarray(scores) > threshold
    events = runs(flagged)
    result = {"flagged": len(events), "total": None, "detected": None, "false_alarms": None, "mean_delay_s": None}
    if labels is None:
        return result
    labels = np.asarray(labels).astype(bool)
    windows = runs(labels)
    detected, delays = 0, []
    for start, stop in windows:
        hits = np.flatnonzero(flagged[start:stop])
        if hits.size:
            detected += 1
            if timestamps is not None:
                delays.append(float((timestamps[start + hits[0]] - timestamps[start]) / np.timedelta64(1, "s")))
    false_alarms = sum(1 for start, stop in events if not labels[start:stop].any())
    return result | {
        "total": len(windows),
        "detected": detected,
        "false_alarms": false_alarms,
        "mean_delay_s": float(np.mean(delays)) if delays else None,
    }


def event_cards(counts: dict) -> list[tuple[str, str, str]]:
    """(title, value, what it counts) of the event cards the Threshold page and the report show, from
    event_metrics' `counts`; only "Flagged events" without labels."""
    cards = [("Flagged events", f"{counts['flagged']:,}", "Runs of flagged timestamps.")]
    if counts["total"] is None:
        return cards
    delay = counts["mean_delay_s"]
    return cards + [
        (
            "Windows detected",
            f"{counts['detected']} of {counts['total']}",
            "Labelled anomaly windows with at least one flagged timestamp.",
        ),
        ("False alarms", f"{counts['false_alarms']:,}", "Flagged events touching no labelled window."),
        (
            "Mean delay",
            "–" if delay is None else duration(delay),
            "From a detected window's start to its first flagged timestamp.",
        ),
    ]


def event_table(found: list[Event], timestamps: np.ndarray, labels: np.ndarray | None) -> pd.DataFrame:
    """One row per event of `found` in its order: rank, start, end, duration (worded by core.timeformat, as every
    page and the report show them), timestamps, peak score, and with labels (n,) 0/1 whether it touches a
    labelled window. timestamps: (n,) datetime64."""
    table = pd.DataFrame(
        {
            "rank": range(1, len(found) + 1),
            "start": [timestamp(timestamps[e.start]) for e in found],
            "end": [timestamp(timestamps[e.stop - 1]) for e in found],
            "duration": [duration(timestamps[e.stop - 1] - timestamps[e.start]) for e in found],
            "timestamps": [e.length for e in found],
            "peak score": [e.peak_score for e in found],
        }
    )
    if labels is not None:
        table["in a labelled window"] = [bool(labels[e.start : e.stop].any()) for e in found]
    return table
