"""The audit log: one JSON line per cancel attempt, for the review after an incident.

Whoever cancelled batches during an incident must later show exactly what was stopped,
when and by whom. Every cancel attempt, from the TUI or the CLI, accepted or not, is
appended to ``audit.jsonl`` in batchtop's state folder. The rules that make that record
trustworthy:

- one record is one line, written with one ``os.write`` on an ``O_APPEND`` descriptor
  under an exclusive lock, and ``fsync``-ed before ``record()`` returns: the caller
  reports success only once the record is on disk;
- earlier lines are never rewritten; a line torn by a crash is skipped on reading and the
  next record starts on a fresh line;
- the key never reaches the file: every string is scrubbed of the given secrets and the
  gateway is recorded as ``host[:port]``, never as a URL that could carry credentials;
- the file is private to its user (0600, parent folders 0700 when created here).

No Textual, no rich: stdlib and ``tui.config`` (paths, private folders) only, so both front ends share it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tui.cancel.outcome import OUTCOMES
from tui.config.atomic import fsync_directory, make_private_dirs
from tui.config.paths import state_dir
from tui.text.humanize import parse_duration

try:  # POSIX: serialise writers across processes (the TUI and a CLI run side by side)
    import fcntl
except ImportError:  # pragma: no cover - Windows: the in-process lock is all we have
    fcntl = None  # type: ignore[assignment]

AUDIT_FILE = "audit.jsonl"
SOURCES = ("tui", "cli")
COUNT_KEYS = ("total", "pending", "succeeded", "failed", "canceled", "expired")
REDACTED = "***"
MESSAGE_LIMIT = 4000  # a multi-megabyte gateway error must not make a multi-megabyte line

_write_lock = threading.Lock()


def audit_path() -> Path:
    """Where the audit log lives: ``state_dir() / audit.jsonl``."""
    return state_dir() / AUDIT_FILE


class AuditError(Exception):
    """The audit log could not be written or read.

    That is an environment failure (disk full, permissions), not a usage error, so the
    CLI exits ``ExitCode.API`` (1). ``message`` names the file and never holds a key.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class AuditRecord:
    """One cancel attempt as it happened. Field order is the order of the JSON keys."""

    time: str
    source: str
    session: str
    user: str
    host: str
    profile: str
    gateway: str
    provider: str
    batch_id: str
    status_before: str | None
    counts: dict[str, int | None]
    outcome: str
    message: str | None
    sent: bool | None
    status_after: str | None

    def to_dict(self) -> dict[str, Any]:
        """A plain dict in field order (``counts`` copied, so the frozen record stays as written)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["counts"] = dict(self.counts)
        return data

    def to_json(self) -> str:
        """One line (``ensure_ascii`` escapes every newline-like character), stable key order."""
        return json.dumps(self.to_dict(), ensure_ascii=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AuditRecord:
        """Build a record from what a file held, whatever it held.

        An audit log must stay readable after a version change or a hand edit: unknown
        keys are ignored, missing or mistyped required strings become "", optional
        fields become None.
        """

        def text(key: str) -> str:
            value = d.get(key)
            return "" if value is None else value if isinstance(value, str) else str(value)

        def optional_text(key: str) -> str | None:
            value = d.get(key)
            return None if value is None else value if isinstance(value, str) else str(value)

        sent = d.get("sent")
        return cls(
            time=text("time"),
            source=text("source"),
            session=text("session"),
            user=text("user"),
            host=text("host"),
            profile=text("profile"),
            gateway=text("gateway"),
            provider=text("provider"),
            batch_id=text("batch_id"),
            status_before=optional_text("status_before"),
            counts=normalize_counts(d.get("counts")),
            outcome=text("outcome"),
            message=optional_text("message"),
            sent=sent if isinstance(sent, bool) else None,
            status_after=optional_text("status_after"),
        )

    @property
    def timestamp(self) -> float | None:
        """The record's time as unix seconds; None if the file held something unreadable."""
        try:
            return _parse_instant(self.time).timestamp()
        except (ValueError, OverflowError):
            return None


def normalize_counts(counts: object) -> dict[str, int | None]:
    """Exactly the six known counts, in a fixed order; anything not an int is unknown."""
    source = counts if isinstance(counts, Mapping) else {}
    return {key: _int_or_none(source.get(key)) for key in COUNT_KEYS}


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def gateway_label(gateway: str) -> str:
    """``host[:port]`` of a gateway URL: a URL may carry ``user:key@`` or a ``?key=`` query."""
    text = gateway.strip()
    if "://" not in text:
        text = "//" + text  # let urlsplit find the netloc of a bare host[:port]
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else host


def format_time(now: float) -> str:
    """``2026-11-25T20:18:00.123Z``: UTC, milliseconds, sortable as text."""
    instant = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_instant(text: str) -> dt.datetime:
    """An ISO date or date-time; without an offset it is UTC (the log and ``--since`` agree)."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _current_user() -> str:
    try:
        return getpass.getuser() or "unknown"
    except Exception:  # KeyError/OSError when the uid has no passwd entry and no $USER
        return "unknown"


def _current_host() -> str:
    try:
        return socket.gethostname() or "unknown"
    except OSError:
        return "unknown"


class AuditLog:
    """Appends cancel attempts to the audit file and reads them back.

    ``session`` identifies this app run or CLI invocation, so the app can show "this
    session's own actions". ``secrets`` (the API key) are replaced by ``***`` in every
    string of every record before it is written.
    """

    def __init__(
        self, path: Path | None = None, *, source: str, session: str | None = None, secrets: Iterable[str] = ()
    ) -> None:
        if source not in SOURCES:
            raise ValueError(f"audit source must be one of {SOURCES}, got {source!r}")
        self.path = path if path is not None else audit_path()
        self.source = source
        self.session = session or uuid.uuid4().hex[:12]
        # Longest first, so that a secret containing another is removed whole.
        self._secrets = sorted({s for s in secrets if s and s.strip()}, key=len, reverse=True)
        self.last_read_skipped = 0

    # -- writing ----------------------------------------------------------------------

    def record(
        self,
        *,
        profile: str,
        gateway: str,
        provider: str,
        batch_id: str,
        status_before: str | None,
        counts: Mapping[str, int | None] | None,
        outcome: str,
        message: str | None = None,
        sent: bool | None = None,
        status_after: str | None = None,
        now: float | None = None,
    ) -> AuditRecord:
        """Append one attempt and return it once it is on disk (fsync-ed).

        Raises ``AuditError`` if it could not be written in full: the caller must then
        say so instead of reporting a clean cancel.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"audit outcome must be one of {OUTCOMES}, got {outcome!r}")
        entry = AuditRecord(
            time=format_time(time.time() if now is None else now),
            source=self.source,
            session=self.session,
            user=_current_user(),
            host=_current_host(),
            profile=profile,
            gateway=gateway_label(gateway),
            provider=provider,
            batch_id=batch_id,
            status_before=status_before,
            counts=normalize_counts(counts),
            outcome=outcome,
            message=message,
            sent=sent,
            status_after=status_after,
        )
        entry = self._redact(entry)  # before cutting the message, or half a key could remain
        if entry.message is not None and len(entry.message) > MESSAGE_LIMIT:
            entry = dataclasses.replace(entry, message=entry.message[: MESSAGE_LIMIT - 1] + "…")
        self._append((entry.to_json() + "\n").encode("ascii"))
        return entry

    def _redact(self, entry: AuditRecord) -> AuditRecord:
        if not self._secrets:
            return entry
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(entry):
            value = getattr(entry, f.name)
            if isinstance(value, str):
                for secret in self._secrets:
                    value = value.replace(secret, REDACTED)
                changes[f.name] = value
        return dataclasses.replace(entry, **changes)

    def _append(self, line: bytes) -> None:
        try:
            created = make_private_dirs(self.path.parent)
            fd, created_file = _open_for_append(self.path)
        except OSError as exc:
            raise AuditError(f"cannot write the audit log {self.path}: {exc.strerror or exc}") from None
        try:
            with _write_lock:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                # A crash may have left half a line: start ours on a fresh line. The check and
                # the write happen under the lock, so no other writer can slip in between.
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line
                written = os.write(fd, line)
                if written != len(line):
                    raise AuditError(
                        f"the audit log {self.path} took only {written} of "
                        f"{len(line)} bytes (disk full?); the record is torn"
                    )
                os.fsync(fd)
            if created or created_file:
                fsync_directory(self.path.parent)  # make the new file's name durable too
        except OSError as exc:
            raise AuditError(f"cannot write the audit log {self.path}: {exc.strerror or exc}") from None
        finally:
            os.close(fd)  # also releases the flock

    # -- reading ----------------------------------------------------------------------

    def read(self, *, since: float | None = None, session: str | None = None) -> list[AuditRecord]:
        """The records, oldest first, optionally only those at/after ``since`` or of ``session``.

        Lines that are not JSON objects (a line torn by a crash, a stray edit) are skipped
        and counted in ``last_read_skipped``; content never raises. A record whose time
        cannot be read is kept under ``since``: an audit view must not hide an entry
        because of a filter it cannot evaluate. A missing file is an empty log.
        """
        self.last_read_skipped = 0
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise AuditError(f"cannot read the audit log {self.path}: {exc.strerror or exc}") from None
        records: list[AuditRecord] = []
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                obj = None
            if not isinstance(obj, dict):
                self.last_read_skipped += 1
                continue
            entry = AuditRecord.from_dict(obj)
            if session is not None and entry.session != session:
                continue
            if since is not None:
                stamp = entry.timestamp
                if stamp is not None and stamp < since:
                    continue
            records.append(entry)
        return records


def _open_for_append(path: Path) -> tuple[int, bool]:
    """Open for appending (read too, to look at the last byte); create it 0600 if missing."""
    flags = os.O_RDWR | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return os.open(path, flags | os.O_CREAT, 0o600), False
    os.fchmod(fd, 0o600)  # exactly 0600, whatever the umask
    return fd, True


def parse_since(text: str, *, now: float | None = None) -> float:
    """``90s``/``30m``/``2h``/``1d``/``1w`` ago, or an ISO date/time (UTC unless it says otherwise).

    Returns unix seconds. Raises ``ValueError`` with a message fit for a person.
    """
    try:
        ago = parse_duration(text, bare_seconds=False)
    except ValueError:
        pass
    else:
        return (time.time() if now is None else now) - ago
    try:
        return _parse_instant(text).timestamp()
    except (ValueError, OverflowError):
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise ValueError(f"--since takes a duration like 2h or 30m, or a date like 2026-11-25, got {shown!r}") from None
