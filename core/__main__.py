"""Command line: `python -m core run CONFIG.json --out DIR`, `python -m core continue RUN_DIR --epochs N`,
`python -m core score --run DIR PATH...`, `python -m core report RUN_DIR --out report.html` and
`python -m core compare RUN RUN...`.

`run` reads a dataset that is a folder of images through tf.data (core.data.stream), so a folder larger than
memory trains and scores; with `train.strategy` "multi_worker" it is one worker of the cluster in TF_CONFIG,
and only the chief writes the run. `score` streams folders and many files in batches and can write its
results as it goes, resumably (core.score_files).

Errors a user can fix end the program with exit code 2 and one line on stderr, never a traceback
(set ANOMALY_STUDIO_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core.config import ExperimentConfig
from core.errors import StudioError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core", description="Anomaly Studio: autoencoder anomaly detection."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train, score, threshold and save a run described by a config file")
    run.add_argument("config", help="experiment config (JSON)")
    run.add_argument("--out", required=True, help="folder to save the run in (must not hold a run already)")
    run.add_argument(
        "--data-dir", help="local folder with mnist/, fashion-mnist/, ecg5000/, nab/ (default: $ANOMALY_STUDIO_DATA)"
    )
    run.add_argument("--epochs", type=int, help="override train.epochs")
    run.add_argument(
        "--strict",
        action="store_true",
        help="refuse a table with text columns or blank cells instead of encoding and filling them",
    )
    more = commands.add_parser(
        "continue", help="train a saved run's model for more epochs and save the result as a new run"
    )
    more.add_argument("run", help="a saved run folder (left as it is)")
    more.add_argument("--epochs", type=int, required=True, help="how many more epochs to train")
    more.add_argument("--out", help="folder to save the new run in (default: a new folder beside the saved run)")
    more.add_argument(
        "--data-dir", help="local folder with mnist/, fashion-mnist/, ecg5000/, nab/ (default: $ANOMALY_STUDIO_DATA)"
    )
    score = commands.add_parser("score", help="score new samples with a saved run; one JSON line per sample")
    score.add_argument("--run", required=True, help="a saved run folder")
    score.add_argument(
        "input", nargs="+", help="samples to score: .npz, .csv, .zip, image files or folders of images (streamed)"
    )
    score.add_argument(
        "--out",
        help="write the results to this .jsonl (or .csv) file as they come; a re-run skips what it holds already",
    )
    score.add_argument("--batch-size", type=int, help="samples per batch (default: the run's score.batch_size)")
    report = commands.add_parser(
        "report", help="write a saved run's report: one self-contained HTML file that opens without a network"
    )
    report.add_argument("run", help="a saved run folder")
    report.add_argument("--out", help="the HTML file to write (default: RUN-report.html in the current folder)")
    report.add_argument(
        "--data-dir", help="local folder with mnist/, fashion-mnist/, ecg5000/, nab/ (default: $ANOMALY_STUDIO_DATA)"
    )
    compare = commands.add_parser(
        "compare", help="2 to 5 saved runs side by side: metrics and the settings that differ"
    )
    compare.add_argument("runs", nargs="+", help="saved run folders")
    return parser


class _EpochPrinter:
    def on_batch(self, progress, history) -> None:
        pass

    def on_epoch(self, progress, history) -> None:
        parts = [f"epoch {progress.epoch}/{progress.epochs}", f"loss {progress.loss:.5g}"]
        if progress.val_loss is not None:
            parts.append(f"val_loss {progress.val_loss:.5g}")
        parts.append(f"{progress.elapsed_s:.1f}s")
        if progress.eta_s is not None and progress.epoch < progress.epochs:
            parts.append(f"eta {progress.eta_s:.0f}s")
        print("  ".join(parts), flush=True)


def _stop_on_first_interrupt(stop_event: threading.Event) -> None:
    def handler(signum, frame):
        if stop_event.is_set():
            raise KeyboardInterrupt
        stop_event.set()
        print(
            "stopping after this batch: the model trained so far is scored and saved (Ctrl-C again aborts)",
            file=sys.stderr,
            flush=True,
        )

    signal.signal(signal.SIGINT, handler)


def _import_tensorflow_quietly(strategy: str = "auto") -> None:
    """TensorFlow's C++ start-up writes log lines to stderr that TF_CPP_MIN_LOG_LEVEL cannot silence;
    hide them so that what the CLI prints on stderr stays one readable line.

    A multi-worker strategy is created here, before TensorFlow runs any other op, as it must be.
    """
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        from core import distribute

        distribute.prepare(strategy)
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _fmt(value, pattern: str = "{:.3f}") -> str:
    return "n/a" if value is None else pattern.format(value)


def command_run(args) -> int:
    config = ExperimentConfig.load(args.config)
    if args.epochs is not None:
        config = config.replace(train=dataclasses.replace(config.train, epochs=args.epochs))
    out = Path(args.out)
    _import_tensorflow_quietly(config.train.strategy)
    from core import distribute

    chief = distribute.is_chief()
    if chief and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise StudioError(f"{out} exists already and is not empty; choose another --out so nothing saved is lost")
    from core.experiment import run_experiment
    from core.runs import save_run

    _print_reading(config, args.data_dir, args.strict)
    stop_event = threading.Event()
    _stop_on_first_interrupt(stop_event)
    result = run_experiment(config, args.data_dir, listener=_EpochPrinter(), stop_event=stop_event, stream=True)
    if not chief:
        # As TensorFlow's multi-worker guide advises: every worker saves (saving may take part in collective
        # ops), the others into a temporary folder that is deleted, so only the chief's run remains.
        with tempfile.TemporaryDirectory(prefix="anomaly-studio-worker-") as scratch:
            save_run(result, Path(scratch) / "run")
        task = distribute.cluster_spec().get("task", {})
        print(f"{task.get('type', 'worker')} {task.get('index', '?')}: trained; the chief saves the run", flush=True)
        return 0
    folder = save_run(result, out)
    _print_summary(result, folder)
    return 0


def _print_reading(config: ExperimentConfig, data_dir: str | None, strict: bool) -> None:
    """For a CSV: how it was read and what was changed in it (core.data.tables), before training. With `strict`,
    a table that would need changes (text columns, blank cells) is refused: DataError."""
    if Path(config.data.dataset).suffix.lower() != ".csv":
        return
    from core.data import load_dataset
    from core.data.tables import describe

    dataset = load_dataset(config.data.dataset, data_dir, config.data.layout, strict)
    print(f"{Path(config.data.dataset).name}: {describe(dataset)}", flush=True)
    for notice in dataset.notices:
        print(f"note: {notice}", flush=True)


def command_continue(args) -> int:
    if args.epochs < 1:
        raise StudioError(f"--epochs must be a whole number of at least 1 (got {args.epochs})")
    source = Path(args.run)
    out = Path(args.out) if args.out is not None else None
    if out is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise StudioError(f"{out} exists already and is not empty; choose another --out so nothing saved is lost")
    _import_tensorflow_quietly()
    from core.experiment import continue_experiment
    from core.runs import default_run_name, load_run, save_run

    earlier = load_run(source, args.data_dir)
    stop_event = threading.Event()
    _stop_on_first_interrupt(stop_event)
    result = continue_experiment(earlier, args.epochs, listener=_EpochPrinter(), stop_event=stop_event)
    folder = save_run(result, out if out is not None else source.parent / default_run_name(result.config))
    _print_summary(result, folder)
    return 0


def _print_summary(result, folder: Path) -> None:
    """The warnings on stderr, then one line with the run's metrics and where it was saved."""
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    m = result.metrics
    print(
        f"AUROC {_fmt(m['auroc'])}{_best_baseline(result)}  flagged {m['n_flagged']}/{m['n_scored']}"
        f"{_events_text(m.get('events'))}"
        f"  precision {_fmt(m['precision'])}  recall {_fmt(m['recall'])}"
        f"  threshold {m['threshold']:.5g} ({m['threshold_method']})"
        f"  epochs {m['epochs_run']} ({m['stopped']})  train {m['train_seconds']:.1f}s  → {folder}",
        flush=True,
    )


def _events_text(events: dict | None) -> str:
    """The event counts of a time-series run, for the summary line; empty for other runs."""
    if events is None:
        return ""
    if events["total"] is None:
        return f" timestamps ({events['flagged']} flagged events, no labels)"
    delay = "" if events["mean_delay_s"] is None else f", mean delay {events['mean_delay_s'] / 3600:.1f} h"
    return (
        f" timestamps  events {events['detected']}/{events['total']} detected, "
        f"{events['false_alarms']} false alarms{delay}"
    )


def _best_baseline(result) -> str:
    """ " (best baseline pca 0.998)" beside the autoencoder's AUROC; "" without baselines or labels."""
    best = result.baselines.best() if result.baselines is not None else None
    return "" if best is None else f" (best baseline {best.name} {best.auroc:.3f})"


def command_score(args) -> int:
    if args.batch_size is not None and args.batch_size < 1:
        raise StudioError(f"--batch-size must be a positive whole number (got {args.batch_size})")
    _import_tensorflow_quietly()
    from core.runs import load_detector
    from core.score_files import score_inputs

    detector = load_detector(args.run)
    score_inputs(detector, [Path(p) for p in args.input], args.out, args.batch_size)
    return 0


def command_report(args) -> int:
    run = Path(args.run)
    out = Path(args.out) if args.out else Path(f"{run.resolve().name}-report.html")
    _import_tensorflow_quietly()
    from core.report import write_report
    from core.run_titles import folder_title
    from core.runs import load_run

    result = load_run(run, args.data_dir)
    print(write_report(result, out, run_name=folder_title(run)).resolve(), flush=True)
    return 0


def command_compare(args) -> int:
    _import_tensorflow_quietly()
    from core import compare

    runs = compare.load_runs(args.runs)
    print(compare.metrics_table(runs).to_string(index=False, float_format="{:.4g}".format))
    differences = compare.config_differences({name: run.config for name, run in runs.items()})
    print("\nsettings that differ:" if len(differences) else "\nthe runs' settings are the same")
    if len(differences):
        print(differences.to_string(index=False))
    return 0


COMMANDS = {
    "run": command_run,
    "continue": command_continue,
    "score": command_score,
    "report": command_report,
    "compare": command_compare,
}


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except StudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was saved by this command", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("ANOMALY_STUDIO_DEBUG"):
            raise
        message = str(exc).splitlines()[0] if str(exc) else ""
        print(
            f"error: unexpected {type(exc).__name__}: {message} (set ANOMALY_STUDIO_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
