"""Data: the built-in datasets, user files, and the train/score samples an experiment config asks for.

Modules: `types` (Dataset, ExperimentData, sample roles and kinds), `registry` (the table of built-in
datasets, the data folder, `load_dataset`), `builtin` (their loaders and downloads), `files` (user files,
`load_samples`), `timeseries_csv` (time-series CSVs) and `pools` (`build_experiment_data`: the samples an experiment trains on and scores).

Two layers:

* `load_dataset` returns a raw `Dataset` as published (images scaled to [0, 1], series untouched). Built-in
  datasets are read from a local data folder first and downloaded from the Keras mirrors otherwise; parsed
  arrays are cached in-process and read-only, so callers share them and must not modify them.
* `build_experiment_data` turns a `DataConfig` into an `ExperimentData`: the raw samples the autoencoder
  trains on, the samples that get scored, and what is known about each (label, class, role).

TensorFlow is imported only to download a missing built-in dataset, so importing this package stays cheap.
"""

from core.data.files import load_samples
from core.data.limits import MAX_FILE_MB_ENV, max_file_bytes
from core.data.pools import build_experiment_data, name_classes
from core.data.registry import (
    BUILTIN_DATASETS,
    BUILTINS,
    DATA_DIR_ENV,
    OFFERED_DATASETS,
    BuiltinSpec,
    availability,
    builtin_kind,
    builtin_spec,
    dataset_label,
    load_dataset,
    resolve_data_dir,
)
from core.data.types import (
    ANOMALY,
    IMAGE,
    INJECTED,
    KINDS,
    NORMAL,
    ROLE_NAMES,
    SERIES,
    TIMESERIES,
    UNKNOWN,
    Dataset,
    ExperimentData,
)

__all__ = [
    "ANOMALY",
    "BUILTINS",
    "BUILTIN_DATASETS",
    "BuiltinSpec",
    "availability",
    "DATA_DIR_ENV",
    "Dataset",
    "ExperimentData",
    "IMAGE",
    "INJECTED",
    "KINDS",
    "MAX_FILE_MB_ENV",
    "OFFERED_DATASETS",
    "NORMAL",
    "ROLE_NAMES",
    "SERIES",
    "TIMESERIES",
    "UNKNOWN",
    "build_experiment_data",
    "name_classes",
    "builtin_kind",
    "builtin_spec",
    "dataset_label",
    "load_dataset",
    "load_samples",
    "max_file_bytes",
    "resolve_data_dir",
]
