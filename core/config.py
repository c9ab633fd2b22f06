"""The experiment config: one JSON-able description of a run, end to end.

The JSON shape is a contract shared with other tools: fields may be added, never renamed.
`ExperimentConfig.from_dict` validates everything up front and raises `ConfigError` naming the
bad field and what it allows; unknown keys are errors too, so a typo never passes silently.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from core.data.registry import BUILTIN_DATASETS
from core.errors import ConfigError

USER_FILE_SUFFIXES = (".npz", ".csv", ".zip")
PROTOCOLS = ("transductive", "inductive")
SPLITS = ("train", "test", "all")
MODEL_KINDS = ("dense", "conv", "conv1d")
ERRORS = ("mse", "mae", "bce", "ssim")
THRESHOLD_METHODS = ("value", "quantile", "mean_std", "max", "contamination", "fpr", "best_f1")

Label = Union[int, str]


@dataclass
class InjectConfig:
    """Adds `count` samples of `classes` (None = any class) of another dataset, as anomalies."""

    dataset: str = "mnist"
    classes: Optional[list[Label]] = None
    count: int = 1


@dataclass
class DataConfig:
    dataset: str = "digits"
    normal_classes: Optional[list[Label]] = None
    anomaly_classes: Optional[list[Label]] = None
    contamination: Optional[float] = None
    inject: Optional[InjectConfig] = None
    protocol: str = "inductive"
    split: str = "train"
    limit: Optional[int] = None
    test_fraction: float = 0.2


@dataclass
class ModelConfig:
    kind: str = "conv"
    latent_dim: int = 16
    filters: list[int] = field(default_factory=lambda: [32, 64])
    hidden: list[int] = field(default_factory=lambda: [64])
    kernel_size: int = 3


@dataclass
class TrainConfig:
    loss: str = "mse"
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    validation_fraction: float = 0.2
    early_stopping_patience: Optional[int] = None
    tensorboard_dir: Optional[str] = None


@dataclass
class ScoreConfig:
    error: str = "mse"
    batch_size: int = 1024


@dataclass
class ThresholdConfig:
    """How the anomaly threshold is chosen; only the parameter of `method` is read."""

    method: str = "quantile"
    value: Optional[float] = None
    q: float = 0.99
    k: float = 2.0
    rate: float = 0.01


@dataclass
class ExperimentConfig:
    seed: int = 42
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    threshold: ThresholdConfig = field(default_factory=ThresholdConfig)
    name: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, raw: Any) -> "ExperimentConfig":
        config = _build(cls, raw, "config")
        validate(config)
        return config

    @classmethod
    def from_json(cls, text: str) -> "ExperimentConfig":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        return cls.from_dict(raw)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "ExperimentConfig":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None
        return cls.from_json(text)

    def save(self, path: Union[str, Path]) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    def replace(self, **sections: Any) -> "ExperimentConfig":
        """A validated copy with some top-level fields or whole sections replaced."""
        updated = dataclasses.replace(self, **sections)
        validate(updated)
        return updated


_SECTION_TYPES = {
    ("config", "data"): DataConfig,
    ("config", "model"): ModelConfig,
    ("config", "train"): TrainConfig,
    ("config", "score"): ScoreConfig,
    ("config", "threshold"): ThresholdConfig,
    ("config.data", "inject"): InjectConfig,
}


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a JSON object, got {type(raw).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ConfigError(f"{where} has unknown field '{unknown[0]}'; allowed fields: {', '.join(sorted(names))}")
    values = {}
    for key, value in raw.items():
        section = _SECTION_TYPES.get((where, key))
        if section is not None and value is not None:
            value = _build(section, value, f"{where}.{key}")
        values[key] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


# ---------------------------------------------------------------- validation


def _fail(field_name: str, message: str) -> None:
    raise ConfigError(f"{field_name} {message}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _int(value: Any, name: str, minimum: int, maximum: Optional[int] = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        _fail(name, f"must be an integer of at least {minimum}{upper} (got {value!r})")


def _number(value: Any, name: str, low: float, high: float, low_open: bool = False, high_open: bool = False) -> None:
    ok = _is_number(value) and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        _fail(name, f"must be a number in {left}{low}, {high}{right} (got {value!r})")


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        _fail(name, f"must be one of {', '.join(repr(a) for a in allowed)} (got {value!r})")


def _labels(value: Any, name: str) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in value):
        _fail(name, f"must be null or a list of class labels (integers or strings), got {value!r}")


def _dataset(value: Any, name: str) -> None:
    if not isinstance(value, str) or not value:
        _fail(name, f"must be one of {', '.join(BUILTIN_DATASETS)} or a path to a .npz, .csv, .zip or image folder (got {value!r})")
    if value in BUILTIN_DATASETS:
        return
    looks_like_path = any(sep in value for sep in ("/", "\\")) or Path(value).suffix.lower() in USER_FILE_SUFFIXES
    if not looks_like_path:
        _fail(name, f"must be one of {', '.join(BUILTIN_DATASETS)} or a path to a .npz, .csv, .zip or image folder (got {value!r})")


def is_series_dataset(dataset: str) -> bool:
    """True for built-in series datasets; user files are only known after loading."""
    return dataset == "ecg5000"


def validate(config: ExperimentConfig) -> None:
    """Raise ConfigError for the first invalid field."""
    _int(config.seed, "seed", 0, 2**32 - 1)
    if config.name is not None and not isinstance(config.name, str):
        _fail("name", f"must be null or a string (got {config.name!r})")

    data = config.data
    _dataset(data.dataset, "data.dataset")
    _labels(data.normal_classes, "data.normal_classes")
    _labels(data.anomaly_classes, "data.anomaly_classes")
    if data.normal_classes is not None and data.anomaly_classes is not None:
        overlap = set(map(str, data.normal_classes)) & set(map(str, data.anomaly_classes))
        if overlap:
            _fail("data.anomaly_classes", f"must not share classes with data.normal_classes (both have {sorted(overlap)})")
    if data.normal_classes is not None and len(data.normal_classes) == 0:
        _fail("data.normal_classes", "must be null (all classes) or a non-empty list")
    if data.contamination is not None:
        _number(data.contamination, "data.contamination", 0.0, 1.0)
    _choice(data.protocol, "data.protocol", PROTOCOLS)
    _choice(data.split, "data.split", SPLITS)
    if data.limit is not None:
        _int(data.limit, "data.limit", 10)
    _number(data.test_fraction, "data.test_fraction", 0.0, 1.0, low_open=True, high_open=True)
    if data.inject is not None:
        _dataset(data.inject.dataset, "data.inject.dataset")
        _labels(data.inject.classes, "data.inject.classes")
        _int(data.inject.count, "data.inject.count", 1)

    model = config.model
    _choice(model.kind, "model.kind", MODEL_KINDS)
    _int(model.latent_dim, "model.latent_dim", 1)
    _int(model.kernel_size, "model.kernel_size", 1, 15)
    for name, sizes in (("model.filters", model.filters), ("model.hidden", model.hidden)):
        if not isinstance(sizes, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes):
            _fail(name, f"must be a list of positive integers (got {sizes!r})")
    if model.kind in ("conv", "conv1d") and not model.filters:
        _fail("model.filters", f"must have at least one entry for model.kind '{model.kind}'")

    train = config.train
    _choice(train.loss, "train.loss", ERRORS)
    _int(train.epochs, "train.epochs", 1, 10_000)
    _int(train.batch_size, "train.batch_size", 1, 65_536)
    _number(train.learning_rate, "train.learning_rate", 0.0, 10.0, low_open=True)
    _number(train.validation_fraction, "train.validation_fraction", 0.0, 0.9)
    if train.early_stopping_patience is not None:
        _int(train.early_stopping_patience, "train.early_stopping_patience", 1)
        if train.validation_fraction == 0:
            _fail("train.early_stopping_patience", "needs train.validation_fraction > 0 to watch a validation loss")
    if train.tensorboard_dir is not None and not isinstance(train.tensorboard_dir, str):
        _fail("train.tensorboard_dir", f"must be null or a folder path (got {train.tensorboard_dir!r})")

    _choice(config.score.error, "score.error", ERRORS)
    _int(config.score.batch_size, "score.batch_size", 1, 65_536)

    threshold = config.threshold
    _choice(threshold.method, "threshold.method", THRESHOLD_METHODS)
    if threshold.method == "value":
        if not _is_number(threshold.value):
            _fail("threshold.value", f"must be a finite number when threshold.method is 'value' (got {threshold.value!r})")
    elif threshold.value is not None and not _is_number(threshold.value):
        _fail("threshold.value", f"must be null or a finite number (got {threshold.value!r})")
    _number(threshold.q, "threshold.q", 0.0, 1.0)
    _number(threshold.k, "threshold.k", -100.0, 100.0)
    _number(threshold.rate, "threshold.rate", 0.0, 1.0, low_open=True, high_open=True)

    if is_series_dataset(data.dataset):
        if model.kind == "conv":
            _fail("model.kind", "'conv' is for images; use 'dense' or 'conv1d' for the series dataset ecg5000")
        for name, error in (("train.loss", train.loss), ("score.error", config.score.error)):
            if error == "ssim":
                _fail(name, "'ssim' compares images; use 'mse', 'mae' or 'bce' for the series dataset ecg5000")
    if data.dataset == "digits" or data.dataset in ("mnist", "fashion_mnist"):
        if model.kind == "conv1d":
            _fail("model.kind", f"'conv1d' is for series; use 'conv' or 'dense' for the image dataset {data.dataset}")
