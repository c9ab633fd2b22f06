"""A training run in a background thread, observable while it runs (what the dashboard polls).

The job ends when the autoencoder's result is ready; the classical baselines then go on in a thread of
their own (`result.baselines.done`), so they never hold back the threshold pages.
"""

from __future__ import annotations

import copy
import os
import threading
from dataclasses import dataclass

from core.config import ExperimentConfig
from core.data import ExperimentData
from core.errors import StudioError
from core.experiment import ExperimentResult, continue_experiment, continued_config, run_experiment
from core.training import History, Progress

MAX_TRAININGS_ENV = "ANOMALY_STUDIO_MAX_TRAININGS"


@dataclass
class JobSnapshot:
    """status: 'queued' (`ahead` trainings before it), 'running', 'done', 'stopped' (ended by the user, model
    kept) or 'failed' (see `error`)."""

    status: str
    progress: Progress | None
    history: History
    error: str | None
    ahead: int = 0


class TrainingQueue:
    """Trainings in one process take turns: at most `limit` run at once, the others wait in arrival order.

    TensorFlow already spreads one training over every core, so more at once only slows each of them.
    The limit is $ANOMALY_STUDIO_MAX_TRAININGS, else half the CPU cores (at least 1).
    """

    def __init__(self):
        self._changed = threading.Condition()
        self._waiting: list[object] = []
        self._running = 0

    @staticmethod
    def limit() -> int:
        raw = os.environ.get(MAX_TRAININGS_ENV, "")
        return int(raw) if raw.isdigit() and int(raw) > 0 else max(1, (os.cpu_count() or 2) // 2)

    def enter(self, job: object, cancelled: threading.Event) -> bool:
        """Wait for `job`'s turn; False when `cancelled` was set while it waited (it then leaves the queue)."""
        with self._changed:
            self._waiting.append(job)
            while self._waiting[0] is not job or self._running >= self.limit():
                if cancelled.is_set():
                    self._waiting.remove(job)
                    self._changed.notify_all()
                    return False
                self._changed.wait(0.2)
            self._waiting.pop(0)
            self._running += 1
            self._changed.notify_all()
            return True

    def leave(self) -> None:
        with self._changed:
            self._running -= 1
            self._changed.notify_all()

    def ahead_of(self, job: object) -> int | None:
        """How many trainings wait before `job`, or None when it is not waiting."""
        with self._changed:
            return self._waiting.index(job) if job in self._waiting else None


QUEUE = TrainingQueue()


class TrainingJob:
    """Runs `run_experiment(config)` in a daemon thread, or with `continued`, `continue_experiment(continued,
    more_epochs)`: its snapshots' history then starts with the earlier epochs. `snapshot()` is safe to call from
    any thread; `config` is the config trained (for a continued training, with train.epochs the total)."""

    def __init__(
        self,
        config: ExperimentConfig,
        data_dir: str | None = None,
        data: ExperimentData | None = None,
        continued: ExperimentResult | None = None,
        more_epochs: int = 0,
    ):
        self.config = config
        self.data_dir = data_dir
        self.data = data
        self.continued = continued
        self.more_epochs = more_epochs
        self.result: ExperimentResult | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._history = continued.history.continued() if continued is not None else History()
        self._thread = threading.Thread(target=self._run, name="anomaly-studio-training", daemon=True)

    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @classmethod
    def continuing(cls, result: ExperimentResult, epochs: int) -> TrainingJob:
        """A job training `result`'s model `epochs` more epochs (core.experiment.continue_experiment)."""
        return cls(continued_config(result, epochs), data=result.data, continued=result, more_epochs=epochs)

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
        ahead = QUEUE.ahead_of(self)
        if ahead is not None:
            status = "queued"
        elif self.running:
            status = "running"
        elif self.error is not None:
            status = "failed"
        else:
            status = "stopped" if self._stop.is_set() else "done"
        return JobSnapshot(status, progress, history, self.error, ahead or 0)

    def _run(self) -> None:
        if not QUEUE.enter(self, self._stop):
            self.error = "Training was cancelled before its turn came; nothing was trained."
            return
        try:
            if self.continued is not None:
                self.result = continue_experiment(
                    self.continued, self.more_epochs, listener=self, stop_event=self._stop
                )
            else:
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
        finally:
            QUEUE.leave()
