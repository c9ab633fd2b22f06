"""The experiment config: one JSON-able description of a run, end to end.

The JSON shape is a contract shared with other tools: fields may be added, never renamed.
`ExperimentConfig.from_dict` validates everything up front and raises `ConfigError` naming the
bad field and what it allows; unknown keys are errors too, so a typo never passes silently.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import fields
from core.errors import ConfigError

Label = int | str


@dataclass
class InjectConfig:
    """Adds `count` samples of `classes` (None = any class) of another dataset, as anomalies."""

    dataset: str = "mnist"
    classes: list[Label] | None = None
    count: int = 1


@dataclass
class DataConfig:
    dataset: str = "digits"
    normal_classes: list[Label] | None = None
    anomaly_classes: list[Label] | None = None
    contamination: float | None = None
    inject: InjectConfig | None = None
    protocol: str = "inductive"
    split: str = "train"
    limit: int | None = None
    test_fraction: float = 0.2
    window: int = 288
    stride: int = 1
    train_span: float | None = None
    train_dataset: str | None = None


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
    early_stopping_patience: int | None = None
    tensorboard_dir: str | None = None


@dataclass
class ScoreConfig:
    error: str = "mse"
    batch_size: int = 1024
    aggregate: str = "mean"


@dataclass
class ThresholdConfig:
    """How the anomaly threshold is chosen; only the parameter of `method` is read."""

    method: str = "quantile"
    value: float | None = None
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
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, raw: Any) -> ExperimentConfig:
        config = _build(cls, raw, "config")
        validate(config)
        return config

    @classmethod
    def from_json(cls, text: str) -> ExperimentConfig:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        return cls.from_dict(raw)

    @classmethod
    def load(cls, path: str | Path) -> ExperimentConfig:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None
        return cls.from_json(text)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    def replace(self, **sections: Any) -> ExperimentConfig:
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
        path = key if where == "config" else f"{where.removeprefix('config.')}.{key}"
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and fields.FIELDS.get(path, None) is not None
            and fields.FIELDS[path].type == "float"
        ):
            value = float(value)  # JSON writes 10.0 as 10; the field is a number all the same
        values[key] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def validate(config: ExperimentConfig, data_kind: str | None = None) -> None:
    """Raise ConfigError for the first invalid field (see core.fields, where each field is described)."""
    fields.validate(config, data_kind)
