"""Warm a fresh process up before its first user needs it: TensorFlow imported, an autoencoder built, trained a
step and scored, so that the first training's graph traces find TensorFlow's lazily loaded parts ready; and
UMAP's numba code compiled. Each function is self-contained and safe to call from any thread or process
(the dashboard's server calls them in background threads, ui.engine; a worker process may call them too)."""

from __future__ import annotations

import time

import numpy as np

WARM_SAMPLES = 64  # tiny on purpose: the point is the traces, not the weights


def warm_data() -> float:
    """Import what the Train page's first visit needs to describe the default dataset (scikit-learn, which holds
    the digits: about a second on a quiet machine). Returns the seconds it took."""
    started = time.perf_counter()
    from core.config import ExperimentConfig
    from core.data import build_experiment_data

    build_experiment_data(ExperimentConfig().data, seed=0)
    return time.perf_counter() - started


def warm_training() -> float:
    """Build, train for one epoch and score a small convolutional autoencoder on random 8×8 images (the digits
    demo's model kind), then the same with a dense one: the first graph trace of a process costs seconds that
    later ones do not. Returns the seconds it took; nothing is kept."""
    started = time.perf_counter()
    from core.config import ModelConfig, TrainConfig
    from core.detector import AutoencoderDetector

    images = np.random.default_rng(0).random((WARM_SAMPLES, 8, 8, 1), dtype=np.float32)
    train = TrainConfig(epochs=1, batch_size=16, validation_fraction=0.0)
    for kind in ("conv", "dense"):
        detector = AutoencoderDetector(ModelConfig(kind=kind, latent_dim=4, hidden=[16]), train)
        detector.fit(images)
        detector.score_samples(images)
    return time.perf_counter() - started


def warm_umap() -> float:
    """Compile UMAP's numba code by projecting a few hundred random points (numba keeps what it compiled for the
    process; umap-learn caches little of it on disk). Returns the seconds it took."""
    started = time.perf_counter()
    from core.latent import project

    codes = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    project(codes, "umap", seed=0)
    return time.perf_counter() - started
