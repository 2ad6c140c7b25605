"""Make text from the gateway safe to print on a terminal.

Ids, names, metadata and error messages come from the gateway and, through it, from
whoever created the batch. None of it may reach the terminal raw: an escape sequence in
a batch name could move the cursor, retitle the window or hide text. Control characters
are shown escaped (``\\x1b``) so that a person can still see that something odd was sent.
No Textual import: the headless CLI uses this too.
"""

from __future__ import annotations

import unicodedata

_REPLACEMENTS = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(ch: str) -> str:
    if ch in _REPLACEMENTS:
        return _REPLACEMENTS[ch]
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _is_unsafe(ch: str) -> bool:
    # Cc: C0/C1 controls (ESC, BEL, CSI...). Cf: format characters, which include the
    # bidirectional overrides (U+202E) that can make text read backwards. Cs/Co/Cn:
    # surrogates, private use and unassigned code points have no business in a name.
    category = unicodedata.category(ch)
    return category in ("Cc", "Cf", "Cs", "Co", "Cn") and ch != "\u200d"


def safe_text(value: object, limit: int | None = None) -> str:
    """Return ``value`` as a string with every control/format character escaped.

    ``limit`` caps the length (after escaping) with a trailing ellipsis, so that a
    several-megabyte error message cannot flood a screen.
    """
    text = value if isinstance(value, str) else str(value)
    if any(_is_unsafe(ch) for ch in text):
        text = "".join(_escape_char(ch) if _is_unsafe(ch) else ch for ch in text)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def shorten_middle(text: str, width: int) -> str:
    """Shorten ``text`` to ``width`` characters by cutting its middle: ids differ at both ends."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width <= 3:
        return text[:width]
    head = (width - 1) // 2
    tail = width - 1 - head
    return text[:head] + "…" + text[len(text) - tail :]
