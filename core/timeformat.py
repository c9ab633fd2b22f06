"""One wording of times, durations and counts for the pages and the report, and one way of handing times to Plotly.

Plotly reads a date axis' values as date strings; a numpy datetime64 inside a figure's layout (a shape's x0)
is serialised as integer nanoseconds, which a date axis reads as milliseconds: 1.4e18 ms lies far off any
chart. Every time a figure carries therefore goes through `plot_times`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# (seconds, singular, plural) from the largest unit down
_UNITS = ((86_400, "day", "days"), (3_600, "h", "h"), (60, "min", "min"), (1, "s", "s"))


def plot_times(timestamps) -> np.ndarray:
    """(n,) datetime64 (or one) -> (n,) strings "YYYY-MM-DD HH:MM:SS.ffffff" that a Plotly date axis places."""
    text = np.datetime_as_string(np.asarray(timestamps, dtype="datetime64[us]"), unit="us")
    return np.char.replace(text, "T", " ")


def timestamp(value) -> str:
    """One moment as people write it: "2014-04-10 21:35"; seconds and fractions only where it has them."""
    moment = pd.Timestamp(value)
    if moment.microsecond or moment.nanosecond:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0")
    return moment.strftime("%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M")


def duration(value) -> str:
    """A length of time in its two largest units, rounded: "2 days 9 h", "5 min 30 s", "0 s", "0.25 s".

    value: seconds (a number), a timedelta64 or a pd.Timedelta."""
    seconds = value / np.timedelta64(1, "s") if isinstance(value, np.timedelta64) else value
    seconds = seconds.total_seconds() if isinstance(seconds, pd.Timedelta) else float(seconds)
    sign, seconds = ("−" if seconds < 0 else ""), abs(seconds)
    if 0 < seconds < 1:
        return f"{sign}{seconds:.2g} s"
    largest = next((i for i, (size, _, _) in enumerate(_UNITS) if seconds >= size), len(_UNITS) - 1)
    smallest = min(largest + 1, len(_UNITS) - 1)
    remaining = round(seconds / _UNITS[smallest][0]) * _UNITS[smallest][0]
    if largest and remaining >= _UNITS[largest - 1][0]:  # rounded up into the next unit: 59.6 s is "1 min"
        largest, smallest = largest - 1, largest
        remaining = round(seconds / _UNITS[smallest][0]) * _UNITS[smallest][0]
    parts = []
    for size, one, many in _UNITS[largest : smallest + 1]:
        amount, remaining = divmod(remaining, size)
        if amount:
            parts.append(f"{amount:g} {one if amount == 1 else many}")
    return sign + (" ".join(parts) or "0 s")


def count(number: int, noun: str, plural: str | None = None) -> str:
    """ "1 run", "2 runs", "1,204 runs": the number with its noun in the right number."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"
