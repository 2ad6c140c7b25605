"""The live board: a Textual app that watches batches and cancels them behind a confirmation.

The app owns the session (profile, key, client), the board and the view of it (pure state,
tui.monitor), and runs the monitor's poll loop in one worker. Workers never draw: they post
typed messages (tui.ui.messages), the app handles them, and screens learn of changes from
the app's signals. Screens render what the board holds; they never talk to the gateway.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.signal import Signal
from textual.timer import Timer

from tui.alerts import AlertSinks, is_terminal
from tui.api import key_origin
from tui.cancel.audit import AuditLog
from tui.config import ConfigError, config_path, load_config
from tui.monitor import BatchKey, Board, BoardChange, BoardView, ProviderState
from tui.monitor.events import BatchEvent, EventBook
from tui.monitor.runner import PollRunner

if TYPE_CHECKING:
    from tui.monitor.recording import RecordingTap
    from tui.monitor.replay import ReplayRunner
    from tui.record import Recorder
from tui.monitor.schedule import ProviderHealth
from tui.monitor.signals import SignalRules, attention_keys, needs_attention, rules_for
from tui.session import DEMO_PROFILE, Session, SessionRequest, open_session, open_sessions, recorded_profiles
from tui.text.safe import safe_text
from tui.ui import partial_update
from tui.ui.cancel_flow import CancelFlow
from tui.ui.messages import CancelAnswered, CancelFinished, HistoryPageListed, PollFinished, ProviderStateChanged
from tui.ui.origins import Origin, origin_tags
from tui.ui.redraw import guarded
from tui.ui.screens.board import BoardScreen
from tui.ui.widgets.status import HeaderBar

SessionOpener = Callable[[str], Session]

REDRAW_GAP = 1.0
"""Least seconds between redraws for pages of a history walk. They hold older batches,
below the newest that the first poll put on screen, and each redraw with rows added
repaints the table: ten pages a second would be ten repaints of 10,000 rows."""


class BatchtopApp(App[int]):
    """``batchtop``: the live board."""

    CSS_PATH = "app.tcss"
    TITLE = "batchtop"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("P", "switch_profile", "Profile", show=False),
        Binding("L", "audit", "Audit log", show=False),
    ]

    def __init__(
        self,
        session: Session | Sequence[Session],
        *,
        clock: Callable[[], float] | None = None,
        open_profile: SessionOpener | None = None,
        profile_names: Callable[[], list[str]] | None = None,
        audit: AuditLog | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        super().__init__()
        # Partial updates start where the change starts (see tui/ui/partial_update.py).
        partial_update.install()
        # Quiet over SSH: nothing moves unless data changed.
        self.animation_level = "none"
        sessions = [session] if isinstance(session, Session) else list(session)
        session = sessions[0]
        self._fixed_clock = clock
        self.clock = clock or session.clock
        """Wall time for ages, rates and ETAs; the demo's simulated time in the demo."""
        self._open_profile = open_profile
        self._profile_names = profile_names or (lambda: [session.profile_name])
        self.board = Board(self.clock)
        self.recorder = recorder
        """Where every poll and cancel is recorded (``--record``), when it is."""
        self.tap: RecordingTap | None = None
        if recorder is not None:
            from tui.monitor.recording import RecordingTap  # the recording machinery only when recording

            names = {("" if len(sessions) == 1 else s.profile_name): s.profile_name for s in sessions}
            self.tap = RecordingTap(recorder, lambda: self.clock(), names=names, on_problem=self._recording_failed)
        self.origins: dict[str, Origin] = {}
        """The profiles on the board, by origin name ("" alone on a board of one profile)."""
        self._set_origins(sessions)
        self.view = BoardView()
        self._rules: tuple[object, SignalRules] | None = None
        self._attention: dict[BatchKey, None] = {}
        self._attention_state: tuple = ()
        self._events_minute = -1
        self.events = EventBook(self.rules)
        """Announces each batch's end and each signal once (notifications and alert sinks)."""
        self._sinks: AlertSinks | None = None
        self.board_screen = BoardScreen()
        self.cancels = CancelFlow(self)
        """Every cancel path (keys, marks, palette, detail screen) goes through this."""
        self._status_timer: Timer | None = None
        self._pending_change: BoardChange | None = None
        self._last_redraw = 0.0
        self._redraw_gap = REDRAW_GAP
        self._sessions_to_close: list[Session] = []
        self.audit = audit or AuditLog(source="tui", secrets=self._secrets())
        self.board_updated: Signal[BoardChange | None] = Signal(self, "board-updated")
        """The board or the view of it changed: screens showing it redraw (changed cells only).
        Carries what a poll changed, or None when anything may have (a key press)."""
        self.rows_updated: Signal[list[BatchKey]] = Signal(self, "rows-updated")
        """These batches' cancel state changed."""
        self.health_updated: Signal[None] = Signal(self, "health-updated")
        """A provider's health changed, or a second went by while a countdown is shown."""

    # -- life cycle ---------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        # The board is the bottom of the stack, composed with the app: pushed from on_mount
        # instead, it would be composed inside Textual's start-up batch, whose first frame
        # is thrown away (issue 10 d: one frame later, ~200 ms, to the first row).
        return self.board_screen

    def on_mount(self) -> None:
        for origin in self.origins.values():
            for warning in origin.session.profile.provider_warnings():
                where = f"{origin.name}: " if origin.name else ""
                self.notify(where + warning, severity="warning", timeout=10)
        self._status_timer = self.set_interval(1.0, self._tick_status, pause=True)
        self._start_recording()
        self._start_polling()

    async def on_unmount(self) -> None:
        await self._stop_polling()
        self._stop_recording()
        if self._sinks is not None:
            with contextlib.suppress(Exception):
                await self._sinks.close()

    # -- polling ------------------------------------------------------------------------

    # -- the profiles on the board ------------------------------------------------------

    @property
    def session(self) -> Session:
        """The first profile's session: the only one, on a board of one profile. Its signal
        thresholds and alerts are the board's."""
        return next(iter(self.origins.values())).session

    @property
    def sessions(self) -> list[Session]:
        return [origin.session for origin in self.origins.values()]

    @property
    def several(self) -> bool:
        """Whether the board shows several profiles (an origin column, per-profile health)."""
        return len(self.origins) > 1

    @property
    def runner(self) -> PollRunner | ReplayRunner:
        """The first profile's poll loop (the only one, on a board of one profile)."""
        return next(iter(self.origins.values())).runner

    @property
    def paused(self) -> bool:
        return self.runner.paused

    def health(self) -> list[tuple[str, ProviderHealth]]:
        """Every provider's poll state, with the name of its profile ("" on a board of one)."""
        return [(name, health) for name, origin in self.origins.items() for health in origin.runner.health.values()]

    def origin_of(self, key: BatchKey) -> Origin | None:
        """The profile a batch came through: its key, read-only and protection apply to it."""
        return self.origins.get(key_origin(key))

    def _set_origins(self, sessions: list[Session]) -> None:
        several = len(sessions) > 1
        tags = origin_tags([s.profile_name for s in sessions]) if several else {}
        self.origins = {}
        for session in sessions:
            name = session.profile_name if several else ""
            self.origins[name] = Origin(name, session, self._new_runner(session, name), tag=tags.get(name, ""))

    def show_header(self, header: HeaderBar, *, key: BatchKey | None = None, attention: int | None = None) -> None:
        """The header for the whole board, or for the profile of batch ``key`` (the detail
        screen on a board of several profiles)."""
        origins = list(self.origins.values())
        if key is not None and (mine := self.origin_of(key)) is not None:
            origins = [mine]
        sessions = [o.session for o in origins]
        if len(origins) == 1:
            name, host = sessions[0].profile_name, sessions[0].gateway_host
        else:
            name = " + ".join(f"{o.name} ({o.tag})" for o in origins)
            hosts = {s.gateway_host for s in sessions}
            host = hosts.pop() if len(hosts) == 1 else f"{len(hosts)} gateways"
        locked = [s.profile_name for s in sessions if s.profile.read_only]
        header.show(
            name,
            host,
            read_only=bool(locked),
            read_only_of=None if len(locked) == len(sessions) else ", ".join(locked),
            paused=self.paused and not self.replaying,
            tls_unverified=any(s.tls_unverified for s in sessions),
            attention=attention,
            badge=self._header_badge(),
        )

    replaying = False
    """A replay of a recording (``tui/ui/replay_app.py``): its badge says paused."""

    def _header_badge(self) -> str | None:
        """A word for the header beside the profile: REC while recording (a replay says so, and when)."""
        return "REC" if self.recorder is not None else None

    def _start_recording(self) -> None:
        if self.recorder is None:
            return
        from tui import __version__
        from tui.record import RecordingError

        profiles = recorded_profiles(self.sessions)
        try:
            self.recorder.header(profiles=profiles, started_at=self.clock(), app_version=__version__)
        except RecordingError as exc:
            self._recording_failed(exc.message)

    def _recording_failed(self, message: str) -> None:
        self.notify(safe_text(message, 300), title="Recording stopped", severity="error", timeout=15)

    def _stop_recording(self, why: str | None = None) -> None:
        recorder, self.recorder, self.tap = self.recorder, None, None
        if recorder is None:
            return
        from tui.record import RecordingError

        for origin in self.origins.values():
            if isinstance(origin.runner, PollRunner):
                origin.runner.tap = None
        with contextlib.suppress(RecordingError):
            recorder.close()
        if why:
            self.notify(why, title="Recording stopped", severity="warning", timeout=10)

    def _secrets(self) -> list[str]:
        return [s.api_key for s in self.sessions if s.api_key]

    def _new_runner(self, session: Session, origin: str) -> PollRunner:
        profile = session.profile
        return PollRunner(
            list(profile.providers),
            interval=profile.interval,
            board=self.board,
            clock=self.clock,
            on_poll_started=lambda provider: self._poll_started(origin, provider),
            on_poll_finished=lambda report: self.post_message(PollFinished(report)),
            on_history_page=lambda report: self.post_message(HistoryPageListed(report)),
            origin=origin,
            tap=self.tap,
        )

    def _start_polling(self) -> None:
        for origin in self.origins.values():
            origin.client = origin.session.client(origin.name)
            self.run_worker(
                origin.runner.run(origin.client),
                group="poll",
                name=f"poll {origin.name}".strip(),
                exit_on_error=False,
            )
        self._update_status_timer()

    async def _stop_polling(self) -> None:
        for origin in self.origins.values():
            origin.runner.stop()
        self.workers.cancel_group(self, "poll")
        self.workers.cancel_group(self, "cancel")
        for origin in self.origins.values():
            if origin.client is not None:
                client, origin.client = origin.client, None
                with contextlib.suppress(Exception):
                    await client.aclose()

    def _poll_started(self, origin: str, provider: str) -> None:
        runner = self.origins[origin].runner if origin in self.origins else None
        health = runner.health.get(provider) if runner is not None else None
        if health is None or health.poll_start_shows:  # not at every poll of a healthy provider
            self.post_message(ProviderStateChanged(provider))

    def on_provider_state_changed(self, message: ProviderStateChanged) -> None:
        self._health_changed()

    def on_poll_finished(self, message: PollFinished) -> None:
        report = message.report
        if report.unexpected:
            where = f"{report.origin}/{report.provider}" if report.origin else report.provider
            self.log.error(f"poll of {where} failed unexpectedly: {report.unexpected}")
        if report.ok:
            self._publish_change(report.change)
            self.events.rules = self.rules
            now = self.clock()
            # The poll's batches at every poll; every live batch once a minute (time alone
            # can make a batch stalled or stuck), not all of them at every poll.
            minute = int(now // 60)
            sweep = minute != self._events_minute
            self._events_minute = minute
            keys = None if sweep else report.change.seen
            self.announce(self.events.check(self.board, now, report.change.finished, keys))
        self._health_changed()

    # -- signals and alerts -------------------------------------------------------------

    @property
    def rules(self) -> SignalRules:
        """The signal thresholds of the current profile."""
        settings = self.session.profile.signals
        if self._rules is None or self._rules[0] is not settings:
            self._rules = (settings, rules_for(settings))
        return self._rules[1]

    def attention(self) -> list[BatchKey]:
        """The batches that need a person (tui.monitor.signals.needs_attention): every live
        and recently ended batch once a minute (signals move at minute resolution), and in
        between only those a poll brought (see :meth:`_recheck_attention`)."""
        now = self.clock()
        state = (id(self.board), int(now // 60), id(self.rules))
        if state != self._attention_state:
            self._attention_state = state
            self._attention = dict.fromkeys(attention_keys(self.board, now, self.rules))
        return list(self._attention)

    def _recheck_attention(self, keys: Iterable[BatchKey]) -> None:
        if not self._attention_state:
            return  # not computed yet: the first call does every batch
        now, rules = self.clock(), self.rules
        for key in keys:
            tracked = self.board.get(key)
            if tracked is not None and needs_attention(tracked, now, rules):
                self._attention[key] = None
            else:
                self._attention.pop(key, None)

    def announce(self, events: list[BatchEvent]) -> None:
        """An in-app notification per event (the text is terminal-safe already), then the
        profile's alert sinks: bell, desktop notification, command, webhook."""
        for event in events:
            if event.event == "finished" and not event.bad:
                self.notify(event.message, title=event.title, severity="information", timeout=4, markup=False)
                continue
            self.notify(
                event.message, title=event.title, severity="error" if event.bad else "warning", timeout=10, markup=False
            )
        sinks = self.sinks
        if sinks is not None and (events or sinks.webhook is not None):
            self.run_worker(self._deliver(sinks, events), group="alerts", exit_on_error=False)

    @property
    def sinks(self) -> AlertSinks | None:
        """The profile's alert sinks beyond the in-app notification; None when it has none."""
        settings = self.session.profile.alerts
        if not (settings.bell or settings.desktop != "off" or settings.on_event or settings.webhook_url):
            return None
        if self._sinks is None or self._sinks.settings is not settings:
            # Escape sequences go through Textual's own writer (to stderr, between frames),
            # and only when stdout and stderr are both a terminal: never into a pipe or a log.
            driver = getattr(self, "_driver", None)
            on_terminal = is_terminal(sys.__stdout__) and is_terminal(sys.__stderr__)
            terminal = driver.write if driver is not None and on_terminal else None
            self._sinks = AlertSinks(settings, write_terminal=terminal, clock=time.monotonic)
        return self._sinks

    async def _deliver(self, sinks: AlertSinks, events: list[BatchEvent]) -> None:
        for problem in await sinks.deliver(events):
            self.notify(safe_text(problem, 200), title="alert not sent", severity="warning", markup=False)

    def on_history_page_listed(self, message: HistoryPageListed) -> None:
        report = message.report
        if report.change:
            self._page_changed(report.change)
        if report.walk_ended and not any(origin.runner.walking for origin in self.origins.values()):
            self._flush_change()  # no page is on its way: the last ones are drawn now, not after the gap
        self._health_changed()

    def _page_changed(self, change: BoardChange) -> None:
        """Redraw for a page of a history walk: at once, unless a redraw happened less than
        the redraw gap ago (a walk brings a page every few milliseconds): then once when
        the gap is over, for every page that arrived meanwhile. A poll redraws at once."""
        if self._pending_change is not None:
            self._pending_change.merge(change)
            return
        wait = self._last_redraw + self._redraw_gap - time.monotonic()
        if wait <= 0:
            self._publish_change(change)
            return
        self._pending_change = change
        self.set_timer(wait, self._flush_change)

    def _flush_change(self) -> None:
        change, self._pending_change = self._pending_change, None
        if change is not None:
            self._publish_change(change)

    def _publish_change(self, change: BoardChange) -> None:
        started = time.monotonic()
        self._recheck_attention(change.seen)
        self.board_updated.publish(change)
        self._last_redraw = time.monotonic()
        # A redraw of 10,000 rows while a walk adds pages takes a while (and its repaint
        # as long again): leave the loop three times as long before the next one.
        self._redraw_gap = max(REDRAW_GAP, 3 * (self._last_redraw - started))

    def _health_changed(self) -> None:
        self.health_updated.publish(None)
        self._update_status_timer()

    def _update_status_timer(self) -> None:
        """Tick once a second only while a countdown or a stale age is on screen."""
        if self._status_timer is None:
            return
        if not self.paused and any(h.state is not ProviderState.OK for _, h in self.health()):
            self._status_timer.resume()
        else:
            self._status_timer.pause()

    def _tick_status(self) -> None:
        self.health_updated.publish(None)

    def action_poll_now(self) -> None:
        for origin in self.origins.values():
            origin.runner.poll_now()

    def action_toggle_pause(self) -> None:
        paused = self.paused
        for origin in self.origins.values():
            if paused:
                origin.runner.resume()
            else:
                origin.runner.pause()
        self._update_status_timer()
        self.board_updated.publish(None)

    # -- marks --------------------------------------------------------------------------

    def toggle_mark(self, key: BatchKey) -> None:
        self.view.toggle_mark(key)
        self.board_updated.publish(None)

    def mark_all(self, keys: Iterable[BatchKey]) -> None:
        self.view.mark(keys)
        self.board_updated.publish(None)

    def clear_marks(self) -> None:
        self.view.clear_marks()
        self.board_updated.publish(None)

    # -- cancel -------------------------------------------------------------------------

    def on_cancel_answered(self, message: CancelAnswered) -> None:
        guarded(self, lambda: self.cancels.take_answer(message.outcome, message.progress))

    def on_cancel_finished(self, message: CancelFinished) -> None:
        guarded(self, lambda: self.cancels.take_report(message.report, message.progress))

    # The screens a key opens are imported when first opened: the first screen is the
    # board, and start-up imports only what it needs (issue 10 d).

    def action_audit(self) -> None:
        from tui.ui.screens.audit import AuditScreen

        if isinstance(self.screen, AuditScreen):
            return
        try:
            records = self.audit.read(session=self.audit.session)
        except Exception as exc:  # noqa: BLE001 — an unreadable log is reported, not fatal
            self.notify(f"cannot read the audit log: {exc}", severity="error")
            return
        self.push_screen(AuditScreen(records, str(self.audit.path)))

    # -- screens ------------------------------------------------------------------------

    def open_details(self, key: BatchKey) -> None:
        from tui.ui.screens.detail import DetailScreen

        if self.board.get(key) is not None:
            self.push_screen(DetailScreen(key))

    def action_help(self) -> None:
        from tui.ui.screens.help import HelpScreen, describe_keys

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(describe_keys(self.screen)))

    def action_switch_profile(self) -> None:
        from tui.ui.screens.profiles import ProfilePickerScreen

        if self._open_profile is None or isinstance(self.screen, ProfilePickerScreen):
            return

        def chosen(name: str | None) -> None:
            if name and (self.several or name != self.session.profile_name):
                self.run_worker(self.switch_profile(name), group="profile", exclusive=True)

        self.push_screen(ProfilePickerScreen(self._profile_names(), self.session.profile_name), chosen)

    async def switch_profile(self, name: str) -> None:
        """Leave the current profile for ``name``: new client, empty board, new polls."""
        assert self._open_profile is not None
        try:
            session = self._open_profile(name)
        except ConfigError as exc:
            self.notify(exc.message, title="Cannot switch profile", severity="error", timeout=10)
            return
        await self._stop_polling()
        # A recording is of the profiles it started with (its header names them).
        self._stop_recording(f"the recording holds the board until the switch to {safe_text(name, 40)}")
        self._sessions_to_close.extend(self.sessions)
        self.clock = self._fixed_clock or session.clock
        self.board = Board(self.clock)
        self.view.clear_marks()
        self._set_origins([session])
        self.audit = AuditLog(self.audit.path, source="tui", session=self.audit.session, secrets=self._secrets())
        while self.screen is not self.board_screen and len(self.screen_stack) > 1:
            self.pop_screen()
        self._start_polling()
        self.board_updated.publish(None)
        self.notify(f"now watching profile {safe_text(name, 40)}", timeout=4)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        board = self.board_screen
        yield SystemCommand("Refresh now", "Poll every provider now", self.action_poll_now)
        yield SystemCommand("Pause / resume polling", "Stop or restart polling", self.action_toggle_pause)
        if board.is_attached:
            keys = board.cancel_keys()
            live = sum(1 for k in keys if self.cancels.can_cancel(k))
            if live:
                title = f"Cancel {live} marked batches" if self.view.marks else "Cancel selected batch"
                yield SystemCommand(title, "Asks for confirmation first", lambda: self.cancels.request(keys))
            yield SystemCommand("Cycle sort order", "newest, progress, failed, ETA, status", board.action_sort)
            yield SystemCommand("Toggle live only", "Hide finished batches", board.action_live_only)
            yield SystemCommand("Filter", "Match id, name, provider or status", board.action_filter)
        if self._open_profile is not None:
            yield SystemCommand("Switch profile", "Watch another profile", self.action_switch_profile)
        yield SystemCommand("Audit log", "This session's cancel attempts", self.action_audit)
        yield SystemCommand("Help", "Show the keys", self.action_help)


def _profile_names(current: Session) -> list[str]:
    try:
        names = list(load_config(config_path()).profiles)
    except ConfigError:
        names = []
    if current.profile_name not in names:
        names.insert(0, current.profile_name)
    return names


GC_THRESHOLDS = (10_000, 10, 10)
"""The cyclic collector's thresholds while the board runs (CPython's are 700, 10, 10).

Loading 10,000 batches makes hundreds of thousands of objects that live as long as the
board; at the default thresholds the collector ran ~1,100 young and 7 full collections
over them in the first 30 s, 1.1 s of CPU in all (0.8 s of it full collections, each a
walk of every object), during a start that should take 3 s. A larger first threshold
makes young collections 14x rarer and full ones, which follow every hundredth, too: 0.4 s
in the same start. Garbage cycles are still collected, in bigger and rarer steps."""


def open_recorder(asked: str | None, sessions: list[Session]) -> Recorder | None:
    """The recorder ``--record [FILE]`` asks for (or a profile's ``record = true``), or None.
    Raises ConfigError (exit 2) when the file cannot be made."""
    if asked is None and not any(s.profile.record for s in sessions):
        return None
    from pathlib import Path

    from tui.record import Recorder, RecordingError, default_recording_path

    path = Path(asked).expanduser() if asked else default_recording_path(time.time())
    try:
        return Recorder(path, secrets=[s.api_key for s in sessions if s.api_key])
    except RecordingError as exc:
        raise ConfigError(f"config error: cannot record: {exc.message}") from None


def run_app(args: argparse.Namespace) -> int:
    """Open the live board for the profile the flags choose. ConfigError propagates (exit 2)."""
    request = SessionRequest.from_args(args)
    sessions = open_sessions(request)
    session = sessions[0]
    demo = session if session.demo is not None else None

    def open_profile(name: str) -> Session:
        if demo is not None and name == DEMO_PROFILE:
            return demo
        return open_session(SessionRequest(profile=name, read_only=request.read_only))

    recorder = open_recorder(getattr(args, "record", None), sessions)
    app = BatchtopApp(
        sessions, open_profile=open_profile, profile_names=lambda: _profile_names(session), recorder=recorder
    )
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        app.run()
    finally:
        if recorder is not None:
            print(f"batchtop: recorded to {recorder.path}", file=sys.stderr)
        for opened in {id(s): s for s in [*sessions, *app.sessions, *app._sessions_to_close]}.values():
            opened.close()
    return app.return_code or 0


__all__ = ["BatchtopApp", "run_app"]
