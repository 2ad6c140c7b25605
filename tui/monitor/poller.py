"""One poll of one provider: list, then fetch only what the list cannot tell. No Textual.

The list call gives most of what the board needs. Two cases need a per-batch retrieve:
- counts unknown in the list (Bedrock and Gemini list items carry none): live batches are
  retrieved each poll — except where counts appear only when the batch ends (Bedrock): then
  once when first seen and once when it has finished; a finished one once, and never again;
- a live batch the board knows that is missing from the list (it fell off the last page,
  or vanished): retrieved so that it is followed to the end, or marked gone on 404.
Retrieves are capped per poll so a large Bedrock account does not turn one poll into
hundreds of requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.api import Batch, BifrostClient, GatewayHTTPError
from tui.api.client import retrieve_each
from tui.monitor.board import BatchKey, Board

MAX_RETRIEVES_PER_POLL = 24
RETRIEVE_CONCURRENCY = 4


@dataclass
class ProviderPoll:
    """What one poll of one provider found."""

    provider: str
    batches: list[Batch] = field(default_factory=list)
    gone: list[BatchKey] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Things worth a line on stderr or in the log: truncated listing, unreadable items."""
    listing_note: str | None = None
    """Why the list is not complete (page cap, or a gateway that repeats its first page),
    for the status line next to the provider's name."""
    requests: int = 0


async def poll_provider(client: BifrostClient, provider: str, board: Board) -> ProviderPoll:
    """List ``provider`` and fill in what the list lacks. Raises GatewayError if the list fails."""
    listing = await client.list_batches(provider)
    result = ProviderPoll(provider, requests=listing.pages)
    if (shortfall := listing.shortfall()) is not None:
        result.notes.append(shortfall)
        result.listing_note = listing.shortfall(named=False)
    if listing.skipped:
        result.notes.append(f"{provider}: {listing.skipped} unreadable item(s) left out")

    batches: dict[str, Batch] = {}
    to_retrieve: list[str] = []
    for batch in listing.batches:
        batches[batch.id] = batch
        if batch.request_counts.known:
            continue
        known = board.get(batch.key)
        if known is not None and known.batch.finished and known.batch.request_counts.known:
            batches[batch.id] = known.batch  # finished: its counts will not change again
            continue
        if known is not None:
            # Until its turn to be fetched comes (or if that fetch fails), keep what was known.
            batches[batch.id] = batch.over(known.batch)
            if not batch.finished and not batch.traits.counts_while_running and known.retrieved_at is not None:
                continue  # Bedrock: counts arrive only when the job ends; fetched once till then
        to_retrieve.append(batch.id)

    for tracked in board.tracked():
        provider_of, batch_id = tracked.key
        if provider_of == provider and batch_id not in batches and not tracked.batch.finished and not tracked.gone:
            to_retrieve.append(batch_id)

    # Under the cap, the least recently fetched go first, so that every batch gets its turn.
    def last_fetched(batch_id: str) -> float:
        tracked = board.get((provider, batch_id))
        return float("-inf") if tracked is None or tracked.retrieved_at is None else tracked.retrieved_at

    chosen = sorted(to_retrieve, key=last_fetched)[:MAX_RETRIEVES_PER_POLL]
    now = board.clock()
    for batch_id in chosen:
        fetched = board.get((provider, batch_id))
        if fetched is not None:
            fetched.retrieved_at = now
    result.requests += len(chosen)
    fetched_all = await retrieve_each(client, provider, chosen, concurrency=RETRIEVE_CONCURRENCY) if chosen else []
    for batch_id, outcome in zip(chosen, fetched_all):
        if isinstance(outcome, Batch):
            batches[batch_id] = outcome
        elif isinstance(outcome, GatewayHTTPError) and outcome.is_not_found:
            result.gone.append((provider, batch_id))
        # Any other failure: keep what the list said (or what the board already shows).
    result.batches = list(batches.values())
    return result
