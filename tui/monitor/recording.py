"""What the poll loop hands a recording, and how a recorded poll becomes a poll again. No Textual.

A :class:`PollTap` sees every poll the board takes, as the board takes it: page one of a
provider (its batches as the gateway sent them, the retrieves merged in), each page of a
history walk, and each failed poll. :class:`RecordingTap` writes them to a
:class:`tui.record.Recorder`; :func:`poll_of` reads a recorded poll back into the
:class:`~tui.monitor.poller.ProviderPoll` the board took, so a replayed board is the board
that was on screen (``tests/test_replay.py`` checks it poll by poll).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tui.api import Batch, GatewayError, GatewayHTTPError, batch_key
from tui.monitor.poller import ProviderPoll
from tui.monitor.tap import HISTORY_PAGE, PAGE_ONE, PollTap
from tui.record import Poll, Recorder, RecordingError


def error_fields(error: GatewayError) -> dict[str, Any]:
    """A failed poll's error as a recording keeps it (what the status line needs)."""
    fields: dict[str, Any] = {"message": error.message, "short": error.short}
    if error.status is not None:
        fields["status"] = error.status
    if error.retry_after is not None:
        fields["retry_after"] = error.retry_after
    if error.unsupported:
        fields["unsupported"] = True
    if isinstance(error, GatewayHTTPError) and error.is_auth:
        fields["auth"] = True
    return fields


def error_of(fields: dict[str, Any]) -> GatewayError:
    """The error a recorded failure stands for (lenient: recordings come from files)."""
    message = str(fields.get("message") or "recorded failure")
    short = fields.get("short") if isinstance(fields.get("short"), str) else None
    status = fields.get("status") if isinstance(fields.get("status"), int) else None
    retry = fields.get("retry_after")
    common: dict[str, Any] = {
        "short": short,
        "retry_after": float(retry) if isinstance(retry, int | float) else None,
        "unsupported": fields.get("unsupported") is True,
    }
    if status is not None:
        return GatewayHTTPError(message, status=status, auth=fields.get("auth") is True, **common)
    return GatewayError(message, **common)


class RecordingTap:
    """Writes every poll to ``recorder``, at the board's clock. A recording that cannot be
    written says so once (``on_problem``) and stops; polling goes on."""

    def __init__(
        self,
        recorder: Recorder,
        clock: Callable[[], float],
        *,
        names: dict[str, str] | None = None,
        on_problem: Callable[[str], object] = lambda message: None,
    ) -> None:
        self.recorder = recorder
        self.clock = clock
        self._names = names or {}
        """Origin to profile name: a board of one profile has the origin "", and its records
        still name the profile."""
        self._on_problem = on_problem
        self.problem: str | None = None

    def polled(self, origin: str, poll: ProviderPoll, kind: str) -> None:
        self._write(
            lambda: self.recorder.poll(
                at=self.clock(),
                profile=self._names.get(origin, origin),
                provider=poll.provider,
                kind=kind,
                batches=[batch.wire for batch in poll.batches],
                gone=[key[1] for key in poll.gone],
                fetched_finished=[key[1] for key in poll.fetched_finished],
                note=poll.listing_note,
            )
        )

    def failed(self, origin: str, provider: str, error: GatewayError) -> None:
        self._write(
            lambda: self.recorder.poll_failed(
                at=self.clock(), profile=self._names.get(origin, origin), provider=provider, error=error_fields(error)
            )
        )

    def cancelled(
        self, origin: str, provider: str, batch_id: str, outcome: str, message: str, status: int | None
    ) -> None:
        self._write(
            lambda: self.recorder.cancel(
                at=self.clock(),
                profile=self._names.get(origin, origin),
                provider=provider,
                batch_id=batch_id,
                outcome=outcome,
                message=message,
                status=status,
            )
        )

    def _write(self, write: Callable[[], None]) -> None:
        if self.problem is not None:
            return
        try:
            write()
        except RecordingError as exc:
            self.problem = exc.message
            self._on_problem(exc.message)


class BatchReader:
    """Batches of recorded polls: one Batch per wire object, reused while the object is the
    very same (a recording's unchanged batches come back as the same dict)."""

    def __init__(self) -> None:
        self._read: dict[tuple[str, str, str], tuple[dict[str, Any], Batch]] = {}

    def batch(self, raw: dict[str, Any], provider: str, origin: str) -> Batch | None:
        key = (origin, provider, str(raw.get("id")))
        known = self._read.get(key)
        if known is not None and known[0] is raw:
            return known[1]
        try:
            batch = Batch.from_wire(raw, provider, origin)
        except Exception:  # noqa: BLE001 — a recording is a file: an unreadable batch is left out
            return None
        self._read[key] = (raw, batch)
        return batch


def poll_of(record: Poll, reader: BatchReader, origin: str) -> ProviderPoll:
    """The poll the board took, from its record (``origin``: the profile's name on a board of
    several, "" on a board of one)."""
    provider = record.provider
    batches = [b for raw in record.batches if (b := reader.batch(raw, provider, origin)) is not None]
    return ProviderPoll(
        provider,
        batches,
        gone=[batch_key(provider, i, origin) for i in record.gone],
        fetched_finished=[batch_key(provider, i, origin) for i in record.fetched_finished],
        listing_note=record.note,
    )


__all__ = [
    "HISTORY_PAGE",
    "PAGE_ONE",
    "BatchReader",
    "PollTap",
    "RecordingTap",
    "error_fields",
    "error_of",
    "poll_of",
]
