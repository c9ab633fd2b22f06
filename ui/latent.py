"""The Latent map page's cache: the codes once per model, each projection once per model and method.

Kept in the session (key "latent_map"), like ui.analysis's score summary: a threshold move, another colouring
or a selection reruns the page without encoding or projecting again; a new model (trained or opened) replaces it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

from core import latent
from ui import caching

LATENT = "latent_map"
PROGRESS_SECONDS = 0.5  # how often the status line of a projection in progress is redrawn


@dataclass
class LatentCache:
    codes: latent.LatentCodes
    projections: dict[str, latent.Projection] = field(default_factory=dict)


def _cache(result) -> LatentCache:
    return caching.per_result(LATENT, result, lambda: _encode(result))


def _encode(result) -> LatentCache:
    data = result.data
    with st.spinner("Encoding the scored samples…"):
        codes = latent.latent_codes(result.detector, data.x_score, result.scores, data.labels)
    return LatentCache(codes)


def codes(result) -> latent.LatentCodes:
    """The codes of `result`'s scored samples (or windows), encoded once per model."""
    return _cache(result).codes


def projection(result, method: str) -> latent.Projection:
    """The codes of `result` in 2-D by `method` (core.latent.project, seeded with the config's seed), once each."""
    cache = _cache(result)
    if method not in cache.projections:
        cache.projections[method] = _project_with_progress(cache.codes, method, result.config.seed)
    return cache.projections[method]


def _project_with_progress(codes: latent.LatentCodes, method: str, seed: int) -> latent.Projection:
    """latent.project in a thread, while a status line counts the seconds and, for UMAP, says whether its code is
    still compiling (once per server: ui.engine starts that when the server does)."""
    from ui import engine

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["projection"] = latent.project(codes.codes, method, seed, scores=codes.scores)
        except Exception as exc:  # raised again in the page's thread, where Streamlit shows it
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=f"latent-{method}", daemon=True)
    started = time.monotonic()
    worker.start()
    name, cap = latent.METHODS[method], latent.CAPS[method]
    points = min(len(codes), cap) if cap else len(codes)
    with st.status(f"Placing {points:,} codes with {name}…") as status:
        while worker.is_alive():
            worker.join(PROGRESS_SECONDS)
            compiling = method == "umap" and not engine.umap_ready.is_set()
            note = " UMAP's code is still compiling (once per server, started when it did)." if compiling else ""
            status.update(label=f"Placing {points:,} codes with {name}… {time.monotonic() - started:.0f} s.{note}")
        status.update(label=f"Placed with {name} in {time.monotonic() - started:.1f} s", state="complete")
    if "error" in outcome:
        raise outcome["error"]
    if method == "umap":
        engine.umap_ready.set()
    return outcome["projection"]


def selected_points(selection) -> np.ndarray:
    """Positions in the LatentCodes of the points a box or lasso selection holds, ascending: the customdata
    core.latent_figures gives each point. selection: the chart event's `selection` ({"points": [...]})."""
    points = (selection or {}).get("points", [])
    return np.unique([int(point["customdata"]) for point in points if "customdata" in point]).astype(np.int64)
