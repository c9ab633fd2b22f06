"""The samples an experiment trains on and scores, drawn from a dataset as a `DataConfig` describes.

`build_experiment_data` selects normal and anomaly classes, contaminates, injects samples of another
dataset and splits by protocol; every random choice follows the seed. Samples stay raw: the detector
does its own preprocessing (series scaling).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core import fields
from core.data.registry import builtin_spec, dataset_label, load_dataset
from core.data.stream import is_streamable_folder, stream_image_folder
from core.data.types import ANOMALY, INJECTED, NORMAL, TIMESERIES, UNKNOWN, Dataset, ExperimentData
from core.errors import DataError
from core.nab import probationary_length

if TYPE_CHECKING:  # core.config imports this package, so the config types are for annotations only
    from core.config import DataConfig, InjectConfig

_GATHER_CHUNK = 4096


@dataclass
class _Pool:
    """Candidate samples: `indices` (sorted int64) into the virtual concatenation of `parts`, never concatenated."""

    parts: tuple
    labels: np.ndarray | None  # labels of the whole concatenation
    indices: np.ndarray

    @property
    def size(self) -> int:
        return sum(len(part) for part in self.parts)


@dataclass
class _Injection:
    x: np.ndarray
    classes: np.ndarray | None
    indices: np.ndarray


@dataclass
class _Selection:
    """Chosen samples as parallel arrays; `positions` index the virtual concatenation of `parts`."""

    parts: tuple
    positions: np.ndarray
    indices: np.ndarray
    roles: np.ndarray
    classes: np.ndarray | None

    def reordered(self, order: np.ndarray) -> _Selection:
        return _Selection(
            self.parts,
            self.positions[order],
            self.indices[order],
            self.roles[order],
            None if self.classes is None else self.classes[order],
        )

    def gather(self) -> np.ndarray:
        return _gather(self.parts, self.positions)


def build_experiment_data(
    config: DataConfig, seed: int, data_dir: str | os.PathLike | None = None, stream: bool = False
) -> ExperimentData:
    """The train and scored samples that `config` describes, raw; the same config and seed give identical arrays.

    stream: a dataset that is a folder of images (and injects nothing) is read as file paths only: x_train and
    x_score are then core.data.stream.ImageFiles, decoded batch by batch by tf.data, and the selection of
    classes, contamination and split works on their paths and labels as it does on arrays.
    Raises DataError when the dataset cannot be loaded or the config does not fit it.
    """
    if (
        stream
        and config.inject is None
        and builtin_spec(config.dataset) is None
        and is_streamable_folder(config.dataset)
    ):
        dataset = stream_image_folder(config.dataset)
    else:
        dataset = load_dataset(config.dataset, data_dir, config.layout)
    if dataset.kind == TIMESERIES:
        return _timeseries_data(dataset, config, data_dir)
    if config.train_dataset is not None:
        raise DataError(
            f"{fields.name('data.train_dataset')} trains on another time series, but {dataset.name} is not one; "
            "leave it null"
        )
    rng = np.random.default_rng(seed)
    normal, anomaly = _class_selection(dataset, config)
    if config.contamination and anomaly is None:
        raise DataError(
            f"{fields.name('data.contamination')} draws anomalies from "
            f"{fields.name('data.anomaly_classes')}, which is null; "
            "set the anomaly classes, or leave contamination null"
        )
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
        anomaly_idx = _draw_anomalies(
            anomaly_idx, len(normal_idx), config.contamination or 0.0, rng, "the training split"
        )
        train = _selection(train_pool, normal_idx, anomaly_idx, None)
        # Shuffled, because Keras' validation split takes the last samples as they come.
        train = train.reordered(rng.permutation(len(train.positions)))
        normal_idx, anomaly_idx = _select(score_pool, normal, anomaly)
        injection = _draw_injection(config.inject, dataset, rng, data_dir)
        score = _selection(score_pool, normal_idx, anomaly_idx, injection)
        score = score.reordered(np.argsort(score.positions, kind="stable"))  # source order, injected samples last
    if len(train.positions) == 0 or len(score.positions) == 0:
        part = "train on" if len(train.positions) == 0 else "score"
        raise DataError(
            f"the data config leaves no samples to {part} in {dataset.name}; check "
            f"{fields.name('data.normal_classes')}, {fields.name('data.anomaly_classes')} "
            f"and {fields.name('data.limit')}"
        )
    x_train = train.gather()
    x_score = x_train if score is train else score.gather()
    return ExperimentData(
        kind=dataset.kind,
        sample_shape=dataset.sample_shape,
        x_train=x_train,
        x_score=x_score,
        labels=(score.roles >= ANOMALY).astype(np.int8) if dataset.is_labeled else None,
        classes=score.classes,
        roles=score.roles,
        indices=score.indices,
        train_roles=train.roles,
        class_names=dict(dataset.class_names),
        feature_names=dataset.feature_names,
        feature_columns=dataset.feature_columns,
        notices=dataset.notices,
    )


def name_classes(data: ExperimentData, inject: InjectConfig | None, indices: np.ndarray) -> np.ndarray:
    """The class of each scored sample in `indices` by name (str array); injected ones also name their dataset,
    e.g. "Ankle boot (Fashion-MNIST)".

    data: the ExperimentData; inject: the InjectConfig its samples were injected with, or None. A built-in
    injected dataset is named from the registry; a user file's own class names are read from it.
    """
    classes = pd.Series(data.classes[indices])
    names = classes.map(data.class_names).fillna(classes.astype(str))
    if inject is not None:
        spec = builtin_spec(inject.dataset)
        injected_names = spec.class_names if spec is not None else load_dataset(inject.dataset).class_names
        injected = classes.map(dict(injected_names)).fillna(classes.astype(str)) + f" ({dataset_label(inject.dataset)})"
        names = names.where(data.roles[indices] != INJECTED, injected)
    return names.to_numpy()


def _timeseries_data(dataset: Dataset, config: DataConfig, data_dir) -> ExperimentData:
    """One long series: train on the training span (of `config.train_dataset` when set), score every timestamp.

    The training span is `config.train_span` of the training series from its start; null means NAB's
    probationary period (core.nab.probationary_length: the first min(⌊0.15·n⌋, 750) rows) for the inductive
    protocol and all of it otherwise (or with another training series).
    """
    for key, path in fields.SAMPLE_ONLY.items():
        if getattr(config, key) is not None:
            raise DataError(
                f"{fields.name(path)} does not apply to the time series {dataset.name}, whose anomalies are its "
                "labelled windows; leave it null"
            )
    source = dataset if config.train_dataset is None else load_dataset(config.train_dataset, data_dir)
    if source.kind != TIMESERIES:
        raise DataError(
            f"{fields.name('data.train_dataset')} must be a time series; {source.name} is {source.kind} data"
        )
    channels = dataset.x_train.shape[1]
    if source.x_train.shape[1] != channels:
        raise DataError(
            f"{source.name} has {source.x_train.shape[1]} value columns and {dataset.name} {channels}; "
            f"the series that trains ({fields.name('data.train_dataset')}) and the scored one need the same columns"
        )
    if len(dataset.x_train) < config.window:
        raise DataError(
            f"{dataset.name} has {len(dataset.x_train)} timestamps, fewer than one window; "
            f"lower {fields.name('data.window')} (now {config.window})"
        )
    if config.train_span is not None:
        span, n_train = f"{config.train_span:g}", int(round(config.train_span * len(source.x_train)))
    elif config.protocol == "inductive" and source is dataset:
        span, n_train = "NAB's probationary period", probationary_length(len(source.x_train))
    else:
        span, n_train = "all", len(source.x_train)
    if n_train < config.window:
        raise DataError(
            f"the training span ({span} of {source.name}: {n_train} timestamps) is shorter than one window of "
            f"{config.window}; raise {fields.name('data.train_span')} or lower {fields.name('data.window')}"
        )
    x_score = dataset.x_train
    x_train = x_score if source is dataset and n_train == len(x_score) else source.x_train[:n_train]
    labels = None if dataset.y_train is None else dataset.y_train.astype(np.int8)
    train_labels = None if source.y_train is None else source.y_train[:n_train]
    return ExperimentData(
        kind=TIMESERIES,
        sample_shape=(config.window,) if channels == 1 else (config.window, channels),
        x_train=x_train,
        x_score=x_score,
        labels=labels,
        classes=None,
        roles=np.full(len(x_score), UNKNOWN, np.int8) if labels is None else labels.copy(),
        indices=np.arange(len(x_score), dtype=np.int64),
        train_roles=np.full(n_train, UNKNOWN, np.int8) if train_labels is None else train_labels.astype(np.int8),
        class_names=dict(dataset.class_names),
        timestamps=dataset.timestamps,
        train_timestamps=source.timestamps[:n_train],
        stride=config.stride,
        channels=dataset.channels,
        notices=tuple(dict.fromkeys(dataset.notices + source.notices)),
    )


def _class_selection(dataset: Dataset, config: DataConfig) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The normal and anomaly class lists as arrays of the dataset's label dtype (None = not given)."""
    if not dataset.is_labeled:
        for name, value in (
            ("data.normal_classes", config.normal_classes),
            ("data.anomaly_classes", config.anomaly_classes),
        ):
            if value is not None:
                raise DataError(
                    f"{fields.name(name)} needs class labels, but {dataset.name} is unlabeled; leave it null"
                )
        return None, None
    available = dataset.all_labels()
    if config.normal_classes is None and config.anomaly_classes is None and dataset.anomaly_classes:
        return None, np.array(dataset.anomaly_classes, dtype=available.dtype)
    return (
        _match_classes(config.normal_classes, available, "data.normal_classes", dataset.name),
        _match_classes(config.anomaly_classes, available, "data.anomaly_classes", dataset.name),
    )


def _match_classes(values: list | None, available: np.ndarray, field_name: str, dataset_name: str) -> np.ndarray | None:
    """Config class values matched to dataset labels by their text, so 3 finds the folder label "3" and vice versa."""
    if values is None:
        return None
    by_text = {str(label): label for label in available.tolist()}
    missing = [value for value in values if str(value).strip() not in by_text]
    if missing:
        shown = ", ".join(map(str, available[:30].tolist())) + (", ..." if len(available) > 30 else "")
        raise DataError(
            f"{fields.name(field_name)} lists {', '.join(map(repr, missing))}, which {dataset_name} does not have; "
            f"its classes are {shown}"
        )
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
        return (
            _Pool((dataset.x_train,), dataset.y_train, np.arange(len(dataset.x_train), dtype=np.int64)),
            _Pool((dataset.x_test,), dataset.y_test, np.arange(len(dataset.x_test), dtype=np.int64)),
        )
    n = len(dataset.x_train)
    held_out = _stratified_draw(n, dataset.y_train, min(max(round(test_fraction * n), 1), n - 1), rng)
    kept = np.setdiff1d(np.arange(n, dtype=np.int64), held_out)
    return _Pool((dataset.x_train,), dataset.y_train, kept), _Pool((dataset.x_train,), dataset.y_train, held_out)


def _cap(pool: _Pool, limit: int | None, rng: np.random.Generator) -> _Pool:
    """At most `limit` samples of `pool`, drawn stratified by label."""
    if limit is None or len(pool.indices) <= limit:
        return pool
    labels = None if pool.labels is None else pool.labels[pool.indices]
    return dataclasses.replace(pool, indices=pool.indices[_stratified_draw(len(pool.indices), labels, limit, rng)])


def _stratified_draw(n: int, labels: np.ndarray | None, size: int, rng: np.random.Generator) -> np.ndarray:
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


def _select(pool: _Pool, normal: np.ndarray | None, anomaly: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Pool indices of the normal classes (default: all but the anomaly classes) and of the anomaly classes."""
    if pool.labels is None:
        return pool.indices, pool.indices[:0]
    labels = pool.labels[pool.indices]
    is_anomaly = np.isin(labels, anomaly) if anomaly is not None else np.zeros(len(labels), dtype=bool)
    is_normal = np.isin(labels, normal) if normal is not None else ~is_anomaly
    return pool.indices[is_normal], pool.indices[is_anomaly]


def _draw_anomalies(
    candidates: np.ndarray, n_normal: int, contamination: float | None, rng: np.random.Generator, where: str
) -> np.ndarray:
    """round(contamination × n_normal) of the anomaly-class `candidates`; all of them when contamination is None."""
    if contamination is None:
        return candidates
    wanted = round(contamination * n_normal)
    if wanted > len(candidates):
        raise DataError(
            f"{fields.name('data.contamination')} {contamination:g} asks for {wanted} anomalies "
            f"({contamination:g} × {n_normal} "
            f"normal samples) but {where} has only {len(candidates)} samples of {fields.name('data.anomaly_classes')}"
        )
    return rng.choice(candidates, wanted, replace=False)


def _draw_injection(
    inject: InjectConfig | None, base: Dataset, rng: np.random.Generator, data_dir
) -> _Injection | None:
    """`inject.count` samples of `inject.classes` of another dataset, from its test split when it has one."""
    if inject is None:
        return None
    source = load_dataset(inject.dataset, data_dir)
    if source.kind != base.kind or source.sample_shape != base.sample_shape:
        raise DataError(
            f"cannot inject {source.name} samples of shape {source.sample_shape} into {base.name}, whose "
            f"samples have shape {base.sample_shape}; both datasets need the same sample shape"
        )
    x, y = (source.x_test, source.y_test) if source.has_official_split else (source.x_train, source.y_train)
    where = f"{source.name}'s test split" if source.has_official_split else source.name
    candidates = np.arange(len(x), dtype=np.int64)
    if inject.classes is not None:
        if y is None:
            raise DataError(
                f"{fields.name('data.inject.classes')} needs class labels, but {source.name} is unlabeled; "
                "leave it null"
            )
        wanted = _match_classes(inject.classes, source.all_labels(), "data.inject.classes", source.name)
        candidates = np.flatnonzero(np.isin(y, wanted))
    if inject.count > len(candidates):
        raise DataError(
            f"{fields.name('data.inject.count')} asks for {inject.count} samples but {where} has only "
            f"{len(candidates)} of {fields.name('data.inject.classes')}"
        )
    chosen = rng.choice(candidates, inject.count, replace=False)
    return _Injection(x[chosen], None if y is None else y[chosen], chosen)


def _selection(
    pool: _Pool, normal_idx: np.ndarray, anomaly_idx: np.ndarray, injection: _Injection | None
) -> _Selection:
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


def _join_classes(classes: np.ndarray, injected: np.ndarray | None, count: int) -> np.ndarray:
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
            chunk = targets[start : start + _GATHER_CHUNK]
            out[chunk] = part[positions[chunk] - offsets[k]]
    return out
