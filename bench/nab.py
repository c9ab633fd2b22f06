"""NAB: one config on every series of the Numenta Anomaly Benchmark under its rules, scored the way NAB scores.

Each of the 58 series trains only on its probationary period (the first min(⌊0.15·n⌋, 750) rows, which the
config's inductive protocol with a null training span means) and scores every timestamp with the streaming
score and the anomaly likelihood (presets/nab_corpus.json). The scores are written as NAB result files
(`<results>/<detector>/<category>/<detector>_<file>.csv`) and scored by core.nab under NAB's three profiles,
beside: the same trained models' raw errors (likelihood off), a rolling z-score of the last 48 values computed
in the same run, and NAB's published scoreboard. core.nab is first checked against windowedGaussian's
published result files. --quick: the check and two series.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import OUTPUT_DIR, PRESETS, Settings, Table, progress, with_sections
from core import nab
from core.config import ExperimentConfig
from core.experiment import run_experiment

CONFIG = PRESETS / "nab_corpus.json"
DETECTOR = "anomalyStudio"
RAW_DETECTOR = "anomalyStudioRawError"
ZSCORE_DETECTOR = "rollingZscore48"
ZSCORE_WINDOW = 48
QUICK_SERIES = ("artificialWithAnomaly/art_daily_jumpsup.csv", "artificialNoAnomaly/art_flatline.csv")
REFERENCE = {"standard": 39.65, "reward_low_FP_rate": 20.87, "reward_low_FN_rate": 47.41}  # windowedGaussian
SCOREBOARD = ("windowedGaussian", "randomCutForest", "relativeEntropy", "numenta")
COLLAPSE = "Training collapsed"


def rolling_zscore(values: np.ndarray, window: int = ZSCORE_WINDOW) -> np.ndarray:
    """|x_t − mean| / std of the `window` values before t, as z / (1 + z) in [0, 1); 0 until a full window."""
    series = pd.Series(np.asarray(values, dtype=np.float64))
    past = series.rolling(window)
    z = ((series - past.mean().shift(1)).abs() / past.std().shift(1).clip(lower=1e-12)).fillna(0.0)
    return (z / (1.0 + z)).to_numpy()


def scorer_check(nab_dir: Path, profiles: dict, windows: dict) -> Table:
    """core.nab on windowedGaussian's published result files against its published scores."""
    ours = nab.score_folder(nab_dir / "reference-results", "windowedGaussian", windows, profiles, flat=True)
    table = Table("NAB scorer check: windowedGaussian's published result files", ["profile", "published", "core.nab"])
    table.rows = [[name, f"{REFERENCE[name]:.2f}", f"{ours[name].normalized:.2f}"] for name in profiles]
    return table


def run_series(config: ExperimentConfig, key: str, data_dir: Path) -> dict:
    """Train on one series' probationary period and score it: timestamps, values, labels, both scores, notes."""
    stem = key.split("/", 1)[1].removesuffix(".csv")
    series_config = with_sections(config, {"data": {"dataset": f"nab/{stem}"}})
    started = time.perf_counter()
    result = run_experiment(series_config, str(data_dir))
    raw = copy.copy(result.detector)
    raw.likelihood_ = None  # the same trained model, its errors as they are
    data = result.data
    return {
        "timestamps": data.timestamps,
        "values": data.x_score[:, 0],
        "labels": data.labels,
        "likelihood": result.scores,
        "raw": raw.score_samples(data.x_score),
        "n_train": len(data.x_train),
        "warnings": result.warnings,
        "notices": data.notices,
        "epochs": result.history.epochs_run,
        "seconds": time.perf_counter() - started,
    }


def tables(settings: Settings) -> Iterator[Table]:
    nab_dir = settings.data_dir / "nab"
    profiles = nab.load_profiles(nab_dir / "profiles.json")
    windows = nab.load_windows(nab_dir / "combined_windows.json")
    yield scorer_check(nab_dir, profiles, windows)
    keys = list(QUICK_SERIES if settings.quick else windows)
    windows = {key: windows[key] for key in keys}
    config = ExperimentConfig.load(CONFIG)
    if settings.quick:
        config = with_sections(config, {"train": {"epochs": 1}})
    results_dir = settings.nab_results or OUTPUT_DIR / "nab-results"
    per_series: dict[str, dict] = {}
    for number, key in enumerate(keys, 1):
        progress(f"nab: {number}/{len(keys)} {key}")
        run = run_series(config, key, settings.data_dir)
        run[ZSCORE_DETECTOR] = rolling_zscore(run["values"])
        for detector, scores in (
            (DETECTOR, run["likelihood"]),
            (RAW_DETECTOR, run["raw"]),
            (ZSCORE_DETECTOR, run[ZSCORE_DETECTOR]),
        ):
            path = nab.result_path(results_dir, detector, key)
            nab.write_result(path, run["timestamps"], run["values"], scores, run["labels"])
        per_series[key] = run
    yield corpus_table(results_dir, windows, profiles, nab_dir, settings.quick)
    yield series_table(per_series)


def corpus_table(results_dir: Path, windows: dict, profiles: dict, nab_dir: Path, quick: bool) -> Table:
    """Each detector's normalised NAB score under each profile, rescored from the result files written."""
    table = Table(
        "NAB v1.1" + (" (--quick: two series, 1 epoch)" if quick else f": all {len(windows)} series"),
        ["detector", *profiles, "threshold (standard)"],
    )
    rows = [
        (DETECTOR, "this product: streaming score, anomaly likelihood (presets/nab_corpus.json)"),
        (RAW_DETECTOR, "this product: the same models' raw streaming errors"),
        (ZSCORE_DETECTOR, f"rolling z-score of the last {ZSCORE_WINDOW} values"),
    ]
    for detector, label in rows:
        scores = nab.score_folder(results_dir, detector, windows, profiles)
        cells = [f"{scores[name].normalized:.1f}" for name in profiles]
        table.rows.append([label, *cells, f"{scores['standard'].threshold:.6g}"])
    board = json.loads((nab_dir / "final_results.json").read_text(encoding="utf-8"))
    for detector in SCOREBOARD:
        table.rows.append([f"NAB scoreboard: {detector}", *(f"{board[detector][name]:.1f}" for name in profiles), "–"])
    table.notes = [
        f"Result files: {results_dir}/<detector>/<category>/<detector>_<file>.csv (NAB's layout); rescore them with "
        "NAB's own scorer to check.",
        "One config and one corpus-wide threshold per profile for every series; 0 = the null detector, 100 = perfect.",
    ]
    if quick:
        table.notes.append("Two series only: the numbers check the pipeline, not the detector; see docs/bench-nab.md.")
    return table


def series_table(per_series: dict[str, dict]) -> Table:
    """How training went per series: span, epochs, seconds, and every warning (collapses, constant scores)."""
    table = Table("NAB: training per series", ["series", "rows", "trained on", "epochs", "seconds", "warnings"])
    for key, run in per_series.items():
        notes = [*run["warnings"], *run["notices"]]
        table.rows.append(
            [
                key,
                f"{len(run['values']):,}",
                str(run["n_train"]),
                str(run["epochs"]),
                f"{run['seconds']:.1f}",
                " / ".join(notes) or "–",
            ]
        )
    collapsed = sum(any(w.startswith(COLLAPSE) for w in run["warnings"]) for run in per_series.values())
    total = sum(run["seconds"] for run in per_series.values())
    table.notes = [f"Collapsed trainings: {collapsed} of {len(per_series)}; {total:.0f} s in all."]
    return table
