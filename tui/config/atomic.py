"""Replace a file so that it is either wholly old or wholly new, never half-written.

The new text goes to a temporary file in the same directory (same filesystem, so the
rename is atomic), is flushed to disk, then renamed over the target; the directory is
synced so the rename itself survives a crash. On any failure the temporary file is
removed and the target is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

NEW_FILE_MODE = 0o600
"""A config file may hold an inline key: only its owner may read it."""
NEW_DIR_MODE = 0o700


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; raises OSError on failure.

    A new file gets NEW_FILE_MODE and missing directories NEW_DIR_MODE; an existing file
    keeps its mode. A symlink is written through, not replaced: config files often live
    in a dotfiles repository.
    """
    target = path.resolve()
    directory = target.parent
    make_private_dirs(directory)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    descriptor, temp_name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    fsync_directory(directory)


def make_private_dirs(folder: Path) -> bool:
    """Create ``folder`` and missing parents as NEW_DIR_MODE; True if anything was created.
    Shared with the audit log: one way to make batchtop's private folders."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, NEW_DIR_MODE)
        except FileExistsError:
            continue  # another writer made it first
        os.chmod(path, NEW_DIR_MODE)  # the umask may have taken bits we need
    return bool(missing)


def fsync_directory(folder: Path) -> None:
    """Make a rename or a new file's name in ``folder`` durable, where the platform can."""
    if os.name != "posix":  # Windows cannot open a directory to sync it.
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
