"""Escape sequences that ring the bell or raise a desktop notification through the terminal.

The text inside an OSC sequence comes, through the gateway, from whoever named the batch:
a BEL or ESC in it would end the sequence early and let the rest reach the terminal raw.
"""

from __future__ import annotations

import re
import unicodedata

BELL = "\a"
LIMIT = 200
"""Characters of title or message kept; notifications are short and terminals buffer OSC."""

_NUMBERED = re.compile(r"^\d+;")


def clean(text: str, limit: int = LIMIT) -> str:
    """``text`` with every control character (C0, ESC, BEL, DEL, C1) turned into a space."""
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def osc9(message: str) -> str:
    text = clean(message)
    # ConEmu and Windows Terminal read "OSC 9;4;..." and friends as commands, not text.
    if _NUMBERED.match(text):
        text = " " + text
    return f"\x1b]9;{text}\x07"


def osc777(title: str, message: str) -> str:
    # ';' separates the title from the message; the message is the rest of the sequence.
    return f"\x1b]777;notify;{clean(title).replace(';', ',')};{clean(message)}\x07"


def desktop_sequence(kind: str, title: str, message: str) -> str | None:
    """The sequence for AlertSettings.desktop ``kind``; None for "off" (or anything unknown)."""
    if kind == "osc9":
        return osc9(f"{title}: {message}")
    if kind == "osc777":
        return osc777(title, message)
    return None
