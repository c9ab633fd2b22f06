"""Background trainings take turns through one queue, and say where they wait."""

import dataclasses
import time
from pathlib import Path

from core.config import ExperimentConfig
from core.jobs import MAX_TRAININGS_ENV, TrainingJob

PRESET = Path(__file__).resolve().parents[1] / "presets" / "digits_quick.json"


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_trainings_queue_beyond_the_limit_and_a_queued_one_can_be_cancelled(monkeypatch):
    monkeypatch.setenv(MAX_TRAININGS_ENV, "1")
    config = ExperimentConfig.load(PRESET)
    long_config = config.replace(train=dataclasses.replace(config.train, epochs=500))
    config = config.replace(train=dataclasses.replace(config.train, epochs=1))
    first = TrainingJob(long_config).start()
    wait_until(lambda: first.snapshot().status == "running")
    second, third = TrainingJob(config).start(), TrainingJob(config).start()
    wait_until(lambda: third.snapshot().status == "queued" and third.snapshot().ahead == 1)
    assert second.snapshot().status == "queued" and second.snapshot().ahead == 0
    third.stop()
    third.join(timeout=10)
    assert third.snapshot().status == "failed" and "cancelled before its turn" in third.error
    assert second.snapshot().status == "queued", "the cancelled job must not let the next one jump the running one"
    first.stop()
    second.join(timeout=120)
    assert first.result.history.stopped == "stopped" and second.result is not None
