import json
from pathlib import Path

import pytest

from core.config import ExperimentConfig, fitted_to_kind, with_dataset
from core.errors import ConfigError

PRESETS = sorted((Path(__file__).resolve().parents[1] / "presets").glob("*.json"))
CONTRACT_EXAMPLE = {
    "seed": 42,
    "data": {
        "dataset": "mnist",
        "normal_classes": [1],
        "anomaly_classes": [3],
        "contamination": 0.01,
        "inject": {"dataset": "fashion_mnist", "classes": [9], "count": 1},
        "protocol": "transductive",
        "split": "train",
        "limit": None,
        "test_fraction": 0.2,
    },
    "model": {"kind": "conv", "latent_dim": 16, "filters": [32, 64], "hidden": [64]},
    "train": {
        "loss": "mse",
        "epochs": 20,
        "batch_size": 32,
        "learning_rate": 0.001,
        "validation_fraction": 0.2,
        "early_stopping_patience": None,
    },
    "score": {"error": "mse"},
    "threshold": {"method": "quantile", "q": 0.999},
}


def test_contract_example_loads_and_round_trips():
    config = ExperimentConfig.from_dict(CONTRACT_EXAMPLE)
    assert config.data.inject.classes == [9]
    assert config.threshold.q == 0.999
    again = ExperimentConfig.from_json(config.to_json())
    assert again == config
    dumped = json.loads(config.to_json())
    for section, fields in CONTRACT_EXAMPLE.items():
        if isinstance(fields, dict):
            for key, value in fields.items():
                assert dumped[section][key] == value, f"{section}.{key} changed on a round trip"


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_presets_are_valid_configs(preset):
    config = ExperimentConfig.load(preset)
    assert ExperimentConfig.from_json(config.to_json()) == config


def test_there_is_a_preset_for_each_scenario():
    names = {p.stem for p in PRESETS}
    assert {"shoe_among_digits", "mnist_ones_threes", "fashion_vs_mnist_ssim", "ecg5000", "digits_quick"} <= names


@pytest.mark.parametrize(
    "patch, field_name",
    [
        ({"data": {"protocol": "semi"}}, "data.protocol"),
        ({"data": {"dataset": "imagenet"}}, "data.dataset"),
        ({"data": {"contamination": 1.5}}, "data.contamination"),
        ({"data": {"normal_classes": [1], "anomaly_classes": [1]}}, "data.anomaly_classes"),
        ({"data": {"inject": {"dataset": "mnist", "count": 0}}}, "data.inject.count"),
        ({"model": {"kind": "transformer"}}, "model.kind"),
        ({"model": {"latent_dim": 0}}, "model.latent_dim"),
        ({"model": {"filters": [32, -1]}}, "model.filters"),
        ({"train": {"loss": "huber"}}, "train.loss"),
        ({"train": {"epochs": 0}}, "train.epochs"),
        ({"train": {"learning_rate": -0.1}}, "train.learning_rate"),
        ({"train": {"early_stopping_patience": 3, "validation_fraction": 0.0}}, "train.early_stopping_patience"),
        ({"score": {"error": "l2"}}, "score.error"),
        ({"threshold": {"method": "magic"}}, "threshold.method"),
        ({"threshold": {"method": "value"}}, "threshold.value"),
        ({"threshold": {"q": 2}}, "threshold.q"),
        ({"seed": -1}, "seed"),
        ({"seed": "42"}, "seed"),
        ({"data": {"dataset": "ecg5000"}, "model": {"kind": "conv"}}, "model.kind"),
        ({"data": {"dataset": "ecg5000"}, "model": {"kind": "dense"}, "train": {"loss": "ssim"}}, "train.loss"),
    ],
)
def test_bad_fields_are_named(patch, field_name):
    raw = json.loads(json.dumps(CONTRACT_EXAMPLE))
    for key, value in patch.items():
        if isinstance(value, dict):
            raw[key].update(value)
        else:
            raw[key] = value
    with pytest.raises(ConfigError) as info:
        ExperimentConfig.from_dict(raw)
    assert str(info.value).startswith(field_name), str(info.value)


def test_unknown_fields_and_bad_json_are_errors_not_tracebacks(tmp_path):
    with pytest.raises(ConfigError, match="unknown field 'epochz'"):
        ExperimentConfig.from_dict({"train": {"epochz": 3}})
    with pytest.raises(ConfigError, match="not valid JSON"):
        ExperimentConfig.from_json('{"seed": 1,')
    with pytest.raises(ConfigError, match="must be a JSON object"):
        ExperimentConfig.from_json("[1, 2]")
    with pytest.raises(ConfigError, match="not found"):
        ExperimentConfig.load(tmp_path / "missing.json")


def test_defaults_are_valid_and_user_paths_are_accepted():
    config = ExperimentConfig()
    assert config.data.dataset == "digits"
    assert ExperimentConfig.from_dict({"data": {"dataset": "uploads/my_data.npz"}}).data.dataset.endswith(".npz")


def test_a_config_fitted_to_a_time_series_drops_what_only_samples_use_and_fits_its_choices():
    images = ExperimentConfig.from_dict(  # settings for images, on a file whose kind is known once it is read
        {
            "data": {"dataset": "readings.csv", "normal_classes": [1], "contamination": 0.01, "limit": 500},
            "model": {"kind": "conv"},
            "train": {"loss": "ssim"},
        }
    )
    series = fitted_to_kind(images, "timeseries")
    assert (series.model.kind, series.train.loss, series.score.error) == ("conv1d", "mse", "mse")
    assert series.data.normal_classes is None and series.data.contamination is None and series.data.limit is None
    assert fitted_to_kind(series, "timeseries") is series  # nothing to repair: the same config
    assert fitted_to_kind(images, "image") is images and fitted_to_kind(images, None) is images


def test_another_dataset_starts_the_scenario_over_and_keeps_the_rest():
    config = ExperimentConfig.from_dict(
        {
            "data": {
                "dataset": "mnist",
                "normal_classes": [1],
                "anomaly_classes": [3],
                "inject": {"dataset": "fashion_mnist"},
                "limit": 500,
            },
            "model": {"kind": "conv"},
        }
    )
    digits = with_dataset(config, "digits")
    assert digits.data.normal_classes is None and digits.data.anomaly_classes is None
    assert digits.data.inject == config.data.inject and digits.data.limit == 500 and digits.model.kind == "conv"
    assert with_dataset(config, "fashion_mnist").data.inject is None  # not injected into itself
    taxi = with_dataset(config, "nab/nyc_taxi")
    assert taxi.data.inject is None and taxi.data.limit is None and taxi.model.kind == "conv1d"
