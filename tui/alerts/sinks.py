"""Send batch events to every configured sink: bell, desktop notification, command, webhook."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tui.alerts.command import run_event_command
from tui.alerts.terminal import BELL, desktop_sequence
from tui.alerts.webhook import Webhook
from tui.config.watching import AlertSettings
from tui.monitor.events import BatchEvent
from tui.text.safe import safe_text


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal; False for anything that cannot say."""
    try:
        return bool(stream.isatty())
    except Exception:
        return False


class AlertSinks:
    def __init__(
        self,
        settings: AlertSettings,
        *,
        write_terminal: Callable[[str], None] | None,
        clock: Callable[[], float],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``write_terminal`` is given only when stdout is a terminal; without it the bell
        and desktop notifications are skipped."""
        self.settings = settings
        self.write_terminal = write_terminal
        self.events = frozenset(settings.events)
        self.webhook = (
            Webhook(settings.webhook_url, settings.webhook_min_interval, clock, transport)
            if settings.webhook_url
            else None
        )

    async def deliver(self, events: list[BatchEvent]) -> list[str]:
        """Send ``events`` (those the settings ask for); the problems met, never raises.
        Call it on every poll, even with no events: webhook alerts held back by its
        min_interval go out on the first call after it."""
        events = [e for e in events if e.event in self.events]
        problems = self._write(events)
        jobs: list[Awaitable[str | None]] = []
        if self.settings.on_event:
            template, timeout = self.settings.on_event, self.settings.on_event_timeout
            jobs += [run_event_command(template, e, timeout) for e in events]
        if self.webhook is not None:
            jobs.append(self.webhook.offer(events))
        for result in await asyncio.gather(*jobs, return_exceptions=True):
            if isinstance(result, Exception):  # a bug, not a failing sink: still never raise
                problems.append(f"alert failed: {safe_text(result, 100)}")
            elif isinstance(result, BaseException):
                raise result
            elif result:
                problems.append(result)
        return problems

    def _write(self, events: list[BatchEvent]) -> list[str]:
        if self.write_terminal is None or not events:
            return []
        parts = [BELL] if self.settings.bell else []
        for event in events:
            sequence = desktop_sequence(self.settings.desktop, event.title, event.message)
            if sequence:
                parts.append(sequence)
        if not parts:
            return []
        try:
            self.write_terminal("".join(parts))  # one write: nothing can land mid-sequence
        except Exception as exc:
            return [f"could not write the alert to the terminal: {safe_text(exc, 100)}"]
        return []

    async def close(self) -> list[str]:
        """Post what the webhook still holds and close its connections."""
        if self.webhook is None:
            return []
        try:
            problem = await self.webhook.flush()
        finally:
            await self.webhook.aclose()
        return [problem] if problem else []
