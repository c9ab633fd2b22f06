"""The Latent map page's cache: the codes once per model, each projection once per model and method.

Kept in the session (key "latent_map"), like ui.analysis's score summary: a threshold move, another colouring
or a selection reruns the page without encoding or projecting again; a new model (trained or opened) replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from core import latent
from ui import caching

LATENT = "latent_map"


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
        with st.spinner(f"Placing the codes with {latent.METHODS[method]}…"):
            cache.projections[method] = latent.project(
                cache.codes.codes, method, result.config.seed, scores=cache.codes.scores
            )
    return cache.projections[method]


def selected_points(selection) -> np.ndarray:
    """Positions in the LatentCodes of the points a box or lasso selection holds, ascending: the customdata
    core.latent_figures gives each point. selection: the chart event's `selection` ({"points": [...]})."""
    points = (selection or {}).get("points", [])
    return np.unique([int(point["customdata"]) for point in points if "customdata" in point]).astype(np.int64)
