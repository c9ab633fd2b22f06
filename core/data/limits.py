"""How much a user file may take, checked on sizes read from headers before anything is decompressed."""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

from core.errors import DataError

MAX_FILE_MB_ENV = "ANOMALY_STUDIO_MAX_FILE_MB"
MEMORY_SHARE = 8  # by default a file may take an eighth of the machine's memory once decoded


def max_file_bytes() -> int:
    """The most bytes a user file may take: on disk, unpacked, and decoded as float32 samples.

    $ANOMALY_STUDIO_MAX_FILE_MB, else an eighth of the machine's physical memory. Every check runs on sizes
    read from headers (zip directories, .npy headers, image headers) before anything is decompressed.
    """
    raw = os.environ.get(MAX_FILE_MB_ENV, "").strip()
    if not raw:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MEMORY_SHARE
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = math.nan
    if not (math.isfinite(megabytes) and megabytes > 0):
        raise DataError(f"{MAX_FILE_MB_ENV} must be a positive number of megabytes (got {raw!r})")
    return int(megabytes * 2**20)


def check_size(n_bytes: int, path: Path, verb: str) -> None:
    limit = max_file_bytes()
    if n_bytes > limit:
        raise DataError(
            f"{path} {verb} {n_bytes / 2**20:.1f} MB, over the {limit / 2**20:g} MB limit; "
            f"set {MAX_FILE_MB_ENV} higher to load it"
        )


def check_unpacked_size(archive: zipfile.ZipFile, path: Path) -> None:
    # Checked on the sizes the archive declares; zipfile never inflates a member beyond its declared size.
    check_size(sum(info.file_size for info in archive.infolist()), path, "unpacks to")


def check_decoded_size(n_values: int, bytes_per_value: int, path: Path) -> None:
    """Refuse, before decoding, data that would take more than the limit as float32 samples (plus its source)."""
    check_size(n_values * (4 + bytes_per_value), path, "would take")
