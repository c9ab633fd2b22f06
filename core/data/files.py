"""User data files: a .npz, a .csv, or a .zip or folder of PNG/JPEG images, read safely and checked.

`load_user_file` reads one as a `Dataset` for an experiment (cached by path, size and modification time;
arrays read-only); `load_samples` reads new samples to score with a trained detector. Files, folders and
unpacked archives that would take more than core.data.limits allows are refused; nothing is ever unpickled.
"""

from __future__ import annotations

import functools
import io
import math
import os
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from core.data.images import fit_images, image_arrays, is_image_name, zip_image_members
from core.data.limits import check_size, check_unpacked_size
from core.data.tables import read_table
from core.data.timeseries_csv import is_number, is_timeseries_csv, read_timeseries_csv
from core.data.types import IMAGE, SERIES, TIMESERIES, Dataset
from core.errors import DataError, reason

MIN_SAMPLES = 10


def load_user_file(path: str | os.PathLike, layout: str = "auto", strict: bool = False) -> Dataset:
    """A user file or image folder as a read-only Dataset of at least MIN_SAMPLES samples, cached until it changes.

    layout: how a CSV is read, "auto", "table" or "series" (core.data.tables); strict: refuse a table's text
    columns and blank cells instead of encoding and filling them.
    """
    path = Path(path).expanduser()
    return _load_user_file(str(path.resolve()), _fingerprint(path), layout, strict)


def load_samples(path: str | os.PathLike, sample_shape: Sequence[int], kind: str) -> np.ndarray:
    """New samples to score with a trained model: float32 (n, *sample_shape), raw values, labels ignored.

    Images are resized to the model's height × width and converted to its channel count; series must have
    exactly the model's length. A .npz with an official split gives its train samples, then its test samples.
    The detector scales series itself.
    """
    sample_shape = tuple(int(size) for size in sample_shape)
    if kind == TIMESERIES:
        return _timeseries_samples(Path(path).expanduser(), sample_shape)
    dataset = _read_user_file(
        Path(path).expanduser(), min_samples=1, image_shape=sample_shape if kind == IMAGE else None
    )
    x = dataset.x_train if not dataset.has_official_split else np.concatenate([dataset.x_train, dataset.x_test])
    if kind == IMAGE and dataset.kind == IMAGE:
        x = fit_images(x, sample_shape)
    return _with_shape(x, sample_shape, str(path))


def rows_to_samples(content: bytes, sample_shape: Sequence[int], name: str) -> np.ndarray:
    """The rows of an uploaded CSV file named `name` (one sample of numbers per row, an optional header and
    'label' column, which is ignored) as float32 samples (n, *sample_shape); `load_samples` reads a .csv on disk
    the same way. Raises DataError naming the file when it cannot be read, holds NaN, or has rows of another length.
    """
    dataset = _csv_dataset(content, 1, name)
    return _with_shape(dataset.x_train, tuple(int(size) for size in sample_shape), name)


def _with_shape(x: np.ndarray, sample_shape: tuple, name: str) -> np.ndarray:
    """Samples x as (n, *sample_shape): flat rows of the right length are reshaped; anything else is refused."""
    if x.shape[1:] == sample_shape:
        return x
    if x.ndim == 2 and x.shape[1] == math.prod(sample_shape):
        return x.reshape((len(x), *sample_shape))
    if x.ndim == 2:
        raise DataError(
            f"{name} has rows of {x.shape[1]} values; the model takes samples of {math.prod(sample_shape)} "
            "values, one sample per row"
        )
    raise DataError(f"{name} has samples of shape {x.shape[1:]}; the model takes samples of shape {sample_shape}")


def _timeseries_samples(path: Path, sample_shape: tuple) -> np.ndarray:
    """The values (n_timestamps, channels) of a time-series CSV, for a model of windows of `sample_shape`."""
    if path.suffix.lower() != ".csv" or not is_timeseries_csv(path):
        raise DataError(f"{path} is not a time-series CSV (a timestamp column and columns of values)")
    check_size(path.stat().st_size, path, "is")
    x = read_timeseries_csv(path).x_train
    channels = 1 if len(sample_shape) == 1 else sample_shape[-1]
    if x.shape[1] != channels:
        raise DataError(f"{path} has {x.shape[1]} value columns; the model was trained on {channels}")
    return x


@functools.lru_cache(maxsize=2)
def _load_user_file(path: str, fingerprint: tuple, layout: str, strict: bool) -> Dataset:
    """Cached by path and `fingerprint`, so an edited file is read again."""
    return read_only(_read_user_file(Path(path), MIN_SAMPLES, layout=layout, strict=strict))


def read_only(dataset: Dataset) -> Dataset:
    for array in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test, dataset.timestamps):
        if array is not None:
            array.flags.writeable = False
    return dataset


def _fingerprint(path: Path) -> tuple:
    """Size and modification time of the file, or of every file in the folder."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def _read_user_file(
    path: Path, min_samples: int, image_shape: tuple | None = None, layout: str = "auto", strict: bool = False
) -> Dataset:
    """A .npz, .csv, .zip or image folder as a Dataset; `image_shape` (h, w, c) decodes image files straight to it;
    `layout` and `strict` say how a CSV is read (load_user_file)."""
    if not path.exists():
        raise DataError(f"{path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and is_image_name(p.relative_to(path).as_posix()))
        check_size(sum(p.stat().st_size for p in files), path, "holds")
        members = [(p.relative_to(path).as_posix(), functools.partial(p.open, "rb")) for p in files]
        return _image_dataset(path, members, min_samples, image_shape)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv", ".zip"):
        raise DataError(f"{path} is not a supported file: use a .npz, .csv or .zip file or a folder of PNG/JPEG images")
    check_size(path.stat().st_size, path, "is")
    if suffix == ".npz":
        return _npz_dataset(path, min_samples)
    if suffix == ".csv":
        return _csv_file(path, min_samples, layout, strict)
    try:
        with zipfile.ZipFile(path) as archive:
            return _image_dataset(path, zip_image_members(archive, path), min_samples, image_shape)
    except (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path} is not a readable zip file ({reason(exc)})") from None


def _check_npz_arrays(archive: zipfile.ZipFile, path: Path) -> None:
    """Read each .npy header (shape, dtype) without loading its data: refuse objects and oversized arrays."""
    total = 0
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            continue
        with archive.open(info) as stream:
            try:
                version = np.lib.format.read_magic(stream)
                read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
                if version not in read_header:
                    raise ValueError(f".npy format version {version} is not supported")
                shape, _, dtype = read_header[version](stream)
            except ValueError as exc:
                raise DataError(f"array '{info.filename[:-4]}' of {path} is unreadable ({reason(exc)})") from None
        if dtype.hasobject:
            raise DataError(
                f"array '{info.filename[:-4]}' of {path} holds Python objects, which are never unpickled; "
                "save plain numeric arrays"
            )
        total += math.prod(shape) * (4 + dtype.itemsize)
    check_size(total, path, "would take")


def _image_dataset(
    path: Path, members: list[tuple[str, Callable[[], BinaryIO]]], min_samples: int, image_shape: tuple | None
) -> Dataset:
    images, labels = image_arrays(path, members, image_shape)
    return _user_dataset(str(path), images, labels, None, None, min_samples)


def _npz_dataset(path: Path, min_samples: int) -> Dataset:
    """Arrays `x` and optional `y`, or `x_train`, `y_train`, `x_test`, `y_test` (an official split). Never unpickles."""
    try:
        with zipfile.ZipFile(path) as archive:
            check_unpacked_size(archive, path)
            _check_npz_arrays(archive, path)
        with np.load(path, allow_pickle=False) as archive:
            keys = ("x", "y") if "x" in archive.files else ("x_train", "y_train", "x_test", "y_test")
            if keys[0] not in archive.files:
                found = ", ".join(archive.files) or "nothing"
                raise DataError(f"{path} needs an array named 'x' (or 'x_train' and 'x_test'); it holds {found}")
            arrays = {key: _npz_array(archive, key, path) for key in keys if key in archive.files}
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path} is not a readable .npz file ({reason(exc)})") from None
    split = "x_test" in arrays
    if split and (("y_train" in arrays) != ("y_test" in arrays)):
        raise DataError(f"{path} has labels for only one split; give both y_train and y_test, or neither")
    x_key, y_key = ("x_train", "y_train") if "x_train" in arrays else ("x", "y")
    return _user_dataset(
        str(path),
        arrays[x_key],
        arrays.get(y_key),
        arrays.get("x_test"),
        arrays.get("y_test"),
        min_samples,
        sources=tuple(f"array '{key}' of {path}" for key in (x_key, y_key, "x_test", "y_test")),
    )


def _npz_array(archive, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(
                f"array '{key}' of {path} holds Python objects, which are never unpickled; save plain numeric arrays"
            ) from None
        raise DataError(f"array '{key}' of {path} is unreadable ({reason(exc)})") from None


def _csv_file(path: Path, min_samples: int, layout: str, strict: bool) -> Dataset:
    """A CSV as `layout` says (core.data.tables): a time series when it has a timestamp column (unless read as a
    table), a table when it has a header (unless read as series), else rows of series steps."""
    if layout != "table" and is_timeseries_csv(path):
        return read_timeseries_csv(path)
    with open(path, encoding="utf-8-sig") as stream:
        has_header = _is_header(stream.readline())
    if layout == "table" or (layout == "auto" and has_header):
        return read_table(path, min_samples, strict)
    return _csv_dataset(path, min_samples)


def _is_header(first_line: str) -> bool:
    return any(cell.strip() and not is_number(cell) for cell in first_line.split(","))


def _csv_dataset(source: Path | bytes, min_samples: int, name: str | None = None) -> Dataset:
    """One sample per row of numbers; a header row is optional and may name a 'label' column.

    source: a file, or an uploaded file's content, named `name` in messages (default: the file's path).
    """
    path = name or str(source)
    try:
        if isinstance(source, bytes):
            first_line = source.decode("utf-8-sig").partition("\n")[0]
        else:
            with open(source, encoding="utf-8-sig") as stream:
                first_line = stream.readline()
        has_header = _is_header(first_line)
        table = pd.read_csv(
            io.BytesIO(source) if isinstance(source, bytes) else source,
            header=0 if has_header else None,
            skipinitialspace=True,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path} is not a readable comma-separated file ({reason(exc)})") from None
    label_column = next((c for c in table.columns if str(c).strip().lower() == "label"), None) if has_header else None
    labels = None
    if label_column is not None:
        labels = table.pop(label_column)
        if labels.isna().any():
            raise DataError(
                f"{path} has an empty label in row {int(np.flatnonzero(labels.isna().to_numpy())[0])} (counting from 0)"
            )
        labels = labels.to_numpy()
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            numbers = pd.to_numeric(table[column], errors="coerce")
            bad = np.flatnonzero((table[column].notna() & numbers.isna()).to_numpy())
            if len(bad):
                raise DataError(
                    f"{path} has {table[column].iloc[bad[0]]!r} in column {column!r}, row {bad[0]} (counting "
                    "from 0), which is not a number; each row must be one sample of numbers, plus an optional "
                    "'label' column"
                )
            table[column] = numbers
    return _user_dataset(path, table.to_numpy(dtype=np.float32), labels, None, None, min_samples)


def _user_dataset(name: str, x, y, x_test, y_test, min_samples: int, sources: tuple | None = None) -> Dataset:
    """Validate and convert user arrays; `sources` names x, y, x_test and y_test in messages (default: the file)."""
    x_source, y_source, x_test_source, y_test_source = sources or (name,) * 4
    x, kind = _as_samples(x, x_source, min_samples)
    y = None if y is None else as_labels(y, len(x), y_source)
    if x_test is not None:
        x_test, _ = _as_samples(x_test, x_test_source, 1)
        if x_test.shape[1:] != x.shape[1:]:
            raise DataError(
                f"{x_source} has samples of shape {x.shape[1:]} but {x_test_source} of shape "
                f"{x_test.shape[1:]}; both splits need the same shape"
            )
        y_test = None if y_test is None else as_labels(y_test, len(x_test), y_test_source)
    dataset = Dataset(name, kind, x, y, x_test, y_test)
    if y is not None:
        dataset.class_names = {label: str(label) for label in dataset.all_labels().tolist()}
    return dataset


def _as_samples(x: np.ndarray, where: str, min_samples: int) -> tuple[np.ndarray, str]:
    """float32 samples and their kind: (n, d) series as they are, (n, h, w[, c]) images scaled to [0, 1]."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise DataError(f"{where} holds {x.dtype} values; only numbers can be used")
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if x.ndim == 2:
        kind = SERIES
    elif x.ndim == 4 and x.shape[-1] in (1, 3):
        kind = IMAGE
    else:
        raise DataError(
            f"{where} has shape {x.shape}: use (n, length) for series, or (n, height, width) or "
            "(n, height, width, channels) with 1 or 3 channels for images"
        )
    if x.size == 0:
        raise DataError(f"{where} is empty (shape {x.shape})")
    if len(x) < min_samples:
        raise DataError(f"{where} has only {len(x)} samples; at least {min_samples} are needed")
    was_uint8 = x.dtype == np.uint8
    x = np.asarray(x, dtype=np.float32)  # a copy unless already float32, and then it is this function's own array
    _check_finite(x, where)
    if kind == IMAGE:
        low, high = float(x.min()), float(x.max())
        if low < 0 or high > 255:
            raise DataError(f"{where} has pixel values from {low:g} to {high:g}; images must be in [0, 1] or [0, 255]")
        if was_uint8 or high > 1:
            x /= 255
    return x, kind


def _check_finite(x: np.ndarray, where: str) -> None:
    finite = np.isfinite(x)
    if finite.all():
        return
    bad_rows = np.flatnonzero(~finite.reshape(len(x), -1).all(axis=1))
    first = ", ".join(str(row) for row in bad_rows[:5])
    raise DataError(
        f"{where} holds {finite.size - np.count_nonzero(finite)} NaN or infinite values in "
        f"{len(bad_rows)} samples (first rows, counting from 0: {first}); clean or drop them first"
    )


def as_labels(y: np.ndarray, n: int, where: str) -> np.ndarray:
    """(n,) int64 when all labels are integral numbers, else str."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{where} has labels of shape {y.shape} for {n} samples; it needs one label per sample")
    if y.dtype.kind in "USO":  # objects only come from CSV label columns: np.load never unpickles
        return y.astype(str)
    if y.dtype.kind not in "biuf":
        raise DataError(f"{where} holds {y.dtype} labels; use numbers or strings")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise DataError(f"{where} holds NaN or infinite labels")
        if not np.array_equal(y, np.round(y)):
            return y.astype(str)
    return y.astype(np.int64)
