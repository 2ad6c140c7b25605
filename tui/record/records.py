"""The records of a recording, as the reader hands them out, and the checks that build them.

A record on disk is a JSON object; here it becomes one of four small frozen dataclasses
(``Header``, ``Poll``, ``PollFailed``, ``Cancel``), so replay code can ``match`` on the
type and mypy knows every field. The check is strict about the fields a replay needs and
lenient about everything else: extra fields are ignored (a newer writer may add some
without changing ``v``), a wrong or missing required field makes the line malformed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

FORMAT_VERSION = 1
"""The ``v`` of every record this writer produces and the only one this reader accepts."""

POLL_KINDS = ("page_one", "history_page", "retrieve")
"""What a ``poll`` record's batches came from: the list's first page, a later page, one batch."""

CANCEL_OUTCOMES = ("accepted", "refused", "failed")
"""How a cancel ended: the gateway took it, the gateway said no, or it never got an answer."""

SAME_KEY = "same"
"""A deduplicated batch is written as ``{"id": ..., "same": true}``: as last written for that id."""

SAME_PAGE_KEY = "same_page"
"""A poll with ``"same_page": true`` (and no ``batches``) repeats the batches of the last
poll of the same profile, provider and kind in the file."""


class RecordingError(Exception):
    """A recording could not be written or read; ``message`` is one line that names the file."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Header:
    """The start of a file: who was watched, since when, by which batchtop.

    ``part`` is 0 in the first file of a session and counts up at each rotation, so a
    reader of one rotated file knows it is not the session's beginning.
    """

    type: ClassVar[str] = "header"
    at: float
    started_at: float
    app_version: str
    profiles: tuple[dict[str, Any], ...]
    part: int = 0


@dataclass(frozen=True)
class Poll:
    """One answer of the gateway: the batches exactly as it sent them (dicts, read-only by convention).

    A batch deduplicated on disk comes back as the same dict object as in an earlier
    record: do not mutate them.
    """

    type: ClassVar[str] = "poll"
    at: float
    profile: str
    provider: str
    kind: str
    batches: tuple[dict[str, Any], ...]
    gone: tuple[str, ...] = ()
    """Ids the gateway answered 404 for in this poll (the board marks them gone)."""
    fetched_finished: tuple[str, ...] = ()
    """Ids a retrieve found finished in this poll (the board never fetches them again)."""
    note: str | None = None
    """Why the provider's list is incomplete, when the poll said so (page cap, repeated pages)."""


@dataclass(frozen=True)
class PollFailed:
    """A poll that got no usable answer; ``error`` is the caller's dict (status, message, short...)."""

    type: ClassVar[str] = "poll_failed"
    at: float
    profile: str
    provider: str
    error: dict[str, Any]


@dataclass(frozen=True)
class Cancel:
    """One cancel attempt and how it ended; ``status`` is the HTTP status if there was one."""

    type: ClassVar[str] = "cancel"
    at: float
    profile: str
    provider: str
    batch_id: str
    outcome: str
    message: str
    status: int | None


Record = Header | Poll | PollFailed | Cancel
"""Any record the reader yields."""


class Skipped(Exception):
    """A JSON line that is not a record this reader knows; ``reason`` says which count to bump."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


UNKNOWN_VERSION = "unknown_version"
UNKNOWN_TYPE = "unknown_type"
MALFORMED = "malformed"


def parse_record(obj: object) -> Record:
    """Build the record a decoded JSON line stands for, or raise ``Skipped`` saying why not."""
    if not isinstance(obj, dict):
        raise Skipped(MALFORMED)
    version = obj.get("v")
    if not _is_int(version):
        raise Skipped(MALFORMED)
    if version != FORMAT_VERSION:
        raise Skipped(UNKNOWN_VERSION)
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise Skipped(MALFORMED)
    build = _BUILDERS.get(kind)
    if build is None:
        raise Skipped(UNKNOWN_TYPE)
    try:
        return build(obj)
    except (KeyError, TypeError):
        raise Skipped(MALFORMED) from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(obj: dict[str, Any], key: str) -> float:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(key)
    return float(value)


def _text(obj: dict[str, Any], key: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise TypeError(key)
    return value


def _dicts(obj: dict[str, Any], key: str) -> tuple[dict[str, Any], ...]:
    value = obj[key]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TypeError(key)
    return tuple(value)


def _header(obj: dict[str, Any]) -> Header:
    part = obj.get("part", 0)
    if not _is_int(part):
        raise TypeError("part")
    return Header(
        at=_number(obj, "at"),
        started_at=_number(obj, "started_at"),
        app_version=_text(obj, "app_version"),
        profiles=_dicts(obj, "profiles"),
        part=part,
    )


def _poll(obj: dict[str, Any]) -> Poll:
    note = obj.get("note")
    if note is not None and not isinstance(note, str):
        raise TypeError("note")
    return Poll(
        at=_number(obj, "at"),
        profile=_text(obj, "profile"),
        provider=_text(obj, "provider"),
        kind=_text(obj, "kind"),
        batches=_dicts(obj, "batches"),
        gone=_texts(obj, "gone"),
        fetched_finished=_texts(obj, "fetched_finished"),
        note=note,
    )


def _texts(obj: dict[str, Any], key: str) -> tuple[str, ...]:
    """An optional list of strings (absent: none)."""
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(key)
    return tuple(value)


def _poll_failed(obj: dict[str, Any]) -> PollFailed:
    error = obj["error"]
    if not isinstance(error, dict):
        raise TypeError("error")
    return PollFailed(
        at=_number(obj, "at"), profile=_text(obj, "profile"), provider=_text(obj, "provider"), error=error
    )


def _cancel(obj: dict[str, Any]) -> Cancel:
    status = obj.get("status")
    if status is not None and not _is_int(status):
        raise TypeError("status")
    return Cancel(
        at=_number(obj, "at"),
        profile=_text(obj, "profile"),
        provider=_text(obj, "provider"),
        batch_id=_text(obj, "batch_id"),
        outcome=_text(obj, "outcome"),
        message=_text(obj, "message"),
        status=status,
    )


_BUILDERS: dict[str, Callable[[dict[str, Any]], Record]] = {
    Header.type: _header,
    Poll.type: _poll,
    PollFailed.type: _poll_failed,
    Cancel.type: _cancel,
}
