"""``batchtop list`` and ``batchtop show``: the batches of a profile, and one batch.

A table for people, ``--json`` for tooling. Everything that came from the gateway goes
through ``safe_text`` before it is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from tui.api import Batch, BatchListing, GatewayError, GatewayHTTPError
from tui.api.client import retrieve_each
from tui.cli.exit import ExitCode
from tui.cli.output import err, print_columns, print_fields, print_json
from tui.session import Session
from tui.text.describe import batch_detail_lines, progress_text, status_text
from tui.text.humanize import ago, count
from tui.text.safe import safe_text

# -- list ---------------------------------------------------------------------------


LIST_RETRIEVES = 50
"""Batches per provider whose counts ``list`` fetches one by one when the list lacks them."""


async def _gather_listings(session: Session) -> list[BatchListing | GatewayError]:
    async with session.client() as client:

        async def one(provider: str) -> BatchListing | GatewayError:
            try:
                listing = await client.list_batches(provider)
            except GatewayError as exc:
                return exc
            # Gemini and Bedrock list items carry no counts: fetch them for the newest
            # batches that would show some (not a running Bedrock job: its come at the end).
            wanting = [
                i
                for i, b in enumerate(listing.batches)
                if not b.request_counts.known and (b.finished or b.traits.counts_while_running)
            ][:LIST_RETRIEVES]
            filled = await retrieve_each(client, provider, [listing.batches[i].id for i in wanting])
            for i, batch in zip(wanting, filled):
                if isinstance(batch, Batch):  # a failed one stays "—"; the list did not fail
                    listing.batches[i] = batch
            return listing

        return list(await asyncio.gather(*(one(p) for p in session.profile.providers)))


def newest_first(batches: Sequence[Batch]) -> list[Batch]:
    return sorted(batches, key=lambda b: (b.created_at or 0, b.provider, b.id), reverse=True)


def run_list(args: argparse.Namespace, session: Session) -> int:
    results = asyncio.run(_gather_listings(session))
    batches: list[Batch] = []
    failed = 0
    for provider, result in zip(session.profile.providers, results):
        if isinstance(result, GatewayError):
            failed += 1
            err(f"{provider}: {safe_text(result.message, 300)}")
            continue
        batches.extend(result.batches)
        if (shortfall := result.shortfall()) is not None:
            err(shortfall)
        if result.skipped:
            err(f"{provider}: {result.skipped} unreadable item(s) in the gateway's answer left out")
    if failed == len(results):
        return ExitCode.API  # nothing to show: an empty table would read as "no batches"
    batches = newest_first(batches)
    if args.json:
        print_json([b.as_wire() for b in batches], sys.stdout)
    else:
        print_batch_table(batches, sys.stdout, now=time.time())
    return ExitCode.API if failed else ExitCode.OK


def print_batch_table(batches: Sequence[Batch], out: TextIO, *, now: float) -> None:
    if not batches:
        print("no batches", file=out)
        return
    header = (
        "PROVIDER", "STATUS", "ID", "NAME", "PROGRESS", "PENDING", "SUCCEEDED", "FAILED", "CANCELED", "AGE",
    )  # fmt: skip
    rows = []
    for b in batches:
        c = b.request_counts
        rows.append((
            safe_text(b.provider, 12),
            status_text(b),
            safe_text(b.id),  # never shortened: people copy ids from here into `cancel`
            safe_text(b.name or "", 24),
            progress_text(b),
            count(c.pending),
            count(c.succeeded),
            count(c.failed_count),
            count(c.canceled_count),
            ago(b.created_at, now),
        ))  # fmt: skip
    print_columns(header, rows, out, right_aligned={5, 6, 7, 8})


# -- show ---------------------------------------------------------------------------


async def _find_batch(session: Session, batch_id: str) -> Batch:
    """Retrieve from the one provider named, or try each provider of the profile."""
    providers = session.profile.providers
    last_error: GatewayError | None = None
    async with session.client() as client:
        for provider in providers:
            try:
                return await client.retrieve(provider, batch_id)
            except GatewayHTTPError as exc:
                if len(providers) > 1 and (exc.is_not_found or exc.status == 400):
                    last_error = exc
                    continue
                raise
    assert last_error is not None
    raise GatewayError(
        f"batch {safe_text(batch_id, 120)} not found on {', '.join(providers)}",
        status=last_error.status,
    )


def run_show(args: argparse.Namespace, session: Session) -> int:
    try:
        batch = asyncio.run(_find_batch(session, args.batch_id))
    except GatewayError as exc:
        err(safe_text(exc.message, 300))
        return ExitCode.API
    if args.json:
        print_json(batch.as_wire(), sys.stdout)
    else:
        print_batch_detail(batch, sys.stdout, now=time.time())
    return ExitCode.OK


def print_batch_detail(batch: Batch, out: TextIO, *, now: float) -> None:
    print_fields(batch_detail_lines(batch, now), out)
