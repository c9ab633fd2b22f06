"""User data files: a .npz, a .csv, or a .zip or folder of PNG/JPEG images, read safely and checked.

`load_user_file` reads one as a `Dataset` for an experiment (cached by path, size and modification time;
arrays read-only); `load_samples` reads new samples to score with a trained detector. Files, folders and
unpacked archives over $ANOMALY_STUDIO_MAX_FILE_MB (default 1024) are refused; nothing is ever unpickled.
"""

from __future__ import annotations

import functools
import math
import os
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
import pandas as pd
from PIL import Image

from core.data.timeseries import is_timeseries_csv, read_timeseries_csv
from core.data.types import IMAGE, SERIES, TIMESERIES, Dataset
from core.errors import DataError, reason

MAX_FILE_MB_ENV = "ANOMALY_STUDIO_MAX_FILE_MB"
MEMORY_SHARE = 8  # by default a file may take an eighth of the machine's memory once decoded
MIN_SAMPLES = 10
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

_GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def max_file_bytes() -> int:
    """The most bytes a user file may take: on disk, unpacked, and decoded as float32 samples.

    $ANOMALY_STUDIO_MAX_FILE_MB, else an eighth of the machine's physical memory. Every check runs on sizes
    read from headers (zip directories, .npy headers, image headers) before anything is decompressed.
    """
    raw = os.environ.get(MAX_FILE_MB_ENV, "").strip()
    if not raw:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MEMORY_SHARE
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = math.nan
    if not (math.isfinite(megabytes) and megabytes > 0):
        raise DataError(f"{MAX_FILE_MB_ENV} must be a positive number of megabytes (got {raw!r})")
    return int(megabytes * 2**20)


def load_user_file(path: str | os.PathLike) -> Dataset:
    """A user file or image folder as a read-only Dataset of at least MIN_SAMPLES samples, cached until it changes."""
    path = Path(path).expanduser()
    return _load_user_file(str(path.resolve()), _fingerprint(path))


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
        x = _fit_images(x, sample_shape)
    if x.shape[1:] != sample_shape:
        raise DataError(f"expected samples of shape {sample_shape}, got {x.shape[1:]}")
    return x


def _timeseries_samples(path: Path, sample_shape: tuple) -> np.ndarray:
    """The values (n_timestamps, channels) of a time-series CSV, for a model of windows of `sample_shape`."""
    if path.suffix.lower() != ".csv" or not is_timeseries_csv(path):
        raise DataError(f"{path} is not a time-series CSV (a timestamp column and columns of values)")
    _check_size(path.stat().st_size, path, "is")
    x = read_timeseries_csv(path).x_train
    channels = 1 if len(sample_shape) == 1 else sample_shape[-1]
    if x.shape[1] != channels:
        raise DataError(f"{path} has {x.shape[1]} value columns; the model was trained on {channels}")
    return x


@functools.lru_cache(maxsize=2)
def _load_user_file(path: str, fingerprint: tuple) -> Dataset:
    """Cached by path and `fingerprint`, so an edited file is read again."""
    return read_only(_read_user_file(Path(path), MIN_SAMPLES))


def read_only(dataset: Dataset) -> Dataset:
    for array in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test, dataset.timestamps):
        if array is not None:
            array.flags.writeable = False
    return dataset


def _fingerprint(path: Path) -> tuple:
    """Size and modification time of the file, or of every file in the folder."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def _read_user_file(path: Path, min_samples: int, image_shape: tuple | None = None) -> Dataset:
    """A .npz, .csv, .zip or image folder as a Dataset; `image_shape` (h, w, c) decodes image files straight to it."""
    if not path.exists():
        raise DataError(f"{path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _is_image_name(p.relative_to(path).as_posix()))
        _check_size(sum(p.stat().st_size for p in files), path, "holds")
        members = [(p.relative_to(path).as_posix(), functools.partial(p.open, "rb")) for p in files]
        return _image_dataset(path, members, min_samples, image_shape)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv", ".zip"):
        raise DataError(f"{path} is not a supported file: use a .npz, .csv or .zip file or a folder of PNG/JPEG images")
    _check_size(path.stat().st_size, path, "is")
    if suffix == ".npz":
        return _npz_dataset(path, min_samples)
    if suffix == ".csv":
        return read_timeseries_csv(path) if is_timeseries_csv(path) else _csv_dataset(path, min_samples)
    try:
        with zipfile.ZipFile(path) as archive:
            return _image_dataset(path, _zip_image_members(archive, path), min_samples, image_shape)
    except (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path} is not a readable zip file ({reason(exc)})") from None


def _check_size(n_bytes: int, path: Path, verb: str) -> None:
    limit = max_file_bytes()
    if n_bytes > limit:
        raise DataError(
            f"{path} {verb} {n_bytes / 2**20:.1f} MB, over the {limit / 2**20:g} MB limit; "
            f"set {MAX_FILE_MB_ENV} higher to load it"
        )


def _check_unpacked_size(archive: zipfile.ZipFile, path: Path) -> None:
    # Checked on the sizes the archive declares; zipfile never inflates a member beyond its declared size.
    _check_size(sum(info.file_size for info in archive.infolist()), path, "unpacks to")


def _check_decoded_size(n_values: int, bytes_per_value: int, path: Path) -> None:
    """Refuse, before decoding, data that would take more than the limit as float32 samples (plus its source)."""
    _check_size(n_values * (4 + bytes_per_value), path, "would take")


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
    _check_size(total, path, "would take")


def _npz_dataset(path: Path, min_samples: int) -> Dataset:
    """Arrays `x` and optional `y`, or `x_train`, `y_train`, `x_test`, `y_test` (an official split). Never unpickles."""
    try:
        with zipfile.ZipFile(path) as archive:
            _check_unpacked_size(archive, path)
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


def _csv_dataset(path: Path, min_samples: int) -> Dataset:
    """One sample per row of numbers; a header row is optional and may name a 'label' column."""
    try:
        with open(path, encoding="utf-8-sig") as stream:
            first_row = stream.readline().split(",")
        has_header = any(cell.strip() and not _is_number(cell) for cell in first_row)
        table = pd.read_csv(path, header=0 if has_header else None, skipinitialspace=True, encoding="utf-8-sig")
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
    return _user_dataset(str(path), table.to_numpy(dtype=np.float32), labels, None, None, min_samples)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_image_name(name: str) -> bool:
    """An image file, not a folder, a hidden file or macOS metadata (__MACOSX/, ._name)."""
    parts = PurePosixPath(name).parts
    return (
        bool(parts)
        and not any(part.startswith(".") or part == "__MACOSX" for part in parts)
        and PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES
    )


def _zip_image_members(archive: zipfile.ZipFile, path: Path) -> list[tuple[str, Callable[[], BinaryIO]]]:
    """(name, opener) of the zip's images, in name order; each is read when decoded, nothing goes to disk."""
    _check_unpacked_size(archive, path)
    infos = [
        info for info in archive.infolist() if not info.is_dir() and _is_image_name(info.filename.replace("\\", "/"))
    ]
    return [
        (info.filename.replace("\\", "/"), functools.partial(archive.open, info))
        for info in sorted(infos, key=lambda i: i.filename)
    ]


def _image_dataset(
    path: Path, members: list[tuple[str, Callable[[], BinaryIO]]], min_samples: int, image_shape: tuple | None
) -> Dataset:
    """Images named by their path inside the zip or folder; class = first sub-folder when every image has one."""
    if not members:
        raise DataError(f"{path} holds no PNG or JPEG images")
    folders = [PurePosixPath(name).parts[:-1] for name, _ in members]
    common = len(os.path.commonprefix(folders))  # a single wrapping folder names no class
    if all(len(f) > common for f in folders):
        labels = np.array([f[common] for f in folders])
    elif any(len(f) > common for f in folders):
        raise DataError(
            f"{path} mixes images in class sub-folders with images outside them; "
            "put every image in a class folder, or none"
        )
    else:
        labels = None
    images = _decode_images(members, path, image_shape)
    return _user_dataset(str(path), images, labels, None, None, min_samples)


def _decode_images(
    members: list[tuple[str, Callable[[], BinaryIO]]], source: Path, image_shape: tuple | None
) -> np.ndarray:
    """uint8 (n, h, w, c): grayscale unless every image is colour, all resized to the most common size.

    `image_shape` (h, w, c) imposes the size and channel count instead. A first pass reads only the image
    headers, so an image too large to decode (a decompression bomb) is refused before any pixel is inflated.
    """
    sizes, colour = [], []
    for name, opener in members:
        with opener() as stream:
            image = _open_image(name, stream, source)
            sizes.append(image.size)
            colour.append(image.mode not in _GRAY_MODES)
    largest = max(sizes, key=lambda size: size[0] * size[1])
    _check_size(largest[0] * largest[1] * 4, source, f"holds an image of {largest[0]}×{largest[1]} pixels, which")
    if image_shape is None:
        width, height = Counter(sizes).most_common(1)[0][0]
        channels = 3 if all(colour) else 1
    else:
        height, width, channels = image_shape
    _check_decoded_size(len(members) * height * width * channels, 1, source)
    out = np.empty((len(members), height, width, channels), dtype=np.uint8)
    for i, (name, opener) in enumerate(members):
        with opener() as stream:
            image = _open_image(name, stream, source)
            try:
                image = image.convert("RGB" if channels == 3 else "L")
            except (OSError, ValueError, Image.DecompressionBombError) as exc:
                raise DataError(f"{name} in {source} is not a readable image ({reason(exc)})") from None
        if image.size != (width, height):
            image = image.resize((width, height), Image.Resampling.BILINEAR)
        out[i] = np.asarray(image).reshape(height, width, channels)
    return out


def _open_image(name: str, stream: BinaryIO, source: Path) -> Image.Image:
    """The image's header (its pixels are decoded later, on convert)."""
    try:
        return Image.open(stream)
    except Image.UnidentifiedImageError:
        raise DataError(f"{name} in {source} is not a readable image (not a PNG or JPEG file)") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{name} in {source} is not a readable image ({reason(exc)})") from None


def _user_dataset(name: str, x, y, x_test, y_test, min_samples: int, sources: tuple | None = None) -> Dataset:
    """Validate and convert user arrays; `sources` names x, y, x_test and y_test in messages (default: the file)."""
    x_source, y_source, x_test_source, y_test_source = sources or (name,) * 4
    x, kind = _as_samples(x, x_source, min_samples)
    y = None if y is None else _as_labels(y, len(x), y_source)
    if x_test is not None:
        x_test, _ = _as_samples(x_test, x_test_source, 1)
        if x_test.shape[1:] != x.shape[1:]:
            raise DataError(
                f"{x_source} has samples of shape {x.shape[1:]} but {x_test_source} of shape "
                f"{x_test.shape[1:]}; both splits need the same shape"
            )
        y_test = None if y_test is None else _as_labels(y_test, len(x_test), y_test_source)
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


def _as_labels(y: np.ndarray, n: int, where: str) -> np.ndarray:
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


def _fit_images(x: np.ndarray, image_shape: tuple) -> np.ndarray:
    """float32 images (n, h, w, c) resized to (H, W) and converted to C channels, for image_shape (H, W, C)."""
    height, width, channels = image_shape
    if x.shape[-1] != channels:
        x = (
            np.repeat(x, 3, axis=-1)
            if channels == 3
            else (x @ np.array([0.299, 0.587, 0.114], np.float32))[..., np.newaxis]
        )
    if x.shape[1:3] != (height, width):
        x = np.stack(
            [
                np.stack(
                    [
                        np.asarray(Image.fromarray(sample[:, :, c]).resize((width, height), Image.Resampling.BILINEAR))
                        for c in range(channels)
                    ],
                    axis=-1,
                )
                for sample in x
            ]
        )
    return x
