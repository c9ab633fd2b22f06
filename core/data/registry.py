"""The built-in datasets in one table, the local data folder, and `load_dataset` for built-in names and user paths.

Each entry of `BUILTINS` says how a name is loaded and shown: its loader, kind ("image", "series" or
"timeseries"), a readable label, class names, and the sub-folder and official file names of its local copy in
the data folder. A family entry ("nab") stands for every name `<family>/<file stem>` (e.g. `nab/nyc_taxi`):
`builtin_spec` makes the member's entry, with the member's file added to the family's files.
The data folder is resolved here only (`resolve_data_dir`: argument, else $ANOMALY_STUDIO_DATA).

This module must not import `core.config`: the config reads `BUILTIN_DATASETS` from here.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from core.data import builtin, files
from core.data.types import IMAGE, SERIES, TIMESERIES, Dataset
from core.errors import DataError

DATA_DIR_ENV = "ANOMALY_STUDIO_DATA"

IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
DIGIT_CLASSES = {digit: str(digit) for digit in range(10)}
FASHION_MNIST_CLASSES = {
    0: "T-shirt/top",
    1: "Trouser",
    2: "Pullover",
    3: "Dress",
    4: "Coat",
    5: "Sandal",
    6: "Shirt",
    7: "Sneaker",
    8: "Bag",
    9: "Ankle boot",
}
ECG_CLASSES = {1: "normal", 0: "abnormal"}


@dataclass(frozen=True)
class BuiltinSpec:
    """One built-in dataset: `loader(spec, data_folder_or_None)` returns its `Dataset`.

    folder: the sub-folder of the data folder holding `files` (None: bundled, the data folder is not read).
    family: the entry stands for the names `<name>/<file stem>`; `offered` lists the stems the dashboard offers.
    """

    name: str
    kind: str
    label: str
    loader: Callable[[BuiltinSpec, Path | None], Dataset]
    class_names: Mapping
    folder: str | None = None
    files: tuple = ()
    family: bool = False
    offered: tuple = ()


BUILTINS: dict[str, BuiltinSpec] = {
    spec.name: spec
    for spec in (
        BuiltinSpec("digits", IMAGE, "Digits (8×8, offline)", builtin.load_digits, DIGIT_CLASSES),
        BuiltinSpec("mnist", IMAGE, "MNIST", builtin.load_mnist, DIGIT_CLASSES, "mnist", IDX_FILES),
        BuiltinSpec(
            "fashion_mnist",
            IMAGE,
            "Fashion-MNIST",
            builtin.load_idx_images,
            FASHION_MNIST_CLASSES,
            "fashion-mnist",
            IDX_FILES,
        ),
        BuiltinSpec(
            "ecg5000", SERIES, "ECG5000 heartbeats", builtin.load_ecg5000, ECG_CLASSES, "ecg5000", ("ecg.csv",)
        ),
        BuiltinSpec(
            "nab",
            TIMESERIES,
            "NAB",
            builtin.load_nab,
            {},
            "nab",
            (builtin.NAB_WINDOWS_FILE,),
            family=True,
            offered=builtin.NAB_OFFERED,
        ),
    )
}
# The names that are built-in datasets themselves; a family's members are `<family>/<stem>`.
BUILTIN_DATASETS = tuple(name for name, spec in BUILTINS.items() if not spec.family)
FAMILIES = tuple(name for name, spec in BUILTINS.items() if spec.family)
# What the dashboard offers: the built-in datasets, then the members each family offers.
OFFERED_DATASETS = BUILTIN_DATASETS + tuple(f"{name}/{stem}" for name in FAMILIES for stem in BUILTINS[name].offered)


def builtin_spec(name: str) -> BuiltinSpec | None:
    """The entry of a built-in name, a family member's included (`nab/nyc_taxi`); None for a user path."""
    spec = BUILTINS.get(name)
    if spec is not None:
        return None if spec.family else spec
    family, _, stem = name.partition("/")
    spec = BUILTINS.get(family)
    if spec is None or not spec.family or not stem or not all(c.isalnum() or c in "_-." for c in stem):
        return None
    return dataclasses.replace(spec, name=name, label=f"{spec.label} {stem}", files=(f"{stem}.csv", *spec.files))


def builtin_kind(name: str) -> str | None:
    """ "image", "series" or "timeseries" for a built-in name; None for a user path, whose kind is known once loaded."""
    spec = builtin_spec(name)
    return None if spec is None else spec.kind


def dataset_label(name: str) -> str:
    """A readable name: the label of a built-in dataset, or the file or folder name of a user path."""
    spec = builtin_spec(name)
    if spec is not None:
        return spec.label
    return os.path.basename(name.rstrip("/\\")) or name


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The local folder of built-in datasets: `data_dir`, else $ANOMALY_STUDIO_DATA, else None (download)."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or None
    return Path(chosen).expanduser().resolve() if chosen else None


def availability(name: str, data_dir: str | os.PathLike | None = None) -> str | None:
    """Where a built-in dataset's data comes from now: "here" (bundled, or all its files in the data folder),
    "download" (fetched on first use; needs a network) or "folder" (only from a data folder); None for a user
    path."""
    spec = builtin_spec(name)
    if spec is None:
        return None
    if spec.folder is None or builtin.local_files(resolve_data_dir(data_dir), spec) is not None:
        return "here"
    return "download" if builtin.downloadable(spec) else "folder"


def load_dataset(
    name_or_path: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    layout: str = "auto",
    strict: bool = False,
) -> Dataset:
    """Load a built-in dataset ("digits", "mnist", "fashion_mnist", "ecg5000", "nab/<stem>") or a user file.

    User files are a .npz, a .csv, or a .zip or folder of PNG/JPEG images. The arrays are cached in-process and
    read-only, so callers share them and must not modify them. Raises DataError, with one readable sentence,
    on any problem. `layout` ("auto", "table", "series") and `strict` say how a user CSV is read
    (core.data.tables).
    """
    name = str(name_or_path)
    spec = builtin_spec(name)
    if spec is not None:
        root = resolve_data_dir(data_dir) if spec.folder is not None else None
        cached = _load_builtin(name, None if root is None else str(root))
    else:
        path = Path(name).expanduser()
        if not path.exists():
            raise DataError(
                f"{name} is neither a built-in dataset ({', '.join(BUILTIN_DATASETS)}, "
                f"{', '.join(f'{family}/<file stem>' for family in FAMILIES)}) nor an existing file or folder"
            )
        cached = files.load_user_file(path, layout, strict)
    # A fresh record over the shared read-only arrays, so a caller that reassigns a field leaves the cache intact.
    return dataclasses.replace(cached, name=name, class_names=dict(cached.class_names))


@functools.lru_cache(maxsize=4)
def _load_builtin(name: str, data_dir: str | None) -> Dataset:
    spec = builtin_spec(name)
    root = None if data_dir is None else Path(data_dir)
    try:
        dataset = spec.loader(spec, root)
    except builtin.DownloadFailed as exc:
        where = root if root is not None else Path("<data folder>")
        missing = f"is not in the data folder {root}" if root is not None else "is not here (no data folder is set)"
        raise DataError(
            f"{spec.label} ({name}) {missing} and could not be downloaded ({exc.reason}): put "
            f"{', '.join(spec.files)} in {where / spec.folder}/ and give {where} as the data folder: the "
            f"Data folder field on the Dataset page, --data-dir, or {DATA_DIR_ENV}"
        ) from None
    return files.read_only(dataset)
