"""Reconstruction errors of samples under a trained autoencoder, computed in bounded batches.

Samples come as an array, as core.data.stream.ImageFiles (decoded by tf.data while scoring, never held
whole) or as any iterable of batches (`score_batches`).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator

import keras
import numpy as np
import tensorflow as tf

from core import losses

_SCORERS: weakref.WeakKeyDictionary[keras.Model, dict] = weakref.WeakKeyDictionary()


def _compiled_scorer(model: keras.Model, error: str, sample_shape: tuple, jit_compile: bool = False):
    """One traced graph per (model, error), kept while the model lives: reconstruct and reduce to (batch,)
    errors without leaving the device, and without tracing again on every call; `jit_compile`: through XLA."""
    scorers = _SCORERS.setdefault(model, {})
    key = (error, tuple(sample_shape), jit_compile)
    if key not in scorers:
        scorers[key] = _trace_scorer(model, error, sample_shape, jit_compile)
    return scorers[key]


def _trace_scorer(model: keras.Model, error: str, sample_shape: tuple, jit_compile: bool = False):
    per_sample = losses.per_sample(error)
    # A weak reference: the traced function is the cache's value, and a strong one back to its key would
    # keep every model ever scored alive (the cache entry dies with the model).
    model_ref = weakref.ref(model)

    @tf.function(
        input_signature=[tf.TensorSpec((None,) + tuple(sample_shape), tf.float32)],
        reduce_retracing=True,
        jit_compile=jit_compile,
    )
    def score_batch(x):
        return per_sample(x, model_ref()(x, training=False))

    return score_batch


def reconstruction_errors(
    model: keras.Model, x, error: str, batch_size: int = 1024, jit_compile: bool = False
) -> np.ndarray:
    """Errors of shape (n,), float32, for samples x of shape (n, *sample_shape): an array, or ImageFiles
    streamed through tf.data.

    Memory stays bounded by `batch_size` samples of reconstructions, whatever n is.
    """
    if hasattr(x, "dataset"):  # core.data.stream.ImageFiles: decoded batch by batch, in file order
        scores = np.empty(len(x), dtype=np.float32)
        done = 0
        for errors in score_batches(model, x.dataset(batch_size), error, x.sample_shape, jit_compile):
            scores[done : done + len(errors)] = errors
            done += len(errors)
        return scores
    x = np.asarray(x, dtype=np.float32)
    scores = np.empty(len(x), dtype=np.float32)
    if len(x) == 0:
        return scores
    score_batch = _compiled_scorer(model, error, x.shape[1:], jit_compile)
    for start in range(0, len(x), batch_size):
        scores[start : start + batch_size] = score_batch(tf.constant(x[start : start + batch_size])).numpy()
    return scores


def score_batches(
    model: keras.Model, batches: Iterable, error: str, sample_shape: tuple, jit_compile: bool = False
) -> Iterator[np.ndarray]:
    """The errors (b,) of each batch (b, *sample_shape) of `batches` (arrays or tensors, e.g. a tf.data.Dataset),
    one batch at a time: nothing but the current batch is held."""
    score_batch = _compiled_scorer(model, error, tuple(sample_shape), jit_compile)
    for batch in batches:
        yield score_batch(tf.convert_to_tensor(batch, tf.float32)).numpy()


def reconstruct(model: keras.Model, x: np.ndarray, error: str, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(reconstructions, per-feature error maps), both of x's shape, for a page of samples to inspect."""
    x = np.asarray(x, dtype=np.float32)
    batches = [
        model(tf.constant(x[start : start + batch_size]), training=False).numpy()
        for start in range(0, len(x), batch_size)
    ]
    x_hat = np.concatenate(batches) if batches else np.empty_like(x)
    return x_hat, losses.error_map(error, x, x_hat)


def constant_scores_warning(scores: np.ndarray) -> str | None:
    """A warning when every score (n,) is the same: no threshold then tells one sample or timestamp from another
    (a flat series, or a model that rebuilds everything alike)."""
    scores = np.asarray(scores, dtype=np.float64)
    finite = scores[np.isfinite(scores)]
    if len(finite) < 2 or np.ptp(finite) > 1e-9 * max(1.0, float(np.abs(finite).max())):
        return None
    return (
        f"Every one of the {len(scores):,} scores is {finite[0]:.6g}: the scores cannot tell anything apart, so no "
        "threshold flags anything useful (a constant series, or a model that rebuilds every sample alike)."
    )
