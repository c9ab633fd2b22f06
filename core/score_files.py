"""`python -m core score`: score many files and folders with a saved detector, in bounded memory, resumably.

Inputs are expanded in order: a folder of images gives its image files (sorted), an image file itself, a .zip
its images (for an image model) or samples, and a .npz or .csv its samples. Images are converted one by one as
the Score a sample page converts an upload (core.own_samples.image_to_sample: any size or colour, inverted when
its background is the opposite of the training images'), a batch at a time, never held whole; a .npz or .csv
is read as the size limits allow (core.data.limits) and scored a batch at a time.

Each result is keyed by its file path and its item (the row of a .npz or .csv, the timestamp of a time
series, the image's place in a .zip, 0 for an image file). With `out` (a .jsonl file, or .csv), results are appended and flushed as each
batch is scored, and a re-run skips every key the file holds already, so an interrupted scoring resumes where
it stopped. Without `out`, JSON lines go to stdout: `{"index", "score", "flagged"}` as before, with `"path"`
added when more than one file is scored. Progress goes to stderr.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np

from core.data import IMAGE, TIMESERIES, load_samples
from core.data.images import is_image_name, zip_image_members
from core.data.stream import image_paths
from core.detector import AutoencoderDetector
from core.errors import DataError, reason
from core.own_samples import image_to_sample

CSV_COLUMNS = ("index", "path", "item", "score", "flagged")
PROGRESS_EVERY_S = 2.0


@dataclass(frozen=True)
class _Image:
    """One image to score: results are keyed by (`key`, `item`): its file and 0, or its zip and its place there."""

    key: str
    item: int
    name: str  # for messages: the file, or "member in archive.zip"
    open: Callable[[], BinaryIO]


@dataclass
class _Source:
    """Images to convert a batch at a time (`images`), or one file (`path`) whose samples are read only when its
    turn comes."""

    images: list[_Image] | None = None
    path: Path | None = None


def _sources(detector: AutoencoderDetector, inputs: list[Path], archives: ExitStack) -> Iterator[_Source]:
    """The inputs in order, consecutive images (files, folders' files and zips' members) grouped into one source;
    the zips stay open in `archives`."""
    pending: list[_Image] = []

    def flush():
        nonlocal pending
        if pending:
            yield _Source(images=pending)
            pending = []

    for path in inputs:
        path = path.expanduser()
        if detector.kind_ == IMAGE and path.is_dir():
            found = image_paths(path)
            if not found:
                raise DataError(f"{path} holds no PNG or JPEG images")
            pending += [_Image(str(p), 0, str(p), functools.partial(open, p, "rb")) for p in found]
        elif detector.kind_ == IMAGE and path.is_file() and is_image_name(path.name):
            pending.append(_Image(str(path), 0, str(path), functools.partial(open, path, "rb")))
        elif detector.kind_ == IMAGE and path.is_file() and path.suffix.lower() == ".zip":
            members = zip_image_members(_open_zip(path, archives), path)
            if not members:
                raise DataError(f"{path} holds no PNG or JPEG images")
            pending += [_Image(str(path), i, f"{name} in {path}", opener) for i, (name, opener) in enumerate(members)]
        else:
            yield from flush()
            yield _Source(path=path)
    yield from flush()


def _open_zip(path: Path, archives: ExitStack) -> zipfile.ZipFile:
    try:
        return archives.enter_context(zipfile.ZipFile(path))
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path} is not a readable zip file ({reason(exc)})") from None


class _Results:
    """Where results go: stdout, or a .jsonl / .csv file appended batch by batch (and read back to resume)."""

    def __init__(self, out: str | None, several: bool):
        self.several = several
        self.out = None if out is None else Path(out)
        self.csv = self.out is not None and self.out.suffix.lower() == ".csv"
        self.done: set[tuple[str, int]] = set()
        self.stream: TextIO = sys.stdout
        if self.out is not None:
            self.done = self._read_done()
            new = not self.out.exists() or self.out.stat().st_size == 0
            self.stream = open(self.out, "a", encoding="utf-8", newline="")  # noqa: SIM115 (closed by close())
            if self.csv:
                self.writer = csv.writer(self.stream)
                if new:
                    self.writer.writerow(CSV_COLUMNS)

    def _read_done(self) -> set[tuple[str, int]]:
        """Keys already written; a last line cut short by an interruption is removed first."""
        if not self.out.exists():
            return set()
        text = self.out.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]
            self.out.write_text(text, encoding="utf-8")
        done = set()
        if self.csv:
            for row in csv.DictReader(text.splitlines()):
                done.add((row["path"], int(row["item"])))
        else:
            for line in text.splitlines():
                if line.strip():
                    record = json.loads(line)
                    done.add((record["path"], int(record["item"])))
        return done

    def write(self, keys: list[tuple[str, int]], indices: np.ndarray, scores: np.ndarray, threshold: float) -> None:
        lines = []
        for (path, item), index, score in zip(keys, indices.tolist(), scores.tolist(), strict=True):
            flagged = bool(score > threshold)
            if self.out is None:
                record = {"index": index, "score": score, "flagged": flagged}
                if self.several:
                    record["path"] = path
                lines.append(json.dumps(record))
            elif self.csv:
                self.writer.writerow((index, path, item, repr(score), flagged))
            else:
                record = {"index": index, "path": path, "item": item, "score": score, "flagged": flagged}
                lines.append(json.dumps(record))
        if lines:
            self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.out is not None:
            self.stream.close()


class _Progress:
    def __init__(self, total: int):
        self.total, self.scored, self.skipped = total, 0, 0
        self.started = self.shown = time.perf_counter()

    def add(self, scored: int = 0, skipped: int = 0, final: bool = False) -> None:
        self.scored += scored
        self.skipped += skipped
        now = time.perf_counter()
        if final or now - self.shown >= PROGRESS_EVERY_S:
            self.shown = now
            rate = self.scored / max(now - self.started, 1e-9)
            skipped_text = f", {self.skipped:,} already scored" if self.skipped else ""
            print(
                f"scored {self.scored + self.skipped:,}/{self.total:,}{skipped_text} ({rate:,.0f} samples/s)",
                file=sys.stderr,
                flush=True,
            )


def score_inputs(
    detector: AutoencoderDetector, inputs: list[Path], out: str | None = None, batch_size: int | None = None
) -> None:
    """Score every sample of `inputs` with `detector` and write the results (see the module docstring)."""
    batch_size = batch_size or detector.score.batch_size
    threshold = float(detector.threshold_.value)
    archives = ExitStack()
    sources = list(_sources(detector, inputs, archives))
    several = len(inputs) > 1 or any(source.images and source.images[0].item == 0 for source in sources)
    results = _Results(out, several=several)
    progress = _Progress(sum(len(source.images) for source in sources if source.images is not None))
    index = 0  # the running index of the next sample, across all inputs
    try:
        for source in sources:
            if source.images is not None:
                _score_images(detector, source.images, index, results, progress, batch_size, threshold)
                index += len(source.images)
            else:
                samples = load_samples(source.path, detector.sample_shape_, detector.kind_)
                progress.total += len(samples)
                _score_samples(detector, str(source.path), samples, index, results, progress, batch_size, threshold)
                index += len(samples)
    finally:
        results.close()
        archives.close()
    if out is not None:
        progress.add(final=True)


def _score_images(
    detector, images: list[_Image], first: int, results: _Results, progress: _Progress, batch_size, threshold
) -> None:
    """Decode and convert a batch of images on every core (Pillow releases the GIL while it decodes), then score it."""
    todo = [(first + i, image) for i, image in enumerate(images) if (image.key, image.item) not in results.done]
    progress.add(skipped=len(images) - len(todo))

    def convert(image: _Image) -> np.ndarray:
        try:
            with image.open() as stream:
                return image_to_sample(stream, detector.sample_shape_, detector.background_, image.name).sample
        except (OSError, DataError) as exc:
            kept = progress.scored + progress.skipped
            raise DataError(
                f"{exc if isinstance(exc, DataError) else f'{image.name} cannot be read ({reason(exc)})'}; the "
                f"{kept:,} results before it are kept: remove or fix the file and score again to go on"
            ) from None

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            scores = detector.score_samples(np.stack(list(pool.map(convert, [image for _, image in batch]))))
            keys = [(image.key, image.item) for _, image in batch]
            results.write(keys, np.array([i for i, _ in batch]), scores, threshold)
            progress.add(scored=len(batch))


def _score_samples(
    detector, path: str, samples: np.ndarray, first: int, results: _Results, progress: _Progress, batch_size, threshold
) -> None:
    todo = np.array([(path, item) not in results.done for item in range(len(samples))], dtype=bool)
    progress.add(skipped=int((~todo).sum()))
    items = np.flatnonzero(todo)
    if not len(items):
        return
    if detector.kind_ == TIMESERIES:  # one series: its timestamps are scored together
        scores = detector.score_samples(samples)
        results.write([(path, int(i)) for i in items], first + items, scores[items], threshold)
        progress.add(scored=len(items))
        return
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        scores = detector.score_samples(samples[chunk])
        results.write([(path, int(i)) for i in chunk], first + chunk, scores, threshold)
        progress.add(scored=len(chunk))
