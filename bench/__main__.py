"""Run the benchmarks, print their markdown tables and write them to bench-output/SUITE.md."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import dataclasses
import datetime
import importlib
import platform
import shlex
import sys
import time
from pathlib import Path

from bench.common import OUTPUT_DIR, Settings, default_data_dir

SUITES = ("quality", "one_class", "speed", "timeseries", "scale", "tables", "nab")
# Run only when named with --only: each drives the dashboard in headless Chromium for minutes.
BROWSER_SUITES = ("sessions", "latency")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny slices, 1 epoch, 2 classes, fewer repeats (minutes)")
    parser.add_argument(
        "--only", choices=SUITES + BROWSER_SUITES, action="append", help="run only this suite (repeatable)"
    )
    parser.add_argument(
        "--data-dir",
        help="folder with mnist/, fashion-mnist/, ecg5000/, nab/ (default: $ANOMALY_STUDIO_DATA, "
        "else ../shared/datasets beside the repository)",
    )
    parser.add_argument(
        "--nab-results",
        type=Path,
        help="folder for the nab suite's NAB result files, <detector>/<category>/<detector>_<file>.csv "
        "(default: nab-results/ in the --out folder)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for the SUITE.md files (default: bench-output/, bench-output/quick/ with --quick)",
    )
    return parser.parse_args(argv)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def machine() -> str:
    import keras
    import tensorflow as tf

    return (
        f"{os.cpu_count()} CPU cores ({cpu_model()}), {memory_gib():.0f} GiB RAM, no GPU; Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )


def header(argv: list[str]) -> str:
    command = " ".join(["python -m bench", *map(shlex.quote, argv)])
    return f"_{datetime.date.today().isoformat()} · {machine()} · `{command}`_\n"


def run_suite(name: str, settings: Settings, head: str, folder: Path) -> None:
    started = time.perf_counter()
    texts = [head]
    for table in importlib.import_module(f"bench.{name}").tables(settings):
        texts.append(table.markdown())
        print(texts[-1], flush=True)
    (folder / f"{name}.md").write_text("\n".join(texts), encoding="utf-8")
    print(f"[{name}: {time.perf_counter() - started:.0f} s, written to {folder / name}.md]\n", flush=True)


def main(argv: list[str]) -> int:
    args = parse(argv)
    settings = Settings(default_data_dir(args.data_dir), quick=args.quick)
    if not settings.data_dir.is_dir():
        print(
            f"error: no data folder at {settings.data_dir}; pass --data-dir or set ANOMALY_STUDIO_DATA", file=sys.stderr
        )
        return 2
    folder = args.out or (OUTPUT_DIR / "quick" if args.quick else OUTPUT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    settings = dataclasses.replace(settings, nab_results=args.nab_results or folder / "nab-results")
    head = header(argv)
    print(head, flush=True)
    for name in args.only or SUITES:
        run_suite(name, settings, head, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
