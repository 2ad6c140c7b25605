"""``batchtop watch``: follow batches until they finish, for scripts and CI. No Textual.

What is watched: the ids named (each looked up on the profile's providers, or on the one
``--provider`` names), or with ``--all-live`` every batch live at the first poll. Every
``interval`` seconds the watched batches that are still live are fetched — one retrieve
each for a handful, page one of the list (``poll_provider``) for more — into a ``Board``;
the ``EventBook`` says which ends and signals are news. The watch ends when every watched
batch has finished, with an exit code that says how (:class:`WatchExit`).

Output: on a terminal one line per batch, rewritten in place when its text changes; without
one, a timestamped line per change; with ``--json``, NDJSON (one object per status change
or event, then ``{"event": "done", ...}``). Everything from the gateway goes through
``safe_text``; the key is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TextIO

from tui.alerts import AlertSinks
from tui.api import Batch, BifrostClient, GatewayError, GatewayHTTPError
from tui.api.client import retrieve_each
from tui.api.providers import traits
from tui.cli.output import err
from tui.cli.watch_flags import DEFAULT_GIVE_UP
from tui.config import ConfigError
from tui.monitor.board import BatchKey, Board, BoardChange
from tui.monitor.events import BatchEvent, EventBook
from tui.monitor.poller import PAGE_ONE_MAX, ProviderPoll, poll_provider
from tui.monitor.schedule import ProviderHealth
from tui.monitor.signals import BAD_ENDS, SignalRules, bad_outcome, rules_for, signals_of
from tui.session import Session
from tui.text.describe import progress_text, status_text
from tui.text.humanize import duration
from tui.text.safe import safe_text, shorten_middle


class WatchExit(IntEnum):
    """How ``batchtop watch`` ends (documented in its ``--help``)."""

    OK = 0
    """Every watched batch completed (or ``--all-live`` found nothing live)."""
    GATEWAY = 1
    """The key was rejected (401/403), or the gateway stayed unreachable past --give-up-after."""
    USAGE = 2
    """Bad flags or durations, no ids and no --all-live, an id on no provider."""
    BAD_END = 3
    """A watched batch failed, expired, was cancelled or vanished (and with --fail-on-errors,
    one completed that ``bad_outcome`` calls bad)."""
    TIMEOUT = 4
    """--timeout came before every watched batch had finished."""
    INTERRUPTED = 130
    """Ctrl-C."""


RETRIEVE_EACH_MAX = 4
"""Live watched batches of one provider up to which each is retrieved by id; past it, page
one of the list (plus retrieves of what it lacks) costs fewer requests."""

# -- options --------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchOptions:
    batch_ids: tuple[str, ...] = ()
    all_live: bool = False
    timeout: float | None = None
    give_up_after: float = DEFAULT_GIVE_UP
    json: bool = False
    fail_on_errors: bool = False
    alerts: bool = False
    """Send the events to the profile's [alerts] sinks too (command, webhook, bell, desktop)."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> WatchOptions:
        options = cls(
            batch_ids=tuple(dict.fromkeys(args.batch_ids or ())),  # the same id twice is watched once
            all_live=bool(args.all_live),
            timeout=args.timeout,
            give_up_after=args.give_up_after,
            json=bool(args.json),
            fail_on_errors=bool(args.fail_on_errors),
            alerts=bool(getattr(args, "alerts", False)),
        )
        if options.all_live and options.batch_ids:
            raise ConfigError("watch: give batch ids or --all-live, not both")
        if not options.all_live and not options.batch_ids:
            raise ConfigError("watch what? give batch ids, or --all-live for every batch live now")
        return options


class _Stop(Exception):
    """Ends the watch with ``code``; ``message`` (if any) goes to stderr."""

    def __init__(self, code: WatchExit, message: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- what a batch looks like at one poll ------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One watched batch as the output shows it; terminal-safe."""

    provider: str
    batch_id: str
    raw_status: str
    """The status as sent, for telling a change of status (not for printing)."""
    status: str
    """As people read it (``ended:completed`` for Anthropic's catch-all end)."""
    wire_status: str
    """As sent (safe), for ``--json``: the status the gateway reports."""
    outcome: str
    progress: str
    signal: str
    counts: dict[str, int | None]
    gone: bool
    finished: bool

    def text(self, provider_width: int, id_width: int | None = None) -> str:
        shown_id = self.batch_id if id_width is None else shorten_middle(self.batch_id, id_width)
        parts = [
            self.provider.ljust(provider_width),
            shown_id.ljust(id_width or 0),
            self.status.ljust(11),
            self.progress,
        ]
        if self.signal:
            parts.append(self.signal)
        return "  ".join(parts).rstrip()


def counts_of(batch: Batch) -> dict[str, int | None]:
    """The counts ``--json`` reports; null where not known (a counts-at-end batch running:
    its zeros mean nothing, so only its total is given)."""
    c = batch.request_counts
    total = c.total if c.total_known else None
    if not c.known or c.at_end:
        return {"total": total} | dict.fromkeys(("succeeded", "failed", "canceled", "expired", "pending"))
    return {
        "total": total,
        "succeeded": c.succeeded,
        "failed": c.failed_count,
        "canceled": c.canceled_count,
        "expired": c.expired_count,
        "pending": c.pending,
    }


def _terminal_size() -> tuple[int, int]:
    size = shutil.get_terminal_size((100, 24))
    return size.columns, size.lines


def _stamp(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


# -- the three outputs ------------------------------------------------------------------


class _Output:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def start(self, now: float, text: str) -> None: ...

    def update(
        self, now: float, rows: Sequence[Row], before: dict[BatchKey, Row], events: Sequence[BatchEvent]
    ) -> None: ...

    def note(self, now: float, text: str) -> None: ...

    def finish(self, now: float, code: int, summary: dict[str, Any], closing: str | None) -> None: ...


class JsonOutput(_Output):
    """NDJSON: one object per status change and per event, then the done line."""

    def emit(self, value: dict[str, Any]) -> None:
        self.write(json.dumps(value, ensure_ascii=True, separators=(",", ":")))

    def update(
        self, now: float, rows: Sequence[Row], before: dict[BatchKey, Row], events: Sequence[BatchEvent]
    ) -> None:
        for row in rows:
            last = before.get((row.provider, row.batch_id))
            if last is None or last.raw_status != row.raw_status or last.gone != row.gone:
                value: dict[str, Any] = {
                    "event": "status",
                    "at": round(now, 3),
                    "provider": row.provider,
                    "id": row.batch_id,
                    "status": row.wire_status,
                    "outcome": row.outcome,
                    "counts": row.counts,
                }
                if row.gone:
                    value["gone"] = True
                self.emit(value)
        for event in events:
            self.emit(event.as_json())

    def note(self, now: float, text: str) -> None:
        err(text)  # stdout carries only the objects

    def finish(self, now: float, code: int, summary: dict[str, Any], closing: str | None) -> None:
        self.emit({"event": "done", "at": round(now, 3), "exit": int(code), "summary": summary})


class PlainOutput(_Output):
    """A log: one timestamped line per change of status or counts, and per event."""

    def start(self, now: float, text: str) -> None:
        self.write(f"{_stamp(now)}  {text}")

    def update(
        self, now: float, rows: Sequence[Row], before: dict[BatchKey, Row], events: Sequence[BatchEvent]
    ) -> None:
        width = max((len(r.provider) for r in rows), default=0)
        for row in rows:
            last = before.get((row.provider, row.batch_id))
            if last is None or (last.raw_status, last.counts, last.gone) != (row.raw_status, row.counts, row.gone):
                self.write(f"{_stamp(now)}  {row.text(width)}")
        for event in events:
            self.write(f"{_stamp(now)}  {event.title}: {event.message}")

    def note(self, now: float, text: str) -> None:
        self.write(f"{_stamp(now)}  {text}")

    def finish(self, now: float, code: int, summary: dict[str, Any], closing: str | None) -> None:
        if closing:
            self.write(f"{_stamp(now)}  {closing}")


class TerminalOutput(_Output):
    """One line per batch, kept below the notes and rewritten in place (cursor up, clear
    the line) only where its text changed. Lines are cut to the terminal's width so that
    none wraps, and the block to its height (the live ones first)."""

    def __init__(self, out: TextIO, size: Callable[[], tuple[int, int]]) -> None:
        super().__init__(out)
        self.size = size
        self.shown: list[str] = []

    def start(self, now: float, text: str) -> None:
        self.write(text)

    def _lines(self, rows: Sequence[Row]) -> list[str]:
        columns, lines = self.size()
        width = max(columns - 1, 20)
        room = max(lines - 2, 3)
        chosen = list(rows)
        more = ""
        if len(chosen) > room:
            ordered = [r for r in rows if not r.finished] + [r for r in rows if r.finished]
            chosen = ordered[: room - 1]
            rest = ordered[room - 1 :]
            live = sum(not r.finished for r in rest)
            more = f"… {len(rest)} more ({live} live, {len(rest) - live} finished)"
        provider_width = max((len(r.provider) for r in chosen), default=0)
        id_width = min(max((len(r.batch_id) for r in chosen), default=0), max(16, width - provider_width - 40))
        out = [row.text(provider_width, id_width)[:width] for row in chosen]
        if more:
            out.append(more[:width])
        return out

    def update(
        self, now: float, rows: Sequence[Row], before: dict[BatchKey, Row], events: Sequence[BatchEvent]
    ) -> None:
        self._draw(self._lines(rows))

    def _draw(self, lines: list[str]) -> None:
        old = self.shown
        if len(lines) != len(old):
            buf = (f"\x1b[{len(old)}A\r\x1b[J" if old else "") + "".join(f"{line}\n" for line in lines)
        else:
            buf = ""
            for i, (was, line) in enumerate(zip(old, lines)):
                if was != line:
                    up = len(old) - i  # the cursor rests on the line below the block
                    buf += f"\x1b[{up}A\r\x1b[2K{line}\x1b[{up}B\r"
        self.shown = lines
        if buf:
            self.out.write(buf)
            self.out.flush()

    def note(self, now: float, text: str) -> None:
        """A line above the block: the block is cleared, the note written, the block redrawn."""
        lines = self.shown
        if lines:
            self.out.write(f"\x1b[{len(lines)}A\r\x1b[J")
        self.out.write(f"{text}\n")
        self.shown = []
        self._draw(lines)

    def finish(self, now: float, code: int, summary: dict[str, Any], closing: str | None) -> None:
        if closing:
            self.write(closing)


# -- the watch ----------------------------------------------------------------------------


Sleep = Callable[[float], Awaitable[object]]


class Watcher:
    """One ``batchtop watch``: choose the batches, poll them until they finish, say how.

    ``clock`` is the time the batches live in (the session's: the wall clock, or the demo
    simulator's), for signals and timestamps; ``monotonic`` and ``sleep`` measure and wait
    out intervals, --timeout and --give-up-after (tests pass fakes for both).
    """

    def __init__(
        self,
        session: Session,
        options: WatchOptions,
        *,
        out: TextIO | None = None,
        terminal: bool | None = None,
        clock: Callable[[], float] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        terminal_size: Callable[[], tuple[int, int]] | None = None,
    ) -> None:
        self.session = session
        self.options = options
        self.providers = list(session.profile.providers)
        self.clock = clock or session.clock
        self.monotonic = monotonic
        self.sleep = sleep
        self.rules: SignalRules = rules_for(session.profile.signals)
        self.board = Board(self.clock)
        self.book = EventBook(self.rules)
        self.health = ProviderHealth("gateway", session.profile.interval)
        self.watched: list[BatchKey] = []
        self.rows: dict[BatchKey, Row] = {}
        self.outage_since: float | None = None
        self.page_one: dict[str, int] = {}
        self.started = monotonic()
        self.deadline = None if options.timeout is None else self.started + options.timeout
        self.finished_with: int | None = None
        stream = out if out is not None else sys.stdout
        on_terminal = terminal if terminal is not None else stream.isatty()
        if options.json:
            self.output: _Output = JsonOutput(stream)
        elif on_terminal:
            self.output = TerminalOutput(stream, terminal_size or _terminal_size)
        else:
            self.output = PlainOutput(stream)
        self.sinks: AlertSinks | None = None
        if options.alerts:
            # Bell and desktop notifications only on a terminal showing lines, never into --json.
            def write(text: str) -> None:
                stream.write(text)
                stream.flush()

            terminal_ok = on_terminal and not options.json
            self.sinks = AlertSinks(
                session.profile.alerts, write_terminal=write if terminal_ok else None, clock=monotonic
            )

    # -- running ------------------------------------------------------------------------

    def run(self) -> int:
        """Watch until done; Ctrl-C ends it quietly with 130."""
        try:
            return asyncio.run(self.watch())
        except KeyboardInterrupt:
            return self.interrupted()

    async def watch(self) -> int:
        async with self.session.client() as client:
            try:
                if self.options.all_live:
                    await self._choose_live(client)
                else:
                    await self._resolve_ids(client)
                if not self.watched:
                    shown = ", ".join(safe_text(p, 40) for p in self.providers)
                    return self._finish(WatchExit.OK, closing=f"no live batches on {shown}: nothing to watch")
                self.output.start(self.clock(), self._heading())
                await self._alert(self._report(self._events(BoardChange())))  # signals already up
                while not self._all_finished():
                    if not await self._wait_for_next_poll():
                        return self._finish(WatchExit.TIMEOUT)
                    await self._poll(client)
            except _Stop as stop:
                return self._finish(stop.code, problem=stop.message)
            finally:
                if self.sinks is not None:
                    for problem in await self.sinks.close():
                        err(f"alert not sent: {problem}")
        return self._finish(self._verdict())

    async def _alert(self, events: Sequence[BatchEvent]) -> None:
        if self.sinks is not None:
            for problem in await self.sinks.deliver(list(events)):
                err(f"alert not sent: {problem}")

    def interrupted(self) -> int:
        if self.finished_with is None:
            self.finished_with = WatchExit.INTERRUPTED
            if isinstance(self.output, JsonOutput):
                self.output.finish(self.clock(), WatchExit.INTERRUPTED, self._summary(), None)
        return WatchExit.INTERRUPTED

    def _heading(self) -> str:
        count = len(self.watched)
        what = "1 batch" if count == 1 else f"{count} batches"
        every = duration(self.health.interval) if self.health.interval >= 1 else f"{self.health.interval:g}s"
        return f"watching {what} at {safe_text(self.session.gateway_host, 80)}, polling every {every} (Ctrl-C stops)"

    async def _wait_for_next_poll(self) -> bool:
        """Sleep until the next poll is due, but not past --timeout nor past the moment an
        outage reaches --give-up-after. False when --timeout has come."""
        target = self.health.next_poll_at
        if self.outage_since is not None:
            target = min(target, self.outage_since + self.options.give_up_after)
        if self.deadline is not None:
            target = min(target, self.deadline)
        delay = target - self.monotonic()
        if delay > 0:
            await self.sleep(delay)
        return self.deadline is None or self.monotonic() < self.deadline

    # -- choosing what to watch ------------------------------------------------------------

    async def _choose_live(self, client: BifrostClient) -> None:
        """Poll every provider once (page one, as the board's poll does); watch what is live."""
        pending = list(self.providers)
        while pending:
            results = await asyncio.gather(*(self._poll_list(client, p) for p in pending))
            errors: list[GatewayError] = []
            for provider, result in zip(list(pending), results):
                if isinstance(result, GatewayError):
                    if isinstance(result, GatewayHTTPError) and result.is_unsupported:
                        err(f"{safe_text(provider, 40)}: {safe_text(result.message, 300)}; not watched")
                        pending.remove(provider)
                    else:
                        errors.append(result)
                    continue
                self.board.take(result)
                pending.remove(provider)
            self._round(answered=not errors, errors=errors)
            if pending and not await self._wait_for_next_poll():
                raise _Stop(WatchExit.TIMEOUT, "--timeout reached before every provider had answered")
        order = {p: i for i, p in enumerate(self.providers)}
        self.watched = sorted((t.key for t in self.board.all_live()), key=lambda k: order.get(k[0], len(order)))

    async def _resolve_ids(self, client: BifrostClient) -> None:
        """Find each id on its provider: the one named, or each of the profile's."""
        ids = list(self.options.batch_ids)
        found: dict[str, list[Batch]] = {i: [] for i in ids}
        missing: dict[str, list[str]] = {i: [] for i in ids}
        pairs = [(i, p) for i in ids for p in self.providers]
        while pairs:
            results = await asyncio.gather(*(self._retrieve(client, p, i) for i, p in pairs))
            errors: list[GatewayError] = []
            retry: list[tuple[str, str]] = []
            for (batch_id, provider), result in zip(pairs, results):
                if isinstance(result, Batch):
                    found[batch_id].append(result)
                elif isinstance(result, GatewayHTTPError) and not result.is_auth and result.status in (400, 404):
                    missing[batch_id].append(f"{safe_text(provider, 40)}: {safe_text(result.message, 200)}")
                else:
                    errors.append(result)
                    retry.append((batch_id, provider))
            self._round(answered=not errors, errors=errors)
            pairs = [(i, p) for i, p in retry if not found[i]]
            if pairs and not await self._wait_for_next_poll():
                raise _Stop(WatchExit.TIMEOUT, "--timeout reached before every batch had been found")
        problems = []
        for batch_id in ids:
            shown = safe_text(batch_id, 120)
            if len(found[batch_id]) > 1:
                where = ", ".join(safe_text(b.provider, 40) for b in found[batch_id])
                problems.append(f"batch {shown} is on several providers ({where}): name one with --provider")
            elif not found[batch_id]:
                on = ", ".join(safe_text(p, 40) for p in self.providers)
                why = "; ".join(missing[batch_id])
                hint = "" if len(self.providers) > 1 else " (is it on another provider? name it with --provider)"
                problems.append(f"batch {shown} not found on {on} ({why}){hint}")
        if problems:
            raise _Stop(WatchExit.USAGE, "\n".join(problems))
        batches = [found[i][0] for i in ids]
        self.board.apply(batches)
        self.watched = [b.key for b in batches]

    # -- one poll ----------------------------------------------------------------------------

    async def _retrieve(self, client: BifrostClient, provider: str, batch_id: str) -> Batch | GatewayError:
        try:
            return await client.retrieve(provider, batch_id)
        except GatewayError as exc:
            return exc

    async def _poll_list(self, client: BifrostClient, provider: str) -> ProviderPoll | GatewayError:
        try:
            poll = await poll_provider(client, provider, self.board, limit=self.page_one.get(provider, PAGE_ONE_MAX))
        except GatewayError as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 — as the poll loop: a surprise in gateway data is a failed poll
            return GatewayError(f"unexpected answer from gateway ({type(exc).__name__})", short="unexpected answer")
        self.page_one[provider] = poll.next_limit
        return poll

    def _uses_list(self, provider: str, live: int) -> bool:
        """Page one plus what it lacks, or one retrieve per batch: whichever asks less. Where
        list items carry no counts (Bedrock, Gemini) page one saves nothing."""
        if self.options.all_live and provider not in self.page_one:
            return True
        return live > RETRIEVE_EACH_MAX and traits(provider).list_has_counts

    async def _poll(self, client: BifrostClient) -> None:
        live: dict[str, list[str]] = {}
        for key in self.watched:
            tracked = self.board.get(key)
            if tracked is not None and not tracked.batch.finished and not tracked.gone:
                live.setdefault(key[0], []).append(key[1])

        async def one(provider: str, ids: list[str]) -> ProviderPoll | GatewayError | list[Batch | GatewayError]:
            if self._uses_list(provider, len(ids)):
                return await self._poll_list(client, provider)
            return await retrieve_each(client, provider, ids, concurrency=RETRIEVE_EACH_MAX)

        results = await asyncio.gather(*(one(p, ids) for p, ids in live.items()))
        batches: list[Batch] = []
        polls: list[ProviderPoll] = []
        gone: list[BatchKey] = []
        errors: list[GatewayError] = []
        answered = 0
        for (provider, ids), result in zip(live.items(), results):
            if isinstance(result, GatewayError):
                errors.append(result)
            elif isinstance(result, ProviderPoll):
                polls.append(result)
                answered += 1
            else:
                for batch_id, one_result in zip(ids, result):
                    if isinstance(one_result, Batch):
                        batches.append(one_result)
                        answered += 1
                    elif isinstance(one_result, GatewayHTTPError) and one_result.is_not_found:
                        gone.append((provider, batch_id))
                        answered += 1
                    else:
                        errors.append(one_result)
        self._round(answered=answered > 0, errors=errors)
        if not answered:
            return  # nothing new: what is shown stays, and the next poll is backed off
        change = self.board.apply(batches)
        for poll in polls:
            change.merge(self.board.take(poll))
        for key in gone:
            if self.board.mark_gone(key):
                change.changed.append(key)
        await self._alert(self._report(self._events(change)))

    def _round(self, *, answered: bool, errors: Sequence[GatewayError]) -> None:
        """Book one round of requests: a rejected key ends the watch; a round without a single
        answer starts (or continues) an outage, ridden out with backoff up to --give-up-after."""
        now = self.monotonic()
        for error in errors:
            if isinstance(error, GatewayHTTPError) and error.is_auth:
                raise _Stop(
                    WatchExit.GATEWAY,
                    f"the gateway rejected the key: {safe_text(error.message, 300)} "
                    "(check the profile's key, or --api-key-env)",
                )
        if answered or not errors:
            if self.outage_since is not None:
                self.output.note(self.clock(), f"gateway back after {duration(now - self.outage_since)}")
                self.outage_since = None
            self.health.succeeded(now)
            return
        error = errors[0]
        self.health.failed(now, error)
        message = safe_text(error.message, 300)
        give_up = self.options.give_up_after
        if self.outage_since is None:
            self.outage_since = now
            if give_up <= 0:
                raise _Stop(WatchExit.GATEWAY, f"gateway unreachable; giving up (--give-up-after 0): {message}")
            said = message if message.lower().startswith("gateway") else f"gateway failing: {message}"
            self.output.note(self.clock(), f"{said}; retrying for up to {duration(give_up)}")
        elif now - self.outage_since >= give_up:
            raise _Stop(
                WatchExit.GATEWAY, f"gateway unreachable for {duration(now - self.outage_since)}; giving up: {message}"
            )

    def _events(self, change: BoardChange) -> list[BatchEvent]:
        watched = set(self.watched)
        events = self.book.check(self.board, self.clock(), change.finished)
        return [e for e in events if e.key in watched]

    # -- what is shown -----------------------------------------------------------------------

    def _row(self, key: BatchKey, now: float) -> Row:
        tracked = self.board.get(key)
        assert tracked is not None
        batch = tracked.batch
        signals = signals_of(tracked, now, self.rules)
        signal = "gone (the gateway no longer knows it)" if tracked.gone else (signals[0].text(now) if signals else "")
        return Row(
            provider=safe_text(batch.provider, 40),
            batch_id=safe_text(batch.id),
            raw_status=batch.status,
            status=status_text(batch),
            wire_status=safe_text(batch.status_shown, 40),
            outcome=safe_text(batch.outcome, 40),
            progress=progress_text(batch),
            signal=signal,
            counts=counts_of(batch),
            gone=tracked.gone,
            finished=batch.finished or tracked.gone,
        )

    def _report(self, events: Sequence[BatchEvent]) -> Sequence[BatchEvent]:
        now = self.clock()
        rows = [self._row(key, now) for key in self.watched]
        self.output.update(now, rows, self.rows, events)
        self.rows = {key: row for key, row in zip(self.watched, rows)}
        return events

    # -- how it ended ------------------------------------------------------------------------

    def _all_finished(self) -> bool:
        for key in self.watched:
            tracked = self.board.get(key)
            if tracked is not None and not tracked.gone and not tracked.batch.finished:
                return False
        return True

    def _bad(self, key: BatchKey) -> bool:
        tracked = self.board.get(key)
        if tracked is None or tracked.gone:
            return True
        batch = tracked.batch
        if not batch.finished:
            return False
        return batch.outcome in BAD_ENDS or (self.options.fail_on_errors and bad_outcome(batch, self.rules))

    def _verdict(self) -> WatchExit:
        return WatchExit.BAD_END if any(self._bad(k) for k in self.watched) else WatchExit.OK

    def _summary(self) -> dict[str, Any]:
        outcomes: dict[str, int] = {}
        batches = []
        live = gone = 0
        for key in self.watched:
            tracked = self.board.get(key)
            if tracked is None:
                continue
            batch = tracked.batch
            if tracked.gone:
                gone += 1
            elif not batch.finished:
                live += 1
            else:
                outcome = safe_text(batch.outcome, 40)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            batches.append({
                "provider": safe_text(batch.provider, 40),
                "id": safe_text(batch.id),
                "status": safe_text(batch.status_shown, 40),
                "outcome": safe_text(batch.outcome, 40),
                "finished": batch.finished,
                "gone": tracked.gone,
                "bad": self._bad(key),
                "counts": counts_of(batch),
            })  # fmt: skip
        return {
            "watched": len(self.watched),
            "finished": sum(outcomes.values()),
            "live": live,
            "gone": gone,
            "outcomes": outcomes,
            "bad": sum(b["bad"] for b in batches),
            "elapsed": round(self.monotonic() - self.started, 3),
            "batches": batches,
        }

    def _closing(self, code: WatchExit, summary: dict[str, Any]) -> str | None:
        outcomes = ", ".join(f"{n} {word}" for word, n in summary["outcomes"].items())
        if summary["gone"]:
            outcomes += f"{', ' if outcomes else ''}{summary['gone']} gone"
        watched = summary["watched"]
        if not watched:
            return None
        if code is WatchExit.TIMEOUT:
            assert self.options.timeout is not None
            done = f" ({outcomes})" if outcomes else ""
            return (
                f"timed out after {duration(self.options.timeout)}: {summary['live']} of {watched} still running"
                f"{done} (exit {int(code)})"
            )
        if code in (WatchExit.OK, WatchExit.BAD_END):
            every = "the batch" if watched == 1 else f"all {watched}"
            badly = f", {summary['bad']} badly" if summary["bad"] else ""
            return f"{every} finished{badly}: {outcomes} (exit {int(code)})"
        return None

    def _finish(self, code: WatchExit, *, problem: str | None = None, closing: str | None = None) -> int:
        self.finished_with = code
        if problem:
            for line in problem.splitlines():
                err(line)
        summary = self._summary()
        text = closing if closing is not None else self._closing(code, summary)
        if closing is not None and isinstance(self.output, JsonOutput):
            err(closing)
        self.output.finish(self.clock(), code, summary, text)
        return code


def run_watch(args: argparse.Namespace, session: Session) -> int:
    return Watcher(session, WatchOptions.from_args(args)).run()
