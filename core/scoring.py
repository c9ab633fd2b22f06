"""Reconstruction errors of samples under a trained autoencoder, computed in bounded batches."""

from __future__ import annotations

import weakref

import keras
import numpy as np
import tensorflow as tf

from core import losses

_SCORERS: weakref.WeakKeyDictionary[keras.Model, dict] = weakref.WeakKeyDictionary()


def _compiled_scorer(model: keras.Model, error: str, sample_shape: tuple):
    """One traced graph per (model, error), kept while the model lives: reconstruct and reduce to (batch,)
    errors without leaving the device, and without tracing again on every call."""
    scorers = _SCORERS.setdefault(model, {})
    key = (error, tuple(sample_shape))
    if key not in scorers:
        scorers[key] = _trace_scorer(model, error, sample_shape)
    return scorers[key]


def _trace_scorer(model: keras.Model, error: str, sample_shape: tuple):
    per_sample = losses.per_sample(error)
    # A weak reference: the traced function is the cache's value, and a strong one back to its key would
    # keep every model ever scored alive (the cache entry dies with the model).
    model_ref = weakref.ref(model)

    @tf.function(input_signature=[tf.TensorSpec((None,) + tuple(sample_shape), tf.float32)], reduce_retracing=True)
    def score_batch(x):
        return per_sample(x, model_ref()(x, training=False))

    return score_batch


def reconstruction_errors(model: keras.Model, x: np.ndarray, error: str, batch_size: int = 1024) -> np.ndarray:
    """Errors of shape (n,), float32, for samples x of shape (n, *sample_shape).

    Memory stays bounded by `batch_size` samples of reconstructions, whatever n is.
    """
    x = np.asarray(x, dtype=np.float32)
    scores = np.empty(len(x), dtype=np.float32)
    if len(x) == 0:
        return scores
    score_batch = _compiled_scorer(model, error, x.shape[1:])
    for start in range(0, len(x), batch_size):
        scores[start : start + batch_size] = score_batch(tf.constant(x[start : start + batch_size])).numpy()
    return scores


def reconstruct(model: keras.Model, x: np.ndarray, error: str, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(reconstructions, per-feature error maps), both of x's shape, for a page of samples to inspect."""
    x = np.asarray(x, dtype=np.float32)
    batches = [
        model(tf.constant(x[start : start + batch_size]), training=False).numpy()
        for start in range(0, len(x), batch_size)
    ]
    x_hat = np.concatenate(batches) if batches else np.empty_like(x)
    return x_hat, losses.error_map(error, x, x_hat)
