"""Loaders of the built-in datasets: read the local copy in the data folder, else download into the Keras cache.

Each loader is called as `loader(spec, root)` with its entry of the registry's table (name, sub-folder,
file names, class names) and the data folder (None: download). It returns the `Dataset` as published:
images float32 (n, h, w, 1) in [0, 1], series float32 (n, length) raw values, NAB time series float32
(n_timestamps, 1) raw values with their timestamps and per-timestamp labels.

TensorFlow (Keras' `get_file`) is imported only to download a missing dataset.
"""

from __future__ import annotations

import gzip
import json
import math
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.data.timeseries_csv import read_timeseries_csv
from core.data.types import IMAGE, SERIES, Dataset
from core.errors import DataError, reason

if TYPE_CHECKING:
    from core.data.registry import BuiltinSpec

KERAS_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
ECG_URL = "http://storage.googleapis.com/download.tensorflow.org/data/ecg.csv"
NAB_URL = "https://raw.githubusercontent.com/numenta/NAB/master/"
NAB_WINDOWS_FILE = "combined_windows.json"
# NAB's data/<category>/ of the series that can be downloaded by name (any stem is read from a local copy).
NAB_CATEGORIES = {
    **dict.fromkeys(
        (
            "ambient_temperature_system_failure",
            "cpu_utilization_asg_misconfiguration",
            "ec2_request_latency_system_failure",
            "machine_temperature_system_failure",
            "nyc_taxi",
            "rogue_agent_key_hold",
            "rogue_agent_key_updown",
        ),
        "realKnownCause",
    ),
    **dict.fromkeys(
        ("art_daily_no_noise", "art_daily_perfect_square_wave", "art_daily_small_noise", "art_flatline", "art_noisy"),
        "artificialNoAnomaly",
    ),
    **dict.fromkeys(
        (
            "art_daily_flatmiddle",
            "art_daily_jumpsdown",
            "art_daily_jumpsup",
            "art_daily_nojump",
            "art_increase_spike_density",
            "art_load_balancer_spikes",
        ),
        "artificialWithAnomaly",
    ),
}
NAB_OFFERED = (
    "art_daily_small_noise",
    "art_daily_jumpsup",
    "nyc_taxi",
    "ambient_temperature_system_failure",
    "machine_temperature_system_failure",
)


class DownloadFailed(Exception):
    """A built-in dataset is neither in the data folder nor downloadable; the registry words the message."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def load_digits(spec: BuiltinSpec, root: Path | None) -> Dataset:
    """scikit-learn's bundled 8×8 digits (the data folder is not used)."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = (bunch.images / 16).astype(np.float32)[..., np.newaxis]
    return Dataset(spec.name, IMAGE, images, bunch.target.astype(np.int64), class_names=dict(spec.class_names))


def load_mnist(spec: BuiltinSpec, root: Path | None) -> Dataset:
    """MNIST from the four IDX files in the data folder, else Keras' mnist.npz."""
    local = local_files(root, spec)
    if local is not None:
        return _idx_dataset(spec, local)
    [path] = _download([("mnist.npz", KERAS_MIRROR + "mnist.npz", MNIST_NPZ_SHA256, "datasets")])
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = [archive[key] for key in ("x_train", "y_train", "x_test", "y_test")]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(
            f"the downloaded {path} is unreadable ({reason(exc)}); delete it to download it again"
        ) from None
    return _mnist_like(spec, *arrays, str(path))


def load_idx_images(spec: BuiltinSpec, root: Path | None) -> Dataset:
    """An MNIST-like dataset (Fashion-MNIST) from its four IDX files, local or downloaded one by one."""
    local = local_files(root, spec)
    if local is None:
        downloads = [(name, KERAS_MIRROR + name, None, f"datasets/{spec.folder}") for name in spec.files]
        local = dict(zip(spec.files, _download(downloads), strict=True))
    return _idx_dataset(spec, local)


def load_ecg5000(spec: BuiltinSpec, root: Path | None) -> Dataset:
    """ECG5000's ecg.csv: 140 raw values and a 0/1 label (1 = normal) per row."""
    local = local_files(root, spec)
    if local is not None:
        path = local[spec.files[0]]
    else:
        [path] = _download([(spec.files[0], ECG_URL, None, f"datasets/{spec.folder}")])
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{path} is not a readable ECG5000 file ({reason(exc)}); replace it with the original ecg.csv"
        ) from None
    if table.shape[1] != 141 or not np.isfinite(table).all() or not np.isin(table[:, -1], (0, 1)).all():
        raise DataError(
            f"{path} is not ECG5000's ecg.csv: it needs 140 finite values and a 0/1 label per row "
            f"(got {table.shape[1]} columns); replace it with the original file"
        )
    return Dataset(
        spec.name,
        SERIES,
        table[:, :-1].astype(np.float32),
        table[:, -1].astype(np.int64),
        class_names=dict(spec.class_names),
    )


def load_nab(spec: BuiltinSpec, root: Path | None) -> Dataset:
    """A NAB series (spec.files: "<stem>.csv", "combined_windows.json"), labelled 1 inside its anomaly windows."""
    series_file, windows_file = spec.files
    stem = series_file.removesuffix(".csv")
    local = local_files(root, spec)
    if local is not None:
        series_path, windows_path = local[series_file], local[windows_file]
    else:
        if stem not in NAB_CATEGORIES:
            raise DownloadFailed(f"{stem} is not one of the NAB series known by name ({', '.join(NAB_CATEGORIES)})")
        series_path, windows_path = _download(
            [
                (series_file, f"{NAB_URL}data/{NAB_CATEGORIES[stem]}/{series_file}", None, "datasets/nab"),
                (windows_file, f"{NAB_URL}labels/{windows_file}", None, "datasets/nab"),
            ]
        )
    try:
        all_windows = json.loads(Path(windows_path).read_text(encoding="utf-8"))
        windows = next((w for key, w in all_windows.items() if key.rsplit("/", 1)[-1] == series_file), [])
    except (OSError, ValueError, AttributeError) as exc:
        raise DataError(f"{windows_path} is not NAB's {windows_file} ({reason(exc)}); replace it") from None
    dataset = read_timeseries_csv(Path(series_path), windows)
    return Dataset(
        spec.name,
        dataset.kind,
        dataset.x_train,
        dataset.y_train,
        class_names=dataset.class_names,
        timestamps=dataset.timestamps,
        channels=dataset.channels,
        notices=dataset.notices,
    )


def downloadable(spec: BuiltinSpec) -> bool:
    """Whether `spec`'s files can be downloaded (of a family, NAB, only the series known by name)."""
    return not spec.family or spec.files[0].removesuffix(".csv") in NAB_CATEGORIES


def local_files(root: Path | None, spec: BuiltinSpec) -> dict[str, Path] | None:
    """`spec.files` in `root/spec.folder/` when all of them are there, else None."""
    if root is None or spec.folder is None:
        return None
    paths = {name: root / spec.folder / name for name in spec.files}
    return paths if all(path.is_file() for path in paths.values()) else None


def _download(downloads: list[tuple]) -> list[Path]:
    """Fetch (file name, url, sha256 or None, Keras cache sub-folder) entries into the Keras cache.

    Any failure becomes DownloadFailed, which the registry turns into a one-line DataError.
    """
    try:
        return [_fetch(*download) for download in downloads]
    except Exception as exc:  # get_file raises bare Exception, OSError, ValueError, ... depending on what failed
        raise DownloadFailed(reason(exc)) from None


def _fetch(fname: str, url: str, sha256: str | None, cache_subdir: str) -> Path:
    """Download `url` into the Keras cache (~/.keras/<cache_subdir>/fname) unless it is there; the local path."""
    from keras.utils import get_file

    return Path(get_file(fname, origin=url, file_hash=sha256, cache_subdir=cache_subdir))


def _idx_dataset(spec: BuiltinSpec, paths: dict[str, Path]) -> Dataset:
    """spec.files are the train images, train labels, test images and test labels, in that order."""
    train_images, train_labels, test_images, test_labels = (
        read_idx(paths[name], 3 if index % 2 == 0 else 1) for index, name in enumerate(spec.files)
    )
    return _mnist_like(spec, train_images, train_labels, test_images, test_labels, str(paths[spec.files[0]].parent))


def _mnist_like(spec: BuiltinSpec, train_images, train_labels, test_images, test_labels, source) -> Dataset:
    """28×28 uint8 images and digit labels as a Dataset, images (n, 28, 28, 1) in [0, 1]."""
    for images, labels in ((train_images, train_labels), (test_images, test_labels)):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"{source} is inconsistent: images of shape {images.shape} with labels of shape {labels.shape}"
            )
    return Dataset(
        spec.name,
        IMAGE,
        _unit_images(train_images),
        train_labels.astype(np.int64),
        _unit_images(test_images),
        test_labels.astype(np.int64),
        dict(spec.class_names),
    )


def _unit_images(images: np.ndarray) -> np.ndarray:
    """uint8 (n, h, w) → float32 (n, h, w, 1) in [0, 1]."""
    return np.divide(images, 255, dtype=np.float32)[..., np.newaxis]


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """A gzipped IDX file of unsigned bytes: header 0x00 0x00 0x08 ndim, ndim big-endian uint32 sizes, data."""
    try:
        with gzip.open(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{path} is not a readable gzip file ({reason(exc)}); replace it with the original download"
        ) from None
    header_size = 4 + 4 * ndim
    if len(raw) < header_size or raw[:4] != bytes((0, 0, 8, ndim)):
        raise DataError(
            f"{path} is not a {ndim}-D IDX file of unsigned bytes (bad magic number); "
            "replace it with the original download"
        )
    shape = tuple(int(size) for size in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    if len(raw) - header_size != math.prod(shape):
        raise DataError(
            f"{path} is corrupt: its header announces shape {shape} but it holds {len(raw) - header_size} "
            f"data bytes instead of {math.prod(shape)}; replace it with the original download"
        )
    return np.frombuffer(raw, np.uint8, offset=header_size).reshape(shape)
