"""`python -m bench --quick` runs every benchmark end to end and prints and writes every table.

Values are not checked: they are measurements on a shared machine. A benchmark that breaks fails this test.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import default_data_dir

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = default_data_dir()  # --data-dir is not given: $ANOMALY_STUDIO_DATA, else ../shared/datasets
TABLES = {
    "quality.md": ["### Quality: presets beside their published numbers"],
    "one_class.md": ["### One-class AUROC, MNIST", "### One-class AUROC, Fashion-MNIST"],
    "speed.md": ["### Speed and memory"],
    "timeseries.md": ["### Time series: NAB, point and event level"],
}


def test_quick_benchmark_prints_and_writes_every_table(tmp_path):
    if not DATA_DIR.is_dir() and os.environ.get("CI") != "true":
        pytest.skip(f"the benchmark datasets are not at {DATA_DIR}; set ANOMALY_STUDIO_DATA to run the benchmarks")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--data-dir", str(DATA_DIR), "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    for file_name, headers in TABLES.items():
        written = (tmp_path / file_name).read_text(encoding="utf-8")
        assert "| --- |" in written
        for header in headers:
            assert header in done.stdout and header in written
