"""POST alerts to a webhook as JSON with a Slack-compatible ``text``, at most one post per
``min_interval``: alerts in between wait and go out together.

The URL is a secret (Slack's carries its token in the path): problem texts name only its
scheme, host and port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tui import __version__
from tui.monitor.events import BatchEvent
from tui.text.safe import safe_text

QUEUE_LIMIT = 100
TIMEOUT = 10.0


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: no user, path or query."""
    try:
        parsed = httpx.URL(url)
    except Exception:
        return "(invalid URL)"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{safe_text(parsed.host, 80)}{port}"


def _slack_escape(text: str) -> str:
    # Slack reads <!channel>, <@U123> and <url|label> in text: a batch name must not ping anyone.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Webhook:
    def __init__(
        self,
        url: str,
        min_interval: float,
        clock: Callable[[], float],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.min_interval = min_interval
        self.clock = clock
        self.origin = origin(url)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._queue: list[BatchEvent] = []
        self._dropped = 0
        self._last_post: float | None = None

    @property
    def pending(self) -> int:
        """Events waiting for the next post, counting those beyond the queue's cap."""
        return len(self._queue) + self._dropped

    async def offer(self, events: list[BatchEvent]) -> str | None:
        """Queue ``events``; post the queue if the last post is ``min_interval`` old."""
        room = QUEUE_LIMIT - len(self._queue)
        self._queue.extend(events[: max(room, 0)])
        self._dropped += max(len(events) - max(room, 0), 0)
        if not self._queue:
            return None
        if self._last_post is not None and self.clock() - self._last_post < self.min_interval:
            return None
        return await self._post()

    async def flush(self) -> str | None:
        """Post whatever is queued now, whatever the interval (at exit)."""
        return await self._post() if self._queue else None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def body(self, events: list[BatchEvent], dropped: int) -> dict[str, Any]:
        lines = [f"{e.title}: {e.message}" for e in events]
        if dropped:
            lines.append(f"… and {dropped} more")
        return {"text": _slack_escape("\n".join(lines)), "events": [e.as_json() for e in events]}

    async def _post(self) -> str | None:
        # Take the queue and stamp the time before awaiting: an offer made meanwhile waits
        # for the next post instead of sending the same events twice, and a failing
        # endpoint is not hit more than once per interval.
        events, dropped = self._queue, self._dropped
        self._queue, self._dropped = [], 0
        self._last_post = self.clock()
        lost = len(events) + dropped
        lost_text = f"; {lost} alert{'s' if lost != 1 else ''} dropped"
        try:
            if self._client is None:
                self._client = httpx.AsyncClient(
                    transport=self._transport,
                    timeout=TIMEOUT,
                    headers={"User-Agent": f"batchtop/{__version__}"},
                )
            response = await self._client.post(self.url, json=self.body(events, dropped))
        except httpx.TimeoutException:
            return f"webhook {self.origin}: timed out after {TIMEOUT:g}s{lost_text}"
        except Exception as exc:  # never raise for a webhook: any failure is a problem text
            return f"webhook {self.origin}: {self._scrub(exc)}{lost_text}"
        if response.status_code >= 400:
            return f"webhook {self.origin}: HTTP {response.status_code}{lost_text}"
        return None

    def _scrub(self, exc: Exception) -> str:
        """The error's text without any part of the URL that could carry the secret."""
        text = str(exc) or type(exc).__name__
        try:
            parsed = httpx.URL(self.url)
            raw = (parsed.raw_path, parsed.query, parsed.userinfo)
            secrets = [self.url, parsed.path, *(part.decode("ascii", "replace") for part in raw)]
        except Exception:
            secrets = [self.url]
        for secret in sorted((s for s in secrets if len(s) > 1), key=len, reverse=True):
            text = text.replace(secret, "…")
        return f"{type(exc).__name__}: {safe_text(text, 100)}"
