"""Fixtures for every test: the shared real datasets, and runs kept out of the repository."""

import os
from pathlib import Path

import pytest

# Set before any test module imports TensorFlow, which reads it once at import.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Servers and pages under test warm TensorFlow up but skip compiling UMAP (half a minute of CPU in the background).
os.environ.setdefault("ANOMALY_STUDIO_WARM_UP", "engine")

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The real MNIST, Fashion-MNIST and ECG5000 files in <repo>/../shared/datasets.

    Tests that need them are skipped where the folder is absent, but fail in CI (CI=true), which must run them.
    """
    if not SHARED_DATASETS.is_dir():
        message = f"../shared/datasets is absent: the real-data tests need {SHARED_DATASETS}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI must run them)")
        pytest.skip(message)
    return SHARED_DATASETS


@pytest.fixture(autouse=True)
def runs_in_a_temporary_folder(tmp_path_factory, monkeypatch):
    """Saved runs go to a fresh temporary folder, never into the repository."""
    monkeypatch.setenv("ANOMALY_STUDIO_RUNS", str(tmp_path_factory.mktemp("runs")))


from browser_support import app_url, browser, data_dir, new_page, runs_dir  # noqa: E402, F401  (browser fixtures)
