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
from typing import Any

from core.data.registry import BUILTIN_DATASETS, FAMILIES, builtin_kind, builtin_spec
from core.data.types import TIMESERIES
from core.errors import ConfigError
from core.fields import FIELDS, SAMPLE_ONLY, USER_FILE_SUFFIXES, get, name

Label = int | str
NAB_NAMES = ", ".join(f"{family}/<file stem>" for family in FAMILIES)


def default(path: str) -> Any:
    """The dataclass field of config field `path`, its default read from the field table (core.fields.FIELDS):
    a tuple there becomes a fresh list for each config."""
    value = FIELDS[path].default
    if isinstance(value, tuple):
        return field(default_factory=lambda: list(value))
    return field(default=value)


@dataclass
class InjectConfig:
    """Adds `count` samples of `classes` (None = any class) of another dataset, as anomalies."""

    dataset: str = default("data.inject.dataset")
    classes: list[Label] | None = default("data.inject.classes")
    count: int = default("data.inject.count")


@dataclass
class DataConfig:
    dataset: str = default("data.dataset")
    normal_classes: list[Label] | None = default("data.normal_classes")
    anomaly_classes: list[Label] | None = default("data.anomaly_classes")
    contamination: float | None = default("data.contamination")
    inject: InjectConfig | None = None
    protocol: str = default("data.protocol")
    split: str = default("data.split")
    limit: int | None = default("data.limit")
    test_fraction: float = default("data.test_fraction")
    window: int = default("data.window")
    stride: int = default("data.stride")
    train_span: float | None = default("data.train_span")
    train_dataset: str | None = default("data.train_dataset")
    layout: str = default("data.layout")
    scaling: str = default("data.scaling")


@dataclass
class ModelConfig:
    """Defaults: a dense autoencoder sized from the input's width (core.config.auto_sizes): 256-128-16 for images
    and series of 64 values or more, which fits every data kind and, on this project's datasets, scored as well as
    or better than the conv model that was the default, in a fraction of its training time on a CPU
    (docs/benchmarks.md, "Defaults"); for narrower tables one hidden layer twice as wide as the input and a code a
    quarter of it (docs/bench-tables.md)."""

    kind: str = default("model.kind")
    latent_dim: int | str = default("model.latent_dim")
    filters: list[int] = default("model.filters")
    hidden: list[int] | str = default("model.hidden")
    kernel_size: int = default("model.kernel_size")


@dataclass
class TrainConfig:
    loss: str = default("train.loss")
    epochs: int = default("train.epochs")
    batch_size: int = default("train.batch_size")
    learning_rate: float = default("train.learning_rate")
    noise: float = default("train.noise")
    validation_fraction: float = default("train.validation_fraction")
    early_stopping_patience: int | None = default("train.early_stopping_patience")
    tensorboard: bool = default("train.tensorboard")
    tensorboard_dir: str | None = default("train.tensorboard_dir")
    strategy: str = default("train.strategy")
    mixed_precision: bool = default("train.mixed_precision")
    jit_compile: bool = default("train.jit_compile")


@dataclass
class ScoreConfig:
    error: str = default("score.error")
    density_components: int | str = default("score.density_components")
    batch_size: int = default("score.batch_size")
    aggregate: str = default("score.aggregate")
    causal: bool = default("score.causal")
    likelihood: bool = default("score.likelihood")
    baselines: list[str] = default("score.baselines")


@dataclass
class ThresholdConfig:
    """How the anomaly threshold is chosen; only the parameter of `method` is read."""

    method: str = default("threshold.method")
    value: float | None = default("threshold.value")
    q: float = default("threshold.q")
    k: float = default("threshold.k")
    rate: float = default("threshold.rate")


@dataclass
class ExperimentConfig:
    seed: int = default("seed")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    threshold: ThresholdConfig = field(default_factory=ThresholdConfig)
    name: str | None = default("name")

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
            and FIELDS.get(path) is not None
            and FIELDS[path].type == "float"
        ):
            value = float(value)  # JSON writes 10.0 as 10; the field is a number all the same
        values[key] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _fail(path: str, message: str) -> None:
    raise ConfigError(f"{path} ({FIELDS[path].label}) {message}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_field(path: str, value: Any) -> None:
    """Raise ConfigError naming `path` when `value` breaks its type, limits or choices."""
    spec = FIELDS[path]
    if value is None:
        if not spec.optional:
            _fail(path, "must be set (got null)")
        return
    if spec.auto and value == "auto":
        return
    auto = ' or "auto"' if spec.auto else ""
    if spec.type == "int":
        if not isinstance(value, int) or isinstance(value, bool) or not spec.within(value):
            _fail(path, f"must be a whole number in {spec.limits}{auto} (got {value!r})")
    elif spec.type == "float":
        if not _is_number(value) or not spec.within(value):
            where = f" in {spec.limits}" if spec.low is not None else ""
            _fail(path, f"must be a finite number{where} (got {value!r})")
    elif spec.type == "bool":
        if not isinstance(value, bool):
            _fail(path, f"must be true or false (got {value!r})")
    elif spec.type == "choice":
        if value not in spec.choices:
            _fail(path, f"must be one of {', '.join(repr(c) for c in spec.choices)} (got {value!r})")
    elif spec.type == "choices":
        if not isinstance(value, list) or not all(isinstance(v, str) and v in spec.choices for v in value):
            _fail(path, f"must be a list of {', '.join(repr(c) for c in spec.choices)} (got {value!r})")
        if len(set(value)) != len(value):
            _fail(path, f"must name each choice at most once (got {value!r})")
    elif spec.type == "str":
        if not isinstance(value, str):
            _fail(path, f"must be {'null or ' if spec.optional else ''}a string (got {value!r})")
    elif spec.type == "labels":
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in value)
        ):
            _fail(path, f"must be null or a non-empty list of class labels (integers or strings), got {value!r}")
    elif spec.type == "sizes":
        if not isinstance(value, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and spec.within(s) for s in value
        ):
            _fail(path, f"must be a list of whole numbers in {spec.limits}{auto} (got {value!r})")
    elif spec.type == "dataset":
        _check_dataset(path, value)


def _check_dataset(path: str, value: Any) -> None:
    allowed = (
        f"must be one of {', '.join(BUILTIN_DATASETS)}, {NAB_NAMES} or a path to a .npz, .csv, .zip or image folder"
    )
    if not isinstance(value, str) or not value:
        _fail(path, f"{allowed} (got {value!r})")
    if builtin_spec(value) is not None:
        return
    looks_like_path = any(sep in value for sep in ("/", "\\")) or Path(value).suffix.lower() in USER_FILE_SUFFIXES
    if not looks_like_path:
        _fail(path, f"{allowed} (got {value!r})")


def validate(config: ExperimentConfig, data_kind: str | None = None) -> None:
    """Raise ConfigError for the first invalid field, as its description in core.fields says.

    data_kind: "image" or "series" when known (a loaded user file); built-in datasets know their own.
    """
    for path in FIELDS:
        if path.startswith("data.inject.") and config.data.inject is None:
            continue
        check_field(path, get(config, path))

    data, model, train, threshold = config.data, config.model, config.train, config.threshold
    if data.normal_classes is not None and data.anomaly_classes is not None:
        overlap = set(map(str, data.normal_classes)) & set(map(str, data.anomaly_classes))
        if overlap:
            _fail(
                "data.anomaly_classes",
                f"must not share classes with {name('data.normal_classes')} (both have {sorted(overlap)})",
            )
    if model.kind in ("conv", "conv1d") and not model.filters:
        _fail("model.filters", f"needs at least one entry for the {FIELDS['model.kind'].label_of(model.kind)} model")
    if train.early_stopping_patience is not None and train.validation_fraction == 0:
        _fail(
            "train.early_stopping_patience",
            f"needs {name('train.validation_fraction')} above 0 to watch a validation loss",
        )
    if threshold.method == "value" and threshold.value is None:
        _fail("threshold.value", "must be a finite number when the method is manual ('value')")
    check_kind(config, data_kind or builtin_kind(data.dataset))


def check_kind(config: Any, kind: str | None) -> None:
    """Raise ConfigError when a setting does not fit data of `kind` (e.g. SSIM for series); nothing when kind is None."""
    if kind is None:
        return
    for path, spec in FIELDS.items():
        if spec.kinds and get(config, path) not in spec.choices_for(kind):
            allowed = ", ".join(f"'{choice}'" for choice in spec.choices_for(kind))
            _fail(path, f"'{get(config, path)}' does not fit {kind} data ({config.data.dataset}); use {allowed}")
    if kind != TIMESERIES:
        return
    if config.score.density_components not in (0, "auto"):
        _fail(
            "score.density_components",
            f"must be 0 or 'auto' for time series (got {config.score.density_components})",
        )
    if config.data.stride > config.data.window:
        _fail(
            "data.stride",
            f"must be at most {name('data.window')} ({config.data.window}) so that windows cover every timestamp "
            f"(got {config.data.stride})",
        )
    if config.data.train_dataset is not None and builtin_kind(config.data.train_dataset) not in (None, TIMESERIES):
        _fail("data.train_dataset", f"must be a time series (got {config.data.train_dataset!r})")


def fit_to_kind(section: Any, kind: str, prefix: str) -> dict[str, Any]:
    """The fields of config section `prefix` ("model", "train", "score") whose choice does not fit `kind`,
    mapped to the first choice that does: what a switch from images to series (or back) must change."""
    changes = {}
    for path, spec in FIELDS.items():
        section_name, _, field_name = path.partition(".")
        if section_name == prefix and spec.kinds and getattr(section, field_name) not in spec.choices_for(kind):
            changes[field_name] = spec.choices_for(kind)[0]
    return changes


def fitted_to_kind(config: ExperimentConfig, kind: str | None) -> ExperimentConfig:
    """`config` made to fit data of `kind`: each model, train and score choice that does not fit moved to the first
    that does (fit_to_kind: conv becomes conv1d for series), and for a time series the data fields only samples
    use set to null. `config` itself when nothing changes or the kind is unknown."""
    if kind is None:
        return config
    sections: dict[str, Any] = {
        name: dataclasses.replace(getattr(config, name), **fit_to_kind(getattr(config, name), kind, name))
        for name in ("model", "train", "score")
    }
    if kind == TIMESERIES:
        unset: dict[str, Any] = dict.fromkeys(SAMPLE_ONLY)
        sections["data"] = dataclasses.replace(config.data, **unset)
    if all(getattr(config, name) == section for name, section in sections.items()):
        return config
    return config.replace(**sections)


def with_dataset(config: ExperimentConfig, dataset: str) -> ExperimentConfig:
    """`config` on another dataset: its classes differ, so the scenario (classes, contamination) starts over on the
    protocol and limits chosen so far, and a .csv is read by its own layout again; an injection from that same dataset is dropped, as is any injection into a
    time series; the rest is fitted to the dataset's kind where it is known without loading it."""
    kind = builtin_kind(dataset)
    current = config.data
    inject = current.inject if current.inject is not None and current.inject.dataset != dataset else None
    data = dataclasses.replace(
        current,
        dataset=dataset,
        normal_classes=None,
        anomaly_classes=None,
        contamination=None,
        inject=None if kind == TIMESERIES else inject,
        layout=FIELDS["data.layout"].default,
    )
    unchecked = dataclasses.replace(config, data=data)  # checked once fitted: the old settings may not fit
    fitted = fitted_to_kind(unchecked, kind)
    return config.replace(data=data) if fitted is unchecked else fitted


def markdown_table() -> str:
    """docs/config.md's table of config fields, generated from their descriptions (core.fields.FIELDS)."""
    rows = ["| field | what it is | allowed values | null means |", "| --- | --- | --- | --- |"]
    for spec in FIELDS.values():
        if spec.type in ("int", "float") and spec.low is not None:
            allowed = f"{spec.type.replace('float', 'number').replace('int', 'whole number')} in {spec.limits}"
        elif spec.type == "float":
            allowed = "finite number"
        elif spec.type == "choice":
            allowed = ", ".join(f"`{c}`" for c in spec.choices)
            if spec.kinds:
                allowed += (
                    " ("
                    + "; ".join(
                        f"{kind}: " + ", ".join(f"`{c}`" for c in choices) for kind, choices in spec.kinds.items()
                    )
                    + ")"
                )
        elif spec.type == "bool":
            allowed = "`true`, `false`"
        elif spec.type == "choices":
            allowed = "list of " + ", ".join(f"`{c}`" for c in spec.choices) + ", each at most once"
        elif spec.type == "sizes":
            allowed = f"list of whole numbers in {spec.limits}"
        elif spec.type == "labels":
            allowed = "non-empty list of class labels"
        elif spec.type == "dataset":
            allowed = "built-in name or file path"
        else:
            allowed = "string"
        if spec.auto:
            allowed += f', or `"auto"`: {spec.auto}'
        only = f" Only for {' and '.join(spec.applies_to)} data." if spec.applies_to else ""
        rows.append(
            f"| `{spec.path}` | {spec.label}: {spec.help}{only} | {allowed} | "
            f"{spec.null_means if spec.optional else '—'} |"
        )
    return "\n".join(rows)


WIDE_INPUT = 64  # inputs at least this wide (images, series) keep the 256-128-16 model measured on them


def auto_sizes(config: ModelConfig, sample_shape: tuple) -> ModelConfig:
    """`config` with an "auto" latent size and hidden layers chosen from the input's width d = prod(sample_shape):
    a code of d // 4 numbers, at least 2 and at most 16, so always narrower than a table of 3 or more columns;
    hidden layers 256, 128 for inputs of WIDE_INPUT numbers or more, else one layer of 2·d units."""
    width = math.prod(sample_shape)
    latent_dim = min(16, max(2, width // 4)) if config.latent_dim == "auto" else config.latent_dim
    hidden = ([256, 128] if width >= WIDE_INPUT else [2 * width]) if config.hidden == "auto" else config.hidden
    return dataclasses.replace(config, latent_dim=latent_dim, hidden=hidden)


def bottleneck_warning(config: ModelConfig, sample_shape: tuple) -> str | None:
    """A warning when the code is not smaller than the input: such a model can learn to copy, anomalies too."""
    input_size = math.prod(sample_shape)
    code = auto_sizes(config, sample_shape).latent_dim  # numbers in the bottleneck code of one sample
    if code < input_size:
        return None
    return (
        f"The code ({code:,} numbers) is not smaller than the input ({input_size:,} numbers): the autoencoder can learn "
        f"to copy its input, anomalies included. Lower {name('model.latent_dim')} below {input_size}."
    )
