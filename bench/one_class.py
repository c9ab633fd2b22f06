"""One-class protocol on MNIST and Fashion-MNIST: each class in turn is normal.

Inductive: train on that class's official training images (no anomalies), score the whole official test
set, anomalies = the other nine classes; AUROC per class and the mean, beside PCA and Isolation Forest.
One config for both datasets: presets/fashion_one_class.json (its normal class is replaced by each class in
turn), beside a reference model; a further column scores the preset's model by its reconstruction error alone,
without the code density, to show what the density adds.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from bench.common import PCA_VARIANCE, PRESETS, Settings, Table, auroc, classical_baselines, fmt, progress
from core.config import ExperimentConfig
from core.data import ExperimentData, build_experiment_data, load_dataset
from core.experiment import run_experiment
from core.models import auto_sizes
from core.scoring import reconstruction_errors
from core.tabular import density_components

CLASSES = tuple(range(10))
QUICK_CLASSES = (0, 1)
BUDGET_SECONDS = 120  # training time allowed per class on this 2-core machine


@dataclass(frozen=True)
class Variant:
    """An autoencoder setup the dashboard can produce: the model, train and score sections of a config."""

    label: str
    model: dict
    train: dict
    score: dict


REFERENCE = Variant(
    "dense 784-256-128-32, BCE loss, MSE score, batch 64",
    {"kind": "dense", "latent_dim": 32, "hidden": [256, 128]},
    {"loss": "bce", "epochs": 15, "batch_size": 64},
    {"error": "mse"},
)
PRESET_NAME = "fashion_one_class"


def preset_variant(name: str = PRESET_NAME) -> Variant:
    """The model, train and score sections of a preset, as a variant."""
    config = ExperimentConfig.load(PRESETS / f"{name}.json")
    model, train, score = (dataclasses.asdict(section) for section in (config.model, config.train, config.score))
    sized = auto_sizes(config.model, (784,))
    hidden = "-".join(map(str, [784, *sized.hidden, sized.latent_dim]))
    components = density_components(score["density_components"], table=False)
    density = f" + {components}-Gaussian code density" if components else ""
    return Variant(
        f"preset {name}: dense {hidden}, {train['loss'].upper()} loss, {score['error'].upper()} score{density}, "
        f"batch {train['batch_size']}",
        model,
        train,
        score,
    )


@dataclass(frozen=True)
class Benchmark:
    dataset: str
    title: str
    published: str
    target: float
    variants: tuple[Variant, ...]


BENCHMARKS = (
    Benchmark("mnist", "MNIST", "conv AE ≈ 0.90, Deep SVDD 0.948, GEOM 0.98", 0.985, (REFERENCE, preset_variant())),
    Benchmark(
        "fashion_mnist",
        "Fashion-MNIST",
        "Deep SAD (no labels) 0.892, GEOM 0.935; kNN on raw pixels 0.923",
        0.94,
        (REFERENCE, preset_variant()),
    ),
)


def one_class_config(dataset: str, normal: int, variant: Variant, settings: Settings) -> ExperimentConfig:
    train = variant.train | {"epochs": settings.epochs(variant.train["epochs"])}
    return ExperimentConfig.from_dict(
        {
            "name": f"{dataset}-one-class-{normal}",
            "seed": settings.seed,
            "data": {
                "dataset": dataset,
                "normal_classes": [normal],
                "anomaly_classes": [c for c in CLASSES if c != normal],
                "contamination": 0.0,
                "protocol": "inductive",
                "limit": settings.limit,
            },
            "model": variant.model,
            "train": train,
            "score": variant.score,
        }
    )


@dataclass
class ClassResult:
    aurocs: list[float]  # one per variant, the last variant's error alone, then PCA, then Isolation Forest
    seconds: list[float]  # training seconds, one per variant


def run_class(benchmark: Benchmark, normal: int, settings: Settings) -> ClassResult:
    progress(f"one_class: {benchmark.dataset} class {normal}")
    configs = [one_class_config(benchmark.dataset, normal, v, settings) for v in benchmark.variants]
    data: ExperimentData = build_experiment_data(configs[0].data, settings.seed, str(settings.data_dir))
    results = [run_experiment(config, str(settings.data_dir), data=data) for config in configs]
    error_alone = reconstruction_errors(results[-1].model, data.x_score, configs[-1].score.error)
    baselines = classical_baselines(data.x_train, data.x_score, settings.seed)
    aurocs = [r.metrics["auroc"] for r in results] + [
        auroc(data.labels, error_alone),
        auroc(data.labels, baselines.pca),
        auroc(data.labels, baselines.isolation_forest),
    ]
    return ClassResult(aurocs, [r.history.seconds for r in results])


def class_label(normal: int, class_names: dict) -> str:
    name = class_names.get(normal, str(normal))
    return str(normal) if name == str(normal) else f"{normal} {name}"


def target_note(benchmark: Benchmark, variant_means: np.ndarray, variant_seconds: list[float]) -> str:
    best = int(np.argmax(variant_means))
    met = variant_means[best] >= benchmark.target and variant_seconds[best] <= BUDGET_SECONDS
    return (
        f"Published means: {benchmark.published}. Target: mean ≥ {benchmark.target} with at most {BUDGET_SECONDS} s "
        f"of training per class; best autoencoder: {fmt(variant_means[best])} in {variant_seconds[best]:.0f} s per class, "
        f"target {'met' if met else 'missed'}."
    )


def one_class_table(benchmark: Benchmark, settings: Settings, class_names: dict) -> Table:
    classes = QUICK_CLASSES if settings.quick else CLASSES
    results = [run_class(benchmark, c, settings) for c in classes]
    n_variants = len(benchmark.variants)
    means = np.mean([r.aurocs for r in results], axis=0)
    seconds = [statistics.median(r.seconds[i] for r in results) for i in range(n_variants)]
    columns = [
        "normal class",
        *(f"AE: {v.label}, {settings.epochs(v.train['epochs'])} ep" for v in benchmark.variants),
        f"… that model, {benchmark.variants[-1].score['error'].upper()} alone (no code density)",
        f"PCA ({PCA_VARIANCE:.0%} var.)",
        "IForest",
    ]
    rows = [[class_label(c, class_names), *map(fmt, r.aurocs)] for c, r in zip(classes, results, strict=True)]
    rows.append(["**mean**", *(f"**{fmt(m)}**" for m in means)])
    rows.append(["train s per class (median)", *(f"{s:.0f}" for s in seconds), "", "", ""])
    return Table(
        f"One-class AUROC, {benchmark.title} ({len(classes)} classes)",
        columns,
        rows,
        notes=[
            target_note(benchmark, means[:n_variants], seconds),
            "Train on the normal class's official training images (the Train page's validation split of 20% held out); "
            f"score {'a few hundred (--quick)' if settings.quick else 'all 10,000'} official test images; "
            "anomalies = the other nine classes. PCA and IForest fit on the same training images.",
        ],
    )


def tables(settings: Settings) -> Iterator[Table]:
    for benchmark in BENCHMARKS:
        names = load_dataset(benchmark.dataset, str(settings.data_dir)).class_names
        yield one_class_table(benchmark, settings, names)
