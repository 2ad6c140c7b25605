"""``batchtop audit``: show the cancel attempts recorded in the audit log.

After an incident this is the answer to "what did we stop, when, and who did": a table
for people, ``--json`` for tooling. Every value in the log came, at some point, from a
gateway or a batch's creator, so everything printed goes through ``safe_text``.
Exit codes: 0 ok, 1 the log could not be read, 2 a bad ``--since``. No Textual here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from tui.cancel.audit import AuditError, AuditLog, AuditRecord, parse_since
from tui.cli.exit import ExitCode
from tui.cli.output import err, print_columns, print_json
from tui.text.humanize import count, local_time
from tui.text.safe import safe_text

MESSAGE_WIDTH = 60
HEADER = ("TIME", "SOURCE", "USER@HOST", "PROFILE", "PROVIDER", "BATCH", "OUTCOME", "COUNTS", "MESSAGE")


def run_audit(args: argparse.Namespace) -> int:
    since_text = getattr(args, "since", None)
    try:
        since = parse_since(since_text) if since_text is not None else None
    except ValueError as exc:
        err(safe_text(str(exc), 200))
        return ExitCode.USAGE

    log = AuditLog(source="cli")
    try:
        records = log.read(since=since)
    except AuditError as exc:
        err(safe_text(exc.message, 300))
        return ExitCode.API

    if getattr(args, "json", False):
        print_json([r.to_dict() for r in records], sys.stdout)
    elif not records:
        where = safe_text(log.path)
        print(f"no cancel attempts recorded{' in that period' if since is not None else ''} in {where}")
    else:
        print_audit_table(records, sys.stdout)
    if log.last_read_skipped:
        err(
            f"{log.last_read_skipped} unreadable line(s) in {safe_text(log.path)} skipped "
            "(a write cut short by a crash?)"
        )
    return ExitCode.OK


def print_audit_table(records: Sequence[AuditRecord], out: TextIO) -> None:
    print_columns(HEADER, [_row(r) for r in records], out)


def _row(r: AuditRecord) -> tuple[str, ...]:
    return (
        local_time(r.timestamp) if r.timestamp is not None else safe_text(r.time or "—", 30),
        safe_text(r.source, 6),
        safe_text(f"{r.user}@{r.host}", 40),
        safe_text(r.profile, 24),
        safe_text(r.provider, 16),
        safe_text(r.batch_id),  # never shortened: it is what the review is about
        _outcome_text(r),
        _counts_text(r.counts),
        safe_text(r.message or "", MESSAGE_WIDTH),
    )


def _outcome_text(r: AuditRecord) -> str:
    """The outcome, with what matters for the review: the new status, or whether it was sent."""
    outcome = safe_text(r.outcome, 12)
    if r.outcome == "accepted" and r.status_after:
        return f"{outcome} → {safe_text(r.status_after, 16)}"
    if r.outcome == "failed":
        # Unknown means the connection dropped after sending: the batch may be cancelling.
        reached = "sent?" if r.sent is None else "sent" if r.sent else "not sent"
        return f"{outcome} ({reached})"
    return outcome


def _counts_text(counts: dict[str, int | None]) -> str:
    pending, total = counts.get("pending"), counts.get("total")
    if pending is None and total is None:
        return "—"
    return f"pending {count(pending)} of {count(total)}"
