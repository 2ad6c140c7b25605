"""One poll of one provider: the first page of its list, and only what that page cannot
tell. No Textual.

A poll costs what changed, not how much history the gateway holds: it lists page one
(the newest batches, only as far past the oldest live one as new arrivals need:
:func:`page_one_limit`), and retrieves one by one only
- live batches whose counts the list lacks (Bedrock and Gemini list items carry none) —
  except where counts appear only when the batch ends (Bedrock): then once when first seen
  and once when it has finished; a finished one once, and never again;
- live batches the board knows that are not on page one (older, or vanished): so that they
  are followed to the end, or marked gone on 404.
Retrieves are capped per poll so a large Bedrock account does not turn one poll into
hundreds of requests. The rest of the history is walked page by page now and then
(:func:`walk_history`, run by the poll loop at start and every few minutes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from tui.api import Batch, BifrostClient, GatewayHTTPError, batch_key
from tui.api.client import DEFAULT_PAGE_CAP, BatchListing, retrieve_each
from tui.monitor.board import BatchKey, Board, TrackedBatch

MAX_RETRIEVES_PER_POLL = 24
RETRIEVE_CONCURRENCY = 4
QUIET_AFTER = 3
"""Fetches in a row that found a running batch's counts where they were: it is quiet."""
QUIET_FETCH_EVERY = 30.0
"""Seconds between fetches of a quiet batch whose status the list already gives (Gemini)."""
PAGE_ONE_MAX = 100
"""Batches asked for on page one when nothing is known yet (the gateway's usual maximum)."""
PAGE_ONE_MIN = 20
PAGE_ONE_MARGIN = 10
"""Batches asked for past the oldest live one on the last page one: room for new arrivals."""


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
    fetched_finished: list[BatchKey] = field(default_factory=list)
    """Batches a retrieve found finished: the board never has them fetched again."""
    next_limit: int = PAGE_ONE_MAX
    """How long the next poll's page one should be (see :func:`page_one_limit`)."""
    whole_list: bool = False
    """Page one was the provider's whole list (the gateway had no next page): a walk of the
    history would only ask for it again."""


def page_one_limit(page: list[Batch]) -> int:
    """How many batches the next poll should list, from this poll's page one (newest first).

    Page one is where new and live batches are; what lies past the oldest live one is
    finished and cannot change, so reading it again at every poll is only cost (at idle,
    reading pages was most of a poll's CPU). The next page one reaches the oldest live batch
    plus PAGE_ONE_MARGIN, within PAGE_ONE_MIN..PAGE_ONE_MAX. A live batch that new arrivals
    push past it is still followed: it is retrieved, as any live batch not on page one is,
    and the page grows again at the next poll. A full page whose last batch is live may hide
    more: then the page grows by the margin each poll, up to the maximum."""
    last_live = max((i for i, batch in enumerate(page) if not batch.finished), default=-1)
    return max(PAGE_ONE_MIN, min(PAGE_ONE_MAX, last_live + 1 + PAGE_ONE_MARGIN))


def _as_listed(batch: Batch, board: Board) -> tuple[Batch, bool]:
    """What the board should take for a listed ``batch``, and whether to retrieve it.

    A list item without counts (Bedrock, Gemini) must not wipe counts the board already has:
    a finished batch keeps them for good, a live one keeps them until its next retrieve.
    Where the list does carry counts (OpenAI's), zeros are the counts: nothing to fetch. A
    finished batch is fetched once after it finished, whatever that gave, and never again."""
    if batch.request_counts.known or batch.traits.list_has_counts:
        return batch, False
    known = board.get(batch.key)
    if known is None:
        return batch, True
    if known.batch.finished and (known.batch.request_counts.known or known.fetched_finished):
        return known.batch, False  # finished: its counts will not change again
    memo = known.merged
    if memo is not None and memo[0] is batch and memo[1] is known.batch:
        merged = known.batch  # the same item over what it gave before gives it again
    else:
        merged = batch.over(known.batch)
        if merged == known.batch:
            merged = known.batch  # what the board keeps (it keeps its object when equal)
        known.merged = (batch, merged)
    if not batch.finished and not batch.traits.counts_while_running and known.retrieved_at is not None:
        return merged, False  # Bedrock: counts arrive only when the job ends; fetched once till then
    if not batch.finished and batch.status == known.batch.status and _quiet(known, board.clock()):
        return merged, False  # a new status in the list is news: fetched at once
    return merged, True


def _quiet(known: TrackedBatch, now: float) -> bool:
    """A running batch whose last QUIET_AFTER fetches found the same counts is fetched only
    every QUIET_FETCH_EVERY seconds until they move (a Gemini job pending for hours would
    otherwise cost a request at every poll). Only for a batch on page one: the list still
    says its status at every poll, so a change of status (it starts running, it finishes)
    is seen at once, and the batch fetched then."""
    return (
        known.unchanged_fetches >= QUIET_AFTER
        and known.retrieved_at is not None
        and now - known.retrieved_at < QUIET_FETCH_EVERY
    )


async def poll_provider(
    client: BifrostClient, provider: str, board: Board, *, limit: int = PAGE_ONE_MAX
) -> ProviderPoll:
    """List page one of ``provider`` (``limit`` batches: pass the last poll's ``next_limit``)
    and fill in what it lacks. Raises GatewayError if the list fails."""
    listing = await client.list_batches(provider, limit=limit, page_cap=1)
    result = ProviderPoll(
        provider, requests=listing.pages, next_limit=page_one_limit(listing.batches), whole_list=listing.complete
    )
    if listing.repeated:  # one page cannot repeat itself; kept for a gateway that somehow does
        result.listing_note = listing.shortfall(named=False)
    if listing.skipped:
        result.notes.append(f"{provider}: {listing.skipped} unreadable item(s) left out")

    batches: dict[str, Batch] = {}
    to_retrieve: list[str] = []
    for listed in listing.batches:
        batch, fetch = _as_listed(listed, board)
        batches[batch.id] = batch
        if fetch:
            to_retrieve.append(batch.id)

    origin = client.origin
    for tracked in board.live(provider, origin):
        batch_id = tracked.key[1]
        if batch_id not in batches and not tracked.gone:
            to_retrieve.append(batch_id)

    # Under the cap, the least recently fetched go first, so that every batch gets its turn.
    def last_fetched(batch_id: str) -> float:
        tracked = board.get(batch_key(provider, batch_id, origin))
        return float("-inf") if tracked is None or tracked.retrieved_at is None else tracked.retrieved_at

    chosen = sorted(to_retrieve, key=last_fetched)[:MAX_RETRIEVES_PER_POLL]
    now = board.clock()
    for batch_id in chosen:
        fetched = board.get(batch_key(provider, batch_id, origin))
        if fetched is not None:
            fetched.retrieved_at = now
    result.requests += len(chosen)
    fetched_all = await retrieve_each(client, provider, chosen, concurrency=RETRIEVE_CONCURRENCY) if chosen else []
    for batch_id, outcome in zip(chosen, fetched_all):
        if isinstance(outcome, Batch):
            batches[batch_id] = outcome
            if (on_board := board.get(batch_key(provider, batch_id, origin))) is not None:
                same = (
                    outcome.request_counts == on_board.batch.request_counts and outcome.status == on_board.batch.status
                )
                on_board.unchanged_fetches = on_board.unchanged_fetches + 1 if same else 0
            if outcome.finished:
                result.fetched_finished.append(batch_key(provider, batch_id, origin))
        elif isinstance(outcome, GatewayHTTPError) and outcome.is_not_found:
            result.gone.append(batch_key(provider, batch_id, origin))
        # Any other failure: keep what the list said (or what the board already shows).
    result.batches = list(batches.values())
    return result


async def walk_history(
    client: BifrostClient,
    provider: str,
    board: Board,
    *,
    page_cap: int = DEFAULT_PAGE_CAP,
    listing: BatchListing | None = None,
) -> AsyncIterator[ProviderPoll]:
    """Walk every page of ``provider``'s list (page one included: it may have moved on), one
    :class:`ProviderPoll` per page, for the board to take as each arrives. No retrieves: the
    next polls fetch what the walk found live. The last poll carries ``listing_note`` when
    the walk did not reach the end (page cap, or a gateway that ignores ``after``).
    Raises GatewayError if a page fails (what was taken before stays on the board); pass the
    same ``listing`` again to resume the walk at the page that failed."""
    listing = listing if listing is not None else BatchListing(provider)
    async for page in client.walk_pages(listing, page_cap=page_cap):
        yield ProviderPoll(provider, [_as_listed(batch, board)[0] for batch in page], requests=1)
    if listing.repeated or listing.truncated or listing.skipped:
        last = ProviderPoll(provider, listing_note=listing.shortfall(named=False))
        if (shortfall := listing.shortfall()) is not None:
            last.notes.append(shortfall)
        if listing.skipped:
            last.notes.append(f"{provider}: {listing.skipped} unreadable item(s) left out")
        yield last
