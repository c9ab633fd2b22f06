"""Tables: a CSV of one sample per row under a header of column names, read as a person means it.

`data.layout` says how a CSV is read: "auto" (a column of timestamps makes it a time series, a header a table,
no header rows of series steps), "table" or "series". A table's columns are taken as follows, and every change
to them is said in a notice carried with the Dataset, so the dashboard and the CLI can tell the user:

- a column named like a label (LABEL_NAMES, any case) holding only 0 and 1 is the anomaly label (1 = anomaly);
  a `label` column of other values stays the class label, as for series;
- identifiers (a different value in every row, in a text column, or an integer column named like an identifier
  or counting the rows) and constant columns are left out;
- text columns of at most MAX_CATEGORIES distinct values are one-hot encoded (one 0/1 feature per value, named
  `column=value`); text columns with more are left out;
- blank cells (and "?", "NA", "n/a", ...) stay NaN: the detector's table scaler fills each with its column's
  median over the training rows (core.tabular). They are counted in a notice.

With `strict` (the CLI's --strict), a text column or a blank cell is refused with a DataError instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.types import SERIES, TIMESERIES, Dataset
from core.errors import DataError, reason

LAYOUTS = ("auto", "table", "series")
LABEL_NAMES = ("label", "is_anomaly", "anomaly", "outlier", "target", "class", "y")
CLASS_LABEL = "label"  # the one label name whose column may hold classes other than 0/1
MAX_CATEGORIES = 20  # wider one-hot groups would outweigh the numeric columns in the reconstruction error
ANOMALY_CLASSES = {0: "normal", 1: "anomaly"}
BLANK_MARKERS = ("?", "-", "")
ID_NAME = re.compile(r"(?i:(^|[\W_])(id|key|index|uuid|no)($|[\W_]))|[a-z](Id|ID)$")


def read_table(path: Path, min_samples: int, strict: bool = False) -> Dataset:
    """The table in a CSV file with a header as a "series" Dataset with `feature_names` (one per encoded feature),
    `feature_columns` (the user's column each came from) and `notices`. x_train is float32 (n, features), NaN
    where a cell was blank. Raises DataError naming the file."""
    name = str(path)
    frame = _read_frame(path)
    if len(frame) < min_samples:
        raise DataError(f"{name} has only {len(frame)} rows; at least {min_samples} are needed")
    notices: list[str] = []
    label_column = find_label_column(frame)
    labels = None
    anomaly_classes: tuple[int, ...] = ()
    if label_column is not None:
        labels = frame.pop(label_column)
        if labels.isna().any():
            row = int(np.flatnonzero(labels.isna().to_numpy())[0])
            raise DataError(f"{name} has an empty label in column {label_column!r}, row {row} (counting from 0)")
        if _is_zero_one(labels):
            anomaly_classes = (1,)
            notices.append(
                f"Column {label_column!r} is the anomaly label (1 = anomaly: {int((labels == 1).sum()):,} of "
                f"{len(labels):,} rows); it is used to score the detector, never to train it."
            )
        labels = labels.to_numpy()
    features, columns, left_out = _encode(frame, name, strict, notices)
    if not features:
        raise DataError(f"{name} has no column of numbers or categories to learn from once {left_out} are left out")
    x = np.column_stack([column for _, column in features]).astype(np.float32)
    if np.isinf(x).any():
        raise DataError(f"{name} holds infinite values; replace them by numbers or blank cells")
    blanks = int(np.isnan(x).sum())
    if blanks:
        if strict:
            row = int(np.flatnonzero(np.isnan(x).any(axis=1))[0])
            raise DataError(
                f"{name} has {blanks:,} blank cells (first in row {row}, counting from 0); fill them, or run without "
                "--strict to fill each with its column's training median"
            )
        rows = int(np.isnan(x).any(axis=1).sum())
        notices.append(
            f"{blanks:,} blank cells in {rows:,} rows are filled with their column's median over the training rows."
        )
    dataset = Dataset(name, SERIES, x, None)
    if labels is not None:
        from core.data.files import as_labels  # files reads tables through this module

        dataset.y_train = as_labels(labels, len(x), name)
        dataset.class_names = (
            dict(ANOMALY_CLASSES) if anomaly_classes else {label: str(label) for label in dataset.all_labels().tolist()}
        )
    dataset.anomaly_classes = anomaly_classes
    dataset.feature_names = tuple(feature for feature, _ in features)
    dataset.feature_columns = columns
    dataset.notices = tuple(notices)
    return dataset


def find_label_column(frame: pd.DataFrame) -> str | None:
    """The column named like a label (LABEL_NAMES, any case) that holds only 0 and 1, else one named `label`."""
    named = [column for column in frame.columns if str(column).strip().lower() in LABEL_NAMES]
    zero_one = [column for column in named if _is_zero_one(frame[column].dropna())]
    if zero_one:
        return zero_one[0]
    return next((column for column in named if str(column).strip().lower() == CLASS_LABEL), None)


def describe(dataset: Dataset) -> str:
    """One sentence on how a dataset's file was read, for the Dataset page and the CLI."""
    if dataset.kind == TIMESERIES:
        return f"Read as a time series: {len(dataset.x_train):,} timestamps of {len(dataset.channels)} value column(s)."
    if dataset.kind != SERIES:
        return f"Read as images: {len(dataset.x_train):,} of {dataset.sample_shape}."
    if not dataset.feature_names:
        return (
            f"Read as series: each of the {len(dataset.x_train):,} rows is one series of {dataset.sample_shape[0]} "
            "steps, scaled with one range for all of them."
        )
    columns = len(dict.fromkeys(dataset.feature_columns or dataset.feature_names))
    label = (
        " and its anomaly label" if dataset.anomaly_classes else (" and a class label" if dataset.is_labeled else "")
    )
    return (
        f"Read as a table: {len(dataset.x_train):,} rows of {columns} columns{label}, each column scaled by its "
        "own median and spread."
    )


def _read_frame(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            skipinitialspace=True,
            encoding="utf-8-sig",
            na_values=list(BLANK_MARKERS),
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path} is not a readable comma-separated file ({reason(exc)})") from None


def _is_zero_one(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce")
    return bool(len(values)) and numbers.notna().all() and set(numbers.unique().tolist()) <= {0, 1}


def _encode(
    frame: pd.DataFrame, name: str, strict: bool, notices: list[str]
) -> tuple[list[tuple[str, np.ndarray]], tuple[str, ...], str]:
    """The features of each column: [(feature name, float values)], each feature's source column, and a phrase
    naming what was left out. Appends the notices of what was left out or encoded."""
    features: list[tuple[str, np.ndarray]] = []
    columns: list[str] = []
    identifiers, constants, wide, encoded = [], [], [], []
    for column in frame.columns:
        values = frame[column]
        title = str(column).strip()
        if values.dtype == bool:
            values = values.astype(np.float32)
        numeric = pd.api.types.is_numeric_dtype(values)
        distinct = values.nunique(dropna=True)
        if distinct <= 1:
            constants.append(title)
        elif distinct == len(values) and (not numeric or _counts_rows(values, title)):
            identifiers.append(title)
        elif numeric:
            features.append((title, values.to_numpy(dtype=np.float64)))
            columns.append(title)
        elif strict:
            bad = values.dropna().iloc[0]
            raise DataError(
                f"{name} has {bad!r} in column {title!r}, which is not a number; run without --strict to one-hot "
                "encode text columns of few values"
            )
        elif distinct > MAX_CATEGORIES:
            wide.append(f"{title!r} ({distinct:,} values)")
        else:
            encoded.append(f"{title!r} ({distinct} values)")
            for category in sorted(values.dropna().unique().tolist(), key=str):
                features.append((f"{title}={category}", (values == category).to_numpy(dtype=np.float64)))
                columns.append(title)
    if identifiers:
        notices.append(f"Left out as identifiers (a different value in every row): {_listed(identifiers)}.")
    if constants:
        notices.append(f"Left out as constant (one value in every row): {_listed(constants)}.")
    if encoded:
        notices.append(f"Text columns one-hot encoded (one 0/1 feature per value): {', '.join(encoded)}.")
    if wide:
        notices.append(f"Left out as text of more than {MAX_CATEGORIES} distinct values: {', '.join(wide)}.")
    left_out = _listed(identifiers + constants) or "nothing"
    return features, tuple(columns), left_out


def _counts_rows(values: pd.Series, title: str) -> bool:
    """Whether a column of distinct numbers identifies rows: integers named like an identifier, or counting the
    rows (each one more than the last)."""
    if not pd.api.types.is_integer_dtype(values):
        return False
    return bool(ID_NAME.search(title)) or bool((np.diff(values.to_numpy()) == 1).all())


def _listed(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)
