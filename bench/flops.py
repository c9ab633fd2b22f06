"""Model FLOPs per sample, counted once from the Keras layers, and the CPU's peak, to put throughputs in context.

Counted: multiply-adds of Dense and convolution layers (2 FLOPs each); biases, activations, BatchNorm and the
error itself are left out (a few % of a dense or conv layer's work). A training step costs about 3× the forward
pass (forward, then gradients with respect to inputs and to weights).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import keras

TRAINING_FACTOR = 3
FLOPS_PER_CYCLE = 32  # fp32 per core with AVX-512 FMA: 16 lanes × 2 (multiply and add), one FMA unit


def _layers(model: keras.Model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _layers(layer)
        else:
            yield layer


def forward_flops_per_sample(model: keras.Model) -> int:
    total = 0
    for layer in _layers(model):
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        weights = math.prod(kernel.shape)
        if isinstance(layer, keras.layers.Dense):
            total += 2 * weights
        elif isinstance(layer, (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose)):
            total += 2 * weights * math.prod(layer.input.shape[1:-1])  # each input position scatters the kernel
        elif isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D)):
            total += 2 * weights * math.prod(layer.output.shape[1:-1])
    return total


def cpu_clock_ghz() -> float:
    """The clock /proc/cpuinfo reports for the first core (its current or nominal frequency)."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("cpu MHz"):
            return float(line.split(":", 1)[1]) / 1000
    return float("nan")


def cpu_peak_gflops() -> float:
    """cores × clock × 32 fp32 FLOPs per cycle (AVX-512 FMA), an upper bound this process cannot exceed."""
    return (os.cpu_count() or 1) * cpu_clock_ghz() * FLOPS_PER_CYCLE


def peak_note() -> str:
    return (
        f"FLOP/s: model FLOPs per sample counted once from the Keras layers (2 per multiply-add of Dense and "
        f"convolution layers; training = {TRAINING_FACTOR}× forward) × samples/s. Peak: {os.cpu_count()} cores × "
        f"{cpu_clock_ghz():.2f} GHz (/proc/cpuinfo) × {FLOPS_PER_CYCLE} fp32 FLOPs/cycle (AVX-512 FMA) = "
        f"{cpu_peak_gflops():.0f} GFLOP/s."
    )
