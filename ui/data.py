"""Experiment data behind Streamlit's resource cache, and uploads saved under a content-hash name.

(`core.data.load_dataset` caches the raw datasets itself.) The cached arrays depend only on the
data config, seed and data folder and are never modified, so sessions can share them; `max_entries`
keeps at most two MNIST-sized copies in memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import streamlit as st

from core.config import DataConfig, ExperimentConfig
from core.data import ExperimentData, build_experiment_data
from ui import state


def _data_config_key(data_config: DataConfig) -> str:
    return json.dumps(dataclasses.asdict(data_config), sort_keys=True)


@st.cache_resource(
    max_entries=2, show_spinner="Building the experiment data…", hash_funcs={DataConfig: _data_config_key}
)
def _experiment_data(data_config: DataConfig, seed: int, data_dir: str | None) -> ExperimentData:
    return build_experiment_data(data_config, seed, data_dir)


def experiment_data(config: ExperimentConfig) -> ExperimentData:
    """The train and scored samples that `config.data` describes; raises StudioError when they cannot be built."""
    return _experiment_data(config.data, config.seed, state.data_dir())


def uploads_dir() -> Path:
    """Uploaded files live next to the saved runs, in `uploads/`."""
    from core.runs import runs_root  # imports TensorFlow; only needed once a file is uploaded

    return runs_root().resolve().parent / "uploads"


def save_upload(name: str, content: bytes) -> Path:
    """Store an uploaded file under a name derived from its content, so the same upload maps to the same file."""
    path = Path(name)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem)[:40] or "upload"
    digest = hashlib.sha256(content).hexdigest()[:16]
    target = uploads_dir() / f"{stem}-{digest}{path.suffix.lower()}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(content)
        partial.replace(target)
    return target
