"""Readable names of saved runs.

A run's folder name is its id: unique, and never changed (reports, sessions and commands refer to it). What
tables, legends and reports show is its title: the one the user gave it (`title.txt` in the folder, which a
threshold update leaves alone: it replaces threshold.json only), else one made from its dataset, model and the
time it was saved ("Digits (8×8, offline) · conv · 2026-12-02 14:05").
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from datetime import datetime
from pathlib import Path

from core.data import dataset_label
from core.errors import RunError
from core.timeformat import timestamp

TITLE_FILE = "title.txt"
MAX_LENGTH = 80


def default_title(dataset: str | None, model_kind: str | None, created: str | None) -> str:
    """ "<dataset label> · <model kind> · <local time saved>", leaving out what is unknown."""
    parts = [dataset_label(dataset) if dataset else None, model_kind]
    if created:
        with contextlib.suppress(ValueError):
            parts.append(timestamp(datetime.fromisoformat(created).astimezone().replace(tzinfo=None)))
    return " · ".join(part for part in parts if part) or "run"


def given_title(folder: str | Path) -> str | None:
    """The title the user gave the run in `folder`, or None."""
    try:
        text = (Path(folder) / TITLE_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text[:MAX_LENGTH] or None


def title(summary) -> str:
    """The title of a listed run (a core.runs.RunSummary); a damaged run is shown by its folder name."""
    if summary.damaged:
        return Path(summary.path).name
    return given_title(summary.path) or default_title(summary.dataset, summary.model_kind, summary.created)


def titles(summaries) -> dict[str, str]:
    """{run folder path: title} of listed runs; titles that two runs share get the end of their folder's id."""
    named = {str(summary.path): title(summary) for summary in summaries}
    shared = {name for name, times in Counter(named.values()).items() if times > 1}
    return {path: f"{name} ({Path(path).name[-6:]})" if name in shared else name for path, name in named.items()}


def folder_title(folder: str | Path) -> str:
    """The title of the run saved in `folder`, read from its files (its folder name when they do not read)."""
    folder = Path(folder)
    found = given_title(folder)
    if found:
        return found
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        created = json.loads((folder / "run.json").read_text(encoding="utf-8")).get("created")
        return default_title(config["data"]["dataset"], config["model"]["kind"], created)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return folder.name


def rename_run(folder: str | Path, new_title: str) -> str:
    """Give the run in `folder` the title `new_title` (blank: back to the default); returns the title shown.

    The folder keeps its name. Raises RunError for a title that is too long or on several lines, or a folder
    that is not a saved run or cannot be written."""
    folder = Path(folder)
    new_title = new_title.strip()
    if "\n" in new_title or "\r" in new_title:
        raise RunError("a run's name must fit on one line")
    if len(new_title) > MAX_LENGTH:
        raise RunError(f"a run's name can be at most {MAX_LENGTH} characters long (this one has {len(new_title)})")
    if folder.name.startswith(".") or not (folder / "run.json").is_file():
        raise RunError(f"{folder} is not a saved run; nothing was renamed")
    target = folder / TITLE_FILE
    try:
        if not new_title:
            target.unlink(missing_ok=True)
        else:
            partial = folder / f".{TITLE_FILE}.partial"
            partial.write_text(new_title + "\n", encoding="utf-8")
            os.replace(partial, target)
    except OSError as exc:
        raise RunError(f"{folder} could not be renamed: {exc.strerror or exc}") from None
    return folder_title(folder)
