"""`python -m bench --quick` runs every benchmark, prints and writes every table, and its numbers are plausible.

The values are measurements of one-epoch models on a few hundred samples on a shared machine, so only what
must hold whatever the load is checked: every AUROC lies in [0, 1], every throughput, ratio, time and memory
figure is positive and finite, and the autoencoder finds the ankle boot among MNIST digits (AUROC > 0.9).
"""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import default_data_dir

pytestmark = pytest.mark.slow  # trains about twenty small models and starts the dashboard: minutes

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = default_data_dir()  # --data-dir is not given: $ANOMALY_STUDIO_DATA, else ../shared/datasets
TABLES = {
    "quality.md": ["### Quality: presets beside their published numbers"],
    "one_class.md": ["### One-class AUROC, MNIST", "### One-class AUROC, Fashion-MNIST"],
    "speed.md": ["### Speed and memory"],
    "timeseries.md": ["### Time series: NAB, point and event level"],
    "scale.md": ["### Data larger than memory: streamed image folders"],
    "tables.md": ["### Tables: autoencoder defaults against classical detectors (AUROC, seconds)"],
}
TABLE_DETECTORS = ("AE", "PCA", "IForest", "kNN", "ECOD")
QUALITY_AUROCS = ("AUROC AE", "AUROC PCA", "AUROC IForest", "AUROC kNN", "AUROC ECOD")
DIGITS_ROW = "Ankle boot among"  # bench.quality.shoe_row: preset shoe_among_digits, one boot among MNIST test digits
SPEED_FIGURES = ("Anomaly Studio (core)", "bare Keras / NumPy", "ratio core ÷ bare")
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|nan|inf", re.IGNORECASE)


def parse_tables(markdown: str) -> dict[str, list[dict[str, str]]]:
    """Every `### title` table in bench.common.Table's markdown: {title: [{column: cell}, ...]}."""
    tables = {}
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("### "):
            continue
        header = lines[i + 2]  # a blank line, then the header row, then | --- |
        assert lines[i + 3].startswith("| --- |"), f"no table under {line!r}"
        columns = cells(header)
        rows = []
        for row in lines[i + 4 :]:
            if not row.startswith("|"):
                break
            values = cells(row)
            assert len(values) == len(columns), f"{line}: {row!r} has {len(values)} cells for {len(columns)} columns"
            rows.append(dict(zip(columns, values, strict=True)))
        assert rows, f"{line}: the table has no rows"
        tables[line[4:]] = rows
    return tables


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def first_number(cell: str) -> float:
    """The first number in a cell such as `0.812 (rank 3)`, `**0.951**`, `1,234`, `12.3 ms` or `1,024 MiB`."""
    match = NUMBER.search(cell.replace("*", ""))
    assert match, f"no number in the cell {cell!r}"
    return float(match.group().replace(",", ""))


def assert_auroc(cell: str, where: str) -> float:
    value = first_number(cell)
    assert 0.0 <= value <= 1.0, f"{where}: AUROC {cell!r} is outside [0, 1]"
    return value


def assert_positive(cell: str, where: str, allow_zero: bool = False) -> None:
    value = first_number(cell)
    positive = value >= 0 if allow_zero else value > 0
    assert math.isfinite(value) and positive, f"{where}: {cell!r} is not positive and finite"


def check_quality(rows: list[dict[str, str]]) -> None:
    for row in rows:
        where = f"quality row {row['experiment']!r}"
        for column in QUALITY_AUROCS:
            assert_auroc(row[column], f"{where}, {column}")
        assert_positive(row["train s"], f"{where}, train s", allow_zero=True)  # whole seconds: a tiny run shows 0
    [digits] = [row for row in rows if row["experiment"].startswith(DIGITS_ROW)]
    ae = assert_auroc(digits["AUROC AE"], "digits row")
    assert ae > 0.9, f"the autoencoder misses the ankle boot among the digits: {digits}"
    rank, ratio = re.fullmatch(r"rank (\d+); (\S+)× the highest other error", digits["this run"]).groups()
    assert int(rank) >= 1 and math.isfinite(float(ratio)) and float(ratio) > 0, f"digits row: {digits['this run']!r}"


def check_one_class(title: str, rows: list[dict[str, str]]) -> None:
    [label_column, *figure_columns] = list(rows[0])
    for row in rows:
        where = f"{title}, row {row[label_column]!r}"
        if row[label_column].startswith("train s"):
            for column in figure_columns:
                if row[column]:
                    assert_positive(row[column], f"{where}, {column}", allow_zero=True)  # whole seconds
            continue
        for column in figure_columns:
            assert_auroc(row[column], f"{where}, {column}")
    assert any(row[label_column] == "**mean**" for row in rows)


def check_speed(rows: list[dict[str, str]]) -> None:
    for row in rows:
        where = f"speed row {row['measurement']!r}"
        for column in SPEED_FIGURES:
            cell = row[column]
            if cell and not cell.startswith("skipped"):  # the home page paint is skipped without a browser
                assert_positive(cell, f"{where}, {column}")
        if row["met"]:
            assert row["met"] in ("yes", "**no**"), f"{where}: met is {row['met']!r}"
    assert any(row["ratio core ÷ bare"] for row in rows), "the speed table has no core ÷ bare ratio"


def check_tables(rows: list[dict[str, str]]) -> None:
    """Each shared table found its label column (some anomalies) and every detector's AUROC and time are there."""
    for row in rows:
        where = f"tables row {row['table']!r}"
        for column in TABLE_DETECTORS:
            assert_auroc(row[column], f"{where}, {column}")
        if row["table"] != "**mean**":
            assert_positive(row["anomalies"], f"{where}, anomalies")
            for column in TABLE_DETECTORS:
                seconds = re.search(r"\(([\d.]+) s\)", row[column])
                assert seconds, f"{where}, {column}: no time in {row[column]!r}"
    assert [row["table"] for row in rows][-1] == "**mean**"


def test_quick_benchmark_prints_and_writes_every_table_with_plausible_numbers(tmp_path):
    if not DATA_DIR.is_dir() and os.environ.get("CI") != "true":
        pytest.skip(f"the benchmark datasets are not at {DATA_DIR}; set ANOMALY_STUDIO_DATA to run the benchmarks")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--data-dir", str(DATA_DIR), "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    tables = {}
    for file_name, headers in TABLES.items():
        written = (tmp_path / file_name).read_text(encoding="utf-8")
        assert "| --- |" in written
        for header in headers:
            assert header in done.stdout and header in written
        tables.update(parse_tables(written))
    check_quality(tables["Quality: presets beside their published numbers"])
    one_class = [title for title in tables if title.startswith("One-class AUROC")]
    assert len(one_class) == 2
    for title in one_class:
        check_one_class(title, tables[title])
    check_speed(tables["Speed and memory"])
    check_tables(tables["Tables: autoencoder defaults against classical detectors (AUROC, seconds)"])
