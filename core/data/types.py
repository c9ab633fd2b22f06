"""The records every data module shares: a dataset as published, an experiment's samples, sample roles."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# What a sample is; `kind` strings name how samples are shaped and preprocessed. "series" are fixed-length
# samples (one per row); "timeseries" is one long series whose sliding windows are the samples.
from core.kinds import IMAGE, KINDS, SERIES, TIMESERIES  # noqa: F401 (re-exported: core.data names them)

# The role of a scored sample in an experiment.
NORMAL, ANOMALY, INJECTED, UNKNOWN = 0, 1, 2, -1
ROLE_NAMES = {NORMAL: "normal", ANOMALY: "anomaly", INJECTED: "injected", UNKNOWN: "unlabeled"}


@dataclass
class Dataset:
    """A dataset as published.

    `x_train` holds every sample when the dataset has no official split (`x_test` is None then). Images are
    float32 (n, height, width, channels) in [0, 1]; series are float32 (n, length) raw values, not scaled.
    Labels are (n,) int64 when all are integral numbers, else str; None for unlabeled data.

    A time series ("timeseries") is one long series: `x_train` float32 (n_timestamps, channels) raw values in
    time order, `timestamps` datetime64[ns] (n_timestamps,), `y_train` (n_timestamps,) 0/1 (1 inside a labelled
    anomaly window) or None, `channels` the value columns' names and `notices` what reading it found and
    reported rather than fixed (rows sorted, duplicate timestamps, gaps).

    A table ("series" whose columns are named quantities, from a CSV with a header: core.data.tables) has
    `feature_names`, one per feature, and `feature_columns`, the user's column each feature came from (a text
    column one-hot encoded gives several); series of steps have neither. A table's x_train is NaN where the
    file had a blank cell (the detector fills it). `anomaly_classes`: the labels that mean "anomaly" when the
    config names none ((1,) for a 0/1 label column), else ().
    """

    name: str
    kind: str
    x_train: np.ndarray
    y_train: np.ndarray | None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    class_names: dict = field(default_factory=dict)
    timestamps: np.ndarray | None = None
    channels: tuple = ()
    notices: tuple = ()
    feature_names: tuple = ()
    feature_columns: tuple = ()
    anomaly_classes: tuple = ()

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


@dataclass
class ExperimentData:
    """What an experiment trains on and scores, as raw samples: the detector does its own preprocessing.

    x_train: float32 (n_train, *sample_shape), x_score: float32 (n_score, *sample_shape); in the transductive
    protocol they are the same object. Images are in [0, 1] as loaded; series keep their raw values (the
    detector min-max scales them with statistics fitted on x_train).
    labels: (n_score,) int8, 1 anomaly, 0 normal; None when the dataset is unlabeled.
    classes: (n_score,) the original class labels (an injected sample's is its class in the injected dataset).
    roles / train_roles: int8, 0 normal class, 1 anomaly class, 2 injected, -1 unknown (unlabeled).
    indices: (n_score,) int64 index into the split array each scored sample came from (the train array
    followed by the test array for split "all"; the injected dataset's split for injected samples).

    Time series ("timeseries"): x_train (n_train_timestamps, channels) and x_score (n_timestamps, channels) are
    raw series, not windows; the detector cuts them into windows of `sample_shape` ((window,) for one channel,
    else (window, channels)) every `stride` steps and scores each timestamp, so labels, roles and indices are
    per timestamp. `timestamps` / `train_timestamps` are datetime64[ns]; `channels` names the value columns;
    `notices` come from reading the files.

    feature_names: for a table (rows of named quantities, e.g. a CSV with a header of column names), the name
    of each of the `sample_shape[0]` features; () for series of steps and other kinds. feature_columns: the
    user's column each feature came from (one-hot features share theirs). A table's samples may hold NaN
    where its file had blank cells.
    """

    kind: str
    sample_shape: tuple
    x_train: np.ndarray
    x_score: np.ndarray
    labels: np.ndarray | None
    classes: np.ndarray | None
    roles: np.ndarray
    indices: np.ndarray
    train_roles: np.ndarray
    class_names: dict
    timestamps: np.ndarray | None = None
    train_timestamps: np.ndarray | None = None
    stride: int = 1
    channels: tuple = ()
    notices: tuple = ()
    feature_names: tuple = ()
    feature_columns: tuple = ()

    @property
    def is_table(self) -> bool:
        """Whether each sample is a row of named quantities (shown per feature), not a curve over steps."""
        return self.kind == SERIES and bool(self.feature_names)

    @property
    def streamed(self) -> bool:
        """Whether the samples are image files read through tf.data (core.data.stream), not arrays."""
        return not isinstance(self.x_train, np.ndarray)

    @property
    def transductive(self) -> bool:
        """Whether the scored samples are the training samples themselves (the transductive protocol builds one
        array for both), so their training errors are their scores."""
        return self.x_score is self.x_train

    @property
    def window(self) -> int | None:
        """Window length of a time series (its samples' first dimension); None for other kinds."""
        return self.sample_shape[0] if self.timestamps is not None else None

    def counts(self) -> list[dict]:
        """One row per role present: {"role": "normal", "train": 6742, "scored": 6742}."""
        rows = []
        for role, name in ROLE_NAMES.items():
            train, scored = int(np.count_nonzero(self.train_roles == role)), int(np.count_nonzero(self.roles == role))
            if train or scored:
                rows.append({"role": name, "train": train, "scored": scored})
        return rows
