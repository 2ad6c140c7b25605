"""When to poll each provider next, and how stale its data is after failures.

One poll per provider at a time: the next one is scheduled only when the last one has
finished, so a slow gateway is never hit by a pile of overlapping polls. Failures back
off exponentially up to a cap; a 429's Retry-After is honoured; a rejected key slows
polling right down, because retrying a bad key quickly only fills the gateway's logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tui.api import GatewayError, GatewayHTTPError

BACKOFF_CAP = 60.0
AUTH_RETRY = 60.0
UNSUPPORTED_RETRY = 600.0


class ProviderState(Enum):
    CONNECTING = "connecting"
    OK = "ok"
    STALE = "stale"
    UNAVAILABLE = "unavailable"
    """The gateway says it cannot list this provider's batches (unsupported_operation)."""


@dataclass
class ProviderHealth:
    """Poll bookkeeping of one provider."""

    provider: str
    interval: float
    state: ProviderState = ProviderState.CONNECTING
    last_ok_at: float | None = None
    last_error: GatewayError | None = None
    failures: int = 0
    next_poll_at: float = 0.0
    in_flight: bool = False
    note: str | None = None
    """Something to say while all is well: "the gateway returned only the newest 100 …"."""

    def succeeded(self, now: float, note: str | None = None) -> None:
        self.note = note
        self.state = ProviderState.OK
        self.last_ok_at = now
        self.last_error = None
        self.failures = 0
        self.in_flight = False
        self.next_poll_at = now + self.interval

    def failed(self, now: float, error: GatewayError) -> None:
        self.failures += 1
        self.last_error = error
        self.in_flight = False
        if isinstance(error, GatewayHTTPError) and error.is_unsupported:
            self.state = ProviderState.UNAVAILABLE
            self.next_poll_at = now + UNSUPPORTED_RETRY
            return
        self.state = ProviderState.STALE
        self.next_poll_at = now + self.retry_delay(error)

    def retry_delay(self, error: GatewayError) -> float:
        delay = min(self.interval * (2 ** min(self.failures, 16)), BACKOFF_CAP)
        delay = max(delay, self.interval)
        if isinstance(error, GatewayHTTPError) and error.is_auth:
            delay = max(delay, AUTH_RETRY)
        if error.retry_after is not None:
            # Never sooner than the gateway asked; capped so one bad header can't stop us for days.
            delay = max(delay, min(error.retry_after, 3600.0))
        return delay

    def due(self, now: float) -> bool:
        return not self.in_flight and now >= self.next_poll_at

    def poll_now(self, now: float) -> None:
        """``r``: poll at once, unless a poll is already running or the gateway asked us to wait."""
        if self.last_error is not None and self.last_error.retry_after is not None:
            return
        self.next_poll_at = min(self.next_poll_at, now)

    def stale_for(self, now: float) -> float | None:
        if self.state is not ProviderState.STALE:
            return None
        since = self.last_ok_at
        return None if since is None else max(now - since, 0.0)

    def brief(self) -> str:
        """A few words when space is short: the cause only ("503 from gateway")."""
        if self.state is ProviderState.UNAVAILABLE:
            return "unavailable"
        if self.state is ProviderState.CONNECTING and self.last_error is None:
            return "connecting…"
        return self.last_error.short if self.last_error else ""

    @property
    def poll_start_shows(self) -> bool:
        """Whether a poll starting changes what :meth:`describe` says: only a stale
        provider's "retry in 8s" becomes "retrying…". Otherwise there is nothing to redraw."""
        return self.state is ProviderState.STALE

    def describe(self, now: float) -> str:
        """A status line: "stale 40s · 503 from gateway · retry in 8s"."""
        if self.state is ProviderState.CONNECTING and self.last_error is None:
            return "connecting…"
        if self.state is ProviderState.OK:
            return "live"
        reason = self.last_error.short if self.last_error else "unknown error"
        if self.state is ProviderState.UNAVAILABLE:
            # The gateway's own words say why ("batch_list is not supported by mistral provider").
            said = self.last_error.message.partition(": ")[2] if self.last_error else ""
            return f"unavailable · {said or reason}"
        retry = max(self.next_poll_at - now, 0.0)
        retry_text = "retrying…" if self.in_flight else f"retry in {retry:.0f}s"
        stale = self.stale_for(now)
        head = "no data yet" if stale is None else f"stale {_age(stale)}"
        return f"{head} · {reason} · {retry_text}"


def _age(seconds: float) -> str:
    from tui.text.humanize import duration

    return duration(seconds)
