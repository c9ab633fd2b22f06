"""Autoencoder builders: dense, conv (images) and conv1d (series).

Each returns a Keras model `autoencoder` whose `encoder` and `decoder` sub-models stay reachable
(`model.get_layer("encoder")`, `model.get_layer("decoder")`). Inputs are batches of samples of
`sample_shape`: (h, w, c) images in [0, 1], (length,) series or (length, channels) multichannel windows;
outputs have the same shape, through a sigmoid (a linear layer for tables, whose columns are standardised).

With `mixed_precision` every layer computes in float16 with float32 weights (Keras' "mixed_float16" policy,
set per layer, never globally) except the decoder's last layer, whose sigmoid and output stay float32 so that
reconstructions and errors keep their precision.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from core import fields
from core.config import ModelConfig, auto_sizes, bottleneck_warning  # noqa: F401  (their home before; TensorFlow-free now)
from core.errors import ConfigError


@keras.saving.register_keras_serializable(package="anomaly_studio")
class ColumnClip(layers.Layer):
    """Clips each of its input's columns to [low, high]: a table's typical range (core.tabular.ColumnScaler), the
    first step of a table's encoder, so that a value beyond it cannot be rebuilt. Registered, so a saved model
    loads with safe_mode=True."""

    def __init__(self, low, high, **options):
        super().__init__(**options)
        self.low = [float(value) for value in low]
        self.high = [float(value) for value in high]

    def call(self, x):
        low = keras.ops.convert_to_tensor(self.low, dtype=x.dtype)
        high = keras.ops.convert_to_tensor(self.high, dtype=x.dtype)
        return keras.ops.minimum(keras.ops.maximum(x, low), high)

    def get_config(self) -> dict:
        return {**super().get_config(), "low": self.low, "high": self.high}


class _Layers:
    """Makes the layers of one model: each named (unique within it) and its weights seeded, so that building a model
    never reads Keras' global state, which the dashboard's server resets after every script run."""

    def __init__(self, seed: int | None, mixed_precision: bool = False):
        self.seed = seed
        self.count = 0
        self.output = "sigmoid"  # the decoder's last activation
        self.bounds: tuple | None = None  # (low, high) the encoder clips its input to
        self.dtype = "mixed_float16" if mixed_precision else None  # None: Keras' default (float32)

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    def initializer(self) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=None if self.seed is None else self.seed * 1000 + self.count)

    def dense(
        self, units: int, activation: str | None = None, name: str | None = None, output: bool = False
    ) -> layers.Dense:
        return layers.Dense(
            units,
            activation=activation,
            kernel_initializer=self.initializer(),
            name=name or self.name("dense"),
            dtype="float32" if output else self.dtype,
        )

    def conv(self, conv: type, filters: int, kernel_size: int, output: bool = False, **options) -> layers.Layer:
        return conv(
            filters,
            kernel_size,
            kernel_initializer=self.initializer(),
            name=self.name(conv.__name__.lower()),
            dtype="float32" if output else self.dtype,
            **options,
        )

    def activation_and_norm(self, x):
        """LeakyReLU(0.2) then BatchNorm.

        BatchNorm momentum 0.9 (not Keras' 0.99): on small datasets the moving statistics must settle
        within a few hundred steps, or inference-time reconstructions lag far behind training ones.
        """
        x = layers.LeakyReLU(negative_slope=0.2, name=self.name("leaky_relu"), dtype=self.dtype)(x)
        return layers.BatchNormalization(momentum=0.9, name=self.name("batch_norm"), dtype=self.dtype)(x)


def build_autoencoder(
    config: ModelConfig,
    sample_shape: tuple,
    seed: int | None = None,
    mixed_precision: bool = False,
    output: str = "sigmoid",
    input_bounds: tuple | None = None,
) -> keras.Model:
    """Build the autoencoder that `config.kind` names for samples of `sample_shape`; `seed` seeds its weights.

    mixed_precision: float16 compute (mixed_float16) in every layer but the float32 output layer.
    output: the last layer's activation: "sigmoid" for samples scaled into [0, 1], "linear" for standardised
    table columns, which have no upper or lower bound (a dense model's code is then linear too).
    input_bounds: (low, high), each (n_columns,): the encoder first clips its input to them (ColumnClip).
    """
    sample_shape = tuple(int(d) for d in sample_shape)
    config = auto_sizes(config, sample_shape)
    make = _Layers(seed, mixed_precision)
    make.output = output
    make.bounds = input_bounds
    if config.kind == "dense":
        encoder = _dense_encoder(config, sample_shape, make)
        decoder = _dense_decoder(config, sample_shape, make)
    elif config.kind == "conv":
        if len(sample_shape) != 3:
            raise ConfigError(
                f"{fields.name('model.kind')} 'conv' needs images of shape (height, width, channels), "
                f"got samples of shape {sample_shape}; use 'dense' or 'conv1d'"
            )
        encoder = _conv_encoder(config, sample_shape, layers.Conv2D, make)
        decoder = _conv_decoder(config, sample_shape, encoder.get_layer("feature_map").output.shape[1:], make)
    elif config.kind == "conv1d":
        if len(sample_shape) not in (1, 2):
            raise ConfigError(
                f"{fields.name('model.kind')} 'conv1d' needs series of shape (length,) or (length, channels), "
                f"got samples of shape {sample_shape}; use 'conv' or 'dense'"
            )
        encoder = _conv_encoder(config, sample_shape, layers.Conv1D, make)
        decoder = _conv_decoder(config, sample_shape, encoder.get_layer("feature_map").output.shape[1:], make)
    else:
        raise ConfigError(f"model.kind must be one of 'dense', 'conv', 'conv1d' (got {config.kind!r})")
    inputs = keras.Input(sample_shape, name="sample")
    return keras.Model(inputs, decoder(encoder(inputs)), name=f"{config.kind}_autoencoder")


def _latent(config: ModelConfig) -> int:
    """The code size of a config whose sizes auto_sizes has chosen."""
    return int(config.latent_dim)


def _hidden(config: ModelConfig) -> list[int]:
    """The hidden layer sizes of a config whose sizes auto_sizes has chosen."""
    return [int(units) for units in config.hidden]


def _clipped(inputs, make: _Layers):
    return inputs if make.bounds is None else ColumnClip(*make.bounds, name="typical_range")(inputs)


def _dense_encoder(config: ModelConfig, sample_shape: tuple, make: _Layers) -> keras.Model:
    inputs = keras.Input(sample_shape, name="encoder_input")
    x = layers.Flatten(name="flatten", dtype=make.dtype)(_clipped(inputs, make))
    for units in _hidden(config):
        x = make.dense(units, "relu")(x)
    # A linear decoder (tables) takes a linear code too: no code unit dies at zero, as PCA's components never do.
    code = make.dense(_latent(config), None if make.output == "linear" else "relu", name="code")(x)
    return keras.Model(inputs, code, name="encoder")


def _dense_decoder(config: ModelConfig, sample_shape: tuple, make: _Layers) -> keras.Model:
    code = keras.Input((_latent(config),), name="decoder_input")
    x = code
    for units in reversed(_hidden(config)):
        x = make.dense(units, "relu")(x)
    x = make.dense(math.prod(sample_shape), None if make.output == "linear" else make.output, output=True)(x)
    return keras.Model(code, layers.Reshape(sample_shape, name="reconstruction")(x), name="decoder")


def _conv_encoder(config: ModelConfig, sample_shape: tuple, conv: type, make: _Layers) -> keras.Model:
    """Conv (stride 2) → LeakyReLU(0.2) → BatchNorm per entry of `filters`, then a dense code."""
    inputs = keras.Input(sample_shape, name="encoder_input")
    one_channel = conv is layers.Conv1D and len(sample_shape) == 1
    x = _clipped(inputs, make)
    x = layers.Reshape(sample_shape + (1,), name="add_channel", dtype=make.dtype)(x) if one_channel else x
    for filters in config.filters:
        x = make.conv(conv, filters, config.kernel_size, strides=2, padding="same")(x)
        x = make.activation_and_norm(x)
    x = layers.Identity(name="feature_map", dtype=make.dtype)(x)
    code = make.dense(_latent(config), name="code")(layers.Flatten(name="flatten", dtype=make.dtype)(x))
    return keras.Model(inputs, code, name="encoder")


def _conv_decoder(config: ModelConfig, sample_shape: tuple, feature_shape: tuple, make: _Layers) -> keras.Model:
    """Dense → reshape to the encoder's feature map, mirrored transposed convs, an output conv (`make.output`),
    crop to the input size."""
    series = len(sample_shape) <= 2
    transpose, conv = (layers.Conv1DTranspose, layers.Conv1D) if series else (layers.Conv2DTranspose, layers.Conv2D)
    channels = 1 if len(sample_shape) == 1 else sample_shape[-1]
    code = keras.Input((_latent(config),), name="decoder_input")
    x = make.dense(math.prod(feature_shape))(code)
    x = layers.Reshape(tuple(feature_shape), name="to_feature_map", dtype=make.dtype)(x)
    for filters in reversed(config.filters):
        x = make.conv(transpose, filters, config.kernel_size, strides=2, padding="same")(x)
        x = make.activation_and_norm(x)
    activation = None if make.output == "linear" else make.output
    x = make.conv(conv, channels, config.kernel_size, output=True, padding="same", activation=activation)(x)
    # Stride-2 'same' convolutions round odd sizes up, so the decoder may overshoot: crop back.
    if series:
        overshoot = x.shape[1] - sample_shape[0]
        if overshoot:
            x = layers.Cropping1D((0, overshoot), name="crop")(x)
        x = layers.Reshape(sample_shape, name="reconstruction")(x)
    else:
        extra_h, extra_w = x.shape[1] - sample_shape[0], x.shape[2] - sample_shape[1]
        if extra_h or extra_w:
            x = layers.Cropping2D(((0, extra_h), (0, extra_w)), name="crop")(x)
    return keras.Model(code, x, name="decoder")
