"""Quality: the four presets, run as the CLI runs them, beside their tutorials' published numbers.

Every row also gives the AUROC of the classical baselines the product runs on the same training and scored
samples (core.baselines: PCA reconstruction error, Isolation Forest, kNN distance, ECOD), from the first
preset run on each data set.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import keras
import numpy as np
from keras import layers

from bench.common import (
    PCA_VARIANCE,
    PRESETS,
    Settings,
    Table,
    auroc,
    fmt,
    percent,
    progress,
    with_fields,
    with_sections,
)
from bench.one_class import QUICK_CLASSES, REFERENCE, one_class_config
from core import losses
from core.config import ExperimentConfig, fit_to_kind
from core.data import INJECTED, ExperimentData, build_experiment_data
from core.experiment import ExperimentResult, run_experiment
from core.models import auto_sizes
from core.scoring import reconstruction_errors
from core.tabular import density_components

BASELINES = ("pca", "iforest", "knn", "ecod")
COLUMNS = [
    "experiment",
    "setup",
    "published",
    "this run",
    "AUROC AE",
    "AUROC PCA",
    "AUROC IForest",
    "AUROC kNN",
    "AUROC ECOD",
    "train s",
]
FASHION_TARGET = 0.98
ECG_CONV1D = {"kind": "conv1d", "filters": [16, 32], "latent_dim": 8, "kernel_size": 7}
# The fashion_vs_mnist_ssim preset without SSIM: what the SSIM half of its ssim_mse loss and score adds.
FASHION_WITHOUT_SSIM = {"train": {"loss": "mse"}, "score": {"error": "mse"}}


def load_preset(name: str, settings: Settings) -> ExperimentConfig:
    """A preset as saved, or shrunk to a few hundred samples and one epoch for --quick."""
    config = ExperimentConfig.load(PRESETS / f"{name}.json")
    if not settings.quick:
        return config
    return config.replace(
        data=with_fields(config.data, limit=settings.limit), train=with_fields(config.train, epochs=1)
    )


def run_preset(
    config: ExperimentConfig, settings: Settings, data: ExperimentData, baselines: bool = False
) -> ExperimentResult:
    """Run a preset as the CLI does; with `baselines` the classical ones too (once per data set is enough)."""
    progress(f"quality: training {config.name} ({describe_model(config, data)}) on {len(data.x_train):,} samples")
    config = with_sections(config, {"score": {"baselines": list(BASELINES) if baselines else []}})
    return run_experiment(config, str(settings.data_dir), data=data)


def data_for(config: ExperimentConfig, settings: Settings) -> ExperimentData:
    return build_experiment_data(config.data, config.seed, str(settings.data_dir))


def baseline_cells(result: ExperimentResult) -> list[str]:
    """The AUROC of each classical baseline the product ran beside `result`'s autoencoder."""
    found = result.baselines.wait()
    return [fmt(found[name].auroc) for name in BASELINES]


def describe_model(config: ExperimentConfig, data: ExperimentData) -> str:
    model, train = auto_sizes(config.model, data.sample_shape), config.train
    if model.kind == "dense":
        shape = "dense " + "-".join(map(str, [math.prod(data.sample_shape), *model.hidden, model.latent_dim]))
    else:
        shape = f"{model.kind} filters {model.filters} k{model.kernel_size} latent {model.latent_dim}"
    score = "" if config.score.error == train.loss else f", score {config.score.error.upper()}"
    components = density_components(config.score.density_components, data.is_table)
    if components:
        score += f" + {components}-Gaussian code density"
    noise = f", input noise {train.noise:g}" if train.noise else ""
    return f"{shape}, {train.loss.upper()}{score}{noise}, {train.epochs} ep, batch {train.batch_size}"


# ---------------------------------------------------------------- shoe among digits


def rank_and_ratio(scores: np.ndarray, target: np.ndarray) -> tuple[int, float]:
    """Rank of the one target sample by error (1 = highest) and its error over the highest other error."""
    [index] = np.flatnonzero(target)
    others = np.delete(scores, index)
    return int((others >= scores[index]).sum()) + 1, float(scores[index] / others.max())


def shoe_row(settings: Settings) -> list[str]:
    config = load_preset("shoe_among_digits", settings)
    data = data_for(config, settings)
    result = run_preset(config, settings, data, baselines=True)
    shoe = data.roles == INJECTED
    rank, ratio = rank_and_ratio(result.scores, shoe)
    cells = baseline_cells(result)
    found = result.baselines.results
    ranked = [
        f"{cell} (rank {rank_and_ratio(found[name].scores, shoe)[0]})"
        for name, cell in zip(BASELINES, cells, strict=True)
    ]
    return [
        f"Ankle boot among {len(data.x_score):,} MNIST test digits",
        describe_model(config, data),
        "rank 1; 2.39× the next highest error",
        f"rank {rank}; {ratio:.2f}× the highest other error",
        fmt(result.metrics["auroc"], 4),
        *ranked,
        f"{result.history.seconds:.0f}",
    ]


# ---------------------------------------------------------------- MNIST ones with a few threes


def ones_threes_row(settings: Settings) -> list[str]:
    config = load_preset("mnist_ones_threes", settings)
    data = data_for(config, settings)
    result = run_preset(config, settings, data, baselines=True)
    m = result.metrics
    cells = baseline_cells(result)
    return [
        f"MNIST 1s + 1% 3s ({m['n_anomalies']} of {m['n_scored']:,}), q = {config.threshold.q}",
        describe_model(config, data),
        "7 flagged, 5 true anomalies",
        f"{m['n_flagged']} flagged, {m['true_positives']} true, precision {fmt(m['precision'], 2)}",
        fmt(m["auroc"]),
        *cells,
        f"{result.history.seconds:.0f}",
    ]


# ---------------------------------------------------------------- ECG5000


ECG_PUBLISHED = (
    "normals 95.2%, anomalies 98.6% (TF tutorial); acc 0.970, F1 0.964 (alibi-detect seq2seq); AUROC 0.997 (VELC)"
)


def stopped_note(result: ExperimentResult) -> str:
    history = result.history
    return (
        ""
        if history.stopped == "completed"
        else f" ({history.stopped.replace('_', ' ')} after {history.epochs_run} ep)"
    )


def ecg_rows(settings: Settings) -> list[list[str]]:
    dense = load_preset("ecg5000", settings)
    conv1d = with_sections(dense, {"model": ECG_CONV1D})
    data = data_for(dense, settings)
    rows, cells = [], None
    for config, published in ((dense, ECG_PUBLISHED), (conv1d, "as above")):
        result = run_preset(config, settings, data, baselines=cells is None)
        cells = cells or baseline_cells(result)
        m = result.metrics
        rows.append(
            [
                f"ECG5000 hold-out ({m['n_scored']:,} beats), train on normals, mean + {config.threshold.k:g}σ",
                describe_model(config, data) + stopped_note(result),
                published,
                f"normals {percent(m['accuracy_normal'])}, anomalies {percent(m['accuracy_anomaly'])}, "
                f"acc {fmt(m['accuracy'])}, F1 {fmt(m['f1'])}",
                fmt(m["auroc"]),
                *cells,
                f"{result.history.seconds:.0f}",
            ]
        )
    return rows


# ---------------------------------------------------------------- Fashion-MNIST vs MNIST


def tutorial_network(sample_shape: tuple) -> keras.Model:
    """The tutorial's network as published: two stride-2 convs and a 7×7×64 code, larger than the 28×28 input."""
    inputs = keras.Input(sample_shape)
    x = layers.Conv2D(32, 3, strides=2, activation="relu", padding="same")(inputs)
    x = layers.Conv2D(64, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(64, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, strides=2, activation="relu", padding="same")(x)
    outputs = layers.Conv2D(sample_shape[-1], 3, activation="sigmoid", padding="same")(x)
    return keras.Model(inputs, outputs, name="tutorial_autoencoder")


def tutorial_row(config: ExperimentConfig, data: ExperimentData, cells: list[str]) -> list[str]:
    """Train the tutorial's network with plain Keras on the preset's data; AUROC by SSIM and by MSE."""
    progress(f"quality: training the tutorial's network on {len(data.x_train):,} samples")
    keras.utils.set_random_seed(config.seed)
    model = tutorial_network(data.sample_shape)
    model.compile(optimizer=keras.optimizers.Adam(config.train.learning_rate), loss=losses.per_sample("ssim"))
    started = time.perf_counter()
    model.fit(
        data.x_train,
        data.x_train,
        epochs=config.train.epochs,
        batch_size=config.train.batch_size,
        shuffle=True,
        verbose=0,
    )
    train_seconds = time.perf_counter() - started
    by_ssim = auroc(data.labels, reconstruction_errors(model, data.x_score, "ssim"))
    by_mse = auroc(data.labels, reconstruction_errors(model, data.x_score, "mse"))
    return [
        "Fashion-MNIST test + MNIST digits: tutorial's network (no bottleneck)",
        f"conv 32→64 stride 2, 7×7×64 code (3,136 > 784), SSIM, {config.train.epochs} ep, batch {config.train.batch_size}",
        "AUROC 0.18 (SSIM), 0.44 (MSE)",
        f"AUROC {fmt(by_ssim)} (SSIM), {fmt(by_mse)} (MSE)",
        fmt(by_ssim),
        *cells,
        f"{train_seconds:.0f}",
    ]


def fashion_row(
    title: str, config: ExperimentConfig, settings: Settings, data: ExperimentData, cells: list[str] | None
) -> list[str]:
    """A preset row; `cells` None: the baselines run with it and fill its cells."""
    result = run_preset(config, settings, data, baselines=cells is None)
    cells = cells or baseline_cells(result)
    met = "met" if result.metrics["auroc"] >= FASHION_TARGET else "missed"
    this_run = f"AUROC {fmt(result.metrics['auroc'])} ({config.score.error.upper()}, target {met})"
    for error in ("ssim", "mse"):
        if error == config.score.error:
            continue
        this_run += (
            f", {fmt(auroc(data.labels, reconstruction_errors(result.model, data.x_score, error)))} ({error.upper()})"
        )
    return [
        title,
        describe_model(config, data),
        f"target AUROC ≥ {FASHION_TARGET}",
        this_run,
        fmt(result.metrics["auroc"]),
        *cells,
        f"{result.history.seconds:.0f}",
    ]


def fashion_rows(settings: Settings) -> list[list[str]]:
    preset = load_preset("fashion_vs_mnist_ssim", settings)
    data = data_for(preset, settings)
    n_digits = int((data.roles == INJECTED).sum())
    preset_row = fashion_row(
        f"… preset fashion_vs_mnist_ssim ({len(data.x_score) - n_digits:,} Fashion + {n_digits:,} digits)",
        preset,
        settings,
        data,
        None,
    )
    cells = preset_row[5:-1]
    return [
        tutorial_row(preset, data, cells),
        preset_row,
        fashion_row(
            "… that preset without SSIM: MSE loss and score",
            with_sections(preset, FASHION_WITHOUT_SSIM),
            settings,
            data,
            cells,
        ),
    ]


# ---------------------------------------------------------------- the Train page's defaults


# Normal classes of the one-class rows: three of ten, to keep the table within minutes.
DEFAULTS_CLASSES = (0, 4, 8)


def defaults_config(config: ExperimentConfig, kind: str, settings: Settings) -> ExperimentConfig:
    """`config` with the model, train and score sections a new user starts from (ExperimentConfig's defaults),
    fitted to data of `kind` as the dashboard fits them (e.g. conv becomes conv1d for series)."""
    base = ExperimentConfig()
    sections = {name: getattr(base, name) for name in ("model", "train", "score")}
    sections = {name: with_fields(section, **fit_to_kind(section, kind, name)) for name, section in sections.items()}
    sections["train"] = with_fields(sections["train"], epochs=settings.epochs(sections["train"].epochs))
    return config.replace(**sections)


def defaults_row(title: str, configs: list[ExperimentConfig], settings: Settings) -> list[str]:
    """AUROC (the mean over `configs`, one run each) of the default sections on each config's data."""
    aurocs, seconds = [], []
    for config in configs:
        data = data_for(config, settings)
        result = run_preset(defaults_config(config, data.kind, settings), settings, data)
        aurocs.append(result.metrics["auroc"])
        seconds.append(result.history.seconds)
    return [
        title,
        describe_model(defaults_config(configs[0], data.kind, settings), data),
        fmt(float(np.mean(aurocs))),
        f"{float(np.median(seconds)):.0f}",
    ]


def defaults_table(settings: Settings) -> Table:
    classes = QUICK_CLASSES if settings.quick else DEFAULTS_CLASSES
    rows = [
        defaults_row(
            "digits 5–9 among 0–4 (data of preset digits_quick)", [load_preset("digits_quick", settings)], settings
        ),
        defaults_row("ECG5000 hold-out (data of preset ecg5000)", [load_preset("ecg5000", settings)], settings),
    ]
    for dataset, title in (("mnist", "MNIST"), ("fashion_mnist", "Fashion-MNIST")):
        configs = [one_class_config(dataset, c, REFERENCE, settings) for c in classes]
        rows.append(
            defaults_row(
                f"{title} one-class, mean over normal classes {', '.join(map(str, classes))}", configs, settings
            )
        )
    return Table(
        "Defaults: what a new user's first Train click gives",
        ["seed dataset", "setup (ExperimentConfig defaults)", "AUROC", "train s (median)"],
        rows,
        notes=[
            "The model, train and score sections of `ExperimentConfig()` (the Train page's starting values), on each "
            "dataset's data as its preset or the one-class benchmark builds it; choices that do not fit series are "
            "swapped as the dashboard swaps them.",
        ],
    )


# ---------------------------------------------------------------- the table


def presets_table(settings: Settings) -> Table:
    rows = [shoe_row(settings), ones_threes_row(settings), *ecg_rows(settings), *fashion_rows(settings)]
    return Table(
        "Quality: presets beside their published numbers",
        COLUMNS,
        rows,
        notes=[
            "Each preset runs through `core.experiment.run_experiment`, as `python -m core run presets/NAME.json` does; "
            "the ECG conv1d row is the ECG preset with model "
            + ", ".join(f"{k} {v}" for k, v in ECG_CONV1D.items())
            + ".",
            f"Baselines, as the product runs them (core.baselines): PCA reconstruction error with the components "
            f"explaining {PCA_VARIANCE:.0%} of the training variance; IForest: PyOD IForest, 100 trees, seeded; "
            "kNN: mean distance to the 5 nearest training samples (PyOD KNN; at most 10,000 drawn with the seed); "
            "ECOD: PyOD ECOD. All fit on the same training samples, series scaled as the autoencoder sees them, "
            "and score the same samples; computed once per data set.",
            "The tutorial's network is built with plain Keras in bench/quality.py and trained on the preset's data.",
            "train s: wall-clock training time on this machine, shared with other jobs.",
        ],
    )


def tables(settings: Settings) -> Iterator[Table]:
    yield presets_table(settings)
    yield defaults_table(settings)
