"""The TensorFlow-backed half of core, loaded once per dashboard server.

After every script run Streamlit calls `keras.backend.clear_session()`, which runs a full garbage
collection: about 0.2 s holding the GIL once TensorFlow's objects are loaded, twice a second while the
live loss chart reruns, which starves the training thread. Freezing the objects that exist once the
engine is imported (`gc.freeze`) takes them out of every later collection, which then costs microseconds.
The models themselves never depend on Keras' global state (explicit layer names and seeded
initialisers, core.models), so that cleanup cannot disturb a training running meanwhile.
"""

import gc
import os
import threading

WARM_UP_ENV = "ANOMALY_STUDIO_WARM_UP"  # "0": nothing warmed; "engine": no UMAP compile; else everything
_warming = threading.Lock()
_compiling_umap = threading.Lock()
umap_ready = threading.Event()  # set once UMAP's code is compiled in this process


def load() -> None:
    """Import TensorFlow, Keras and the core modules built on them (seconds, the first time only)."""
    import core.experiment
    import core.jobs
    import core.runs  # noqa: F401

    gc.freeze()


def warm_up() -> None:
    """Once per server, in a background thread: build the default dataset, load the engine and warm the training
    path (core.warmup), so the first visit to Train and the first training find them ready."""
    if os.environ.get(WARM_UP_ENV, "1") == "0" or not _warming.acquire(blocking=False):
        return
    threading.Thread(target=_warm, name="anomaly-studio-warm-up", daemon=True).start()


def _warm() -> None:
    from core import warmup

    warmup.warm_data()
    load()
    warmup.warm_training()


def warm_umap() -> None:
    """Once per server, once a model exists (so it never slows a first training: numba's compile holds the GIL
    much of its half minute), compile UMAP for the Latent map in a background thread at the lowest priority."""
    if os.environ.get(WARM_UP_ENV, "1") in ("0", "engine") or not _compiling_umap.acquire(blocking=False):
        return
    threading.Thread(target=_warm_umap, name="anomaly-studio-warm-up-umap", daemon=True).start()


def _warm_umap() -> None:
    from core import warmup

    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)  # on Linux: this thread only
    warmup.warm_umap()
    umap_ready.set()
