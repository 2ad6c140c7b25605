"""The board's cancel flow: ask the cancel policy, show the confirmation it asks for, send the
confirmed cancels in a worker, and put each answer on the board.

What may be cancelled and which confirmation it needs are the policy's (tui/cancel/policy.py);
sending and the audit line are tui/cancel/send.py's. This module only joins them to the
screens: it is the one place the TUI's cancel keys, marks, palette and detail screen go
through. The worker posts typed messages (CancelAnswered, CancelFinished) to the app, whose
handlers hand them straight back here, so the board is only ever changed on the UI loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tui.api import Batch, GatewayError, key_origin
from tui.cancel.outcome import Outcome
from tui.cancel.policy import Confirmation, may_cancel, plan_cancel
from tui.cancel.send import AuditContext, CancelOutcome, CancelReport, cancel_batches
from tui.monitor import BatchKey, CancelState
from tui.text.cancel_words import OUTCOME_TITLES
from tui.text.safe import safe_text
from tui.ui.messages import CancelAnswered, CancelFinished
from tui.ui.screens.cancel_progress import CancelProgressScreen
from tui.ui.screens.confirm import ConfirmCancelScreen
from tui.ui.screens.typed_confirm import TypedConfirmScreen, describe_targets

if TYPE_CHECKING:
    from tui.ui.app import BatchtopApp


class CancelFlow:
    """Cancels for one app. Holds no state of its own: the board keeps each batch's cancel
    state, the view keeps the marks, the app's session gives the profile and client."""

    def __init__(self, app: BatchtopApp) -> None:
        self.app = app

    def read_only(self, key: BatchKey) -> bool:
        """Whether the profile the batch came through is read-only (or unknown: then nothing
        may be sent through it either)."""
        origin = self.app.origin_of(key)
        return origin is None or origin.session.profile.read_only

    def can_cancel(self, key: BatchKey) -> bool:
        """Every path to cancel asks this: keys, marks, palette, detail screen. The rule is the
        cancel policy's, with the batch's own profile's read-only; the board adds only what it
        alone knows: a batch gone from the gateway, or one whose cancel is already on its way."""
        app = self.app
        tracked = app.board.get(key)
        if tracked is None or tracked.gone or tracked.cancel_state is CancelState.SENDING:
            return False
        plan = plan_cancel([tracked.batch], read_only=self.read_only(key), protected=False)
        return bool(plan.to_cancel)

    def request(self, keys: Iterable[BatchKey]) -> None:
        """Ask for the confirmation the cancel policy says is needed, then cancel.

        On a board of several profiles each batch goes by its own profile: those of a
        read-only profile are left out (and said so), and one protected profile among the
        rest asks for the protected confirmation."""
        app = self.app
        tracked = [t for k in dict.fromkeys(keys) if (t := app.board.get(k)) is not None]
        # Of a read-only profile, the batches a cancel would reach (live ones): left out, and
        # said so. Its finished ones are left out for being finished, like any other.
        read_only = [t.batch for t in tracked if self.read_only(t.key) and may_cancel(t.batch)]
        writable = [t for t in tracked if not self.read_only(t.key)]
        unavailable = [t.batch for t in writable if t.gone or t.cancel_state is CancelState.SENDING]
        if app.several:
            everything_read_only = bool(tracked) and not writable
        else:
            everything_read_only = app.session.profile.read_only
        protected = any(origin.session.profile.protected for t in writable if (origin := app.origin_of(t.key)))
        plan = plan_cancel(
            [t.batch for t in tracked],
            read_only=everything_read_only,
            protected=protected,
            unavailable=[*read_only, *unavailable],  # left out, and said so
        )
        if plan.refusal:
            if app.several:
                names = sorted({t.batch.origin for t in tracked})
                app.notify(
                    f"Read-only profile{'s' if len(names) > 1 else ''} {safe_text(', '.join(names), 80)}: "
                    "nothing can be cancelled there.",
                    severity="warning",
                )
            else:
                app.notify("This profile is read-only: nothing can be cancelled.", severity="warning")
            return
        live, skipped = plan.to_cancel, plan.skipped
        if not live:
            also = ""
            if read_only:
                locked = ", ".join(sorted({b.origin for b in read_only}))
                also = f" or of a read-only profile ({safe_text(locked, 80)})"
            app.notify(
                f"Nothing to cancel: the chosen batches are finished, already cancelling{also}.", severity="warning"
            )
            return

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.start(live)

        if plan.confirmation is Confirmation.YES_NO:
            # The dialog sends the cancel itself and closes once it is on the wire, so no
            # redraw of the board comes between the key and the request.
            origin = app.origin_of(live[0].key) if app.several else None
            app.push_screen(
                ConfirmCancelScreen(live[0], send=lambda: self.start(live), profile=origin.name if origin else None)
            )
            return
        if plan.confirmation is Confirmation.TYPE_ID_END:
            prompt = f"Type the last four characters of the id ({safe_text(plan.expected)}) to cancel it."
        elif len(live) == 1:
            prompt = "Type 1 to cancel this batch."
        else:
            prompt = f"Type {plan.expected} — the number of batches that will be cancelled — to go ahead."
        title = "Cancel this batch?" if len(live) == 1 else f"Cancel {len(live)} batches?"
        app.push_screen(
            TypedConfirmScreen(
                title=title,
                facts=describe_targets(live, skipped, read_only=read_only, by_profile=app.several),
                prompt=prompt,
                expected=plan.expected,
            ),
            answered,
        )

    def start(self, batches: list[Batch]) -> asyncio.Event | None:
        """Send the cancels (confirmed already). Each batch is sent at most once per action.

        Returns an event set once the first request has been written to the gateway (or
        the attempt has ended without it), or None when nothing was sent.
        """
        app = self.app
        # The board may have moved on while the dialog was open: re-check every batch.
        targets = [t.batch for b in batches if self.can_cancel(b.key) and (t := app.board.get(b.key)) is not None]
        if not targets:
            app.notify("Nothing sent: those batches finished meanwhile.", severity="warning")
            return None
        for batch in targets:
            app.board.set_cancel_state(batch.key, CancelState.SENDING)
        sent = asyncio.Event()
        progress = CancelProgressScreen(targets) if len(targets) > 1 else None
        app.run_worker(self._send(targets, progress, sent), group="cancel", exit_on_error=False)
        app.rows_updated.publish([b.key for b in targets])
        if progress is not None:
            app.push_screen(progress, self._retry)
        return sent

    def _retry(self, batches: list[Batch] | None) -> None:
        if batches:
            self.start(batches)

    async def _send(self, targets: list[Batch], progress: CancelProgressScreen | None, sent: asyncio.Event) -> None:
        """Send each batch's cancel through its own profile: its client (its key), and its
        name and gateway on the audit line. Profiles are sent to side by side."""
        app = self.app
        try:
            by_origin: dict[str, list[Batch]] = {}
            for batch in targets:
                by_origin.setdefault(key_origin(batch.key), []).append(batch)

            def answered(outcome: CancelOutcome) -> None:
                sent.set()  # answered without a request written (refused by the audit log, unreachable)
                app.post_message(CancelAnswered(outcome, progress))

            async def through(name: str, batches: list[Batch]) -> CancelReport:
                origin = app.origins.get(name)
                if origin is None or origin.client is None:
                    return CancelReport()
                context = AuditContext(origin.session.profile_name, origin.session.gateway_host)
                return await cancel_batches(
                    origin.client, batches, audit=app.audit, context=context, on_outcome=answered, on_sent=sent.set
                )

            reports = await asyncio.gather(*(through(name, batches) for name, batches in by_origin.items()))
            report = CancelReport()
            for part in reports:
                report.outcomes.extend(part.outcomes)
                report.audit_error = report.audit_error or part.audit_error
            order = {b.key: i for i, b in enumerate(targets)}
            report.outcomes.sort(key=lambda o: order.get(o.key, len(order)))
            if report.outcomes or report.audit_error:
                app.post_message(CancelFinished(report, progress))
        finally:
            sent.set()

    def take_answer(self, outcome: CancelOutcome, progress: CancelProgressScreen | None) -> None:
        """One cancel was answered: show it on its row (and on the progress screen)."""
        app = self.app
        key = outcome.key
        if app.tap is not None:
            app.tap.cancelled(
                key_origin(key),
                outcome.batch.provider,
                outcome.batch.id,
                outcome.outcome.value,
                outcome.message or "",
                None,
            )
        if outcome.outcome == Outcome.ACCEPTED:
            tracked = app.board.get(key)
            answer = outcome.answer
            if answer is not None:
                app.board.apply([answer.over(tracked.batch) if tracked else answer])
            app.board.set_cancel_state(key, CancelState.ACCEPTED)
            app.view.unmark(key)
        elif outcome.outcome == Outcome.REFUSED:
            app.board.set_cancel_state(key, CancelState.REFUSED, outcome.message)
        else:
            app.board.set_cancel_state(key, CancelState.FAILED, f"{outcome.message} ({outcome.sent_words})")
        if progress is not None and progress.is_attached:
            progress.outcome_arrived(outcome)
        app.board_updated.publish(None)

    def take_report(self, report: CancelReport, progress: CancelProgressScreen | None) -> None:
        """Every cancel of one action was answered: sum up, and fetch the refused again."""
        app = self.app
        if progress is not None:
            progress.finished(report)
        elif report.outcomes:
            outcome = report.outcomes[0]
            if outcome.outcome == Outcome.ACCEPTED and outcome.answer is not None:
                app.notify(
                    f"{safe_text(outcome.batch.id, 60)} is now {safe_text(outcome.answer.status_shown, 30)}",
                    title="Cancel accepted",
                    timeout=6,
                )
            else:
                title = OUTCOME_TITLES[outcome.outcome]
                app.notify(safe_text(outcome.message or "", 300), title=title, severity="error", timeout=10)
        if report.audit_error:
            app.notify(report.audit_error, title="Audit log", severity="error", timeout=15)
        if report.refused:
            app.run_worker(self._fetch_again([o.batch for o in report.refused]), group="cancel", exit_on_error=False)
        app.board_updated.publish(None)

    async def _fetch_again(self, batches: list[Batch]) -> None:
        """A refusal usually means the batch moved on: fetch it again so the row tells the truth."""
        app = self.app
        for batch in batches:
            origin = app.origin_of(batch.key)
            if origin is None or origin.client is None:
                continue
            with contextlib.suppress(GatewayError):
                app.board.apply([await origin.client.retrieve(batch.provider, batch.id)])
        app.board_updated.publish(None)


__all__ = ["CancelFlow"]
