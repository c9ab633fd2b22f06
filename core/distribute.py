"""Where training runs: a tf.distribute strategy from `train.strategy`, mixed precision and the chief of a cluster.

TensorFlow's own engine does the work: `MirroredStrategy` over the GPUs of one machine, and
`MultiWorkerMirroredStrategy` over a cluster that the standard `TF_CONFIG` environment variable describes
(`{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}}`). The model and its
optimiser are built inside `strategy.scope()`; the config's batch size is the global batch, split across
replicas. A multi-worker strategy must exist before TensorFlow runs its first op, so the CLI calls
`strategy_for` at start-up (`prepare`), and later calls get that same object.
"""

from __future__ import annotations

import json
import os
import sys

import tensorflow as tf

from core.errors import ConfigError

TF_CONFIG = "TF_CONFIG"
_MULTI_WORKER: tf.distribute.Strategy | None = None  # created once per process
_WARNED: set[str] = set()


def gpu_count() -> int:
    return len(tf.config.list_physical_devices("GPU"))


def cluster_spec() -> dict:
    """TF_CONFIG as a dict ({} when unset); ConfigError when it is not JSON."""
    raw = os.environ.get(TF_CONFIG, "").strip()
    if not raw:
        return {}
    try:
        spec = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{TF_CONFIG} is not valid JSON ({exc.msg}); see docs/user-guide.md, 'Scaling out'") from None
    if not isinstance(spec, dict):
        raise ConfigError(f"{TF_CONFIG} must be a JSON object with 'cluster' and 'task'")
    return spec


def is_chief() -> bool:
    """Whether this process writes what a run produces: the chief task, or worker 0 of a cluster without one;
    always true outside a cluster."""
    spec = cluster_spec()
    task = spec.get("task") or {}
    if not task:
        return True
    kind, index = task.get("type"), int(task.get("index", 0))
    if kind == "chief":
        return True
    has_chief = bool((spec.get("cluster") or {}).get("chief"))
    return kind == "worker" and index == 0 and not has_chief


def prepare(strategy: str) -> None:
    """Create the multi-worker strategy now, before any other TensorFlow op, when `strategy` asks for it."""
    if strategy == "multi_worker":
        strategy_for(strategy)


def strategy_for(strategy: str) -> tf.distribute.Strategy:
    """The tf.distribute strategy that `train.strategy` names.

    auto: MirroredStrategy when more than one GPU is visible, else the default strategy (one device);
    mirrored: MirroredStrategy over this machine's GPUs (or its CPU); multi_worker: MultiWorkerMirroredStrategy
    over the cluster in TF_CONFIG, created once per process.
    """
    global _MULTI_WORKER
    if strategy == "multi_worker":
        if _MULTI_WORKER is None:
            cluster_spec()  # a readable message for malformed JSON, before TensorFlow's own
            _MULTI_WORKER = _MultiWorkerMirroredStrategy()
        return _MULTI_WORKER
    if strategy == "mirrored" or (strategy == "auto" and gpu_count() > 1):
        return tf.distribute.MirroredStrategy()
    if strategy == "auto":
        return tf.distribute.get_strategy()
    raise ConfigError(f"train.strategy must be 'auto', 'mirrored' or 'multi_worker' (got {strategy!r})")


class _MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """TensorFlow's MultiWorkerMirroredStrategy, whose `reduce` also takes what Keras 3's `fit` gives it.

    Keras (3.15) reduces a nest of values at once (the first (x, y) batch, before building) and scalar logs
    such as the loss with axis=0; the collective reduce takes neither ("Attempt to convert a value (PerReplica
    ...) to a Tensor", "Invalid reduction dimension 0 for input with 0 dimensions"). Here each value of a nest
    is reduced on its own, and a scalar across replicas only (axis None): the same numbers, by the same
    collective ops.
    """

    def reduce(self, reduce_op, value, axis):
        parent = super().reduce

        def one(v):
            local = self.experimental_local_results(v)[0] if isinstance(v, tf.distribute.DistributedValues) else v
            scalar = getattr(getattr(local, "shape", None), "rank", None) == 0
            return parent(reduce_op, v, None if scalar else axis)

        return tf.nest.map_structure(one, value)


def jit_compile_allowed(strategy: tf.distribute.Strategy) -> bool:
    """XLA compiles a step that holds collective ops only on GPUs: a multi-worker strategy on CPUs trains without
    it (TensorFlow: "Collectives are not yet implemented for CPU devices when compiling with XLA")."""
    return not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or gpu_count() > 0


def use_mixed_precision(requested: bool) -> bool:
    """Whether to compute in mixed_float16: when asked for and a GPU is visible; a one-line warning otherwise."""
    if not requested:
        return False
    if gpu_count() > 0:
        return True
    warn_once(
        "mixed_precision",
        "train.mixed_precision is for GPUs and this machine has none; training in float32",
    )
    return False


def warn_once(key: str, message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        print(f"warning: {message}", file=sys.stderr, flush=True)
