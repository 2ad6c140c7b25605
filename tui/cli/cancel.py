"""``batchtop cancel``: by id, or ``--all`` by filter, for scripted incident response.

Nothing is sent without a confirmation: ``--yes``, or on a terminal a typed ``y`` for one
batch and the typed number of batches for several. ``--all`` always needs ``--yes`` (it is
for scripts; ``--dry-run`` shows what it would do). Each batch gets one request, at most
8 in flight, and one audit line. Exit 0 when every cancel was accepted, 1 when any was
refused or failed (or a batch could not be found), 2 for usage and read-only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from tui.api import Batch, GatewayError
from tui.api.client import retrieve_each
from tui.cancel.audit import AuditLog, parse_since
from tui.cancel.policy import CancelPlan, Confirmation, plan_cancel
from tui.cancel.send import AuditContext, CancelOutcome, CancelReport, cancel_batches
from tui.cli.exit import ExitCode
from tui.cli.output import err
from tui.config import ConfigError
from tui.session import Session
from tui.text.describe import progress_text, status_text
from tui.text.humanize import count
from tui.text.safe import safe_text


def _single_provider(session: Session) -> str:
    providers = session.profile.providers
    if len(providers) != 1:
        raise ConfigError(
            f"cancel needs one provider: pass --provider (profile '{session.profile_name}' "
            f"watches {', '.join(providers)})"
        )
    return providers[0]


def _metadata_filters(items: Sequence[str] | None) -> dict[str, str]:
    filters: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--metadata takes KEY=VALUE, got {item!r}")
        filters[key] = value
    return filters


def _check_usage(args: argparse.Namespace) -> None:
    if args.all and args.batch_ids:
        raise ConfigError("give batch ids or --all, not both")
    if not args.all and not args.batch_ids:
        raise ConfigError("cancel what? give batch ids, or --all with filters")
    if not args.all and (args.status or args.metadata or args.created_after):
        raise ConfigError("--status, --metadata and --created-after select batches for --all")


def matches(batch: Batch, *, statuses: set[str], metadata: dict[str, str], created_after: float | None) -> bool:
    if statuses and batch.status_word not in statuses and batch.outcome not in statuses:
        return False
    if any(batch.metadata.get(k) != v for k, v in metadata.items()):
        return False
    return created_after is None or (batch.created_at is not None and batch.created_at >= created_after)


async def _select(session: Session, provider: str, args: argparse.Namespace) -> tuple[list[Batch], list[str]]:
    """The batches the command names, and the problems found (ids the gateway does not know)."""
    problems: list[str] = []
    async with session.client() as client:
        if args.all:
            statuses = {s.strip().lower() for s in args.status or ()}
            metadata = _metadata_filters(args.metadata)
            try:
                after = parse_since(args.created_after) if args.created_after else None
            except ValueError as exc:
                raise ConfigError(f"--created-after: {exc}") from None
            listing = await client.list_batches(provider)
            if (shortfall := listing.shortfall()) is not None:
                problems.append(shortfall)
            chosen = [
                b for b in listing.batches if matches(b, statuses=statuses, metadata=metadata, created_after=after)
            ]
            return chosen, problems

        ids = list(dict.fromkeys(args.batch_ids))  # the same id twice is cancelled once
        found = await retrieve_each(client, provider, ids, concurrency=8)
        batches = []
        for batch_id, result in zip(ids, found):
            if isinstance(result, GatewayError):
                problems.append(f"{safe_text(batch_id)}: {safe_text(result.message, 300)}; not sent")
            else:
                batches.append(result)
        return batches, problems


def describe(batch: Batch) -> str:
    c = batch.request_counts
    name = f" “{safe_text(batch.name, 40)}”" if batch.name else ""
    pending = f", {count(c.pending)} pending" if c.pending is not None else ""
    return f"{safe_text(batch.id)}{name} — {status_text(batch)}, {progress_text(batch)}{pending}"


def _confirmed_on_terminal(plan: CancelPlan) -> bool:
    """Ask what the policy says this cancel needs (tui/cancel/policy.py): y/N, the number of
    batches, or in a protected profile the end of the id."""
    try:
        if plan.confirmation is Confirmation.YES_NO:
            return plan.accepts(input("Cancel it? [y/N] "))
        if plan.confirmation is Confirmation.TYPE_ID_END:
            answer = input(f"Type the last four characters of the id ({safe_text(plan.expected)}) to cancel it: ")
        else:
            count_words = "the number of batches" if len(plan.to_cancel) > 1 else "one batch"
            answer = input(
                f"Type {plan.expected} ({count_words}) to cancel {'them' if len(plan.to_cancel) > 1 else 'it'}: "
            )
    except EOFError:
        return False
    if not plan.accepts(answer):
        print(f"“{safe_text(answer.strip(), 20)}” is not {safe_text(plan.expected)}.")
        return False
    return True


def run_cancel(args: argparse.Namespace, session: Session) -> int:
    _check_usage(args)
    if plan_cancel([], read_only=session.profile.read_only, protected=False).refusal:
        err(f"profile '{session.profile_name}' is read-only: cancel refused, nothing sent")
        return ExitCode.USAGE
    provider = _single_provider(session)
    interactive = sys.stdin.isatty()
    if not args.dry_run and not args.yes and (args.all or not interactive):
        why = "--all sends nothing without --yes" if args.all else "no terminal to ask on"
        err(f"refusing to cancel without confirmation: {why}; pass --yes (or --dry-run to look first)")
        return ExitCode.USAGE

    try:
        chosen, problems = asyncio.run(_select(session, provider, args))
    except GatewayError as exc:
        err(f"{provider}: {safe_text(exc.message, 300)}; nothing sent")
        return ExitCode.API
    for problem in problems:
        err(f"{provider} {problem}")
    plan = plan_cancel(chosen, read_only=session.profile.read_only, protected=session.profile.protected)
    live, skipped = plan.to_cancel, plan.skipped
    not_cancelled = 0
    for batch in skipped:
        if args.all:
            print(f"{provider} {safe_text(batch.id)}: already {safe_text(batch.outcome, 20)}; skipped")
        elif batch.finished:
            # Named on the command line but already over: it was not cancelled, and says so.
            not_cancelled += 1
            err(
                f"{provider} {safe_text(batch.id)}: already {safe_text(batch.outcome, 20)}; not cancelled, nothing sent"
            )
        else:
            print(f"{provider} {safe_text(batch.id)}: already {safe_text(batch.status_shown, 30)}; nothing sent")
    exit_code = ExitCode.API if (problems or not_cancelled) and not args.all else ExitCode.OK
    if not live:
        print("nothing to cancel")
        return exit_code

    print(
        f"{'Would cancel' if args.dry_run else 'Cancelling' if args.yes else 'About to cancel'} "
        f"{len(live)} batch(es) on {provider} at {session.gateway_host}:"
    )
    for batch in live:
        print(f"  {describe(batch)}")
    if args.dry_run:
        print(f"dry run: nothing sent ({len(live)} would be cancelled)")
        return exit_code
    if not args.yes:
        print("Requests already done are kept; the pending ones are dropped.")
        if not _confirmed_on_terminal(plan):
            print("Nothing cancelled.")
            return ExitCode.API

    audit = AuditLog(source="cli", secrets=[session.api_key] if session.api_key else [])
    report = asyncio.run(_send(session, live, audit))
    return max(exit_code, _print_summary(report, provider))


async def _send(session: Session, live: list[Batch], audit: AuditLog) -> CancelReport:
    def arrived(outcome: CancelOutcome) -> None:
        where = f"{outcome.batch.provider} {safe_text(outcome.batch.id)}"
        if outcome.outcome == "accepted":
            status = safe_text(outcome.answer.status_shown, 20) if outcome.answer else "?"
            print(f"{where}: accepted → {status}", flush=True)
        else:
            extra = f" ({outcome.sent_words})" if outcome.outcome == "failed" else ""
            err(f"{where}: {outcome.outcome} — {safe_text(outcome.message or '', 300)}{extra}")

    context = AuditContext(session.profile_name, session.gateway_host)
    async with session.client() as client:
        return await cancel_batches(client, live, audit=audit, context=context, on_outcome=arrived)


def _print_summary(report: CancelReport, provider: str) -> int:
    print(report.summary())
    if report.audit_error:
        err(f"{report.audit_error}; the cancels after it were not sent")
    if report.failed:
        ids = " ".join(safe_text(o.batch.id) for o in report.failed)
        maybe_sent = [o for o in report.failed if o.sent is not False]
        if maybe_sent:
            err(f"{len(maybe_sent)} of the failed may have reached the gateway: check with `batchtop show`")
        print(f"retry the failed ones: batchtop cancel --provider {provider} --yes {ids}")
    return ExitCode.OK if report.all_accepted and not report.audit_error else ExitCode.API
