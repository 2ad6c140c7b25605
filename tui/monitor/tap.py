"""The poll loop's tap: told of every poll the board takes (a recording listens). No Textual.

Kept apart from ``recording.py`` so that the poll loop does not import the recording
machinery (gzip, the file format) unless a recording is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tui.api import GatewayError
    from tui.monitor.poller import ProviderPoll

PAGE_ONE = "page_one"
"""A poll's page one of a provider, with the retrieves that filled it in."""
HISTORY_PAGE = "history_page"
"""A page of a walk of a provider's history."""


class PollTap(Protocol):
    """Told of every poll the board takes (called on the poll loop's task: must not block long)."""

    def polled(self, origin: str, poll: ProviderPoll, kind: str) -> None: ...

    def failed(self, origin: str, provider: str, error: GatewayError) -> None: ...


__all__ = ["HISTORY_PAGE", "PAGE_ONE", "PollTap"]
