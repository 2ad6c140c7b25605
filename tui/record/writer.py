"""The writer: one gzip-compressed NDJSON file per session, flushed after every record, rotated by size.

Why each rule:

- every record is followed by a zlib ``Z_SYNC_FLUSH``: the bytes on disk then decompress
  up to that record, so a killed process loses at most the record being written, and a
  ``follow`` reader sees each record as soon as it is written (no fsync: a recording is
  worth less than a write to disk every poll);
- a new file is created with ``O_EXCL`` and mode 0600 in one ``os.open`` (no window where
  another user could open it), its folder 0700 if missing; an existing file is never
  appended to (its gzip stream may be torn by a crash, and whatever followed would be
  unreadable) nor overwritten: that is a ``RecordingError``;
- past ``max_bytes`` on disk the file is closed (the gzip trailer written), renamed
  ``NAME.1`` (older ones shifted to ``.2`` ... ``.keep``, the oldest dropped), and a new
  file begins with the header again, so every file stands alone;
- with ``dedupe``, a batch identical to the last one written in this file for the same
  (profile, provider, id) is written as ``{"id": ..., "same": true}``, and a page
  identical (same batches, same order) to the last one of the same (profile, provider,
  kind) as ``"same_page": true`` instead of ``batches``: a quiet board repeats the same
  page every poll, and gzip's 32 KiB window cannot see one page back. Both levels are
  needed: a reference still carries its id, and ids are random, so 1,000 references
  cost ~16 KB compressed per poll where ``same_page`` costs a few bytes.

Thread-safe: a lock serializes the record calls, so a cancel worker may record while the
poll loop does.
"""

from __future__ import annotations

import gzip
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from tui.config.atomic import make_private_dirs
from tui.record.files import rotated_path
from tui.record.records import CANCEL_OUTCOMES, FORMAT_VERSION, POLL_KINDS, SAME_KEY, SAME_PAGE_KEY, RecordingError
from tui.record.redact import Redactor, line_bytes

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_KEEP = 3
COMPRESS_LEVEL = 6
"""zlib's default: level 9 costs about twice the time for a few percent on JSON."""

_BatchKey = tuple[str, str, str]


class Recorder:
    """Writes one session's polls, failures and cancels to ``path`` (see the module docstring).

    Every method raises ``RecordingError`` (naming the file) when the disk refuses, when
    the recorder is closed or broken by an earlier failure, or for input JSON cannot
    hold; ``ValueError`` for a ``kind`` or ``outcome`` this format does not know.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        keep: int = DEFAULT_KEEP,
        secrets: Iterable[str] = (),
        dedupe: bool = True,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be > 0")
        if keep < 0:
            raise ValueError("keep must be >= 0")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.keep = keep
        self.dedupe = dedupe
        self._redactor = Redactor(secrets)
        self._lock = threading.Lock()
        self._header: dict[str, Any] | None = None  # the last header's fields, written again at each rotation
        self._part = 0
        self._last: dict[_BatchKey, str] = {}  # (profile, provider, id) -> the batch's JSON as the reader holds it
        self._pages: dict[tuple[str, str, str], str] = {}  # (profile, provider, kind) -> the last page's batches' JSON
        self._broken: str | None = None
        self._size = 0
        self._closed = False
        self._raw: BinaryIO
        self._gz: gzip.GzipFile
        self._open_new_file()

    # -- the record calls -------------------------------------------------------------

    def header(
        self,
        *,
        profiles: Sequence[Mapping[str, Any]],
        started_at: float,
        app_version: str,
        at: float | None = None,
    ) -> None:
        """The session's header; ``at`` defaults to ``started_at``. Write it first: it is
        repeated at the start of every rotated file. A header starts dedupe afresh."""
        fields = {"started_at": float(started_at), "app_version": app_version, "profiles": list(profiles)}
        with self._lock:
            self._check_usable()
            line = self._header_line(float(started_at if at is None else at), fields)  # encodable, or nothing changes
            self._header = fields
            self._last.clear()
            self._pages.clear()
            self._write(line, at=None)

    def poll(
        self,
        *,
        at: float,
        profile: str,
        provider: str,
        batches: Sequence[Mapping[str, Any]],
        kind: str,
        gone: Sequence[str] = (),
        fetched_finished: Sequence[str] = (),
        note: str | None = None,
    ) -> None:
        """One answer's batches, as the gateway sent them; ``kind`` is one of POLL_KINDS.
        ``gone``, ``fetched_finished`` and ``note``: what else the board took from the poll."""
        if kind not in POLL_KINDS:
            raise ValueError(f"poll kind must be one of {', '.join(POLL_KINDS)}, not {kind!r}")
        with self._lock:
            self._check_usable()
            head = self._encode(
                {
                    "v": FORMAT_VERSION,
                    "type": "poll",
                    "at": float(at),
                    "profile": profile,
                    "provider": provider,
                    "kind": kind,
                    **({"gone": list(gone)} if gone else {}),
                    **({"fetched_finished": list(fetched_finished)} if fetched_finished else {}),
                    **({"note": note} if note else {}),
                }
            )
            full = [self._encode(batch if isinstance(batch, dict) else dict(batch), "batch") for batch in batches]
            body, remember = self._batches_json(profile, provider, kind, [batch.get("id") for batch in batches], full)
            line = self._redactor.scrub_line(head[:-1] + "," + body + "}")
            self._write(line, at=at, after=remember)

    def poll_failed(self, *, at: float, profile: str, provider: str, error: Mapping[str, Any]) -> None:
        """A poll without a usable answer; ``error`` as the caller describes it (status, message, short)."""
        record = {
            "v": FORMAT_VERSION,
            "type": "poll_failed",
            "at": float(at),
            "profile": profile,
            "provider": provider,
            "error": dict(error),
        }
        with self._lock:
            self._check_usable()
            self._write(self._encode(record), at=at)

    def cancel(
        self,
        *,
        at: float,
        profile: str,
        provider: str,
        batch_id: str,
        outcome: str,
        message: str = "",
        status: int | None = None,
    ) -> None:
        """One cancel attempt; ``outcome`` is one of CANCEL_OUTCOMES, ``status`` the HTTP status if any."""
        if outcome not in CANCEL_OUTCOMES:
            raise ValueError(f"cancel outcome must be one of {', '.join(CANCEL_OUTCOMES)}, not {outcome!r}")
        record = {
            "v": FORMAT_VERSION,
            "type": "cancel",
            "at": float(at),
            "profile": profile,
            "provider": provider,
            "batch_id": batch_id,
            "outcome": outcome,
            "message": message,
            "status": status,
        }
        with self._lock:
            self._check_usable()
            self._write(self._encode(record), at=at)

    # -- life cycle --------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Compressed bytes in the current file so far."""
        return self._size

    def close(self) -> None:
        """Finish the file (gzip trailer); idempotent. A file never closed still reads."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._finish_file()
            except OSError as exc:
                if self._broken is None:  # already reported when it broke
                    raise self._error("cannot finish", exc) from exc

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- inside --------------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._closed:
            raise RecordingError(f"{self.path}: the recording is closed")
        if self._broken is not None:
            raise RecordingError(f"{self.path}: recording stopped after an earlier failure: {self._broken}")

    def _encode(self, value: Any, what: str = "record") -> str:
        try:
            return self._redactor.encode(value)
        except (TypeError, ValueError, RecursionError) as exc:
            raise RecordingError(f"{self.path}: a {what} cannot be written as JSON: {exc}") from None

    def _batches_json(
        self, profile: str, provider: str, kind: str, ids: list[Any], full: list[str]
    ) -> tuple[str, Callable[[], None] | None]:
        """The poll's batches member, as short as dedupe allows, and what to remember once
        it is written (the reader's state after this line, which the next line relies on).

        ``"same_page":true``: the batches, in order, of the last poll of this (profile,
        provider, kind) in this file; else each batch whose JSON is what the reader holds
        for its id at that point (earlier in this line, or from before) is a reference.
        """
        if not self.dedupe:
            return '"batches":[' + ",".join(full) + "]", None
        page_key = (profile, provider, kind)
        page = ",".join(full)
        same_page = bool(full) and self._pages.get(page_key) == page
        state: dict[_BatchKey, str] = {}  # batches as the reader holds them after this line, where changed
        pieces: list[str] = []
        for batch_id, piece in zip(ids, full):
            if not isinstance(batch_id, str):
                pieces.append(piece)
                continue
            key = (profile, provider, batch_id)
            held = state.get(key, self._last.get(key))
            state[key] = piece
            if not same_page:
                pieces.append(self._encode({"id": batch_id, SAME_KEY: True}) if held == piece else piece)

        def remember() -> None:
            self._last.update(state)
            self._pages[page_key] = page

        if same_page:
            return f'"{SAME_PAGE_KEY}":true', remember
        return '"batches":[' + ",".join(pieces) + "]", remember

    def _header_line(self, at: float, fields: dict[str, Any]) -> str:
        record = {"v": FORMAT_VERSION, "type": "header", "at": at, **fields, "part": self._part}
        return self._encode(record, "header")

    def _write(self, line: str, *, at: float | None, after: Callable[[], None] | None = None) -> None:
        """Append one line and flush it to the OS; rotate after it if the file grew past
        max_bytes (``at=None``: never after a header, so one huge header cannot loop).
        Any failure leaves the recorder broken: its file may end in half a record."""
        self._check_usable()
        try:
            self._gz.write(line_bytes(line) + b"\n")
            self._gz.flush()  # Z_SYNC_FLUSH, then the file object's own buffer
            self._size = self._raw.tell()
            if after is not None:
                after()  # before a rotation, which forgets this file's batches
            if at is not None and self._size > self.max_bytes:
                self._rotate(at)
        except OSError as exc:
            self._broken = exc.strerror or str(exc)
            raise self._error("cannot write", exc) from exc
        except RecordingError as exc:
            self._broken = exc.message
            raise

    def _rotate(self, at: float) -> None:
        self._finish_file()
        shift_rotated(self.path, self.keep)
        self._part += 1
        self._last.clear()
        self._pages.clear()
        self._open_new_file()
        if self._header is not None:
            self._write(self._header_line(at, self._header), at=None)

    def _open_new_file(self) -> None:
        try:
            make_private_dirs(self.path.parent)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(self.path, flags, 0o600)
        except FileExistsError:
            raise RecordingError(
                f"{self.path}: already exists; a recording is never appended to or overwritten"
            ) from None
        except OSError as exc:
            raise self._error("cannot create", exc) from exc
        self._raw = os.fdopen(fd, "wb")
        # filename="" keeps the path out of the gzip header.
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, compresslevel=COMPRESS_LEVEL)
        try:
            self._gz.flush()  # the gzip header on disk now: a reader never finds an empty file
        except OSError as exc:
            raise self._error("cannot write", exc) from exc
        self._size = self._raw.tell()

    def _finish_file(self) -> None:
        try:
            self._gz.close()
        finally:
            self._raw.close()

    def _error(self, doing: str, exc: OSError) -> RecordingError:
        return RecordingError(f"{self.path}: {doing} the recording: {exc.strerror or exc}")


def shift_rotated(path: Path, keep: int) -> None:
    """``NAME`` becomes ``NAME.1``, ``NAME.1`` becomes ``NAME.2`` ... up to ``NAME.keep``
    (the file there before is replaced: the oldest is dropped). ``keep=0`` drops ``NAME``."""
    if keep == 0:
        path.unlink(missing_ok=True)
        return
    for number in range(keep - 1, 0, -1):
        older = rotated_path(path, number)
        if older.exists():
            os.replace(older, rotated_path(path, number + 1))
    os.replace(path, rotated_path(path, 1))
