"""Datasets: the built-in ones, user files, and the train/score arrays an experiment config asks for.

Two layers:

* `load_dataset` returns a raw `Dataset` as published (images scaled to [0, 1], series untouched). Built-in
  datasets are read from a local data folder first and downloaded from the Keras mirrors otherwise; parsed
  arrays are cached in-process and read-only, so callers share them and must not modify them.
* `build_experiment_data` turns a `DataConfig` into an `ExperimentData`: the samples the autoencoder trains
  on, the samples that get scored, and what is known about each (label, class, role).

TensorFlow is imported only to download a missing built-in dataset, so importing this module stays cheap.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import io
import math
import os
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Optional, Sequence, Union

import numpy as np
import pandas as pd
from PIL import Image

from core.config import BUILTIN_DATASETS, DataConfig, InjectConfig
from core.errors import DataError

DATA_DIR_ENV = "ANOMALY_STUDIO_DATA"
MAX_FILE_MB_ENV = "ANOMALY_STUDIO_MAX_FILE_MB"
DEFAULT_MAX_FILE_MB = 1024
MIN_SAMPLES = 10
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

KERAS_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
ECG_URL = "http://storage.googleapis.com/download.tensorflow.org/data/ecg.csv"
IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

DIGIT_CLASSES = {digit: str(digit) for digit in range(10)}
FASHION_MNIST_CLASSES = {0: "T-shirt/top", 1: "Trouser", 2: "Pullover", 3: "Dress", 4: "Coat",
                         5: "Sandal", 6: "Shirt", 7: "Sneaker", 8: "Bag", 9: "Ankle boot"}
ECG_CLASSES = {1: "normal", 0: "abnormal"}

NORMAL, ANOMALY, INJECTED, UNKNOWN = 0, 1, 2, -1
ROLE_NAMES = {NORMAL: "normal", ANOMALY: "anomaly", INJECTED: "injected", UNKNOWN: "unlabeled"}

_GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
_GATHER_CHUNK = 4096


# ------------------------------------------------------------------------------------------ raw datasets


@dataclass
class Dataset:
    """A dataset as published.

    `x_train` holds every sample when the dataset has no official split (`x_test` is None then). Images are
    float32 (n, height, width, channels) in [0, 1]; series are float32 (n, length) raw values, not scaled.
    Labels are (n,) int64 when all are integral numbers, else str; None for unlabeled data.
    """

    name: str
    kind: str
    x_train: np.ndarray
    y_train: Optional[np.ndarray]
    x_test: Optional[np.ndarray] = None
    y_test: Optional[np.ndarray] = None
    class_names: dict = field(default_factory=dict)

    @property
    def sample_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    @property
    def has_official_split(self) -> bool:
        return self.x_test is not None

    @property
    def is_labeled(self) -> bool:
        return self.y_train is not None

    def all_labels(self) -> np.ndarray:
        """The distinct labels of both splits, sorted (labeled datasets only)."""
        return np.unique(self.y_train if self.y_test is None else np.concatenate([self.y_train, self.y_test]))


def resolve_data_dir(data_dir: Union[str, os.PathLike, None] = None) -> Optional[Path]:
    """The local folder of built-in datasets: `data_dir`, else $ANOMALY_STUDIO_DATA, else None (download)."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or None
    return Path(chosen).expanduser().resolve() if chosen else None


def max_file_bytes() -> int:
    """The largest user file, folder or unpacked archive that is read, in bytes ($ANOMALY_STUDIO_MAX_FILE_MB, default 1024 MB)."""
    raw = os.environ.get(MAX_FILE_MB_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_FILE_MB * 2**20
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = math.nan
    if not (math.isfinite(megabytes) and megabytes > 0):
        raise DataError(f"{MAX_FILE_MB_ENV} must be a positive number of megabytes (got {raw!r})")
    return int(megabytes * 2**20)


def load_dataset(name_or_path: Union[str, os.PathLike], data_dir: Union[str, os.PathLike, None] = None) -> Dataset:
    """Load a built-in dataset ("digits", "mnist", "fashion_mnist", "ecg5000") or a user file.

    User files are a .npz, a .csv, or a .zip or folder of PNG/JPEG images. The arrays are cached and read-only.
    Raises DataError, with one readable sentence, on any problem.
    """
    name = str(name_or_path)
    if name in BUILTIN_DATASETS:
        root = resolve_data_dir(data_dir) if name != "digits" else None  # digits ships with scikit-learn
        cached = _load_builtin(name, None if root is None else str(root))
    else:
        path = Path(name).expanduser()
        if not path.exists():
            raise DataError(f"{name} is neither a built-in dataset ({', '.join(BUILTIN_DATASETS)}) nor an existing file or folder")
        cached = _load_user_file(str(path.resolve()), _fingerprint(path))
    # A fresh record over the shared read-only arrays, so a caller that reassigns a field leaves the cache intact.
    return dataclasses.replace(cached, name=name, class_names=dict(cached.class_names))


def load_samples(path: Union[str, os.PathLike], sample_shape: Sequence[int], kind: str) -> np.ndarray:
    """New samples to score with a trained model: float32 (n, *sample_shape), raw values, labels ignored.

    Images are resized to the model's height × width and converted to its channel count; series must have
    exactly the model's length. A .npz with an official split gives its train samples, then its test samples.
    Series still need the model's scaler (`apply_scaler`).
    """
    sample_shape = tuple(int(size) for size in sample_shape)
    dataset = _read_user_file(Path(path).expanduser(), min_samples=1, image_shape=sample_shape if kind == "image" else None)
    x = dataset.x_train if not dataset.has_official_split else np.concatenate([dataset.x_train, dataset.x_test])
    if kind == "image" and dataset.kind == "image":
        x = _fit_images(x, sample_shape)
    if x.shape[1:] != sample_shape:
        raise DataError(f"expected samples of shape {sample_shape}, got {x.shape[1:]}")
    return x


@functools.lru_cache(maxsize=4)
def _load_builtin(name: str, data_dir: Optional[str]) -> Dataset:
    root = None if data_dir is None else Path(data_dir)
    if name == "digits":
        dataset = _load_digits()
    elif name == "mnist":
        dataset = _load_mnist(root)
    elif name == "fashion_mnist":
        dataset = _load_fashion_mnist(root)
    else:
        dataset = _load_ecg5000(root)
    return _read_only(dataset)


@functools.lru_cache(maxsize=2)
def _load_user_file(path: str, fingerprint: tuple) -> Dataset:
    """Cached by path and `fingerprint`, so an edited file is read again."""
    return _read_only(_read_user_file(Path(path), MIN_SAMPLES))


def _read_only(dataset: Dataset) -> Dataset:
    for array in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test):
        if array is not None:
            array.flags.writeable = False
    return dataset


def _fingerprint(path: Path) -> tuple:
    """Size and modification time of the file, or of every file in the folder."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


# -------------------------------------------------------------------------------------- built-in datasets


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16).astype(np.float32)[..., np.newaxis]
    return Dataset("digits", "image", images, bunch.target.astype(np.int64), class_names=dict(DIGIT_CLASSES))


def _load_mnist(root: Optional[Path]) -> Dataset:
    local = _local_files(root, "mnist", IDX_FILES)
    if local is not None:
        return _idx_dataset("mnist", local, DIGIT_CLASSES)
    [path] = _download("mnist", "mnist", IDX_FILES, root, [("mnist.npz", KERAS_MIRROR + "mnist.npz", MNIST_NPZ_SHA256, "datasets")])
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = [archive[key] for key in ("x_train", "y_train", "x_test", "y_test")]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"the downloaded {path} is unreadable ({_reason(exc)}); delete it to download it again") from None
    return _mnist_like("mnist", *arrays, DIGIT_CLASSES, str(path))


def _load_fashion_mnist(root: Optional[Path]) -> Dataset:
    local = _local_files(root, "fashion-mnist", IDX_FILES)
    if local is None:
        downloads = [(name, KERAS_MIRROR + name, None, "datasets/fashion-mnist") for name in IDX_FILES]
        local = dict(zip(IDX_FILES, _download("fashion_mnist", "fashion-mnist", IDX_FILES, root, downloads)))
    return _idx_dataset("fashion_mnist", local, FASHION_MNIST_CLASSES)


def _load_ecg5000(root: Optional[Path]) -> Dataset:
    local = _local_files(root, "ecg5000", ("ecg.csv",))
    if local is not None:
        path = local["ecg.csv"]
    else:
        [path] = _download("ecg5000", "ecg5000", ("ecg.csv",), root, [("ecg.csv", ECG_URL, None, "datasets/ecg5000")])
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable ECG5000 file ({_reason(exc)}); replace it with the original ecg.csv") from None
    if table.shape[1] != 141 or not np.isfinite(table).all() or not np.isin(table[:, -1], (0, 1)).all():
        raise DataError(f"{path} is not ECG5000's ecg.csv: it needs 140 finite values and a 0/1 label per row "
                        f"(got {table.shape[1]} columns); replace it with the original file")
    return Dataset("ecg5000", "series", table[:, :-1].astype(np.float32), table[:, -1].astype(np.int64),
                   class_names=dict(ECG_CLASSES))


def _local_files(root: Optional[Path], folder: str, names: Sequence[str]) -> Optional[dict[str, Path]]:
    """`names` in `root/folder/` when all of them are there, else None."""
    if root is None:
        return None
    paths = {name: root / folder / name for name in names}
    return paths if all(path.is_file() for path in paths.values()) else None


def _download(name: str, folder: str, expected: Sequence[str], root: Optional[Path], downloads: list[tuple]) -> list[Path]:
    """Fetch (file name, url, sha256 or None, Keras cache sub-folder) entries into the Keras cache.

    Any failure becomes a one-line DataError telling where to put the files for offline use.
    """
    try:
        return [_fetch(*download) for download in downloads]
    except Exception as exc:  # get_file raises bare Exception, OSError, ValueError, ... depending on what failed
        where = root if root is not None else Path("DATA")
        raise DataError(
            f"{name} is not available offline: put {', '.join(expected)} in {where / folder}/ and point "
            f"{DATA_DIR_ENV} (or --data-dir) at {where} (download failed: {_reason(exc)})"
        ) from None


def _fetch(fname: str, url: str, sha256: Optional[str], cache_subdir: str) -> Path:
    """Download `url` into the Keras cache (~/.keras/<cache_subdir>/fname) unless it is there; the local path."""
    from keras.utils import get_file

    return Path(get_file(fname, origin=url, file_hash=sha256, cache_subdir=cache_subdir))


def _reason(exc: BaseException) -> str:
    """An exception as one short line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _idx_dataset(name: str, paths: dict[str, Path], class_names: dict) -> Dataset:
    train_images, train_labels, test_images, test_labels = (_read_idx(paths[f], 3 if "images" in f else 1) for f in IDX_FILES)
    return _mnist_like(name, train_images, train_labels, test_images, test_labels, class_names, str(paths[IDX_FILES[0]].parent))


def _mnist_like(name, train_images, train_labels, test_images, test_labels, class_names, source) -> Dataset:
    """28×28 uint8 images and digit labels as a Dataset, images (n, 28, 28, 1) in [0, 1]."""
    for images, labels in ((train_images, train_labels), (test_images, test_labels)):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{source} is inconsistent: images of shape {images.shape} with labels of shape {labels.shape}")
    return Dataset(name, "image", _unit_images(train_images), train_labels.astype(np.int64),
                   _unit_images(test_images), test_labels.astype(np.int64), dict(class_names))


def _unit_images(images: np.ndarray) -> np.ndarray:
    """uint8 (n, h, w) → float32 (n, h, w, 1) in [0, 1]."""
    return np.divide(images, 255, dtype=np.float32)[..., np.newaxis]


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """A gzipped IDX file of unsigned bytes: header 0x00 0x00 0x08 ndim, ndim big-endian uint32 sizes, data."""
    try:
        with gzip.open(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path} is not a readable gzip file ({_reason(exc)}); replace it with the original download") from None
    header_size = 4 + 4 * ndim
    if len(raw) < header_size or raw[:4] != bytes((0, 0, 8, ndim)):
        raise DataError(f"{path} is not a {ndim}-D IDX file of unsigned bytes (bad magic number); replace it with the original download")
    shape = tuple(int(size) for size in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    if len(raw) - header_size != math.prod(shape):
        raise DataError(f"{path} is corrupt: its header announces shape {shape} but it holds {len(raw) - header_size} "
                        f"data bytes instead of {math.prod(shape)}; replace it with the original download")
    return np.frombuffer(raw, np.uint8, offset=header_size).reshape(shape)


# ------------------------------------------------------------------------------------------------ user files


def _read_user_file(path: Path, min_samples: int, image_shape: Optional[tuple] = None) -> Dataset:
    """A .npz, .csv, .zip or image folder as a Dataset; `image_shape` (h, w, c) decodes image files straight to it."""
    if not path.exists():
        raise DataError(f"{path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _is_image_name(p.relative_to(path).as_posix()))
        _check_size(sum(p.stat().st_size for p in files), path, "holds")
        members = [(p.relative_to(path).as_posix(), p.read_bytes()) for p in files]
        return _image_dataset(path, members, min_samples, image_shape)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv", ".zip"):
        raise DataError(f"{path} is not a supported file: use a .npz, .csv or .zip file or a folder of PNG/JPEG images")
    _check_size(path.stat().st_size, path, "is")
    if suffix == ".npz":
        return _npz_dataset(path, min_samples)
    if suffix == ".csv":
        return _csv_dataset(path, min_samples)
    return _image_dataset(path, _zip_image_members(path), min_samples, image_shape)


def _check_size(n_bytes: int, path: Path, verb: str) -> None:
    limit = max_file_bytes()
    if n_bytes > limit:
        raise DataError(f"{path} {verb} {n_bytes / 2**20:.1f} MB, over the {limit / 2**20:g} MB limit; "
                        f"set {MAX_FILE_MB_ENV} higher to load it")


def _check_unpacked_size(archive: zipfile.ZipFile, path: Path) -> None:
    # Checked on the sizes the archive declares; zipfile never inflates a member beyond its declared size.
    _check_size(sum(info.file_size for info in archive.infolist()), path, "unpacks to")


def _npz_dataset(path: Path, min_samples: int) -> Dataset:
    """Arrays `x` and optional `y`, or `x_train`, `y_train`, `x_test`, `y_test` (an official split). Never unpickles."""
    try:
        with zipfile.ZipFile(path) as archive:
            _check_unpacked_size(archive, path)
        with np.load(path, allow_pickle=False) as archive:
            keys = ("x", "y") if "x" in archive.files else ("x_train", "y_train", "x_test", "y_test")
            if keys[0] not in archive.files:
                found = ", ".join(archive.files) or "nothing"
                raise DataError(f"{path} needs an array named 'x' (or 'x_train' and 'x_test'); it holds {found}")
            arrays = {key: _npz_array(archive, key, path) for key in keys if key in archive.files}
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path} is not a readable .npz file ({_reason(exc)})") from None
    split = "x_test" in arrays
    if split and (("y_train" in arrays) != ("y_test" in arrays)):
        raise DataError(f"{path} has labels for only one split; give both y_train and y_test, or neither")
    x_key, y_key = ("x_train", "y_train") if "x_train" in arrays else ("x", "y")
    return _user_dataset(str(path), arrays[x_key], arrays.get(y_key), arrays.get("x_test"), arrays.get("y_test"),
                         min_samples, sources=tuple(f"array '{key}' of {path}" for key in (x_key, y_key, "x_test", "y_test")))


def _npz_array(archive, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(f"array '{key}' of {path} holds Python objects, which are never unpickled; "
                            "save plain numeric arrays") from None
        raise DataError(f"array '{key}' of {path} is unreadable ({_reason(exc)})") from None


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
        raise DataError(f"{path} is not a readable comma-separated file ({_reason(exc)})") from None
    label_column = next((c for c in table.columns if str(c).strip().lower() == "label"), None) if has_header else None
    labels = None
    if label_column is not None:
        labels = table.pop(label_column)
        if labels.isna().any():
            raise DataError(f"{path} has an empty label in row {int(np.flatnonzero(labels.isna().to_numpy())[0])} (counting from 0)")
        labels = labels.to_numpy()
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            numbers = pd.to_numeric(table[column], errors="coerce")
            bad = np.flatnonzero((table[column].notna() & numbers.isna()).to_numpy())
            if len(bad):
                raise DataError(f"{path} has {table[column].iloc[bad[0]]!r} in column {column!r}, row {bad[0]} (counting "
                                "from 0), which is not a number; each row must be one sample of numbers, plus an optional "
                                "'label' column")
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
    return (bool(parts) and not any(part.startswith(".") or part == "__MACOSX" for part in parts)
            and PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES)


def _zip_image_members(path: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of the zip's images, read in memory: nothing is extracted to disk."""
    try:
        with zipfile.ZipFile(path) as archive:
            _check_unpacked_size(archive, path)
            infos = [info for info in archive.infolist()
                     if not info.is_dir() and _is_image_name(info.filename.replace("\\", "/"))]
            return [(info.filename.replace("\\", "/"), archive.read(info)) for info in sorted(infos, key=lambda i: i.filename)]
    except (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path} is not a readable zip file ({_reason(exc)})") from None


def _image_dataset(path: Path, members: list[tuple[str, bytes]], min_samples: int, image_shape: Optional[tuple]) -> Dataset:
    """Images named by their path inside the zip or folder; class = first sub-folder when every image has one."""
    if not members:
        raise DataError(f"{path} holds no PNG or JPEG images")
    folders = [PurePosixPath(name).parts[:-1] for name, _ in members]
    common = len(os.path.commonprefix(folders))  # a single wrapping folder names no class
    if all(len(f) > common for f in folders):
        labels = np.array([f[common] for f in folders])
    elif any(len(f) > common for f in folders):
        raise DataError(f"{path} mixes images in class sub-folders with images outside them; put every image in a class folder, or none")
    else:
        labels = None
    images = _decode_images(members, path, image_shape)
    return _user_dataset(str(path), images, labels, None, None, min_samples)


def _decode_images(members: list[tuple[str, bytes]], source: Path, image_shape: Optional[tuple]) -> np.ndarray:
    """uint8 (n, h, w, c): grayscale unless every image is colour, all resized to the most common size.

    `image_shape` (h, w, c) imposes the size and channel count instead.
    """
    sizes, colour = [], []
    for name, data in members:
        image = _open_image(name, data, source)
        sizes.append(image.size)
        colour.append(image.mode not in _GRAY_MODES)
    if image_shape is None:
        width, height = Counter(sizes).most_common(1)[0][0]
        channels = 3 if all(colour) else 1
    else:
        height, width, channels = image_shape
    out = np.empty((len(members), height, width, channels), dtype=np.uint8)
    for i, (name, data) in enumerate(members):
        image = _open_image(name, data, source)
        try:
            image = image.convert("RGB" if channels == 3 else "L")
        except (OSError, ValueError) as exc:
            raise DataError(f"{name} in {source} is not a readable image ({_reason(exc)})") from None
        if image.size != (width, height):
            image = image.resize((width, height), Image.Resampling.BILINEAR)
        out[i] = np.asarray(image).reshape(height, width, channels)
    return out


def _open_image(name: str, data: bytes, source: Path) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{name} in {source} is not a readable image ({_reason(exc)})") from None


def _user_dataset(name: str, x, y, x_test, y_test, min_samples: int, sources: Optional[tuple] = None) -> Dataset:
    """Validate and convert user arrays; `sources` names x, y, x_test and y_test in messages (default: the file)."""
    x_source, y_source, x_test_source, y_test_source = sources or (name,) * 4
    x, kind = _as_samples(x, x_source, min_samples)
    y = None if y is None else _as_labels(y, len(x), y_source)
    if x_test is not None:
        x_test, _ = _as_samples(x_test, x_test_source, 1)
        if x_test.shape[1:] != x.shape[1:]:
            raise DataError(f"{x_source} has samples of shape {x.shape[1:]} but {x_test_source} of shape "
                            f"{x_test.shape[1:]}; both splits need the same shape")
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
        kind = "series"
    elif x.ndim == 4 and x.shape[-1] in (1, 3):
        kind = "image"
    else:
        raise DataError(f"{where} has shape {x.shape}: use (n, length) for series, or (n, height, width) or "
                        "(n, height, width, channels) with 1 or 3 channels for images")
    if x.size == 0:
        raise DataError(f"{where} is empty (shape {x.shape})")
    if len(x) < min_samples:
        raise DataError(f"{where} has only {len(x)} samples; at least {min_samples} are needed")
    was_uint8 = x.dtype == np.uint8
    x = np.asarray(x, dtype=np.float32)  # a copy unless already float32, and then it is this function's own array
    _check_finite(x, where)
    if kind == "image":
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
    raise DataError(f"{where} holds {finite.size - np.count_nonzero(finite)} NaN or infinite values in "
                    f"{len(bad_rows)} samples (first rows, counting from 0: {first}); clean or drop them first")


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
        x = np.repeat(x, 3, axis=-1) if channels == 3 else (x @ np.array([0.299, 0.587, 0.114], np.float32))[..., np.newaxis]
    if x.shape[1:3] != (height, width):
        x = np.stack([
            np.stack([np.asarray(Image.fromarray(sample[:, :, c]).resize((width, height), Image.Resampling.BILINEAR))
                      for c in range(channels)], axis=-1)
            for sample in x
        ])
    return x


# ------------------------------------------------------------------------------------- the experiment's data


@dataclass
class ExperimentData:
    """What an experiment trains on and scores.

    x_train: float32 (n_train, *sample_shape), x_score: float32 (n_score, *sample_shape); in the transductive
    protocol they are the same object. Series are min-max scaled with `scaler`, fitted on x_train.
    labels: (n_score,) int8, 1 anomaly, 0 normal; None when the dataset is unlabeled.
    classes: (n_score,) the original class labels (an injected sample's is its class in the injected dataset).
    roles / train_roles: int8, 0 normal class, 1 anomaly class, 2 injected, -1 unknown (unlabeled).
    indices: (n_score,) int64 index into the split array each scored sample came from (the train array
    followed by the test array for split "all"; the injected dataset's split for injected samples).
    """

    kind: str
    sample_shape: tuple
    x_train: np.ndarray
    x_score: np.ndarray
    labels: Optional[np.ndarray]
    classes: Optional[np.ndarray]
    roles: np.ndarray
    indices: np.ndarray
    train_roles: np.ndarray
    class_names: dict
    scaler: Optional[dict]

    def counts(self) -> list[dict]:
        """One row per role present: {"role": "normal", "train": 6742, "scored": 6742}."""
        rows = []
        for role, name in ROLE_NAMES.items():
            train, scored = int(np.count_nonzero(self.train_roles == role)), int(np.count_nonzero(self.roles == role))
            if train or scored:
                rows.append({"role": name, "train": train, "scored": scored})
        return rows


def apply_scaler(x: np.ndarray, scaler: Optional[dict]) -> np.ndarray:
    """Series min-max scaled with stored stats {"min", "max"}, as a new float32 array; x itself when scaler is None."""
    if scaler is None:
        return x
    return _scale_in_place(np.array(x, dtype=np.float32), scaler)


def _scale_in_place(x: np.ndarray, scaler: dict) -> np.ndarray:
    span = scaler["max"] - scaler["min"]
    x -= np.float32(scaler["min"])
    x /= np.float32(span if span > 0 else 1.0)
    return x


@dataclass
class _Pool:
    """Candidate samples: `indices` (sorted int64) into the virtual concatenation of `parts`, never concatenated."""

    parts: tuple
    labels: Optional[np.ndarray]  # labels of the whole concatenation
    indices: np.ndarray

    @property
    def size(self) -> int:
        return sum(len(part) for part in self.parts)


@dataclass
class _Injection:
    x: np.ndarray
    classes: Optional[np.ndarray]
    indices: np.ndarray


@dataclass
class _Selection:
    """Chosen samples as parallel arrays; `positions` index the virtual concatenation of `parts`."""

    parts: tuple
    positions: np.ndarray
    indices: np.ndarray
    roles: np.ndarray
    classes: Optional[np.ndarray]

    def reordered(self, order: np.ndarray) -> "_Selection":
        return _Selection(self.parts, self.positions[order], self.indices[order], self.roles[order],
                          None if self.classes is None else self.classes[order])

    def gather(self) -> np.ndarray:
        return _gather(self.parts, self.positions)


def build_experiment_data(config: DataConfig, seed: int, data_dir: Union[str, os.PathLike, None] = None) -> ExperimentData:
    """The train and scored samples that `config` describes; the same config and seed give identical arrays.

    Raises DataError when the dataset cannot be loaded or the config does not fit it.
    """
    dataset = load_dataset(config.dataset, data_dir)
    rng = np.random.default_rng(seed)
    normal, anomaly = _class_selection(dataset, config)
    if config.contamination and anomaly is None:
        raise DataError("data.contamination draws anomalies from data.anomaly_classes, which is null; "
                        "set the anomaly classes, or leave contamination null")
    if config.protocol == "transductive":
        pool = _cap(_split_pool(dataset, config.split), config.limit, rng)
        normal_idx, anomaly_idx = _select(pool, normal, anomaly)
        anomaly_idx = _draw_anomalies(anomaly_idx, len(normal_idx), config.contamination, rng, "the pool")
        injection = _draw_injection(config.inject, dataset, rng, data_dir)
        score = _selection(pool, normal_idx, anomaly_idx, injection)
        score = score.reordered(rng.permutation(len(score.positions)))
        train = score
    else:
        train_pool, score_pool = _inductive_pools(dataset, config.test_fraction, rng)
        train_pool, score_pool = _cap(train_pool, config.limit, rng), _cap(score_pool, config.limit, rng)
        normal_idx, anomaly_idx = _select(train_pool, normal, anomaly)
        anomaly_idx = _draw_anomalies(anomaly_idx, len(normal_idx), config.contamination or 0.0, rng, "the training split")
        train = _selection(train_pool, normal_idx, anomaly_idx, None)
        # Shuffled, because Keras' validation split takes the last samples as they come.
        train = train.reordered(rng.permutation(len(train.positions)))
        normal_idx, anomaly_idx = _select(score_pool, normal, anomaly)
        injection = _draw_injection(config.inject, dataset, rng, data_dir)
        score = _selection(score_pool, normal_idx, anomaly_idx, injection)
        score = score.reordered(np.argsort(score.positions, kind="stable"))  # source order, injected samples last
    if len(train.positions) == 0 or len(score.positions) == 0:
        part = "train on" if len(train.positions) == 0 else "score"
        raise DataError(f"the data config leaves no samples to {part} in {dataset.name}; check data.normal_classes, "
                        "data.anomaly_classes and data.limit")
    x_train = train.gather()
    x_score = x_train if score is train else score.gather()
    scaler = None
    if dataset.kind == "series":
        scaler = {"min": float(x_train.min()), "max": float(x_train.max())}
        _scale_in_place(x_train, scaler)
        if x_score is not x_train:
            _scale_in_place(x_score, scaler)
    return ExperimentData(
        kind=dataset.kind, sample_shape=dataset.sample_shape, x_train=x_train, x_score=x_score,
        labels=(score.roles >= ANOMALY).astype(np.int8) if dataset.is_labeled else None,
        classes=score.classes, roles=score.roles, indices=score.indices, train_roles=train.roles,
        class_names=dict(dataset.class_names), scaler=scaler,
    )


def _class_selection(dataset: Dataset, config: DataConfig) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """The normal and anomaly class lists as arrays of the dataset's label dtype (None = not given)."""
    if not dataset.is_labeled:
        for name, value in (("data.normal_classes", config.normal_classes), ("data.anomaly_classes", config.anomaly_classes)):
            if value is not None:
                raise DataError(f"{name} needs class labels, but {dataset.name} is unlabeled; leave it null")
        return None, None
    available = dataset.all_labels()
    return (_match_classes(config.normal_classes, available, "data.normal_classes", dataset.name),
            _match_classes(config.anomaly_classes, available, "data.anomaly_classes", dataset.name))


def _match_classes(values: Optional[list], available: np.ndarray, field_name: str, dataset_name: str) -> Optional[np.ndarray]:
    """Config class values matched to dataset labels by their text, so 3 finds the folder label "3" and vice versa."""
    if values is None:
        return None
    by_text = {str(label): label for label in available.tolist()}
    missing = [value for value in values if str(value).strip() not in by_text]
    if missing:
        shown = ", ".join(map(str, available[:30].tolist())) + (", ..." if len(available) > 30 else "")
        raise DataError(f"{field_name} lists {', '.join(map(repr, missing))}, which {dataset_name} does not have; "
                        f"its classes are {shown}")
    return np.array([by_text[str(value).strip()] for value in values], dtype=available.dtype)


def _split_pool(dataset: Dataset, split: str) -> _Pool:
    """The official split `split` ("train", "test" or "all"); every sample when there is no official split."""
    if not dataset.has_official_split or split == "train":
        parts, labels = (dataset.x_train,), dataset.y_train
    elif split == "test":
        parts, labels = (dataset.x_test,), dataset.y_test
    else:
        parts = (dataset.x_train, dataset.x_test)
        labels = None if not dataset.is_labeled else np.concatenate([dataset.y_train, dataset.y_test])
    return _Pool(parts, labels, np.arange(sum(len(p) for p in parts), dtype=np.int64))


def _inductive_pools(dataset: Dataset, test_fraction: float, rng: np.random.Generator) -> tuple[_Pool, _Pool]:
    """Training and scored pools: the official split, else a stratified hold-out of `test_fraction`."""
    if dataset.has_official_split:
        return (_Pool((dataset.x_train,), dataset.y_train, np.arange(len(dataset.x_train), dtype=np.int64)),
                _Pool((dataset.x_test,), dataset.y_test, np.arange(len(dataset.x_test), dtype=np.int64)))
    n = len(dataset.x_train)
    held_out = _stratified_draw(n, dataset.y_train, min(max(round(test_fraction * n), 1), n - 1), rng)
    kept = np.setdiff1d(np.arange(n, dtype=np.int64), held_out)
    return _Pool((dataset.x_train,), dataset.y_train, kept), _Pool((dataset.x_train,), dataset.y_train, held_out)


def _cap(pool: _Pool, limit: Optional[int], rng: np.random.Generator) -> _Pool:
    """At most `limit` samples of `pool`, drawn stratified by label."""
    if limit is None or len(pool.indices) <= limit:
        return pool
    labels = None if pool.labels is None else pool.labels[pool.indices]
    return dataclasses.replace(pool, indices=pool.indices[_stratified_draw(len(pool.indices), labels, limit, rng)])


def _stratified_draw(n: int, labels: Optional[np.ndarray], size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of `size` of n samples drawn without replacement, each class keeping its share.

    Shares are rounded by largest remainder, so every class gets floor or ceil of its exact quota.
    """
    if labels is None:
        return np.sort(rng.choice(n, size, replace=False))
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quotas = counts * (size / n)
    taken = np.floor(quotas).astype(np.int64)
    taken[np.argsort(-(quotas - taken), kind="stable")[: size - taken.sum()]] += 1
    drawn = [rng.choice(np.flatnonzero(inverse == k), count, replace=False) for k, count in enumerate(taken)]
    return np.sort(np.concatenate(drawn))


def _select(pool: _Pool, normal: Optional[np.ndarray], anomaly: Optional[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pool indices of the normal classes (default: all but the anomaly classes) and of the anomaly classes."""
    if pool.labels is None:
        return pool.indices, pool.indices[:0]
    labels = pool.labels[pool.indices]
    is_anomaly = np.isin(labels, anomaly) if anomaly is not None else np.zeros(len(labels), dtype=bool)
    is_normal = np.isin(labels, normal) if normal is not None else ~is_anomaly
    return pool.indices[is_normal], pool.indices[is_anomaly]


def _draw_anomalies(candidates: np.ndarray, n_normal: int, contamination: Optional[float],
                    rng: np.random.Generator, where: str) -> np.ndarray:
    """round(contamination × n_normal) of the anomaly-class `candidates`; all of them when contamination is None."""
    if contamination is None:
        return candidates
    wanted = round(contamination * n_normal)
    if wanted > len(candidates):
        raise DataError(f"data.contamination {contamination:g} asks for {wanted} anomalies ({contamination:g} × {n_normal} "
                        f"normal samples) but {where} has only {len(candidates)} samples of data.anomaly_classes")
    return rng.choice(candidates, wanted, replace=False)


def _draw_injection(inject: Optional[InjectConfig], base: Dataset, rng: np.random.Generator, data_dir) -> Optional[_Injection]:
    """`inject.count` samples of `inject.classes` of another dataset, from its test split when it has one."""
    if inject is None:
        return None
    source = load_dataset(inject.dataset, data_dir)
    if source.kind != base.kind or source.sample_shape != base.sample_shape:
        raise DataError(f"cannot inject {source.name} samples of shape {source.sample_shape} into {base.name}, whose "
                        f"samples have shape {base.sample_shape}; both datasets need the same sample shape")
    x, y = (source.x_test, source.y_test) if source.has_official_split else (source.x_train, source.y_train)
    where = f"{source.name}'s test split" if source.has_official_split else source.name
    candidates = np.arange(len(x), dtype=np.int64)
    if inject.classes is not None:
        if y is None:
            raise DataError(f"data.inject.classes needs class labels, but {source.name} is unlabeled; leave it null")
        wanted = _match_classes(inject.classes, source.all_labels(), "data.inject.classes", source.name)
        candidates = np.flatnonzero(np.isin(y, wanted))
    if inject.count > len(candidates):
        raise DataError(f"data.inject.count asks for {inject.count} samples but {where} has only {len(candidates)} "
                        "of data.inject.classes")
    chosen = rng.choice(candidates, inject.count, replace=False)
    return _Injection(x[chosen], None if y is None else y[chosen], chosen)


def _selection(pool: _Pool, normal_idx: np.ndarray, anomaly_idx: np.ndarray, injection: Optional[_Injection]) -> _Selection:
    """Normal, anomaly and injected samples with their roles; injected samples come after the pool's parts."""
    positions = np.concatenate([normal_idx, anomaly_idx]).astype(np.int64)
    if pool.labels is None:
        roles = np.full(len(positions), UNKNOWN, dtype=np.int8)
    else:
        roles = np.repeat(np.array([NORMAL, ANOMALY], dtype=np.int8), [len(normal_idx), len(anomaly_idx)])
    classes = None if pool.labels is None else pool.labels[positions]
    if injection is None:
        return _Selection(pool.parts, positions, positions, roles, classes)
    count = len(injection.x)
    return _Selection(
        pool.parts + (injection.x,),
        np.concatenate([positions, pool.size + np.arange(count, dtype=np.int64)]),
        np.concatenate([positions, injection.indices.astype(np.int64)]),
        np.concatenate([roles, np.full(count, INJECTED, dtype=np.int8)]),
        None if classes is None else _join_classes(classes, injection.classes, count),
    )


def _join_classes(classes: np.ndarray, injected: Optional[np.ndarray], count: int) -> np.ndarray:
    """The pool's classes, then the injected samples' classes in their own dataset (-1 or "" when unlabeled).

    Both become str when one is numeric and the other is not.
    """
    if injected is None:
        injected = np.full(count, -1, dtype=np.int64) if classes.dtype.kind == "i" else np.full(count, "", dtype=str)
    if injected.dtype.kind != classes.dtype.kind:
        return np.concatenate([classes.astype(str), injected.astype(str)])
    return np.concatenate([classes, injected])


def _gather(parts: tuple, positions: np.ndarray) -> np.ndarray:
    """Samples at `positions` of the virtual concatenation of `parts`, as one new float32 array.

    Each sample is copied once; the parts are never concatenated, and the temporary buffers stay small.
    """
    if len(parts) == 1:
        return parts[0][positions]
    out = np.empty((len(positions), *parts[0].shape[1:]), dtype=np.float32)
    offsets = np.cumsum([0] + [len(part) for part in parts])
    part_of = np.searchsorted(offsets, positions, side="right") - 1
    for k, part in enumerate(parts):
        targets = np.flatnonzero(part_of == k)
        for start in range(0, len(targets), _GATHER_CHUNK):
            chunk = targets[start:start + _GATHER_CHUNK]
            out[chunk] = part[positions[chunk] - offsets[k]]
    return out
