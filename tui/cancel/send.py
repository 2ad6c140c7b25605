"""Cancelling batches: one request per batch, bounded concurrency, an audit line for each
attempt written (and fsynced) before the outcome is reported. Shared by the TUI and the CLI.
No Textual here.

How each attempt ends is an :class:`~tui.cancel.outcome.Outcome`: accepted, refused, failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tui.api import Batch, BatchKey, BifrostClient, GatewayError, GatewayHTTPError
from tui.cancel.outcome import Outcome
from tui.text.cancel_words import sent_words

if TYPE_CHECKING:
    from tui.cancel.audit import AuditLog

CANCEL_CONCURRENCY = 8
"""At most this many cancels in flight: fast for twenty batches, gentle on the gateway."""


@dataclass(frozen=True)
class AuditContext:
    """Who is cancelling where: written with every audit line."""

    profile: str
    gateway: str


@dataclass(frozen=True)
class CancelOutcome:
    batch: Batch
    """The batch as it was known when the cancel was asked."""
    outcome: Outcome
    answer: Batch | None = None
    """The gateway's answer to an accepted cancel (often a partial batch)."""
    message: str | None = None
    sent: bool | None = True

    @property
    def key(self) -> BatchKey:
        return self.batch.key

    @property
    def sent_words(self) -> str:
        return sent_words(self.sent)


@dataclass
class CancelReport:
    outcomes: list[CancelOutcome] = field(default_factory=list)
    audit_error: str | None = None
    """Set when the audit log could not be written: the cancels after it were not sent."""

    def of(self, outcome: Outcome) -> list[CancelOutcome]:
        return [o for o in self.outcomes if o.outcome == outcome]

    @property
    def accepted(self) -> list[CancelOutcome]:
        return self.of(Outcome.ACCEPTED)

    @property
    def refused(self) -> list[CancelOutcome]:
        return self.of(Outcome.REFUSED)

    @property
    def failed(self) -> list[CancelOutcome]:
        return self.of(Outcome.FAILED)

    @property
    def all_accepted(self) -> bool:
        return bool(self.outcomes) and len(self.accepted) == len(self.outcomes)

    def summary(self) -> str:
        return f"{len(self.accepted)} accepted, {len(self.refused)} refused, {len(self.failed)} failed"


def classify(error: GatewayError) -> Outcome:
    if isinstance(error, GatewayHTTPError) and error.status is not None:
        if 400 <= error.status < 500 and error.status not in (408, 429):
            return Outcome.REFUSED
    return Outcome.FAILED


def counts_for_audit(batch: Batch) -> dict[str, int | None]:
    c = batch.request_counts
    return {
        "total": c.total if c.total_known else None,
        "pending": c.pending,
        "succeeded": c.succeeded,
        "failed": c.failed_count,
        "canceled": c.canceled_count,
        "expired": c.expired_count,
    }


async def cancel_batches(
    client: BifrostClient,
    batches: Sequence[Batch],
    *,
    audit: AuditLog | None,
    context: AuditContext,
    concurrency: int = CANCEL_CONCURRENCY,
    on_outcome: Callable[[CancelOutcome], None] | None = None,
    on_sent: Callable[[], None] | None = None,
) -> CancelReport:
    """Send one cancel per batch (deduplicated), at most ``concurrency`` at a time.

    ``on_outcome`` is called for each batch after its audit line is on disk. If the audit
    log cannot be written, nothing more is sent: cancels without a record are not allowed.
    ``on_sent`` is called when the first request has been written to the gateway.
    """
    report = CancelReport()
    limit = asyncio.Semaphore(concurrency)

    def _record(outcome: CancelOutcome) -> None:
        if audit is None:
            return
        batch = outcome.batch
        try:
            audit.record(
                profile=context.profile,
                gateway=context.gateway,
                provider=batch.provider,
                batch_id=batch.id,
                status_before=batch.status,
                counts=counts_for_audit(batch),
                outcome=outcome.outcome,
                message=outcome.message,
                sent=outcome.sent,
                status_after=outcome.answer.status if outcome.answer else None,
            )
        except Exception as exc:  # noqa: BLE001 — any failure to record stops the run
            report.audit_error = f"audit log not written ({getattr(exc, 'message', exc)})"

    unique = list({b.key: b for b in batches}.values())

    async def one(batch: Batch) -> None:
        async with limit:
            if report.audit_error is not None:
                outcome = CancelOutcome(batch, Outcome.FAILED, message=f"not sent: {report.audit_error}", sent=False)
            else:
                try:
                    answer = await client.cancel(batch.provider, batch.id, on_sent=on_sent)
                except GatewayError as exc:
                    outcome = CancelOutcome(batch, classify(exc), message=exc.message, sent=exc.sent)
                except asyncio.CancelledError:
                    # The app is quitting with this request in flight: the gateway may have
                    # acted on it, so it is recorded before the task goes.
                    interrupted = CancelOutcome(
                        batch, Outcome.FAILED, message="interrupted before the answer came", sent=None
                    )
                    _record(interrupted)
                    raise
                else:
                    outcome = CancelOutcome(batch, Outcome.ACCEPTED, answer=answer)
                _record(outcome)
            report.outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)

    if len(unique) == 1:
        await one(unique[0])  # no task to schedule: the request leaves in this turn of the loop
    else:
        await asyncio.gather(*(one(b) for b in unique))
    order = {b.key: i for i, b in enumerate(unique)}
    report.outcomes.sort(key=lambda o: order[o.key])
    return report
