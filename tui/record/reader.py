"""The reader: every complete record of a file, whether or not its writer ever closed it.

The file is decompressed with a streaming ``zlib`` object rather than ``gzip.GzipFile``,
because a recording whose writer was killed has no gzip trailer, and ``GzipFile`` turns
that into an ``EOFError`` (losing what it had buffered); the stream object simply returns
every byte the file holds. Lines are split on ``\\n`` only (``str.splitlines`` would also
split on characters JSON leaves unescaped, such as U+2028), and a last line without its
``\\n`` is a record torn by the crash: it is counted and dropped.

What is skipped is counted in ``ReadStats``, never raised: a file from a newer writer
(unknown ``v`` or ``type``) or with a damaged line still yields everything else. What is
raised is ``RecordingError``, for a file that is missing, empty, not gzip, or whose
compressed data is damaged (after yielding the records before the damage).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tui.record.files import recording_files
from tui.record.records import (
    FORMAT_VERSION,
    SAME_KEY,
    SAME_PAGE_KEY,
    Header,
    Poll,
    Record,
    RecordingError,
    Skipped,
    parse_record,
)

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 64 * 1024
"""Compressed bytes read at a time; deflate expands at most ~1000x, so at most ~64 MB out."""


@dataclass
class ReadStats:
    """What a read found besides records; filled in as the records are yielded."""

    records: int = 0
    unknown_version: int = 0  # a ``v`` other than 1: a newer writer's records
    unknown_type: int = 0  # a ``type`` this reader does not know
    malformed: int = 0  # not JSON, not UTF-8, or a known type with a missing or mistyped field
    torn: int = 0  # a last line without its newline (the writer was killed while writing it)
    unresolved: int = 0  # a ``{"id", "same"}`` reference to a batch not in the file before it (kept as is)
    unterminated: int = 0  # files whose gzip stream has no end (writer still running, or killed)

    @property
    def skipped(self) -> int:
        """Lines not yielded: unknown version or type, malformed, torn."""
        return self.unknown_version + self.unknown_type + self.malformed + self.torn


class _FileDecoder:
    """Bytes of one file in (in pieces, as they arrive), records out.

    Holds what must carry over between pieces: the zlib stream, the unfinished line, and
    the batches last seen in full (for the ``same`` references; forgotten at each header).
    A file may hold several gzip members one after another (as ``cat a.gz b.gz`` makes).
    """

    def __init__(self, name: str, stats: ReadStats) -> None:
        self._name = name
        self._stats = stats
        self._stream: Any = None  # zlib's Decompress object, between members None
        self._member_start = b""  # the first bytes of a member, until its magic can be checked
        self._members = 0
        self._garbage = False  # bytes after the last member that are not gzip: ignored
        self._partial: list[bytes] = []
        self.damage: RecordingError | None = None
        self._batches: dict[tuple[str, str, str], dict[str, Any]] = {}  # (profile, provider, id)
        self._pages: dict[tuple[str, str, str], tuple[dict[str, Any], ...]] = {}  # (profile, provider, kind)

    def feed(self, data: bytes) -> list[Record]:
        """The records completed by ``data``. Damaged compressed data stops the decoding:
        the records before the damage are returned, then ``check`` raises."""
        records: list[Record] = []
        while data and not self._garbage and self.damage is None:
            if self._stream is None:
                data = self._start_member(data)
                if self._stream is None:
                    break
            text = self._decompress(data)
            self._lines(text, records)
            if self._stream.eof:
                data = self._stream.unused_data
                self._stream = None
            else:
                data = b""
        return records

    def check(self) -> None:
        """Raise ``RecordingError`` if the compressed data was found damaged."""
        if self.damage is not None:
            raise self.damage

    def _decompress(self, data: bytes) -> bytes:
        """Decompress ``data``; on damage, salvage what precedes it. zlib raises without
        returning the output before the error, so the longest prefix of ``data`` that
        decompresses cleanly (from a copy of the stream as it was) is found by bisection."""
        before = self._stream.copy()
        try:
            text: bytes = self._stream.decompress(data)
            return text
        except zlib.error as exc:
            self.damage = RecordingError(f"{self._name}: the compressed data is damaged ({exc})")
        good, bad = 0, len(data)  # a prefix of length good decompresses, one of length bad does not
        while bad - good > 1:
            middle = (good + bad) // 2
            try:
                before.copy().decompress(data[:middle])
            except zlib.error:
                bad = middle
            else:
                good = middle
        self._stream = before
        salvaged: bytes = before.decompress(data[:good])
        return salvaged

    def finish(self) -> None:
        """The file ends here: a line still open was torn, a stream still open was never closed."""
        if b"".join(self._partial).strip():
            self._stats.torn += 1
        self._partial = []
        if self._stream is not None or self._member_start:
            self._stats.unterminated += 1

    def _start_member(self, data: bytes) -> bytes:
        head = self._member_start + data
        if len(head) < len(GZIP_MAGIC):
            self._member_start = head
            return b""
        self._member_start = b""
        if not head.startswith(GZIP_MAGIC):
            if self._members == 0:
                raise RecordingError(f"{self._name}: not a batchtop recording (not gzip-compressed)")
            self._garbage = True
            return b""
        self._members += 1
        self._stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        return head

    def _lines(self, text: bytes, records: list[Record]) -> None:
        if b"\n" not in text:
            if text:
                self._partial.append(text)
            return
        self._partial.append(text)
        *complete, rest = b"".join(self._partial).split(b"\n")
        self._partial = [rest] if rest else []
        for line in complete:
            record = self._record(line)
            if record is not None:
                records.append(record)

    def _record(self, line: bytes) -> Record | None:
        if not line.strip():
            return None
        try:
            obj = json.loads(line.decode("utf-8"))
            record = parse_record(self._same_page(obj))
        except (UnicodeDecodeError, ValueError, RecursionError):
            self._stats.malformed += 1
            return None
        except Skipped as skip:
            setattr(self._stats, skip.reason, getattr(self._stats, skip.reason) + 1)
            return None
        if isinstance(record, Header):
            self._batches.clear()
            self._pages.clear()
        elif isinstance(record, Poll):
            record = self._expand(record)
            self._pages[(record.profile, record.provider, record.kind)] = record.batches
        self._stats.records += 1
        return record

    def _same_page(self, obj: Any) -> Any:
        """A ``"same_page": true`` poll with the batches of the page it repeats put back."""
        if not (isinstance(obj, dict) and obj.get("v") == FORMAT_VERSION and obj.get("type") == Poll.type):
            return obj
        if obj.get(SAME_PAGE_KEY) is not True:
            return obj
        profile, provider, kind = obj.get("profile"), obj.get("provider"), obj.get("kind")
        if not (isinstance(profile, str) and isinstance(provider, str) and isinstance(kind, str)):
            return obj  # malformed: parse_record says so
        page = self._pages.get((profile, provider, kind))
        if page is None:
            raise ValueError("a same_page poll without the page it repeats")
        return {**obj, "batches": list(page)}

    def _expand(self, poll: Poll) -> Poll:
        """Put back the batches the writer wrote as ``{"id": ..., "same": true}``; remember
        every batch as the writer does (the last one seen for each id)."""
        batches: list[dict[str, Any]] = []
        changed = False
        for batch in poll.batches:
            batch_id = batch.get("id")
            if not isinstance(batch_id, str):
                batches.append(batch)
                continue
            key = (poll.profile, poll.provider, batch_id)
            if len(batch) == 2 and batch.get(SAME_KEY) is True:
                full = self._batches.get(key)
                if full is None:
                    self._stats.unresolved += 1
                    batches.append(batch)
                    continue
                batch, changed = full, True
            self._batches[key] = batch
            batches.append(batch)
        return dataclasses.replace(poll, batches=tuple(batches)) if changed else poll


def _open(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")  # closed by the caller
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such recording") from None
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read the recording: {exc.strerror or exc}") from None


def _read_file(path: Path, stats: ReadStats) -> Iterator[Record]:
    decoder = _FileDecoder(str(path), stats)
    with _open(path) as stream:
        size = 0
        while True:
            try:
                data = stream.read(CHUNK)
            except OSError as exc:
                raise RecordingError(f"{path}: cannot read the recording: {exc.strerror or exc}") from None
            if not data:
                break
            size += len(data)
            yield from decoder.feed(data)
            decoder.check()
        if size == 0:
            raise RecordingError(f"{path}: the file is empty, not a batchtop recording")
        decoder.finish()


class RecordingReader:
    """The records of a recording, in file order; iterate it (again to read again).

    ``stats`` counts what was skipped, as far as the iteration has got.
    """

    def __init__(self, path: Path | str, *, include_rotated: bool = False) -> None:
        self.path = Path(path)
        self.include_rotated = include_rotated
        self.stats = ReadStats()

    def files(self) -> list[Path]:
        """The files this reader reads, in order."""
        return recording_files(self.path) if self.include_rotated else [self.path]

    def __iter__(self) -> Iterator[Record]:
        self.stats = ReadStats()
        files = self.files()
        if not files:
            raise RecordingError(f"{self.path}: no such recording (nor any rotated file of it)")
        for file in files:
            yield from _read_file(file, self.stats)


def read_recording(path: Path | str, include_rotated: bool = False) -> RecordingReader:
    """The records of the file at ``path``, or of its whole rotated set oldest first.

    Each file stands alone (it starts with a header, dedupe state starts afresh at every
    header). Raises ``RecordingError`` while iterating, see the module docstring.
    """
    return RecordingReader(path, include_rotated=include_rotated)


def follow_recording(
    path: Path | str,
    poll_interval: float = 0.5,
    *,
    sleep: Callable[[float], object] = time.sleep,
    stop: Callable[[], bool] = lambda: False,
    stats: ReadStats | None = None,
) -> Iterator[Record]:
    """Yield the records of ``path`` from its start, then each new one as it is written, like ``tail -f``.

    A synchronous generator. When it has read all there is, it asks ``stop()`` (a
    ``threading.Event().is_set`` will do) and ends if true, else calls
    ``sleep(poll_interval)`` and looks again; both are injectable so tests need no real
    time. A missing file is waited for. A rotation (``path`` now another file, by inode,
    or shorter than what was read) is followed: the old file is read to its end, then the
    new one from its start (two rotations between two looks would skip the file between:
    at 64 MB a file, that takes far longer than ``poll_interval``). ``stats``, if given,
    is filled in as ``read_recording``'s is.
    Raises ``RecordingError`` for a file that is not gzip or damaged.
    """
    target = Path(path)
    counts = stats if stats is not None else ReadStats()
    stream: IO[bytes] | None = None
    decoder = _FileDecoder(str(target), counts)
    identity: tuple[int, int] = (0, 0)
    offset = 0
    try:
        while True:
            if stream is None:
                stream, identity = _open_if_there(target)
                decoder, offset = _FileDecoder(str(target), counts), 0
            if stream is not None:
                offset, records = _drain(stream, decoder, offset)
                yield from records
                decoder.check()
                if _replaced(target, identity, offset):
                    _, records = _drain(stream, decoder, offset)  # what was written before the rename
                    yield from records
                    decoder.check()
                    decoder.finish()
                    stream.close()
                    stream = None
                    continue  # the new file at once, without sleeping
            if stop():
                return
            sleep(poll_interval)
    finally:
        if stream is not None:
            stream.close()


def _open_if_there(path: Path) -> tuple[IO[bytes] | None, tuple[int, int]]:
    try:
        stream = open(path, "rb")  # closed by follow_recording
    except FileNotFoundError:
        return None, (0, 0)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read the recording: {exc.strerror or exc}") from None
    info = os.fstat(stream.fileno())
    return stream, (info.st_dev, info.st_ino)


def _drain(stream: IO[bytes], decoder: _FileDecoder, offset: int) -> tuple[int, list[Record]]:
    """Read to the current end of the file; the new offset and the records completed."""
    records: list[Record] = []
    while True:
        data = stream.read(CHUNK)
        if not data:
            return offset, records
        offset += len(data)
        records.extend(decoder.feed(data))
        if decoder.damage is not None:
            return offset, records


def _replaced(path: Path, identity: tuple[int, int], offset: int) -> bool:
    """Whether ``path`` is no longer the file being read: renamed away and recreated, or
    truncated. Missing (between the rename and the new file) is not yet replaced."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return (info.st_dev, info.st_ino) != identity or info.st_size < offset
