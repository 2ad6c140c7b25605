"""Where recordings live and how a rotated set is named.

A session records to ``<state dir>/recordings/batchtop-YYYYmmdd-HHMMSS.ndjson.gz`` (UTC,
the session's start) unless told otherwise; rotation renames the full file ``NAME.1``
and shifts older ones to ``NAME.2``, ``NAME.3``..., so the highest number is the oldest.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from tui.config.paths import state_dir

RECORDINGS_FOLDER = "recordings"
SUFFIX = ".ndjson.gz"


def recordings_dir() -> Path:
    """The folder for recordings, inside batchtop's state folder; not created here."""
    return state_dir() / RECORDINGS_FOLDER


def default_recording_path(now: float | dt.datetime) -> Path:
    """The file a session started at ``now`` (unix seconds, or an aware datetime) records to."""
    moment = now if isinstance(now, dt.datetime) else dt.datetime.fromtimestamp(now, dt.UTC)
    return recordings_dir() / f"batchtop-{moment.astimezone(dt.UTC):%Y%m%d-%H%M%S}{SUFFIX}"


def rotated_path(path: Path, number: int) -> Path:
    """``NAME.number``: the ``number``-th newest rotated file of ``path``."""
    return path.with_name(f"{path.name}.{number}")


def recording_files(path: Path | str) -> list[Path]:
    """The files of the rotated set of ``path`` that exist, oldest first, ``path`` itself last."""
    path = Path(path)
    prefix = path.name + "."
    numbered: list[tuple[int, Path]] = []
    try:
        names = os.listdir(path.parent)
    except OSError:
        names = []
    for name in names:
        tail = name[len(prefix) :] if name.startswith(prefix) else ""
        if tail.isascii() and tail.isdigit() and tail == str(int(tail)) and int(tail) >= 1:  # NAME.1, not NAME.01
            numbered.append((int(tail), path.parent / name))
    files = [file for _, file in sorted(numbered, reverse=True)]
    if path.exists():
        files.append(path)
    return files
