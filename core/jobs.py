"""A training run in a background thread, observable while it runs (what the dashboard polls).

The job ends when the autoencoder's result is ready; the classical baselines then go on in a thread of
their own (`result.baselines.done`), so they never hold back the threshold pages.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass

from core.config import ExperimentConfig
from core.data import ExperimentData
from core.errors import StudioError
from core.experiment import ExperimentResult, run_experiment
from core.training import History, Progress


@dataclass
class JobSnapshot:
    """status: 'running', 'done', 'stopped' (ended by the user, model kept) or 'failed' (see `error`)."""

    status: str
    progress: Progress | None
    history: History
    error: str | None


class TrainingJob:
    """Runs `run_experiment(config)` in a daemon thread; `snapshot()` is safe to call from any thread."""

    def __init__(self, config: ExperimentConfig, data_dir: str | None = None, data: ExperimentData | None = None):
        self.config = config
        self.data_dir = data_dir
        self.data = data
        self.result: ExperimentResult | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._history = History()
        self._thread = threading.Thread(target=self._run, name="anomaly-studio-training", daemon=True)

    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def on_batch(self, progress: Progress, history: History) -> None:
        with self._lock:
            self._progress, self._history = progress, history

    on_epoch = on_batch

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            progress = self._progress
            history = copy.copy(self._history)
        for name in ("loss", "val_loss", "batch_loss", "batch_epoch"):
            setattr(history, name, list(getattr(history, name)))
        n = min(len(history.batch_loss), len(history.batch_epoch))
        history.batch_loss, history.batch_epoch = history.batch_loss[:n], history.batch_epoch[:n]
        if self.running:
            status = "running"
        elif self.error is not None:
            status = "failed"
        else:
            status = "stopped" if self._stop.is_set() else "done"
        return JobSnapshot(status, progress, history, self.error)

    def _run(self) -> None:
        try:
            self.result = run_experiment(
                self.config,
                self.data_dir,
                listener=self,
                stop_event=self._stop,
                data=self.data,
                baselines_in_background=True,
            )
            with self._lock:
                self._history = self.result.history
        except StudioError as exc:
            self.error = str(exc)
        except Exception as exc:  # shown in the UI as one line; the thread must never die silently
            self.error = f"Training failed unexpectedly: {type(exc).__name__}: {exc}"
