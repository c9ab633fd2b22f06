"""The field descriptions (core.fields) against the config they describe, docs/config.md and validation."""

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core import fields
from core.config import ExperimentConfig, InjectConfig, fit_to_kind, markdown_table, validate
from core.errors import ConfigError
from core.fields import FIELDS, get

CONFIG_REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "config.md"


def config_paths(instance, prefix: str = "") -> set[str]:
    paths = set()
    for item in dataclasses.fields(instance):
        value = getattr(instance, item.name)
        if dataclasses.is_dataclass(value):
            paths |= config_paths(value, f"{prefix}{item.name}.")
        else:
            paths.add(f"{prefix}{item.name}")
    return paths


def test_every_config_field_is_described_once_and_nothing_else():
    config = ExperimentConfig()
    config.data.inject = InjectConfig()
    assert config_paths(config) - {"data.inject"} == set(FIELDS)


def test_the_field_table_holds_every_default_and_imports_no_dataset_loader():
    config = ExperimentConfig()
    config.data.inject = InjectConfig()
    for path, spec in FIELDS.items():
        expected = list(spec.default) if isinstance(spec.default, tuple) else spec.default
        assert get(config, path) == expected, path
    assert ExperimentConfig().model.filters is not ExperimentConfig().model.filters  # a fresh list per config
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, core.fields; print(sorted(m for m in sys.modules if m.startswith('core')))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    assert "core.data" not in loaded and "core.config" not in loaded, loaded


def test_the_config_reference_table_is_generated_from_the_descriptions():
    text = CONFIG_REFERENCE.read_text(encoding="utf-8")
    block = re.search(r"<!-- config-table:start -->\n(.*?)<!-- config-table:end -->", text, re.S)
    assert block, "docs/config.md lost its config-table markers"
    assert block.group(1).strip() == markdown_table(), (
        "docs/config.md's config table is stale: paste the output of "
        "`python -c 'from core.config import markdown_table; print(markdown_table())'` between the markers"
    )


@pytest.mark.parametrize(
    "path", [path for path, spec in FIELDS.items() if spec.type in ("int", "float") and spec.low is not None]
)
def test_number_limits_are_enforced_exactly(path):
    """The limits a widget shows are accepted, and one step past them is refused naming the field."""
    spec = FIELDS[path]

    def with_value(value):
        raw = ExperimentConfig.from_dict({"data": {"inject": {"dataset": "mnist"}}}).to_dict()
        section, _, name = path.rpartition(".")
        target = raw
        for part in filter(None, section.split(".")):
            target = target[part]
        target[name] = value
        return ExperimentConfig.from_dict(raw)

    epsilon = 1 if spec.type == "int" else max(abs(spec.high), 1) * 1e-6
    assert fields.get(with_value(spec.low), path) == spec.low
    assert fields.get(with_value(spec.high), path) == spec.high
    for outside in (spec.low - epsilon, spec.high + epsilon):
        with pytest.raises(ConfigError) as info:
            with_value(outside)
        assert str(info.value).startswith(f"{path} ({spec.label})")


def test_a_whole_number_is_a_number_where_a_float_is_expected():
    config = ExperimentConfig.from_dict({"train": {"learning_rate": 1}, "threshold": {"k": 3}})
    assert isinstance(config.train.learning_rate, float) and isinstance(config.threshold.k, float)


def test_choices_that_do_not_fit_the_data_kind_are_refused_for_user_files_too():
    config = ExperimentConfig.from_dict(
        {"data": {"dataset": "uploads/waves.csv"}, "model": {"kind": "conv"}, "train": {"loss": "ssim"}}
    )
    validate(config, "image")
    with pytest.raises(ConfigError, match=r"^model.kind \(Architecture\) 'conv' does not fit series data"):
        validate(config, "series")
    fitted = fit_to_kind(config.model, "series", "model") | fit_to_kind(config.train, "series", "train")
    assert fitted == {"kind": "conv1d", "loss": "mse"}


def test_messages_name_fields_as_the_dashboard_does():
    from core.models import bottleneck_warning

    warning = bottleneck_warning(ExperimentConfig().model.__class__(latent_dim=64), (8, 8, 1))
    assert "Latent size (model.latent_dim)" in warning
