"""Tables: the autoencoder with its defaults beside PCA, Isolation Forest, kNN and ECOD on real tabular benchmarks.

Each of the shared ODDS tables (../shared/datasets/tables/, a header of column names and a 0/1 label column under
a name a user might give it) runs as a user would run it: only `data.dataset` and `protocol: transductive` set,
so the file's label column is found by its name and the detector trains on every row, anomalies included, and
scores them. The classical detectors are the product's own (core.baselines), fitted on the same rows as the
autoencoder sees them (each column scaled by the detector's ColumnScaler). Each AUROC comes with its time in
seconds (the autoencoder's: training and scoring).
"""

from __future__ import annotations

from collections.abc import Iterator

from bench.common import Settings, Table, fmt, progress
from core.config import ExperimentConfig
from core.experiment import run_experiment

TABLES = ("cardio", "satimage2", "pendigits", "annthyroid", "vowels")
DETECTORS = ("pca", "iforest", "knn", "ecod")
COLUMNS = ["table", "rows × columns", "anomalies", "AE", "PCA", "IForest", "kNN", "ECOD"]


def config_for(path: str, settings: Settings) -> ExperimentConfig:
    """The defaults, with only the dataset and the unsupervised protocol set (and, quick, fewer rows and epochs)."""
    data = {"dataset": path, "protocol": "transductive", "limit": settings.limit}
    raw = {"data": data, "seed": settings.seed}
    if settings.quick:
        raw["train"] = {"epochs": 1}
    return ExperimentConfig.from_dict(raw)


def cell(auroc: float | None, seconds: float, best: bool) -> str:
    text = f"{fmt(auroc)} ({seconds:.1f} s)"
    return f"**{text}**" if best else text


def tables(settings: Settings) -> Iterator[Table]:
    table = Table("Tables: autoencoder defaults against classical detectors (AUROC, seconds)", COLUMNS)
    aurocs: dict[str, list[float]] = {name: [] for name in ("ae", *DETECTORS)}
    for name in TABLES:
        path = settings.data_dir / "tables" / f"{name}.csv"
        progress(f"tables: {name}")
        result = run_experiment(config_for(str(path), settings))
        m, data = result.metrics, result.data
        found = {"ae": (m["auroc"], m["train_seconds"] + m["score_seconds"])}
        found |= {key: (m["baselines"][key]["auroc"], m["baselines"][key]["seconds"]) for key in DETECTORS}
        top = max(auroc or 0.0 for auroc, _ in found.values())
        for key, (auroc, _) in found.items():
            aurocs[key].append(float("nan") if auroc is None else auroc)
        table.rows.append(
            [
                name,
                f"{len(data.x_score):,} × {len(data.feature_names)}",
                "none" if data.labels is None else f"{int(data.labels.sum()):,}",
                *(cell(auroc, seconds, auroc == top) for auroc, seconds in found.values()),
            ]
        )
    means = {key: sum(values) / len(values) for key, values in aurocs.items()}
    table.rows.append(["**mean**", "", "", *(fmt(means[key]) for key in ("ae", *DETECTORS))])
    wins = sum(ae > forest for ae, forest in zip(aurocs["ae"], aurocs["iforest"], strict=True))
    table.notes.append(
        f"The autoencoder beats Isolation Forest on {wins} of {len(TABLES)} tables; mean AUROC {means['ae']:.3f} "
        f"against {means['iforest']:.3f}. Bold: the best on that table."
    )
    if settings.quick:
        table.notes.append(f"Quick: at most {settings.limit} rows per table and 1 epoch; not a quality measurement.")
    yield table
