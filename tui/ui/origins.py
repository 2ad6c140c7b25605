"""The profiles one board shows: for each, its session (profile, key), poll loop and client.

A board of one profile has one origin, named "" (its batches' keys are (provider, id), as
everywhere else). A board of several has one per profile, named for it: each polls with
its own key into the one board, and every cancel goes through the origin its batch came
from (``BatchtopApp.origin_of``), with that profile's read-only and protection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.api import BifrostClient
from tui.monitor.runner import PollRunner
from tui.session import Session

if TYPE_CHECKING:
    from tui.monitor.replay import ReplayRunner


@dataclass
class Origin:
    """One profile on the board."""

    name: str
    """The profile's name on a board of several; "" on a board of one."""
    session: Session
    runner: PollRunner | ReplayRunner
    """Its poll loop; on a replay, the player's stand-in for it."""
    client: BifrostClient | None = None
    """Open while polling."""
    tag: str = ""
    """One character that stands for the profile where a name does not fit (80 columns)."""

    @property
    def profile_name(self) -> str:
        return self.session.profile_name


def origin_tags(names: list[str]) -> dict[str, str]:
    """A distinct one-character tag per profile name, for narrow tables: the name's first
    letter or digit (upper case) where that is free, else its next free letter, else a
    digit from 1 — so that ``prod``, ``staging`` read ``P`` and ``S``, and ``prod``,
    ``preprod`` read ``P`` and ``R``."""
    tags: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        choices = [c.upper() for c in name if c.isascii() and c.isalnum()]
        choices += [str(d) for d in range(1, 10)] + [chr(c) for c in range(ord("A"), ord("Z") + 1)]
        tag = next((c for c in choices if c not in used), "?")
        used.add(tag)
        tags[name] = tag
    return tags


__all__ = ["Origin", "origin_tags"]
