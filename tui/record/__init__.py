"""Recordings: every poll's outcome written to a file, so a session can be replayed later.

No Textual, standard library plus ``tui.config`` (the state folder, private folders): the
board, the headless commands and a replaying simulator can all use it.

The file format, version 1
==========================

A recording is a gzip-compressed NDJSON file (``*.ndjson.gz``): UTF-8, one JSON object
per line, each line ended by ``\\n``, compact separators, non-ASCII characters as they
are. A lone surrogate in a string is written as its ``\\uXXXX`` escape. The gzip stream
is sync-flushed after every line, so a file whose writer was killed still decompresses
up to its last complete line (it just lacks the gzip trailer).

Every record has ``"v": 1``, ``"type"`` and ``"at"`` (unix seconds, a float: when it
happened). By type:

============  ==================================================================
type          further fields
============  ==================================================================
header        ``started_at`` (float), ``app_version`` (str), ``profiles`` (list of
              objects: name, base_url, api, providers...), ``part`` (int: 0 in a
              session's first file, +1 at each rotation). First in every file.
poll          ``profile``, ``provider`` (str), ``kind`` ("page_one" |
              "history_page" | "retrieve"), and either ``batches`` (list of
              objects exactly as the gateway sent them, or ``{"id": ..., "same":
              true}``: that batch as last seen for this profile and provider)
              or ``"same_page": true`` (the batches of the last poll of this
              profile, provider and kind). References never reach back past
              the last header: each file, and each header, starts afresh.
poll_failed   ``profile``, ``provider``, ``error`` (object: status, message, short)
cancel        ``profile``, ``provider``, ``batch_id`` (str), ``outcome``
              ("accepted" | "refused" | "failed"), ``message`` (str),
              ``status`` (int HTTP status, or null)
============  ==================================================================

Readers ignore fields they do not know and skip (and count) records with another ``v``
or an unknown ``type``; a new field may be added within version 1, anything a version-1
reader would misread needs ``v: 2``. No secret is ever in the file: each given secret is
replaced by ``[redacted]`` wherever it occurs. Files are 0600, their folder 0700.

Rotation: past ``max_bytes`` the file is renamed ``NAME.1`` (``NAME.1`` to ``NAME.2``...,
``keep`` of them), and ``NAME`` starts again with the header, so every file stands alone.
A recorder never opens an existing file: appending after a killed writer's torn stream
would make the new records unreadable.

The API
=======

- ``Recorder(path, max_bytes=, keep=, secrets=, dedupe=)``: ``header``, ``poll``,
  ``poll_failed``, ``cancel``, ``close`` (see ``writer``);
- ``read_recording(path, include_rotated=False)``: iterate it for ``Record`` objects
  (``Header | Poll | PollFailed | Cancel``, frozen dataclasses), ``.stats`` for what was
  skipped;
- ``follow_recording(path, poll_interval, sleep=, stop=)``: a synchronous ``tail -f``
  generator of records, across rotations;
- ``recording_files(path)``: the rotated set, oldest first; ``default_recording_path(now)``.
"""

from tui.record.files import default_recording_path, recording_files, recordings_dir, rotated_path
from tui.record.reader import ReadStats, RecordingReader, follow_recording, read_recording
from tui.record.records import (
    CANCEL_OUTCOMES,
    FORMAT_VERSION,
    POLL_KINDS,
    Cancel,
    Header,
    Poll,
    PollFailed,
    Record,
    RecordingError,
)
from tui.record.redact import REDACTED
from tui.record.writer import DEFAULT_KEEP, DEFAULT_MAX_BYTES, Recorder

__all__ = [
    "CANCEL_OUTCOMES",
    "DEFAULT_KEEP",
    "DEFAULT_MAX_BYTES",
    "FORMAT_VERSION",
    "POLL_KINDS",
    "REDACTED",
    "Cancel",
    "Header",
    "Poll",
    "PollFailed",
    "ReadStats",
    "Record",
    "Recorder",
    "RecordingError",
    "RecordingReader",
    "default_recording_path",
    "follow_recording",
    "read_recording",
    "recording_files",
    "recordings_dir",
    "rotated_path",
]
