"""Folder writes that a crash never leaves half-done.

Every folder is built complete in a hidden sibling `.NAME.partial-<hex>` first (`staging`), then put in
place in one step:

- A new folder (`place_new`): NAME is claimed with `os.mkdir`, which fails when NAME exists, so two
  writers never get the same folder; the partial folder is then renamed over the empty claim, which is
  atomic on POSIX. A taken generated name is replaced by another one (`next_name`); a taken name the
  caller chose is refused with RunError, never overwritten. A write killed part-way leaves only the
  hidden partial folder.
- A removal (`remove`): NAME is renamed to `.NAME.deleting-<hex>` first, then deleted.

Hidden `.NAME.partial-*`, `.NAME.deleting-*` and `.NAME.previous-*` folders untouched for STALE_AFTER_S
are removed by `clean_leftovers`; younger ones may be a write in progress in another process and are left
alone (`.previous` folders were left by the whole-folder swaps of older versions; one whose NAME is missing is
put back).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from core.errors import RunError

STALE_AFTER_S = 10 * 60  # hidden leftovers untouched this long are removed; younger ones may be a write in progress
NAME_ATTEMPTS = 100
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|deleting|previous)-[0-9a-f]+$")


def runs_root() -> Path:
    """Where runs are saved: $ANOMALY_STUDIO_RUNS, else ./runs."""
    return Path(os.environ.get("ANOMALY_STUDIO_RUNS", "runs")).expanduser()


def safe_file_name(text: str) -> str:
    """`text` with every character but letters, digits, '-', '_' and '.' replaced by '_'."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def hidden_sibling(folder: Path, kind: str) -> Path:
    """`.NAME.KIND-<8 random hex digits>` beside `folder`; never listed, cleaned up when stale."""
    return folder.parent / f".{folder.name}.{kind}-{secrets.token_hex(4)}"


def is_empty_dir(folder: Path) -> bool:
    try:
        return folder.is_dir() and not any(folder.iterdir())
    except OSError:
        return False


def taken(folder: Path) -> RunError:
    return RunError(f"{folder} exists already and is not empty; choose another folder so nothing saved is lost")


@contextmanager
def staging(folder: Path) -> Iterator[Path]:
    """A new empty hidden `.NAME.partial-<hex>` beside `folder`, removed again when the block raises."""
    partial = hidden_sibling(folder, "partial")
    try:
        partial.mkdir()
        yield partial
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def place_new(partial: Path, folder: Path, next_name: Callable[[], Path] | None = None) -> Path:
    """Claim `folder` with os.mkdir and rename the complete `partial` over it; returns where it went.

    With `next_name`, a taken `folder` is replaced by next_name() (up to NAME_ATTEMPTS times); without
    it, a `folder` that exists and is not empty is refused with RunError. An empty folder is used.
    """
    for _ in range(NAME_ATTEMPTS):
        try:
            os.mkdir(folder)
            claimed = True
        except FileExistsError:
            if next_name is not None:
                folder = next_name()
                continue
            if not is_empty_dir(folder):
                raise taken(folder) from None
            claimed = False  # an empty folder the caller made; the rename below fails if it fills meanwhile
        try:
            os.rename(partial, folder)  # atomic; replaces an empty directory, fails on a non-empty one
        except OSError as exc:
            if claimed:
                with suppress(OSError):
                    os.rmdir(folder)  # only ever removes our own empty claim, never anything written
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            if next_name is None:
                raise taken(folder) from None
            folder = next_name()
            continue
        return folder
    raise RunError(f"found no free name in {folder.parent} after {NAME_ATTEMPTS} tries; nothing was saved")


def remove(folder: Path) -> None:
    """Delete `folder`: renamed to a hidden `.NAME.deleting-<hex>` first (OSError when that fails), so it
    disappears in one step; what a crash leaves of it, clean_leftovers removes later."""
    doomed = hidden_sibling(folder, "deleting")
    os.rename(folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def _age_s(path: Path, now: float) -> float:
    """Seconds since `path` or anything directly in it last changed."""
    latest = path.lstat().st_mtime
    with os.scandir(path) as entries:
        for entry in entries:
            with suppress(OSError):
                latest = max(latest, entry.stat(follow_symlinks=False).st_mtime)
    return now - latest


def clean_leftovers(root: Path, only: str | None = None) -> list[Path]:
    """Remove hidden `.NAME.partial-*`, `.NAME.deleting-*` and `.NAME.previous-*` folders in `root`
    untouched for STALE_AFTER_S, and put back a `.NAME.previous-*` whose NAME is missing (a swap killed
    between its two renames). `only`: just the leftovers of that NAME. Never raises; returns the folders removed.
    """
    root = Path(root)
    removed: list[Path] = []
    try:
        entries = [entry for entry in os.scandir(root) if entry.name.startswith(".")]
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = _LEFTOVER.match(entry.name)
        if match is None or (only is not None and match["name"] != only):
            continue
        path = Path(entry.path)
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if match["kind"] == "previous" and not os.path.lexists(root / match["name"]):
                os.rename(path, root / match["name"])
                continue
            if _age_s(path, now) > STALE_AFTER_S:
                shutil.rmtree(path)
                removed.append(path)
        except OSError:
            continue
    return removed
