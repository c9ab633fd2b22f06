"""Speed and memory: core's code paths against bare Keras / NumPy, measured side by side in one process.

The machine is shared, so throughputs are compared as ratios of runs done back to back (A, B, A, B, ...),
and every figure is a median over repeats.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import keras
import numpy as np

from bench.common import (
    PRESETS,
    REPO,
    Settings,
    Table,
    free_port,
    interleaved,
    median_ratio,
    progress,
    seconds,
    wait_for_url,
    with_fields,
)
from bench.flops import TRAINING_FACTOR, cpu_peak_gflops, forward_flops_per_sample, peak_note
from core import curve_figures, figures, losses
from core.config import ExperimentConfig
from core.data import load_dataset
from core.jobs import TrainingJob
from core.metrics import OperatingCurve, confusion_matrix, pr_curve, roc_curve
from core.models import build_autoencoder
from core.scoring import reconstruction_errors
from core.training import train_autoencoder

COLUMNS = [
    "measurement",
    "Anomaly Studio (core)",
    "bare Keras / NumPy",
    "ratio core ÷ bare",
    "target",
    "met",
    "core: model GFLOP/s (share of CPU peak)",
]
THROUGHPUT_PRESETS = ("shoe_among_digits", "mnist_ones_threes")
# Samples and epochs per timed training, so one run of either model takes seconds, not a fraction of one.
TRAINING_SIZES = {"shoe_among_digits": (60_000, 3), "mnist_ones_threes": (3_000, 1)}
THRESHOLD_SCORES = 70_000
BROWSER = "/usr/bin/chromium"
HOME_TITLE = "Anomaly Studio"


# The 1s-with-3s preset's model became a dense code of 8 (bench.quality); throughput keeps timing the conv
# model it had, so that one of the two models timed is convolutional.
SPEED_MODELS = {"mnist_ones_threes": {"kind": "conv", "latent_dim": 16, "filters": [32, 64], "hidden": []}}


def load_config(name: str) -> ExperimentConfig:
    config = ExperimentConfig.load(PRESETS / f"{name}.json")
    if name in SPEED_MODELS:
        config = config.replace(model=with_fields(config.model, **SPEED_MODELS[name]))
    return config


def samples(config: ExperimentConfig, settings: Settings, count: int) -> np.ndarray:
    """The first `count` training images of the preset's dataset (a tenth of that for --quick)."""
    dataset = load_dataset(config.data.dataset, str(settings.data_dir))
    return np.array(dataset.x_train[: count // 10 if settings.quick else count])


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def describe(config: ExperimentConfig) -> str:
    return f"{config.model.kind} model of preset {config.name}, batch {config.train.batch_size}"


# ---------------------------------------------------------------- training throughput


class BatchRecorder:
    """A live listener like the dashboard's: keeps every batch's progress."""

    def __init__(self):
        self.progress = []

    def on_batch(self, progress, history) -> None:
        self.progress.append(progress)

    def on_epoch(self, progress, history) -> None:
        self.progress.append(progress)


def core_training(config: ExperimentConfig, x: np.ndarray, epochs: int, **train_fields) -> Callable[[], float]:
    """Samples per second of core.training.train_autoencoder with a listener recording every batch."""
    train = with_fields(
        config.train, epochs=epochs, validation_fraction=0.0, early_stopping_patience=None, **train_fields
    )

    def run() -> float:
        model = build_autoencoder(config.model, x.shape[1:], config.seed)
        return len(x) * epochs / seconds(lambda: train_autoencoder(model, x, train, config.seed, BatchRecorder()))

    return run


def bare_training(config: ExperimentConfig, x: np.ndarray, epochs: int) -> Callable[[], float]:
    """Samples per second of a bare model.fit of the same network, seed, batch size, optimizer and loss."""

    def fit(model: keras.Model) -> None:
        keras.utils.set_random_seed(config.seed)
        model.compile(
            optimizer=keras.optimizers.Adam(config.train.learning_rate), loss=losses.per_sample(config.train.loss)
        )
        model.fit(x, x, epochs=epochs, batch_size=config.train.batch_size, shuffle=True, verbose=0)

    def run() -> float:
        model = build_autoencoder(config.model, x.shape[1:], config.seed)
        return len(x) * epochs / seconds(lambda: fit(model))

    return run


def training_row(name: str, settings: Settings) -> list[str]:
    progress(f"speed: training {name}")
    config = load_config(name)
    count, epochs = TRAINING_SIZES[name]
    x = samples(config, settings, count)
    flops = TRAINING_FACTOR * forward_flops_per_sample(build_autoencoder(config.model, x.shape[1:], config.seed))
    return paired_row(
        f"training throughput, samples/s ({describe(config)}, {len(x):,} samples × {epochs} ep)",
        core_training(config, x, epochs),
        bare_training(config, x, epochs),
        settings.repeats(5),
        target=0.95,
        flops_per_sample=flops,
    )


def flops_cell(samples_per_s: float, flops_per_sample: float | None) -> str:
    """ "12.3 (7.4 %)": model GFLOP/s at this throughput, and its share of the CPU's peak (bench.flops)."""
    if flops_per_sample is None:
        return ""
    gflops = samples_per_s * flops_per_sample / 1e9
    return f"{gflops:,.1f} ({gflops / cpu_peak_gflops():.1%})"


def paired_row(
    label: str, core_run, bare_run, repeats: int, target: float, flops_per_sample: float | None = None
) -> list[str]:
    """Warm both up (first traces and allocations), time them interleaved, and compare the rates pair by pair."""
    core_run(), bare_run()
    core_rates, bare_rates = interleaved(core_run, bare_run, repeats)
    ratio = median_ratio(core_rates, bare_rates)
    return [
        label,
        f"{statistics.median(core_rates):,.0f}",
        f"{statistics.median(bare_rates):,.0f}",
        f"{ratio:.3f}",
        f"≥ {target}",
        verdict(ratio >= target),
        flops_cell(statistics.median(core_rates), flops_per_sample),
    ]


# ---------------------------------------------------------------- scoring throughput


def scoring_row(name: str, settings: Settings) -> list[str]:
    progress(f"speed: scoring {name}")
    config = load_config(name)
    x = samples(config, settings, 10_000)
    model = build_autoencoder(config.model, x.shape[1:], config.seed)
    batch_size = config.score.batch_size
    axes = tuple(range(1, x.ndim))

    def core_run() -> float:
        return len(x) / seconds(lambda: reconstruction_errors(model, x, "mse", batch_size))

    def bare_run() -> float:
        return len(x) / seconds(
            lambda: np.mean(np.square(x - model.predict(x, batch_size=batch_size, verbose=0)), axis=axes)
        )

    return paired_row(
        f"scoring throughput (MSE), samples/s ({config.model.kind} model of preset {config.name}, {len(x):,} samples, batch {batch_size})",
        core_run,
        bare_run,
        settings.repeats(7),
        target=1.0,
        flops_per_sample=forward_flops_per_sample(model),
    )


# ---------------------------------------------------------------- XLA and batch size on CPU

XLA_COLUMNS = [
    "measurement",
    "variant A, samples/s",
    "variant B, samples/s",
    "ratio A ÷ B",
    "FLOP/s of A (share of peak)",
]


def compared_row(label: str, first, second, repeats: int, flops_per_sample: float) -> list[str]:
    first(), second()
    a, b = interleaved(first, second, repeats)
    return [
        label,
        f"{statistics.median(a):,.0f}",
        f"{statistics.median(b):,.0f}",
        f"{median_ratio(a, b):.3f}",
        flops_cell(statistics.median(a), flops_per_sample),
    ]


def xla_rows(settings: Settings) -> list[list[str]]:
    """Training with XLA (jit_compile) against without; scoring with XLA, and with batches of 4,096 against 1,024."""
    rows = []
    for name in THROUGHPUT_PRESETS:
        progress(f"speed: XLA {name}")
        config = load_config(name)
        count, epochs = TRAINING_SIZES[name]
        x = samples(config, settings, count)
        model = build_autoencoder(config.model, x.shape[1:], config.seed)
        forward = forward_flops_per_sample(model)
        rows.append(
            compared_row(
                f"training, {describe(config)}: A XLA on (jit_compile) ÷ B off (the default)",
                core_training(config, x, epochs, jit_compile=True),
                core_training(config, x, epochs, jit_compile=False),
                settings.repeats(3),
                TRAINING_FACTOR * forward,
            )
        )
        x = samples(config, settings, 10_000)

        def scoring(batch_size: int, jit: bool, model=model, x=x):
            return lambda: len(x) / seconds(lambda: reconstruction_errors(model, x, "mse", batch_size, jit))

        rows.append(
            compared_row(
                f"scoring, {config.model.kind} model of preset {config.name}, batch 1,024: A XLA on ÷ B off",
                scoring(1024, True),
                scoring(1024, False),
                settings.repeats(5),
                forward,
            )
        )
        rows.append(
            compared_row(
                f"scoring, {config.model.kind} model of preset {config.name}, no XLA: A batch 4,096 ÷ B batch 1,024",
                scoring(4096, False),
                scoring(1024, False),
                settings.repeats(5),
                forward,
            )
        )
    return rows


# ---------------------------------------------------------------- threshold page


def synthetic_scores(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """70,000 log-normal errors, 5% of them labelled anomalies with larger errors."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(THRESHOLD_SCORES) < 0.05).astype(np.int8)
    return rng.lognormal(-4.0 + labels, 0.5).astype(np.float32), labels


def median_ms(action: Callable[[], object], repeats: int) -> float:
    action()
    return 1000 * statistics.median(seconds(action) for _ in range(repeats))


def page_figures(point: dict, bins, roc, pr, threshold: float) -> None:
    """The four figures the Threshold page redraws on a slider move."""
    figures.error_histogram(bins, threshold)
    figures.confusion_figure(confusion_matrix(point))
    fpr = point["false_positives"] / (point["false_positives"] + point["true_negatives"])
    curve_figures.roc_figure(*roc, point=(fpr, point["recall"]))
    curve_figures.pr_figure(*pr, point=(point["recall"], point["precision"]))


def threshold_rows(settings: Settings) -> list[list[str]]:
    progress("speed: threshold update")
    scores, labels = synthetic_scores(settings.seed)
    thresholds = iter(np.quantile(scores, np.linspace(0.5, 0.999, 10_000)))
    curve, bins = OperatingCurve(scores, labels), figures.histogram_bins(scores, labels)
    roc, pr = roc_curve(scores, labels), pr_curve(scores, labels)

    def update():
        OperatingCurve(scores, labels).at(next(thresholds))
        figures.histogram_bins(scores, labels)

    def slider_move():
        threshold = next(thresholds)
        page_figures(curve.at(threshold), bins, roc, pr, threshold)

    repeats = settings.repeats(50)
    update_ms, move_ms = median_ms(update, repeats), median_ms(slider_move, repeats)
    return [
        [
            f"threshold update: OperatingCurve(scores, labels).at(t) + histogram_bins, {len(scores):,} scores",
            f"{update_ms:.1f} ms",
            "",
            "",
            "< 50 ms",
            verdict(update_ms < 50),
        ],
        [
            "slider move as the Threshold page does it: cached curve .at(t) + histogram, confusion, ROC and PR figures",
            f"{move_ms:.1f} ms",
            "",
            "",
            "< 50 ms",
            verdict(move_ms < 50),
        ],
    ]


# ---------------------------------------------------------------- dashboard latency


def first_loss_seconds(config: ExperimentConfig, data_dir: str) -> float:
    """From TrainingJob.start() until the job's history holds a batch loss, as the Train page polls it."""
    job = TrainingJob(config, data_dir)
    started = time.perf_counter()
    job.start()
    try:
        while not job.snapshot().history.batch_loss:
            if not job.running:
                raise RuntimeError(f"training ended without a loss point: {job.snapshot().error}")
            time.sleep(0.002)
        return time.perf_counter() - started
    finally:
        job.stop()
        job.join()


def first_loss_row(settings: Settings) -> list[str]:
    progress("speed: first loss point")
    path = PRESETS / "digits_quick.json"
    if not path.exists():
        return ["Train click → first loss point", f"skipped: {path.name} not found", "", "", "", ""]
    config = ExperimentConfig.load(path)
    first_loss_seconds(
        config, str(settings.data_dir)
    )  # warm-up: data cached and TensorFlow loaded, as in a live dashboard
    repeats = 1 if settings.quick else 5
    seconds_taken = statistics.median(first_loss_seconds(config, str(settings.data_dir)) for _ in range(repeats))
    return [
        f"Train click → first loss point (core.jobs.TrainingJob, preset {path.stem})",
        f"{seconds_taken:.2f} s",
        "",
        "",
        "",
        "",
    ]


def title_seconds(url: str) -> float | None:
    """Seconds from navigation until the home page shows its title, in headless Chromium; None without a browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(BROWSER).exists():
        return None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=BROWSER, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            started = time.perf_counter()
            page.goto(url)
            page.get_by_role("heading", name=HOME_TITLE).wait_for(timeout=60_000)
            return time.perf_counter() - started
        finally:
            browser.close()


def home_page_timings() -> tuple[float, float | None]:
    """(seconds from `streamlit run app.py` to a healthy server, seconds from navigation to the painted title)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
    ]
    started = time.perf_counter()
    server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_url(f"http://127.0.0.1:{port}/_stcore/health", timeout=120)
        ready = time.perf_counter() - started
        return ready, title_seconds(f"http://127.0.0.1:{port}/")
    finally:
        server.terminate()
        server.wait(timeout=30)


def home_page_rows(settings: Settings) -> list[list[str]]:
    progress("speed: home page")
    if not (REPO / "app.py").exists():
        return [["home page first paint", "skipped: app.py not found", "", "", "", ""]]
    timings = [home_page_timings() for _ in range(1 if settings.quick else 3)]
    ready = statistics.median(t[0] for t in timings)
    paints = [t[1] for t in timings if t[1] is not None]
    paint = f"{statistics.median(paints):.2f} s" if paints else "skipped: no playwright or /usr/bin/chromium"
    return [
        ["`streamlit run app.py` → /_stcore/health answers", f"{ready:.2f} s", "", "", "", ""],
        ["home page: navigation → title painted (headless Chromium)", paint, "", "", "", ""],
    ]


# ---------------------------------------------------------------- memory


# Runs a module as `python -m MODULE ARGS` would, then writes the process's peak resident memory (VmHWM, KiB)
# to $BENCH_PEAK_FILE. VmHWM belongs to the process's own address space, so unlike ru_maxrss it does not
# count the parent's memory that fork() copied before exec.
PEAK_PROBE = """
import os, runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(peak)
"""


def peak_rss_mib(module: str, *args: str) -> float:
    """Peak resident memory, in MiB, of `python -m module args` run as a child process."""
    with tempfile.TemporaryDirectory() as folder:
        peak_file = Path(folder) / "peak"
        done = subprocess.run(
            [sys.executable, "-c", PEAK_PROBE, module, *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            env={**os.environ, "BENCH_PEAK_FILE": str(peak_file)},
        )
        if done.returncode != 0:
            raise RuntimeError(f"python -m {module} {' '.join(args)} failed: {done.stderr[-2000:]}")
        return int(peak_file.read_text()) / 1024


def memory_rows(settings: Settings) -> list[list[str]]:
    progress("speed: peak memory")
    config = load_config("fashion_vs_mnist_ssim")
    config = config.replace(
        data=with_fields(config.data, limit=settings.limit), train=with_fields(config.train, epochs=1)
    )
    with tempfile.TemporaryDirectory() as folder:
        path, run = Path(folder) / "config.json", Path(folder) / "run"
        config.save(path)
        peak = peak_rss_mib("core", "run", str(path), "--out", str(run), "--data-dir", str(settings.data_dir))
        metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    imports = peak_rss_mib("core.experiment")
    return [
        [
            f"peak resident memory, `python -m core run` of preset {config.name}: {metrics['n_train']:,} images trained "
            f"(1 epoch), {metrics['n_scored']:,} scored, thresholded, saved",
            f"{peak:,.0f} MiB",
            "",
            "",
            "",
            "",
        ],
        ["… of which importing the engine (TensorFlow, Keras, core)", f"{imports:,.0f} MiB", "", "", "", ""],
    ]


# ---------------------------------------------------------------- the table


def throughput_rows(settings: Settings) -> list[list[str]]:
    rows = [training_row(name, settings) for name in THROUGHPUT_PRESETS]
    return rows + [scoring_row(name, settings) for name in THROUGHPUT_PRESETS]


def speed_table(settings: Settings) -> Table:
    rows = throughput_rows(settings)
    rows += threshold_rows(settings) + [first_loss_row(settings)] + home_page_rows(settings) + memory_rows(settings)
    rows = [row + [""] * (len(COLUMNS) - len(row)) for row in rows]
    return Table(
        "Speed and memory",
        COLUMNS,
        rows,
        notes=[
            "Throughputs: medians over interleaved repeats (core, bare, core, bare, ...) after one warm-up each; the ratio "
            "is the median of the paired ratios. Each repeat builds a fresh model; the time covers compile + fit.",
            "Bare training: `model.fit` of the network `core.models.build_autoencoder` builds, compiled with the same "
            "Adam and per-sample loss, same seed and batch size, no callbacks. Core training: "
            "`core.training.train_autoencoder` with a listener that records every batch, no validation split.",
            "Bare scoring: `model.predict` + NumPy mean of squared errors. Core scoring: `core.scoring.reconstruction_errors`.",
            "Threshold rows: synthetic log-normal errors, 5% labelled anomalies; medians over repeats. The Threshold page "
            "builds the curve, bins, ROC and PR once per result (ui.analysis) and redraws four figures on every slider move.",
            "Peak memory: VmHWM of the child process (its own address space; ru_maxrss would also count the benchmark's "
            "memory copied by fork). It does not grow with epochs, so one epoch is run.",
            peak_note(),
        ],
    )


def xla_table(settings: Settings) -> Table:
    return Table(
        "XLA and scoring batch size on CPU",
        XLA_COLUMNS,
        xla_rows(settings),
        notes=["Paired as above: A and B interleaved, medians and the median of the paired ratios.", peak_note()],
    )


def tables(settings: Settings) -> Iterator[Table]:
    yield speed_table(settings)
    yield xla_table(settings)
