"""Time series in CSV files: a timestamp column, one or more numeric columns, optionally a 0/1 `label` column.

A CSV is a time series when a column is named timestamp, time, date or datetime, or when its first column
holds dates and times. Rows out of time order are sorted; duplicate timestamps and gaps longer than the
usual step are reported as notices carried with the data, never silently fixed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.data.types import TIMESERIES, Dataset
from core.errors import DataError, reason

TIME_COLUMNS = ("timestamp", "time", "date", "datetime")
LABEL_COLUMN = "label"
MIN_TIMESTAMPS = 10
TIMESERIES_CLASSES = {0: "normal", 1: "anomaly"}


def is_timeseries_csv(path: Path) -> bool:
    """True when the CSV's header names a time column, or its first column's first value is a date and time."""
    try:
        with open(path, encoding="utf-8-sig") as stream:
            header, first = stream.readline(), stream.readline()
    except (OSError, UnicodeDecodeError):
        return False
    names = [cell.strip().lower() for cell in header.split(",")]
    if any(name in TIME_COLUMNS for name in names):
        return True
    cell = first.split(",")[0].strip()
    return bool(cell) and not is_number(cell) and _parses_as_time(cell)


def read_timeseries_csv(path: Path, windows: list | None = None) -> Dataset:
    """The series in a time-series CSV, sorted by time: values (n, channels) float32, per-timestamp labels.

    windows: labelled anomaly windows as [start, end] date strings (NAB's combined_windows.json); a timestamp
    inside one is labelled 1. Without them a `label` column gives the labels, else the series is unlabeled.
    Raises DataError naming the row and column of the first value that is not a number or not a time.
    """
    try:
        table = pd.read_csv(path, skipinitialspace=True, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path} is not a readable comma-separated file ({reason(exc)})") from None
    time_column = next((c for c in table.columns if str(c).strip().lower() in TIME_COLUMNS), table.columns[0])
    label_column = next((c for c in table.columns if str(c).strip().lower() == LABEL_COLUMN), None)
    value_columns = [c for c in table.columns if c not in (time_column, label_column)]
    if len(table) < MIN_TIMESTAMPS:
        raise DataError(f"{path} has {len(table)} rows; a time series needs at least {MIN_TIMESTAMPS}")
    if not value_columns:
        raise DataError(f"{path} has a time column ({time_column!r}) but no column of values")
    times = _times(table[time_column], path, time_column)
    values = np.column_stack([_numbers(table[c], path, c) for c in value_columns]).astype(np.float32)
    labels = None if label_column is None else _labels(table[label_column], path, label_column)
    order = np.argsort(times, kind="stable")
    notices = []
    moved = int((order != np.arange(len(order))).sum())
    if moved:
        back = np.flatnonzero(np.diff(times) < np.timedelta64(0)) + 1
        notices.append(
            f"{path.name}'s rows were not in time order: {len(back)} step(s) back in time (the first at row "
            f"{back[0]:,}, {pd.Timestamp(times[back[0]])}); {moved:,} rows were re-sorted by {time_column!r}"
        )
        times, values = times[order], values[order]
        labels = None if labels is None else labels[order]
    notices += _irregularities(times)
    if windows is not None:
        labels = _window_labels(times, windows)
    return Dataset(
        str(path),
        TIMESERIES,
        values,
        labels,
        class_names=dict(TIMESERIES_CLASSES) if labels is not None else {},
        timestamps=times,
        channels=tuple(str(c) for c in value_columns),
        notices=tuple(notices),
    )


def is_number(text: str) -> bool:
    """Whether a CSV cell reads as a number."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parses_as_time(text: str) -> bool:
    try:
        pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def _times(column: pd.Series, path: Path, name) -> np.ndarray:
    """datetime64[ns] (n,), time zones converted to UTC; DataError naming the first cell that is not a time."""
    try:
        parsed = pd.to_datetime(column, errors="coerce", format="mixed", utc=True)
    except (ValueError, TypeError, OverflowError):
        parsed = pd.Series(pd.NaT, index=column.index)
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        raise DataError(
            f"{path} has {column.iloc[bad[0]]!r} in column {name!r}, row {bad[0]} (counting from 0), "
            "which is not a date and time"
        )
    return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def _numbers(column: pd.Series, path: Path, name) -> np.ndarray:
    numbers = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero((numbers.isna() | ~np.isfinite(numbers.to_numpy(dtype=np.float64))).to_numpy())
    if len(bad):
        raise DataError(
            f"{path} has {column.iloc[bad[0]]!r} in column {name!r}, row {bad[0]} (counting from 0), "
            "which is not a finite number; every value of a time series must be one"
        )
    return numbers.to_numpy(dtype=np.float64)


def _labels(column: pd.Series, path: Path, name) -> np.ndarray:
    labels = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero(~labels.isin((0, 1)).to_numpy())
    if len(bad):
        raise DataError(
            f"{path} has {column.iloc[bad[0]]!r} in column {name!r}, row {bad[0]} (counting from 0); "
            "labels of a time series are 1 (anomalous) or 0 (normal)"
        )
    return labels.to_numpy(dtype=np.int64)


def _irregularities(times: np.ndarray) -> list[str]:
    """Notices about duplicate timestamps and gaps over 1.5 × the usual (median) step."""
    steps = np.diff(times)
    notices = []
    duplicates = np.flatnonzero(steps == np.timedelta64(0))
    if len(duplicates):
        notices.append(
            f"{len(duplicates)} timestamps repeat an earlier one (first: {pd.Timestamp(times[duplicates[0]])}); "
            "their rows are kept as they are"
        )
    positive = steps[steps > np.timedelta64(0)]
    if len(positive):
        usual = np.median(positive.astype(np.int64))
        gaps = np.flatnonzero(steps.astype(np.int64) > 1.5 * usual)
        if len(gaps):
            widest = gaps[np.argmax(steps[gaps])]
            notices.append(
                f"{len(gaps)} gaps longer than the usual step of {pd.Timedelta(int(usual), 'ns')} "
                f"(the longest, {pd.Timedelta(steps[widest])}, after {pd.Timestamp(times[widest])}); "
                "windows span them as if the series were regular"
            )
    return notices


def _window_labels(times: np.ndarray, windows: list) -> np.ndarray:
    """(n,) int64: 1 for timestamps inside any [start, end] window (both ends included)."""
    labels = np.zeros(len(times), dtype=np.int64)
    for start, end in windows:
        inside = (times >= np.datetime64(pd.Timestamp(start))) & (times <= np.datetime64(pd.Timestamp(end)))
        labels[inside] = 1
    return labels
