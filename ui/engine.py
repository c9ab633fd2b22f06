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

WARM_UP_ENV = "ANOMALY_STUDIO_WARM_UP"  # "0" keeps the engine unloaded until a page needs it
_warming = threading.Lock()


def load() -> None:
    """Import TensorFlow, Keras and the core modules built on them (seconds, the first time only)."""
    import core.experiment
    import core.jobs
    import core.runs  # noqa: F401

    gc.freeze()


def warm_up() -> None:
    """Load the engine in a background thread, once per server, so the first visit to Train finds it loaded."""
    if os.environ.get(WARM_UP_ENV, "1") == "0" or not _warming.acquire(blocking=False):
        return
    threading.Thread(target=load, name="anomaly-studio-warm-up", daemon=True).start()
