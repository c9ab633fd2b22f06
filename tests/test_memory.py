"""A model that nothing refers to any more is freed, with everything cached for it."""

import dataclasses
import gc
import weakref
from pathlib import Path

import pytest

from core.config import ExperimentConfig
from core.experiment import run_experiment

PRESET = Path(__file__).resolve().parents[1] / "presets" / "digits_quick.json"


@pytest.mark.slow
def test_dropped_models_are_freed_after_scoring():
    config = ExperimentConfig.load(PRESET)
    config = config.replace(
        train=dataclasses.replace(config.train, epochs=1), data=dataclasses.replace(config.data, limit=200)
    )
    models = []
    for _ in range(3):
        result = run_experiment(config)
        result.detector.score_samples(result.data.x_score[:10])  # fills the scoring cache for this model
        models.append(weakref.ref(result.model))
        del result
        gc.collect()
    assert [model() for model in models] == [None, None, None], "a trained model outlived every reference to it"
