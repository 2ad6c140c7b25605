"""The board: the last known state of every batch, what changed at each poll, and the
totals, rates, ETAs and stalls the screen shows. Plain Python with an injected clock."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from tui.api import Batch, BatchKey
from tui.monitor.history import ProgressHistory
from tui.monitor.signals import SignalRules, stalled
from tui.monitor.totals import Totals
from tui.text.cancel_words import CANCEL_STATE_WORDS

if TYPE_CHECKING:
    from tui.monitor.poller import ProviderPoll

JOURNAL_MIN = 4096
"""Replaced batches the board remembers at least (see :meth:`Board.replaced_since`)."""

RECENT_ENDS = 3600.0
"""Batches that ended this recently are kept in an index (for the attention view)."""

STALL_AFTER = 600.0
"""A live batch whose done count has not moved for this long (and at least a few polls) is stalled."""


class SortOrder(Enum):
    NEWEST = "newest"
    PROGRESS = "progress"
    FAILED = "failed"
    ETA = "eta"
    STATUS = "status"

    def next(self) -> SortOrder:
        members = list(SortOrder)
        return members[(members.index(self) + 1) % len(members)]


class CancelState(Enum):
    """A row's cancel: on its way, or how it ended (the values of tui.cancel.outcome.Outcome)."""

    SENDING = "sending"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    FAILED = "failed"

    @property
    def words(self) -> str:
        return CANCEL_STATE_WORDS[self.value]


@dataclass(frozen=True, slots=True)
class _Share:
    totals: tuple[float, ...]
    change: tuple[float, ...]
    rates: tuple[float, ...] | None
    live: int
    with_failures: int
    tokens: int = 0
    """Tokens the batch has used, where its gateway says (OpenAI's ``usage``)."""
    with_tokens: int = 0


def _token_share(batch: Batch) -> dict[str, int]:
    used = batch.usage.total if batch.usage is not None else None
    return {"tokens": used or 0, "with_tokens": int(used is not None)}


def _as_tuple(totals: Totals) -> tuple[float, ...]:
    return (totals.pending, totals.succeeded, totals.failed, totals.canceled, totals.expired)


_NO_CHANGE = _as_tuple(Totals())


class _Sums:
    """The summary of every batch on the board, kept up to date share by share, so that the
    unfiltered board's summary costs nothing however many batches it holds."""

    def __init__(self) -> None:
        self.totals = [0.0] * 5
        self.change = [0.0] * 5
        self.rates = [0.0] * 5
        self.with_rates = 0
        self.live = 0
        self.with_failures = 0
        self.tokens = 0
        self.with_tokens = 0

    def add(self, share: _Share, sign: int) -> None:
        # Spelled out: twice for every batch a poll changed (its old share out, its new in).
        totals, change, counted = self.totals, self.change, share.totals
        moved = share.change
        totals[0] += sign * counted[0]
        totals[1] += sign * counted[1]
        totals[2] += sign * counted[2]
        totals[3] += sign * counted[3]
        totals[4] += sign * counted[4]
        change[0] += sign * moved[0]
        change[1] += sign * moved[1]
        change[2] += sign * moved[2]
        change[3] += sign * moved[3]
        change[4] += sign * moved[4]
        if share.rates is not None:
            self.with_rates += sign
            rates, rate = self.rates, share.rates
            rates[0] += sign * rate[0]
            rates[1] += sign * rate[1]
            rates[2] += sign * rate[2]
            rates[3] += sign * rate[3]
            rates[4] += sign * rate[4]
        self.live += sign * share.live
        self.with_failures += sign * share.with_failures
        self.tokens += sign * share.tokens
        self.with_tokens += sign * share.with_tokens


@dataclass
class TrackedBatch:
    """One batch on the board: its latest snapshot and its history."""

    batch: Batch
    first_seen: float
    last_seen: float
    history: ProgressHistory = field(default_factory=ProgressHistory)
    gone: bool = False
    """The gateway answered 404 for it: shown as gone, never silently dropped."""
    cancel_state: CancelState | None = None
    cancel_message: str | None = None
    cancel_asked_at: float | None = None
    """When this session asked the gateway to cancel it (app clock)."""
    retrieved_at: float | None = None
    """When the poller last fetched it one by one (the list lacked its counts or it)."""
    fetched_finished: bool = False
    """A retrieve has answered since it finished: it is never fetched again."""
    unchanged_fetches: int = 0
    """Retrieves in a row that found its counts and status as the board had them."""
    progress_at: float | None = None
    """When the board last saw its done count go up (first sight counts as a sighting of
    progress): kept apart from the bounded history, which at a short interval holds only a
    few minutes, so that a stall of any length is seen."""
    status_since: float = 0.0
    """When the board first saw it in its current status (for "stuck" without a gateway time)."""
    settled: bool = False
    """Finished, and its last samples all say the same: a poll bringing the same object
    again has nothing to add to it."""
    _share: _Share | None = field(default=None, repr=False, compare=False)
    _counted: _Share | None = field(default=None, repr=False, compare=False)
    """The share the board's running sums hold for this batch."""
    _counts: tuple[Batch, Totals] | None = field(default=None, repr=False, compare=False)
    """The batch object last summed (see :meth:`counts`), and its counts."""
    merged: tuple[Batch, Batch] | None = field(default=None, repr=False, compare=False)
    """The list item last laid over this batch and what that gave (tui.monitor.poller
    ``_as_listed``): while the list brings the same item and the board still holds what it
    gave, laying it over again would give the same batch."""

    def counts(self) -> Totals:
        """The current batch's counts as the summary sums them, kept while the board holds
        the same batch object (a sample and the share both need them)."""
        kept = self._counts
        batch = self.batch
        if kept is None or kept[0] is not batch:
            kept = self._counts = (batch, Totals.of((batch,)))
        return kept[1]

    def share(self) -> _Share:
        """This batch's part of the board's summary, kept until its next sample."""
        if self._share is None:
            history = self.history
            first = len(history) < 2  # a batch just seen (a walk brings thousands): no change, no rate
            rates = None if first else history.rates_per_second()
            counts = self.batch.request_counts
            self._share = _Share(
                totals=_as_tuple(self.counts()),
                change=_NO_CHANGE if first else _as_tuple(history.change_since_previous()),
                rates=None if rates is None else _as_tuple(rates),
                live=int(not self.batch.finished),
                with_failures=int((counts.failed or 0) > 0),
                **_token_share(self.batch),
            )
        return self._share

    def sampled(self, at: float) -> bool:
        """Add a progress sample of the current batch (one per poll that carried it); returns
        whether the sample can have moved its rates, ETA or sparkline. A finished batch whose
        last two samples already say the same is left as it is: most of a page is such
        batches, and their samples would be work for nothing."""
        counts = self.counts()
        if self.batch.finished and self.history.settled_at(counts):
            self.settled = True
            return False
        self.settled = False
        if not self.history.add(at, counts, known=self.batch.request_counts.known):
            return False  # standing still for longer than rates and sparklines look back
        self._share = None
        return True

    @property
    def key(self) -> BatchKey:
        return self.batch.key

    def rate_per_minute(self) -> float | None:
        """Requests finished per minute recently; None for finished batches, too few polls,
        or a provider whose counts do not move until the batch ends."""
        if self.batch.finished or self.batch.counts_at_end:
            return None
        rate = self.history.done_rate_per_second()
        return None if rate is None else rate * 60

    def eta_seconds(self) -> float | None:
        """Seconds until no request is pending at the recent rate; None when unknown, idle,
        or judged from counts that only move at the end (see :meth:`time_left`)."""
        if self.batch.finished or self.batch.counts_at_end:
            return None
        pending = self.batch.request_counts.pending
        rate = self.history.done_rate_per_second()
        if not pending or not rate:
            return None
        return pending / rate

    def running_for(self, now: float) -> float | None:
        """Seconds since the batch started (or was created); None once finished."""
        if self.batch.finished:
            return None
        since = self.batch.in_progress_at or self.batch.created_at
        return None if since is None else max(now - since, 0.0)

    def time_left(self, now: float) -> float | None:
        """Seconds until ``expires_at``, by when the batch ends one way or another."""
        expires = self.batch.expires_at
        if self.batch.finished or expires is None:
            return None
        return max(expires - now, 0.0)

    def moved(self, batch: Batch, now: float) -> None:
        """Note what a new snapshot of this batch says about progress and state."""
        old = self.batch
        if (batch.request_counts.done or 0) > (old.request_counts.done or 0):
            self.progress_at = now
        if batch.status_word != old.status_word:
            self.status_since = now

    def stalled(self, now: float, stall_after: float = STALL_AFTER) -> bool:
        """No progress for ``stall_after`` seconds (see :func:`tui.monitor.signals.stalled`)."""
        return stalled(self, now, SignalRules(stall_after=stall_after)) is not None


@dataclass(frozen=True)
class Summary:
    """What the count widgets show: totals, change since the previous poll, per-minute rates."""

    totals: Totals
    change: Totals
    per_minute: Totals | None
    """None until two polls have been seen."""
    batches: int
    live: int
    with_failures: int
    tokens: int | None = None
    """Tokens used by the batches summed, when any of them says (OpenAI's ``usage``)."""


@dataclass
class BoardChange:
    """Keys touched by one update, so the table can change only those rows."""

    added: list[BatchKey] = field(default_factory=list)
    changed: list[BatchKey] = field(default_factory=list)
    finished: list[BatchKey] = field(default_factory=list)
    """Keys that were live on the board and have just finished (for alerts)."""
    seen: list[BatchKey] = field(default_factory=list)
    """Every key the update carried that got a new progress sample, changed or not, so its
    rate and ETA may have moved. A finished batch whose counts have settled is left out:
    at 10,000 batches of history most of a first page is such batches, and redrawing or
    re-checking them at every poll is the idle cost issue 10 b counts."""

    def __bool__(self) -> bool:
        return bool(self.added or self.changed)

    def merge(self, other: BoardChange) -> None:
        """Add what ``other`` touched (for one redraw of several updates)."""
        self.added.extend(other.added)
        self.changed.extend(other.changed)
        self.finished.extend(other.finished)
        self.seen.extend(other.seen)


STATUS_ORDER = {
    "cancelling": 0,
    "in_progress": 1,
    "finalizing": 2,
    "validating": 3,
    "failed": 5,
    "expired": 6,
    "cancelled": 7,
    "completed": 8,
}


class Board:
    """Every batch seen, keyed by (provider, id)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._batches: dict[BatchKey, TrackedBatch] = {}
        self._sums = _Sums()
        self._live: dict[tuple[str, str], dict[BatchKey, None]] = {}
        """Live batches per (profile, provider): each profile's poller follows its own."""
        self._recent_ends: dict[BatchKey, None] = {}
        self.additions = 0
        """Batches added to the board so far: the newest-first order changes only with these."""
        self.revision = 0
        """Goes up whenever a batch is added or changes (not when a poll brings nothing
        new), so that views of the board can tell when to compute themselves again."""
        self._journal: list[BatchKey] = []
        """Keys whose batch object was added or replaced, in that order (see :meth:`replaced_since`)."""
        self._journal_start = 0
        """The mark of the journal's first entry (older ones are dropped)."""

    def __len__(self) -> int:
        return len(self._batches)

    def __contains__(self, key: object) -> bool:
        return key in self._batches

    def get(self, key: BatchKey) -> TrackedBatch | None:
        return self._batches.get(key)

    def live(self, provider: str, origin: str = "") -> list[TrackedBatch]:
        """The live batches of ``provider`` (kept as polls arrive: no walk of the board),
        of profile ``origin`` on a board of several profiles."""
        return [self._batches[key] for key in self._live.get((origin, provider), ())]

    def all_live(self) -> list[TrackedBatch]:
        """Every live batch, of every provider."""
        return [self._batches[key] for live in self._live.values() for key in live]

    def recent_ends(self, within: float = RECENT_ENDS) -> list[TrackedBatch]:
        """Batches that ended (by the gateway's time) less than ``within`` seconds ago."""
        now = self.clock()
        found = []
        for key in list(self._recent_ends):
            tracked = self._batches[key]
            ended = tracked.batch.finished_at
            if ended is None or now - ended > RECENT_ENDS:
                del self._recent_ends[key]
            elif now - ended <= within:
                found.append(tracked)
        return found

    def tracked(self, provider: str | None = None) -> list[TrackedBatch]:
        """Every batch on the board (of ``provider`` only, when given)."""
        if provider is None:
            return list(self._batches.values())
        return [t for key, t in self._batches.items() if key[0] == provider]

    # -- updates ----------------------------------------------------------------------

    def apply(self, batches: Iterable[Batch]) -> BoardChange:
        """Take a poll's batches; returns which rows were added or changed."""
        now = self.clock()
        change = BoardChange()
        for batch in batches:
            key = batch.key
            tracked = self._batches.get(key)
            if tracked is not None and tracked.batch is batch and tracked.settled and not tracked.gone:
                # The very object the board holds, finished and settled: only its sighting is
                # news, and nothing about it can move, so it is not even "seen".
                tracked.last_seen = now
                continue
            moved = True
            if tracked is None:
                tracked = TrackedBatch(batch, first_seen=now, last_seen=now, progress_at=now, status_since=now)
                self._batches[key] = tracked
                change.added.append(key)
                self.additions += 1
            else:
                if tracked.batch != batch or tracked.gone:
                    change.changed.append(key)
                    tracked.moved(batch, now)
                    tracked._share = None  # its part of the summary (tokens, say) moves with it
                    if batch.finished and not tracked.batch.finished:
                        change.finished.append(key)
                    tracked.batch = batch  # unchanged: the old object stays, so rows can skip it
                else:
                    moved = False
                tracked.last_seen = now
                tracked.gone = False
                if batch.finished and tracked.cancel_state is CancelState.SENDING:
                    tracked.cancel_state = None
                    moved = True  # its row says "sending" no more
            if not tracked.sampled(now) and not moved:
                # The batch as the board had it, and its samples (if it is live) have stood
                # still for longer than anything computed from them looks back: nothing about
                # it moved, so it is not "seen" (signals that time alone raises, a stall
                # say, are swept every minute).
                continue
            self._recount(tracked)
            live = self._live.setdefault((batch.origin, batch.provider), {})  # a dict: ordered, as the board
            if tracked.batch.finished:
                live.pop(key, None)
                ended = tracked.batch.finished_at
                if ended is not None and now - ended <= RECENT_ENDS:
                    self._recent_ends[key] = None
            else:
                live[key] = None
            change.seen.append(key)
        if change:
            self.revision += 1
            self._note(change.added)
            self._note(change.changed)
        return change

    def _note(self, keys: list[BatchKey]) -> None:
        journal = self._journal
        journal.extend(keys)
        if len(journal) > max(JOURNAL_MIN, 2 * len(self._batches)):
            drop = len(journal) // 2  # a view that far behind sorts afresh
            del journal[:drop]
            self._journal_start += drop

    @property
    def journal_mark(self) -> int:
        """A mark for :meth:`replaced_since`: how many batch objects were added or replaced so far."""
        return self._journal_start + len(self._journal)

    def replaced_since(self, mark: int) -> list[BatchKey] | None:
        """Keys whose batch object was added or replaced since ``mark`` (a :attr:`journal_mark`),
        repeats included; None when that is too long ago to tell. A batch's place in every
        order but ETA, and whether a filter matches it, follow from its batch object alone,
        so a view can sort again only these (see :class:`tui.monitor.view.BoardView`)."""
        if mark < self._journal_start:
            return None
        return self._journal[mark - self._journal_start :]

    def _recount(self, tracked: TrackedBatch) -> None:
        share = tracked.share()
        if share is not tracked._counted:
            if tracked._counted is not None:
                self._sums.add(tracked._counted, -1)
            self._sums.add(share, 1)
            tracked._counted = share

    def take(self, poll: ProviderPoll) -> BoardChange:
        """Take what one poll of one provider found: its batches, and those the gateway no
        longer knows (marked gone, never dropped)."""
        change = self.apply(poll.batches)
        for key in poll.fetched_finished:
            if (tracked := self._batches.get(key)) is not None:
                tracked.fetched_finished = True
        for key in poll.gone:
            if self.mark_gone(key):
                change.changed.append(key)
                change.seen.append(key)
                self.revision += 1
        return change

    def mark_gone(self, key: BatchKey) -> bool:
        tracked = self._batches.get(key)
        if tracked is None or tracked.gone:
            return False
        tracked.gone = True
        return True

    def set_cancel_state(self, key: BatchKey, state: CancelState | None, message: str | None = None) -> None:
        tracked = self._batches.get(key)
        if tracked is not None:
            tracked.cancel_state = state
            tracked.cancel_message = message
            self.revision += 1
            if state is CancelState.SENDING:
                tracked.cancel_asked_at = self.clock()

    # -- views ------------------------------------------------------------------------

    def summary(self, keys: Iterable[BatchKey] | None = None) -> Summary:
        """Totals over ``keys`` (default: all), change since the previous poll, rates per minute.

        Each batch's share is worked out once per sample (:meth:`TrackedBatch.share`), so
        summing 10,000 batches is a few additions each, not a walk of their histories; the
        whole board's summary is kept as it changes, and costs nothing."""
        if keys is None or (isinstance(keys, Collection) and len(keys) == len(self._batches)):
            sums = self._sums
            return Summary(
                totals=Totals(*sums.totals),
                change=Totals(*sums.change),
                per_minute=Totals(*sums.rates).scaled(60) if sums.with_rates else None,
                batches=len(self._batches),
                live=sums.live,
                with_failures=sums.with_failures,
                tokens=sums.tokens if sums.with_tokens else None,
            )
        chosen = [self._batches[k] for k in keys if k in self._batches]
        totals = [0.0] * 5
        change = [0.0] * 5
        rates = [0.0] * 5
        any_rate = False
        live = with_failures = tokens = with_tokens = 0
        for tracked in chosen:
            share = tracked.share()
            for i, value in enumerate(share.totals):
                totals[i] += value
            for i, value in enumerate(share.change):
                change[i] += value
            if share.rates is not None:
                any_rate = True
                for i, value in enumerate(share.rates):
                    rates[i] += value
            live += share.live
            with_failures += share.with_failures
            tokens += share.tokens
            with_tokens += share.with_tokens
        return Summary(
            totals=Totals(*totals),
            change=Totals(*change),
            per_minute=Totals(*rates).scaled(60) if any_rate else None,
            batches=len(chosen),
            live=live,
            with_failures=with_failures,
            tokens=tokens if with_tokens else None,
        )

    def sorted_keys(self, order: SortOrder, keys: Iterable[BatchKey] | None = None) -> list[BatchKey]:
        chosen = [self._batches[k] for k in (keys if keys is not None else self._batches)]
        return [t.key for t in sorted(chosen, key=sort_key(order))]

    def matching(self, text: str = "", live_only: bool = False) -> list[BatchKey]:
        """Keys whose id, name, provider, profile or status contain ``text`` (case-insensitive)."""
        needle = text.strip().lower()
        return [key for key, tracked in self._batches.items() if matches(tracked.batch, needle, live_only)]


def _newest(t: TrackedBatch) -> tuple:
    return (-(t.batch.created_at or 0), t.key)


def _by_progress(t: TrackedBatch) -> tuple:
    p = t.batch.request_counts.progress
    return (p is None, -(p or 0.0), *_newest(t))


def _by_failed(t: TrackedBatch) -> tuple:
    return (-(t.batch.request_counts.failed or 0), *_newest(t))


def _by_eta(t: TrackedBatch) -> tuple:
    eta = t.eta_seconds()
    return (eta is None, eta or 0.0, *_newest(t))


def _by_status(t: TrackedBatch) -> tuple:
    return (STATUS_ORDER.get(t.batch.outcome, 4), *_newest(t))


_SORT_KEYS: dict[SortOrder, Callable[[TrackedBatch], tuple]] = {
    SortOrder.NEWEST: _newest,
    SortOrder.PROGRESS: _by_progress,
    SortOrder.FAILED: _by_failed,
    SortOrder.ETA: _by_eta,
    SortOrder.STATUS: _by_status,
}


def sort_key(order: SortOrder) -> Callable[[TrackedBatch], tuple]:
    """What ``order`` sorts a batch by. Every key ends with the batch's key, so no two
    batches tie: a sorted list of them has one order, which bisecting keeps. Only ETA's
    depends on more than the batch object (its samples)."""
    return _SORT_KEYS[order]


def matches(batch: Batch, needle: str, live_only: bool = False) -> bool:
    """Whether ``batch`` is shown for a filter ``needle`` (stripped, lower case) and live only."""
    if live_only and batch.finished:
        return False
    if not needle:
        return True
    haystack = (batch.id, batch.name or "", batch.provider, batch.origin, batch.status, batch.outcome)
    return any(needle in part.lower() for part in haystack)
