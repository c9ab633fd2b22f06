"""Reconstruction errors, one definition used both as training loss and as anomaly score.

Each `per_sample(name)` function maps a batch `x` and its reconstruction `x_hat`, both of shape
(batch, *sample_shape), to errors of shape (batch,): the mean over all features for mse, mae and bce,
1 − SSIM for ssim (images only, values in [0, 2]), and for ssim_mse the geometric mean √((1 − SSIM) · MSE)
(images only): SSIM sees structure but barely tells a dark, flat background from another, MSE sees brightness;
the geometric mean weighs both alike whatever their scales (1 − SSIM is typically ten times MSE, and would
drown it in an arithmetic mean).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from core.errors import ConfigError

_EPSILON = 1e-7


def _feature_axes(x: tf.Tensor) -> list[int]:
    return list(range(1, len(x.shape)))


def squared_error_map(x, x_hat):
    return tf.square(x - x_hat)


def absolute_error_map(x, x_hat):
    return tf.abs(x - x_hat)


def cross_entropy_map(x, x_hat):
    x_hat = tf.clip_by_value(x_hat, _EPSILON, 1.0 - _EPSILON)
    return -(x * tf.math.log(x_hat) + (1.0 - x) * tf.math.log(1.0 - x_hat))


def ssim_filter_size(height: int, width: int) -> int:
    """SSIM's Gaussian window: the usual 11 pixels, shrunk for small images such as 8×8 digits."""
    return min(11, height, width)


def ssim_error(x, x_hat):
    if len(x.shape) != 4:
        raise ConfigError(
            "the 'ssim' error compares images of shape (height, width, channels); use 'mse', 'mae' or 'bce' for series"
        )
    size = ssim_filter_size(int(x.shape[1]), int(x.shape[2]))
    return 1.0 - tf.image.ssim(x, x_hat, max_val=1.0, filter_size=size, filter_sigma=1.5 * size / 11)


def ssim_mse_error(x, x_hat):
    x = tf.cast(x, x_hat.dtype)
    squared = tf.reduce_mean(squared_error_map(x, x_hat), axis=_feature_axes(x))
    return tf.sqrt(tf.maximum(ssim_error(x, x_hat), 0.0) * squared + _EPSILON**2)


_MAPS = {"mse": squared_error_map, "mae": absolute_error_map, "bce": cross_entropy_map}
IMAGE_ONLY = {"ssim": ssim_error, "ssim_mse": ssim_mse_error}


def per_sample(name: str) -> Callable:
    """The (batch,)-shaped error function called `name`."""
    if name in IMAGE_ONLY:
        return IMAGE_ONLY[name]
    if name not in _MAPS:
        raise ConfigError(f"error must be one of 'mse', 'mae', 'bce', 'ssim', 'ssim_mse' (got {name!r})")
    error_map = _MAPS[name]

    def mean_error(x, x_hat):
        x = tf.cast(x, x_hat.dtype)
        return tf.reduce_mean(error_map(x, x_hat), axis=_feature_axes(x))

    mean_error.__name__ = name
    return mean_error


def error_map(name: str, x: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """Per-feature errors of shape x.shape, for heat maps. SSIM has no per-pixel form here: it shows |x − x_hat|
    (ssim_mse shows the squared error)."""
    function = _MAPS.get(name, squared_error_map if name == "ssim_mse" else absolute_error_map)
    return np.asarray(function(tf.constant(x, tf.float32), tf.constant(x_hat, tf.float32)))
